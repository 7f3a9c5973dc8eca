"""The stand-in served: the parts wired together (create_app), a threaded HTTP server on
loopback (serve, StandinServer), twilio-python pointed at it (StandinHttpClient), and
`python -m devstack.twilio` (main)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider
from twilio.http.http_client import TwilioHttpClient
from werkzeug.serving import WSGIRequestHandler, make_server

from devstack.twilio.api import dispatch
from devstack.twilio.api.envelope import error_answer, twilio_error
from devstack.twilio.api.messages import media_content
from devstack.twilio.backend import TwilioBackend
from devstack.twilio.context import Standin
from devstack.twilio.control import register_control_api
from devstack.twilio.delivery import CallbackTimer, Delivery
from devstack.twilio.errors import ERR_AUTHENTICATE, not_found
from devstack.twilio.faults import FaultInjector
from devstack.twilio.media_fetch import fetch_media
from devstack.twilio.outbound import MediaFetcher
from devstack.twilio.phone_numbers import parse_e164
from devstack.twilio.phone_page import STATIC_DIR
from devstack.twilio.render import ACCOUNT_PREFIX
from devstack.twilio.webhooks import SignedWebhookClient

DEV_ACCOUNT_SID = "AC" + "5eed" * 8
DEV_AUTH_TOKEN = "standin-dev-auth-token"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def create_app(
    account_sid: str,
    auth_token: str,
    *,
    callback_delay: float = 0.2,
    queue_depth: Callable[[], int | None] | None = None,
    clock: Callable[[], datetime] | None = None,
    keyword_auto_replies: bool = True,
    require_a2p: bool | None = None,
    opt_out_type: str | None = None,
    fetch: MediaFetcher = fetch_media,
    webhooks: SignedWebhookClient | None = None,
    chat_page_url: str | None = None,
) -> tuple[Flask, Standin]:
    """The stand-in as a Flask app, and its parts (for tests to inspect and wait on).

    callback_delay: seconds between queued -> sent -> delivered (0 in tests).
    queue_depth: returns how many SMS wait in the bridge's outbound queue (None if unknown),
        shown on the page.
    keyword_auto_replies: send Twilio's own STOP/START/HELP replies, as Twilio does.
    require_a2p: enforce US A2P 10DLC registration (30034); None = env STANDIN_REQUIRE_A2P=1.
    opt_out_type: "always" | "advanced" (backend.OPT_OUT_TYPE_MODES); None = env
        STANDIN_OPT_OUT_TYPE, default "always".
    fetch: fetches an outbound MMS's MediaUrls (over HTTP, as Twilio does).
    webhooks: where signed webhooks and status callbacks go (default: over HTTP, as Twilio sends
        them); a test passes a client that catches them, to replay them into an in-process app.
    chat_page_url: the local stack's chat page, which the phone page links to.
    """
    clock = clock or _utc_now
    backend = TwilioBackend(
        account_sid,
        auth_token,
        clock=clock,
        require_a2p=_env_flag("STANDIN_REQUIRE_A2P") if require_a2p is None else require_a2p,
        opt_out_type=opt_out_type or os.environ.get("STANDIN_OPT_OUT_TYPE", "").strip() or "always",
        keyword_auto_replies=keyword_auto_replies,
    )
    webhooks = webhooks or SignedWebhookClient(auth_token, clock=clock, record=backend.log_callback)
    standin = Standin(
        backend=backend,
        delivery=Delivery(backend, webhooks, callback_delay=callback_delay, timer=CallbackTimer()),
        faults=FaultInjector(notify=backend.notify),
        fetch_media=fetch,
        queue_depth=queue_depth,
        chat_page_url=chat_page_url,
    )
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/_standin/static")
    app.json = DefaultJSONProvider(app)
    app.json.sort_keys = False

    for prefix in dispatch.API_PREFIXES:
        app.add_url_rule(
            f"{prefix}/<path:rest>",
            f"twilio_api{prefix}",
            lambda rest: dispatch.handle(standin),
            methods=["GET", "POST", "DELETE", "PUT"],
        )

    @app.get(f"{ACCOUNT_PREFIX}/<account>/Messages/<message_sid>/Media/<media_sid>")
    def media_bytes(account, message_sid, media_sid):
        """A medium's bytes, as Twilio serves MediaUrl{i}: to the account's credentials only."""
        if not dispatch.authorized(backend) or account != backend.account_sid:
            response = twilio_error(401, ERR_AUTHENTICATE, "Authenticate")
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response
        found = media_content(standin, message_sid, media_sid)
        if found is None:
            return error_answer(not_found(request.path))
        return Response(found.content, mimetype=found.content_type)

    @app.get("/")
    def phone_simulator():
        return app.send_static_file("phones.html")

    register_control_api(app, standin)
    return app, standin


class _QuietRequestHandler(WSGIRequestHandler):
    """Logs Twilio API calls and failures, not the page's once-a-second polling."""

    def log_request(self, code="-", size="-") -> None:
        try:
            failed = int(code) >= 400
        except (TypeError, ValueError):
            failed = True
        if failed or self.path.startswith(tuple(f"{prefix}/" for prefix in dispatch.API_PREFIXES)):
            super().log_request(code, size)


