"""A stand-in for the chat backend: its webhook, and a chat page that plays its users.

The webhook checks X-Bridge-Signature, keeps every event (deduped on event_id, as a real
receiver must) and can print them. Used by the local stack and the tests.

GET /events answers {"events": [...], "rejected": n, "deliveries": {event_id: n}}: what
arrived so far, oldest first, so a separate process (make demo, the end-to-end tests) can
read it; `deliveries` counts the signed POSTs of each event, repeats included.

The chat page (GET /, devstack/chat/chat.html; GET /both shows it beside the phone page)
is the chat backend's side by hand: pick a user, type as their partners, watch each
message's status and the replies, and every signed POST as it arrived (GET /chat/feed).
It reaches the bridge's API through /chat/api/<path>, which this server forwards with the
bearer token: the token stays here, on 127.0.0.1, and never reaches the browser. A forwarded
call must carry X-Chat-Page: 1, a header another site's page cannot send without a CORS
preflight this server never grants."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import requests

from chalicelib.core import event_signing as signing

PAGE_DIR = Path(__file__).resolve().parent / "chat"
PAGES = {"/": "chat.html", "/both": "both.html"}
FEED_LIMIT = 200  # arrivals the page is shown, newest last
# What the page may ask of the bridge: a user's phone, presence and sessions, and sessions'
# messages (not the pool's administration).
FORWARDED = re.compile(
    r"^/(users/(?!\.\.?/)[^/]+/(phone(/verify)?|presence|sessions)|sessions(/(?!\.\.?(/|$))[^/]+(/messages)?)?)$"
)
PAGE_HEADER = "X-Chat-Page"


class ChatReceiver:
    def __init__(
        self,
        secrets: list[str],
        host: str = "127.0.0.1",
        port: int = 0,
        on_event: Callable | None = None,
        bridge_url: str | None = None,
        bridge_token: str | None = None,
    ):
        self.secrets = secrets
        self.events: list[dict] = []
        self.posted: list[bytes] = []  # every signed body as it came, duplicates too (what the bridge sent)
        self.rejected = 0
        self.deliveries: dict[str, int] = {}  # event_id -> signed POSTs of it, repeats included
        self.arrivals: list[dict] = []  # every POST as the chat page shows it, rejected ones too
        self.users: list[str] = []  # user ids the page worked with or events named, first seen first
        self.failing = False  # tests set it to play a chat backend that is down
        self.bridge_url = bridge_url.rstrip("/") if bridge_url else None
        self.phone_page_url: str | None = None  # the stack sets it once the stand-in is up
        self._bridge = requests.Session()
        if bridge_token:
            self._bridge.headers["Authorization"] = f"Bearer {bridge_token}"
        self._seen: set[str] = set()
        self._changed = threading.Condition()
        self._on_event = on_event
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="chat-receiver")

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):  # typeshed allows bytes; an AF_INET server has a str
            host = host.decode()
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/events"

    def start(self) -> ChatReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._bridge.close()

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

    # -- the webhook ----------------------------------------------------------------------

    def _accept(self, body: bytes, signature: str | None) -> int:
        if self.failing:
            return 503
        if not signing.verify(body, signature, self.secrets, time.time()):
            with self._changed:
                self.rejected += 1
                self._arrived(None, signature, rejected=_rejection(signature))
            return 401
        event = json.loads(body)
        with self._changed:
            self.posted.append(body)
            self.deliveries[event["event_id"]] = self.deliveries.get(event["event_id"], 0) + 1
            repeat = event["event_id"] in self._seen
            self._arrived(event, signature, repeat=repeat)
            if not repeat:
                self._seen.add(event["event_id"])
                self.events.append(event)
                self._know_user(event.get("user_id"))
                if self._on_event:
                    self._on_event(event)
            self._changed.notify_all()
        return 204

    def _arrived(self, event: dict | None, signature: str | None, repeat: bool = False, rejected: str = "") -> None:
        self.arrivals.append(
            {
                "n": self.arrivals[-1]["n"] + 1 if self.arrivals else 1,  # the page counts what is new by it
                "arrived_at": time.time(),
                "signature": signature,
                "verified": not rejected,
                "rejected": rejected or None,
                "repeat": repeat,
                "event": event,
            }
        )
        del self.arrivals[:-FEED_LIMIT]

    def _know_user(self, user_id: object) -> None:
        if isinstance(user_id, str) and user_id and user_id not in self.users:
            self.users.append(user_id)

    # -- the chat page's side ---------------------------------------------------------------

    def feed(self) -> dict:
        with self._changed:
            return {
                "arrivals": list(self.arrivals),
                "rejected": self.rejected,
                "users": list(self.users),
                "phone_page_url": self.phone_page_url,
                "bridge": self.bridge_url is not None,
            }

    def forward(self, method: str, path_and_query: str, body: bytes) -> tuple[int, bytes]:
        """The page's call to the bridge, with the token added here: (status, JSON body)."""
        path = urlsplit(path_and_query).path
        if not FORWARDED.match(path):
            return _error(
                404, "not_forwarded", f"{path} is not a chat backend's call (users' phones and sessions only)"
            )
        if self.bridge_url is None:
            return _error(503, "no_bridge", "this chat receiver was started without the bridge's URL and token")
        user = re.match(r"^/users/([^/]+)/", path)
        try:
            sent = json.loads(body) if body else None
        except ValueError:
            sent = None
        with self._changed:
            self._know_user(user.group(1) if user else sent.get("user_id") if isinstance(sent, dict) else None)
        try:
            answer = self._bridge.request(
                method,
                self.bridge_url + path_and_query,
                data=body or None,
                headers={"Content-Type": "application/json"} if body else {},
                timeout=15,
            )
        except requests.RequestException as error:
            return _error(502, "bridge_unreachable", f"the bridge at {self.bridge_url} did not answer ({error})")
        return answer.status_code, answer.content

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: bytes = b"", content_type: str = "application/json") -> None:
                self.send_response(status)
                if body:
                    self.send_header("Content-Type", content_type)
                    self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _forwarded(self) -> bool:
                if not self.path.startswith("/chat/api/"):
                    return False
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get(PAGE_HEADER) != "1":
                    self._answer(*_error(403, "not_the_chat_page", f"send {PAGE_HEADER}: 1 (the chat page does)"))
                else:
                    self._answer(*receiver.forward(self.command, self.path[len("/chat/api") :], body))
                return True

            def do_GET(self):
                path = self.path.split("?")[0]
                if self._forwarded():
                    return
                if path in PAGES:
                    self._answer(200, (PAGE_DIR / PAGES[path]).read_bytes(), "text/html; charset=utf-8")
                elif path == "/chat/feed":
                    self._answer(200, json.dumps(receiver.feed()).encode())
                elif path == "/events":
                    with receiver._changed:
                        body = json.dumps(
                            {
                                "events": receiver.events,
                                "rejected": receiver.rejected,
                                "deliveries": receiver.deliveries,
                            }
                        ).encode()
                    self._answer(200, body)
                else:
                    self.send_error(404)

            def do_POST(self):
                if self._forwarded():
                    return
                length = int(self.headers.get("Content-Length", 0))
                self._answer(receiver._accept(self.rfile.read(length), self.headers.get("X-Bridge-Signature")))

            def do_PUT(self):
                if not self._forwarded():
                    self.send_error(404)

            do_DELETE = do_PUT

            def log_message(self, *args):  # quiet: the stack prints events its own way
                pass

        return Handler


def _rejection(signature: str | None) -> str:
    if not signature:
        return "no X-Bridge-Signature"
    return "no v1 matches a secret of CHAT_WEBHOOK_SECRET, or t is over 300 s from this clock"


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, json.dumps({"error": {"code": code, "message": message}}).encode()
