"""What `make run` prints of the stand-in's traffic: each SMS once, with its direction, and each
Twilio API request refused, with why; nothing for a request answered 2xx."""

import threading

from standin_backend_kit import POOL_NUMBER, USER_PHONE, new_backend

from devstack.twilio.traffic import print_traffic

WAIT = 5  # seconds: an upper bound for the printer to catch up, never a sleep


class Lines:
    def __init__(self):
        self.said: list[str] = []
        self.cond = threading.Condition()

    def __call__(self, line):
        with self.cond:
            self.said.append(line)
            self.cond.notify_all()

    def wait_for(self, count):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.said) >= count, WAIT), self.said
            return list(self.said)


def test_each_sms_and_each_refused_request_is_printed_once():
    backend, lines = new_backend(), Lines()
    stop = print_traffic(backend, lines)
    try:
        backend.add_message(direction="outbound-api", from_=POOL_NUMBER, to=USER_PHONE, body="Bob: hi", status="queued")
        assert lines.wait_for(1) == [f'[sms]  {POOL_NUMBER} -> {USER_PHONE}  "Bob: hi"  (pool -> phone)']
        backend.log_request({"method": "POST", "path": "/2010-04-01/x", "status": 201})
        backend.log_request({"method": "POST", "path": "/2010-04-01/y", "status": 400, "spec_error": "To missing"})
        backend.add_message(direction="inbound", from_=USER_PHONE, to=POOL_NUMBER, body="yo", status="received")
        assert lines.wait_for(3)[1:] == [
            "[twilio] POST /2010-04-01/y -> 400 To missing",
            f'[sms]  {USER_PHONE} -> {POOL_NUMBER}  "yo"  (phone -> pool)',
        ]
    finally:
        stop()
    assert len(lines.said) == 3