class StandinServer:
    """A running stand-in: .url, .app; its parts .standin, and of them .state (the backend:
    Twilio's state), .delivery, .webhooks and .faults; .shutdown() stops it."""

    def __init__(self, app: Flask, standin: Standin, host: str, port: int):
        self.app, self.standin = app, standin
        self.state = standin.backend
        self.delivery = standin.delivery
        self.webhooks = standin.delivery.webhooks
        self.faults = standin.faults
        self._http = make_server(host, port, app, threaded=True, request_handler=_QuietRequestHandler)
        self.host, self.port = host, self._http.server_port
        self.url = f"http://{host}:{self.port}"
        # A short poll interval: shutdown() waits up to one interval.
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="twilio-standin", kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def shutdown(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)
        self.delivery.close()


def serve(
    host: str = "127.0.0.1",
    port: int = 8010,
    *,
    account_sid: str = DEV_ACCOUNT_SID,
    auth_token: str = DEV_AUTH_TOKEN,
    callback_delay: float = 0.2,
    queue_depth: Callable[[], int | None] | None = None,
    seed_numbers: tuple = (),
    sms_url: str | None = None,
    **app_options,
) -> StandinServer:
    """Start the stand-in in a background thread (port=0 picks a free port; see .url).
    seed_numbers are owned from the start, with sms_url as their SmsUrl if given."""
    app, standin = create_app(
        account_sid, auth_token, callback_delay=callback_delay, queue_depth=queue_depth, **app_options
    )
    for phone in seed_numbers:
        standin.backend.add_number(parse_e164(phone, "US") or phone, sms_url=sms_url)
    return StandinServer(app, standin, host, port)


class StandinHttpClient(TwilioHttpClient):
    """twilio-python's HTTP client, sending every request to base_url instead of
    https://api.twilio.com (scheme and host rewritten, path and query kept)."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        base = urlsplit(self.base_url)
        target = urlsplit(url)._replace(scheme=base.scheme, netloc=base.netloc)
        return super().request(method, urlunsplit(target), *args, **kwargs)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    account_sid = os.environ.get("TWILIO_ACCOUNT_SID", DEV_ACCOUNT_SID)
    auth_token = os.environ.get("TWILIO_AUTH_TOKEN", DEV_AUTH_TOKEN)
    port = int(os.environ.get("STANDIN_PORT", "8010"))
    seed = [n for n in os.environ.get("STANDIN_NUMBERS", "").split(",") if n.strip()]
    server = serve(
        "127.0.0.1",
        port,
        account_sid=account_sid,
        auth_token=auth_token,
        seed_numbers=tuple(seed),
        sms_url=os.environ.get("STANDIN_SMS_URL"),
    )
    print(
        f"Twilio stand-in on {server.url}  (account {account_sid})\n"
        f"phone simulator: {server.url}/\n"
        f"point twilio-python at it with devstack.twilio.server.StandinHttpClient"
        f"({server.url!r}); Ctrl-C stops it",
        flush=True,
    )
    stop = threading.Event()
    # SIGTERM (from a process supervisor) stops cleanly, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
