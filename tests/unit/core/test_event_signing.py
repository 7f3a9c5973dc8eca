"""X-Bridge-Signature: what a chat backend verifies."""

import hashlib
import hmac

from chalicelib.core import event_signing as signing

BODY = b'{"type":"message.received","event_id":"evt_1"}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    header = signing.sign_all(BODY, ["s3cret"], 1700000000)
    expected = hmac.new(b"s3cret", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_verify_accepts_its_own_signature_and_rejects_changes():
    header = signing.sign_all(BODY, ["s3cret"], 1700000000)
    assert signing.verify(BODY, header, ["s3cret"], now=1700000010)
    assert not signing.verify(BODY + b" ", header, ["s3cret"], now=1700000010)
    assert not signing.verify(BODY, header, ["other"], now=1700000010)
    assert not signing.verify(BODY, None, ["s3cret"], now=1700000010)
    assert not signing.verify(BODY, "garbage", ["s3cret"], now=1700000010)


def test_old_signatures_are_refused():
    header = signing.sign_all(BODY, ["s3cret"], 1700000000)
    assert not signing.verify(BODY, header, ["s3cret"], now=1700000000 + signing.DEFAULT_TOLERANCE_SECONDS + 1)


def test_rotation_accepts_old_and_new_secret():
    old = signing.sign_all(BODY, ["old"], 1700000000)
    new = signing.sign_all(BODY, ["new"], 1700000000)
    assert signing.verify(BODY, old, ["new", "old"], now=1700000000)
    assert signing.verify(BODY, new, ["new", "old"], now=1700000000)
