"""moto's server as the local stack runs it: DynamoDB requests applied atomically, as
DynamoDB applies them, and a port already taken reported instead of waited on.

What it corrects: moto 5.2.5's server (``ThreadedMotoServer``, werkzeug, one thread per
request) runs DynamoDB requests concurrently on backends that are not thread-safe.
Between reading an item and writing it, ``Table.put_item`` parses the condition and
``DynamoDBBackend.update_item`` parses and validates the update, so a racing request can
slip in between: two conditional writes both pass a condition only one of them may
(``ADD n`` under ``n < :limit`` goes past the limit, or loses an increment), and
``transact_write_items`` snapshots whole tables with ``copy.deepcopy`` while other
requests change them (500 "dictionary changed size during iteration") and rolls a
cancelled transaction back by putting that snapshot back, erasing what other requests
wrote meanwhile. DynamoDB applies each request to an item atomically, and a transaction
in isolation. Here every DynamoDB request holds one lock for its whole run, so moto
sees them one at a time; SQS, S3 and the rest stay concurrent (a long poll waits
without holding anything). One lock rather than one per table: a transaction spans
tables, and under the GIL finer locks would buy no throughput.

test_moto_server.py (in tests/devstack) races conditional writes and transactions through
the server's endpoint; with ``atomic_dynamodb=False`` they show moto alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

# botocore names a DynamoDB operation in this header ("DynamoDB_20120810.PutItem"),
# DynamoDB Streams' too ("DynamoDBStreams_20120810.GetRecords").
_TARGET = "HTTP_X_AMZ_TARGET"
_DYNAMODB = "DynamoDB"

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


def one_dynamodb_request_at_a_time(app: WsgiApp) -> WsgiApp:
    """`app` with each DynamoDB request run to its end (its body read out) under one lock."""
    lock = threading.Lock()

    def serialised(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if not environ.get(_TARGET, "").startswith(_DYNAMODB):
            return app(environ, start_response)
        with lock:
            answer = app(environ, start_response)
            try:
                return [b"".join(answer)]  # moto builds the whole answer first; take it in the lock
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()

    return serialised


class MotoServer(ThreadedMotoServer):
    """ThreadedMotoServer with DynamoDB requests one at a time (unless atomic_dynamodb is
    False, to show moto alone); a port in use is kept in `error` (moto's start() would wait
    forever)."""

    error: BaseException | None = None

    def __init__(self, ip_address: str, port: int, atomic_dynamodb: bool = True):
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self.atomic_dynamodb = atomic_dynamodb

    def _server_entry(self) -> None:
        # moto 5.2.5's ThreadedMotoServer._server_entry, with the app wrapped.
        try:
            app: WsgiApp = DomainDispatcherApplication(create_backend_app)
            if self.atomic_dynamodb:
                app = one_dynamodb_request_at_a_time(app)
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        except BaseException as error:  # werkzeug reports a port in use by printing it and exiting
            self.error = error
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever()

    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def stop(self) -> None:
        super().stop()
        if self._server is not None:
            self._server.server_close()  # free the port now, not at exit
