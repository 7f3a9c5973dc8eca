"""A stand-in for the chat backend's webhook: checks X-Bridge-Signature,
keeps every event (deduped on event_id, as a real receiver must) and can
print them. Used by the local stack and the tests.

GET /events answers {"events": [...], "rejected": n, "deliveries": {event_id: n}}: what
arrived so far, oldest first, so a separate process (make demo, the end-to-end tests) can
read it; `deliveries` counts the signed POSTs of each event, repeats included."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chalicelib.core import event_signing as signing


class ChatReceiver:
    def __init__(self, secrets: list[str], host: str = "127.0.0.1", port: int = 0, on_event: Callable | None = None):
        self.secrets = secrets
        self.events: list[dict] = []
        self.posted: list[bytes] = []  # every signed body as it came, duplicates too (what the bridge sent)
        self.rejected = 0
        self.deliveries: dict[str, int] = {}  # event_id -> signed POSTs of it, repeats included
        self.failing = False  # tests set it to play a chat backend that is down
        self._seen: set[str] = set()
        self._changed = threading.Condition()
        self._on_event = on_event
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="chat-receiver")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):  # typeshed allows bytes; an AF_INET server has a str
            host = host.decode()
        return f"http://{host}:{port}/events"

    def start(self) -> ChatReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def of_type(self, event_type: str) -> list[dict]:
        with self._changed:
            return [e for e in self.events if e["type"] == event_type]

    def wait_for(self, predicate: Callable[[list[dict]], bool], timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.events):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching chat event within {timeout}s; got {self.events}")
                self._changed.wait(left)
            return list(self.events)

    def _accept(self, body: bytes, signature: str | None) -> int:
        if self.failing:
            return 503
        if not signing.verify(body, signature, self.secrets, time.time()):
            self.rejected += 1
            return 401
        event = json.loads(body)
        with self._changed:
            self.posted.append(body)
            self.deliveries[event["event_id"]] = self.deliveries.get(event["event_id"], 0) + 1
            if event["event_id"] not in self._seen:
                self._seen.add(event["event_id"])
                self.events.append(event)
                if self._on_event:
                    self._on_event(event)
            self._changed.notify_all()
        return 204

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.split("?")[0] != "/events":
                    self.send_error(404)
                    return
                with receiver._changed:
                    body = json.dumps(
                        {"events": receiver.events, "rejected": receiver.rejected, "deliveries": receiver.deliveries}
                    ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                status = receiver._accept(self.rfile.read(length), self.headers.get("X-Bridge-Signature"))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # quiet: the stack prints events its own way
                pass

        return Handler
