"""adapters/aws.is_transient_fault: what answers 503 (retry) rather than 500."""

from botocore.exceptions import ClientError
from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.adapters.aws import is_transient_fault


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "TransactWriteItems")


def test_a_throttled_or_conflicting_transaction_is_worth_a_retry():
    assert is_transient_fault(TransactWriteError("cancelled", _error("TransactionCanceledException")))
    assert is_transient_fault(UpdateError("conflict", _error("TransactionConflictException")))


def test_a_bug_is_not():
    assert not is_transient_fault(UpdateError("bad", _error("ValidationException")))
    assert not is_transient_fault(ValueError("no"))
