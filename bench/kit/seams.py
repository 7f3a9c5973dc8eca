"""Every seam the benches use into the service and what runs beside it, in one place.

A harness opens `Seams()` (a context manager, or `close()`), installs what it needs through
its methods, and everything is undone, last first, when it closes. Each method says what it
replaces and why; `replace` is the one setattr of bench/ (the moto speed-ups go through it
too, from their table). The service itself takes what a harness replaces (the clock, Twilio,
SQS, metrics) in the one Context the harness builds (chalicelib/wiring.production_context)
and hands to `app.configure` here; its settings come through the environment.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import types
from collections.abc import Callable

import botocore.handlers
from moto.sqs import models as moto_sqs
from pynamodb.connection import base as pynamodb_connection
from twilio.http.http_client import TwilioHttpClient

from bench.kit import moto_speedups
from chalicelib.adapters import aws
from chalicelib.adapters.logs import logger
from chalicelib.store.models import TABLE_MODELS
from chalicelib.usecases.context import Context
from devstack import chat_receiver, moto_sqs_fifo, moto_sqs_visibility


class Seams:
    def __init__(self) -> None:
        self._undo = contextlib.ExitStack()

    def __enter__(self) -> Seams:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._undo.close()

    def enter(self, context_manager):
        """Any context manager (moto's mock, say), exited with the rest."""
        return self._undo.enter_context(context_manager)

    def on_close(self, undo: Callable, *args) -> None:
        """`undo(*args)` at close, in its turn (a server's stop, say)."""
        self._undo.callback(undo, *args)

    def replace(self, target: object, name: str, value: object) -> None:
        """setattr(target, name, value) until close: the one setattr of bench/."""
        original = getattr(target, name)
        setattr(target, name, value)
        self._undo.callback(setattr, target, name, original)

    # -- the service's settings, context and clients ----------------------------------------

    def environment(self, **values: str | None) -> None:
        """The service's settings, read from the environment: each value set (None: unset)."""
        saved = {name: os.environ.get(name) for name in values}
        self._undo.callback(_restore_environment, saved)
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def service_context(self, app_module, context: Context) -> None:
        """The app's handlers use `context` (every dependency of the service) until close."""
        previous = app_module.context
        app_module.configure(context)
        self._undo.callback(app_module.configure, previous)

    def fresh_clients(self) -> None:
        """The service's cached boto3 and PynamoDB clients are made again on next use, now and
        at close (they name the backend, or miss the hooks, of when they were made)."""
        forget_clients()
        self._undo.callback(forget_clients)

    def pynamodb_calls(self, call: Callable[[object, str, dict], dict]) -> Callable:
        """Every PynamoDB request goes to `call(connection, operation, kwargs)`; returns what
        made it before (botocore's round trip to the backend)."""
        original = pynamodb_connection.Connection._make_api_call
        self.replace(
            pynamodb_connection.Connection, "_make_api_call", lambda connection, op, kw: call(connection, op, kw)
        )
        return original

    def log_level(self, level: str) -> None:
        previous = logger.log_level
        logger.setLevel(level)
        self._undo.callback(logger.setLevel, previous)

    def logs_to(self, stream) -> None:
        """The service's log lines (stdout and the logger's handlers) go to `stream`."""
        self.replace(sys, "stdout", stream)
        for handler in logger.handlers:
            if hasattr(handler, "stream"):
                self.replace(handler, "stream", stream)

    # -- what runs beside the service --------------------------------------------------------

    def standin_clock(self, standin_state, utc: Callable) -> None:
        """The Twilio stand-in's backend (`server.state`) dates its messages by `utc()` (the
        sender's reconciliation compares them with its claim time)."""
        self.replace(standin_state, "clock", utc)

    def chat_receiver_clock(self, now: Callable[[], float]) -> None:
        """The chat receiver checks each event's signature timestamp against `now()`."""
        self.replace(chat_receiver, "time", types.SimpleNamespace(time=now, monotonic=time.monotonic))

    def twilio_http(self, wrap: Callable[[Callable], Callable]) -> None:
        """twilio's HTTP client's requests go through `wrap(real request)` (injected faults)."""
        self.replace(TwilioHttpClient, "request", wrap(TwilioHttpClient.request))

    def aws_hooks(self, before_call: Callable, after_dynamodb_call: Callable) -> None:
        """botocore handlers on every AWS call (counting, billing, throttling), in every
        botocore session made from now on; the service's clients are made again with them."""
        handlers = [("before-call", before_call), ("after-call.dynamodb", after_dynamodb_call)]
        for handler in handlers:
            if handler in botocore.handlers.BUILTIN_HANDLERS:
                continue  # in place already (an outer harness's): a second would count each call twice
            botocore.handlers.BUILTIN_HANDLERS.insert(0, handler)
            self._undo.callback(botocore.handlers.BUILTIN_HANDLERS.remove, handler)
        self.fresh_clients()

    # -- moto -----------------------------------------------------------------------------------

    def moto_speedups(self) -> None:
        """moto without its costs that grow with a run (bench/kit/moto_speedups.py's table)."""
        for target, name, value in moto_speedups.table():
            self.replace(target, name, value)

    def moto_sqs_clock(self, now: Callable[[], float]) -> None:
        """moto's SQS reads `now()`: a visibility timeout ends when the run's time says (its
        waits skipped), not after as many real seconds."""
        self.replace(moto_sqs, "unix_time", now)
        self.replace(moto_sqs, "unix_time_millis", lambda: now() * 1000.0)

    @staticmethod
    def local_stack_sqs_fifo() -> None:
        """SQS's FIFO group order and batching as the local stack has them
        (devstack/moto_sqs_fifo.py), and its visibility limit (devstack/moto_sqs_visibility.py):
        installed for the process, as the tests' conftest does."""
        moto_sqs_fifo.install()
        moto_sqs_visibility.install()


def forget_clients() -> None:
    """Drop the service's cached boto3 and PynamoDB clients (made again on next use)."""
    aws.reset()
    for model in TABLE_MODELS:
        model._connection = None


def _restore_environment(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
