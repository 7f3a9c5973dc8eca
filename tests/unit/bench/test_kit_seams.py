"""bench/kit/seams.py: what a harness installs into the service and beside it is undone, last
first, when its seams close."""

import os

import botocore.handlers
from moto.sqs import models as moto_sqs
from twilio.http.http_client import TwilioHttpClient

import app as app_module
from bench.kit import moto_speedups
from bench.kit.seams import Seams
from chalicelib.adapters import aws
from chalicelib.adapters.clock import ManualClock
from chalicelib.usecases.context import Context


def test_every_seam_is_undone_at_close(monkeypatch):
    monkeypatch.setenv("SENDER_MAX_WAIT_SECONDS", "7")
    monkeypatch.delenv("CAMPAIGN_SEGMENTS_PER_SECOND", raising=False)
    changes = moto_speedups.table()
    before = [getattr(target, name) for target, name, _ in changes]
    context, request = app_module.context, TwilioHttpClient.request
    with Seams() as seams:
        seams.environment(SENDER_MAX_WAIT_SECONDS=None, CAMPAIGN_SEGMENTS_PER_SECOND="3")
        seams.service_context(app_module, Context(clock=ManualClock(5.0)))
        seams.sqs_client(stand_in := object())
        seams.twilio_http(lambda real: "wrapped")
        seams.moto_speedups()
        seams.moto_sqs_clock(lambda: 12.0)
        assert "SENDER_MAX_WAIT_SECONDS" not in os.environ and os.environ["CAMPAIGN_SEGMENTS_PER_SECOND"] == "3"
        assert app_module.context.now() == 5.0 and aws.client("sqs") is stand_in
        assert TwilioHttpClient.request == "wrapped" and moto_sqs.unix_time_millis() == 12_000.0
    assert os.environ["SENDER_MAX_WAIT_SECONDS"] == "7" and "CAMPAIGN_SEGMENTS_PER_SECOND" not in os.environ
    assert app_module.context is context and aws.client("sqs") is not stand_in
    assert TwilioHttpClient.request is request
    assert [getattr(target, name) for target, name, _ in changes] == before


def test_the_aws_hooks_go_in_once_and_leave_with_the_seams_that_put_them():
    def before_call(**_):
        return None

    def after_call(**_):
        return None

    with Seams() as outer:
        outer.aws_hooks(before_call, after_call)
        with Seams() as inner:
            inner.aws_hooks(before_call, after_call)  # a second would count every call twice
            assert botocore.handlers.BUILTIN_HANDLERS.count(("before-call", before_call)) == 1
        assert ("before-call", before_call) in botocore.handlers.BUILTIN_HANDLERS, "the outer seams' stay"
    assert ("before-call", before_call) not in botocore.handlers.BUILTIN_HANDLERS
    assert ("after-call.dynamodb", after_call) not in botocore.handlers.BUILTIN_HANDLERS
