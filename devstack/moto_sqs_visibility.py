"""SQS's 12-hour visibility limit as AWS counts it, on moto 5.2.5 (the local stack and the tests).

What it corrects: moto 5.2.5, ``moto/sqs/models.py``, ``SQSBackend.change_message_visibility``
refuses a timeout that would end more than 12 hours after the message was *sent*. SQS counts
the 12 hours from the receive ("the maximum is 12 hours from the time that Amazon SQS receives
the ReceiveMessage request"), so a message may be retried for days, each receive hidden anew.
With moto's rule every retry delay of an event older than 12 hours is refused, and the
delivery queue's long wait (core/delivery_retry.py) falls back to the queue's visibility
timeout: more receives, dead-lettered too soon. Here each message keeps the time of its last
receive (``Message.mark_received`` wrapped) and the limit counts from it.

Only moto 5.2.5 is patched, as devstack/moto_sqs_fifo.py is; tests/devstack/test_moto_sqs_visibility.py
shows the difference with moto's own.
"""

from __future__ import annotations

import threading
import warnings

PATCHED_VERSION = "5.2.5"
MAX_VISIBILITY_MS = 43200 * 1000

_lock = threading.Lock()
_originals: dict = {}  # moto's own methods, once install() replaced them


def install() -> bool:
    """Replace the two methods (moto 5.2.5 only); safe to call again. Returns whether the
    corrected ones are in place."""
    import moto
    from moto.sqs import models

    with _lock:
        if _originals:
            return True
        if moto.__version__ != PATCHED_VERSION:
            warnings.warn(
                f"devstack.moto_sqs_visibility corrects moto {PATCHED_VERSION}'s 12-hour visibility limit; "
                f"moto is {moto.__version__}, left as it is.",
                RuntimeWarning,
                stacklevel=2,
            )
            return False
        _originals["mark_received"] = models.Message.mark_received
        _originals["change_message_visibility"] = models.SQSBackend.change_message_visibility
        models.Message.mark_received = _mark_received  # type: ignore[method-assign]  # the patch itself
        models.SQSBackend.change_message_visibility = _change_message_visibility  # type: ignore[method-assign]
        return True


def uninstall() -> None:
    """Put moto's own methods back (the test shows the difference with them)."""
    from moto.sqs import models

    with _lock:
        if _originals:
            models.Message.mark_received = _originals.pop("mark_received")  # type: ignore[method-assign]
            models.SQSBackend.change_message_visibility = _originals.pop("change_message_visibility")  # type: ignore[method-assign]


def check_limit(message, visibility_timeout: int) -> None:
    """Raise SQS's InvalidParameterValue when the timeout would end more than 12 hours after
    the message's last receive (its sending, if none is known)."""
    from moto.sqs import models
    from moto.sqs.exceptions import InvalidParameterValue

    received = getattr(message, "last_received_ms", None) or message.sent_timestamp
    if models.unix_time_millis() + int(visibility_timeout) * 1000 - received > MAX_VISIBILITY_MS:
        raise InvalidParameterValue(
            f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
            "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
        )


def _mark_received(self, visibility_timeout=None) -> None:
    from moto.sqs import models

    _originals["mark_received"](self, visibility_timeout)
    self.last_received_ms = models.unix_time_millis()


def _change_message_visibility(self, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
    """moto 5.2.5's, with the limit counted from the last receive."""
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    queue = self.get_queue(queue_name)
    for message in queue._messages:
        if message.had_receipt_handle(receipt_handle):
            check_limit(message, visibility_timeout)
            message.change_visibility(visibility_timeout)
            if message.visible and message in queue.pending_messages:
                queue.pending_messages.remove(message)
            return
    raise ReceiptHandleIsInvalid
