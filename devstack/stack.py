"""The whole service on one machine, offline, over real HTTP: what `make run` starts
and what the end-to-end tests start (through `python -m devstack.run`).

Parts, all bound to 127.0.0.1:
- moto's server for DynamoDB and SQS, with every table and queue made by
  infra.resources.create_all (the deployment's own definitions), each DynamoDB
  request applied atomically (devstack.moto_server) and its SQS FIFO group order
  corrected (devstack.moto_sqs_fifo), its 12-hour visibility limit counted from each
  receive (devstack.moto_sqs_visibility);
- the Chalice app on chalice's local server (HTTP routes only, as `chalice local`);
- one poller per `@app.on_sqs_message` handler (devstack.poller), as Lambda's
  event source mappings would feed them;
- the `@app.schedule` functions on their schedule, or every LOCAL_SCHEDULE_SECONDS
  (devstack.scheduler), as EventBridge rules would invoke them;
- the Twilio stand-in with its phone page, unless TWILIO_API_BASE_URL names
  another Twilio-compatible server;
- a chat receiver that checks each event's signature and prints it, unless
  CHAT_WEBHOOK_URL names the real chat backend;
- a pool of a few numbers, owned at the stand-in and adopted through the API
  (POST /numbers), so the numbers' SmsUrl points at this bridge;
- at the stand-in, the field setup: a Messaging Service whose A2P 10DLC campaign is
  VERIFIED, with AT&T's rate and a T-Mobile tier (devstack.field_setup), named by
  TWILIO_MESSAGING_SERVICE_SID, so each adopted number joins its sender pool as in
  production (STANDIN_MESSAGING_SERVICE=off: plain numbers, which US carriers block).

The app reads its configuration from os.environ, so a Stack sets the process's
environment: run one Stack per process. Every setting comes from an
environment variable (StackSettings.from_env; README "Run it locally").
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devstack import field_setup
from devstack.offline import fake_aws_environment

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # never another interface: the dev secrets below are public
DEFAULT_POOL = ("+14155550101", "+14155550102", "+14155550103")
# The stand-in's own dev account (devstack.twilio.server), so it runs alone with the same values.
DEFAULT_ACCOUNT_SID = "AC" + "5eed" * 8
DEFAULT_AUTH_TOKEN = "standin-dev-auth-token"
# Queue-name overrides the app honours; the local stack names queues by prefix only,
# as infra.resources does, so a stray one in the shell must not split the two.
_QUEUE_OVERRIDES = ("OUTBOUND_QUEUE", "DELIVERY_QUEUE", "REQUESTS_QUEUE", "REQUESTS_DLQ_QUEUE")


@dataclass(frozen=True)
class StackSettings:
    """Everything the local stack can be told; the environment variable of each is in
    from_env. A port of 0 picks a free one (the tests use that)."""

    api_port: int = 8000
    standin_port: int = 8010
    chat_receiver_port: int = 8020
    moto_port: int = 8030
    api_tokens: str = "local-dev-token"
    twilio_account_sid: str = DEFAULT_ACCOUNT_SID
    twilio_auth_token: str = DEFAULT_AUTH_TOKEN
    twilio_api_base_url: str | None = None  # None: the built-in stand-in
    public_base_url: str | None = None  # None: the API's own URL
    chat_webhook_url: str | None = None  # None: the built-in chat receiver
    chat_webhook_secret: str = "local-webhook-secret"
    resource_prefix: str = "sms-bridge-local-"
    pool_numbers: tuple = DEFAULT_POOL
    standin_callback_delay: float = 0.3  # seconds queued -> sent -> delivered
    region: str = "us-east-1"
    # None: each scheduled function on its own schedule; a number: every that many seconds;
    # 0: scheduled functions off.
    schedule_seconds: float | None = None
    # The stand-in's Messaging Service with a VERIFIED campaign (the field setup); False: none.
    standin_messaging_service: bool = True

    @classmethod
    def from_env(cls, env=None) -> StackSettings:
        env = os.environ if env is None else env
        defaults = cls()
        external_twilio = env.get("TWILIO_API_BASE_URL") or None

        def port(name: str, default: int) -> int:
            value = env.get(name)
            if value in (None, ""):
                return default
            if not value.isdigit() or int(value) > 65535:
                raise SystemExit(f"{name}={value!r}: give a TCP port number (0 picks a free one)")
            return int(value)

        schedule = (env.get("LOCAL_SCHEDULE_SECONDS") or "").strip().lower()
        if schedule == "":
            schedule_seconds = None
        elif schedule in ("0", "off"):
            schedule_seconds = 0.0
        else:
            try:
                schedule_seconds = float(schedule)
            except ValueError:
                schedule_seconds = -1.0
            if not 0 < schedule_seconds < float("inf"):
                raise SystemExit(
                    f"LOCAL_SCHEDULE_SECONDS={schedule!r}: give seconds (e.g. 2), or 0 (off); "
                    "unset runs each scheduled function on its own schedule"
                )

        service = (env.get("STANDIN_MESSAGING_SERVICE") or "on").strip().lower()
        if service not in ("on", "1", "true", "off", "0", "false"):
            raise SystemExit(
                f"STANDIN_MESSAGING_SERVICE={service!r}: give on (the default: a Messaging Service with a "
                "VERIFIED campaign at the stand-in) or off (plain numbers, outside any service)"
            )

        pool = env.get("POOL_NUMBERS")
        if pool is None:
            # Real numbers cannot be made up: with another Twilio, adopt only those named.
            pool_numbers = () if external_twilio else defaults.pool_numbers
        else:
            pool_numbers = tuple(n.strip() for n in pool.split(",") if n.strip())
        return cls(
            api_port=port("API_PORT", defaults.api_port),
            standin_port=port("STANDIN_PORT", defaults.standin_port),
            chat_receiver_port=port("CHAT_RECEIVER_PORT", defaults.chat_receiver_port),
            moto_port=port("MOTO_PORT", defaults.moto_port),
            api_tokens=env.get("API_TOKENS") or defaults.api_tokens,
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or defaults.twilio_account_sid,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or defaults.twilio_auth_token,
            twilio_api_base_url=external_twilio,
            public_base_url=env.get("PUBLIC_BASE_URL") or None,
            chat_webhook_url=env.get("CHAT_WEBHOOK_URL") or None,
            chat_webhook_secret=env.get("CHAT_WEBHOOK_SECRET") or defaults.chat_webhook_secret,
            resource_prefix=env.get("RESOURCE_PREFIX") or defaults.resource_prefix,
            pool_numbers=pool_numbers,
            standin_callback_delay=float(env.get("STANDIN_CALLBACK_DELAY") or defaults.standin_callback_delay),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or defaults.region,
            schedule_seconds=schedule_seconds,
            standin_messaging_service=service in ("on", "1", "true"),
        )

    @property
    def api_token(self) -> str:
        """The token to show and use: the first of API_TOKENS."""
        return self.api_tokens.split(",")[0].strip()


class StackError(RuntimeError):
    """A part could not start (a port in use, most often); the message says what to do."""


@dataclass
class Stack:
    settings: StackSettings
    out: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    # Filled in by start():
    api_url: str | None = None
    public_base_url: str | None = None
    standin_url: str | None = None
    chat_receiver_url: str | None = None
    chat_webhook_url: str | None = None
    twilio_api_base_url: str | None = None
    aws_endpoint_url: str | None = None
    messaging_service_sid: str | None = None

    def __post_init__(self):
        self._stops: list[tuple[str, Callable[[], None]]] = []
        self._print_lock = threading.Lock()
        self.standin = None
        self.chat_receiver = None
        self.scheduler = None

    # -- start -------------------------------------------------------------------------

    def start(self) -> Stack:
        """Start every part, in dependency order; on a failure stop what started and raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        s = self.settings
        self._set_environment()
        self._start_moto()
        self._create_resources()
        api_server = self._bind_api()
        if self.api_url is None:
            raise StackError("the API server is bound but has no address (api_url unset by _bind_api)")
        self.public_base_url = (s.public_base_url or self.api_url).rstrip("/")
        os.environ["PUBLIC_BASE_URL"] = self.public_base_url
        self._start_chat_receiver()
        self._start_standin()
        self._serve_api(api_server)
        self._start_pollers()
        self._seed_pool()
        self._start_scheduler()  # after the pool: a first run must not race its adoption

    def _set_environment(self) -> None:
        s = self.settings
        for name in (*_QUEUE_OVERRIDES, "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            os.environ.pop(name, None)
        os.environ.update(
            {
                **fake_aws_environment(s.region, secret="local"),
                "STAGE": os.environ.get("STAGE") or "local",
                "RESOURCE_PREFIX": s.resource_prefix,
                # Secrets by value: config.secret() reads NAME before NAME_PARAM (SSM).
                "API_TOKENS": s.api_tokens,
                "TWILIO_ACCOUNT_SID": s.twilio_account_sid,
                "TWILIO_AUTH_TOKEN": s.twilio_auth_token,
                "CHAT_WEBHOOK_SECRET": s.chat_webhook_secret,
            }
        )
        # Hook-ups are looked up as on a deployed stage, and then some (the stand-in answers
        # Lookup for free: a phone set to landline on the phone page is refused); "" turns it off.
        os.environ.setdefault("TWILIO_LOOKUP_FIELDS", "line_type_intelligence,sms_pumping_risk")
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "sms-bridge")

    def _start_moto(self) -> None:
        from devstack import moto_sqs_fifo, moto_sqs_visibility
        from devstack.moto_server import MotoServer

        moto_sqs_fifo.install()  # FIFO group order as SQS keeps it (moto 5.2.5 hands out the last first)
        moto_sqs_visibility.install()  # 12 h of visibility from each receive (moto 5.2.5: from the send)
        moto = MotoServer(HOST, self.settings.moto_port)  # DynamoDB requests atomic, as DynamoDB's are
        moto.start()
        if moto.error is not None:
            reason = "address already in use" if isinstance(moto.error, SystemExit) else moto.error
            raise StackError(_port_message("moto (DynamoDB, SQS)", "MOTO_PORT", self.settings.moto_port, reason))
        self._stops.append(("moto", moto.stop))
        self.aws_endpoint_url = moto.url()
        os.environ["AWS_ENDPOINT_URL"] = self.aws_endpoint_url

    def _create_resources(self) -> None:
        import boto3

        from infra.resources import create_all

        create_all(self.settings.resource_prefix, boto3.client("dynamodb"), boto3.client("sqs"), boto3.client("s3"))

    def _bind_api(self):
        # After the environment: app.py names its queues at import.
        from chalice.config import Config
        from chalice.local import ChaliceRequestHandler, RouteMatcher

        import app as app_module

        stack = self
        routes = RouteMatcher(list(app_module.app.routes))

        class RequestHandler(ChaliceRequestHandler):
            def _routed(self) -> None:
                """As the deployed chat HTTP API routes (infra/template.py): a path it does not
                have is answered 404 {"message": "Not Found"} by API Gateway, never reaching
                the handler (chalice's local server answers the REST API's 403 "Missing
                Authentication Token"). A path it has takes any method: the app answers."""
                try:
                    routes.match_route(self.path)
                except ValueError:
                    self._parse_payload()  # read the body: the connection stays usable
                    self._send_http_response(404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}')
                    return
                self._generic_handle()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _routed

            def log_request(self, code="-", size="-") -> None:
                path = self.path.split("?")[0]
                if path == "/twilio/status" and str(code).startswith("2"):
                    return  # two per SMS; the SMS lines say enough
                stack.say(f"[api]  {self.command} {path} -> {code}")

        self.app_module = app_module
        config = Config.create(
            chalice_stage="local",
            project_dir=str(ROOT),
            chalice_app=app_module.app,
            lambda_timeout=29,
            lambda_memory_size=512,
        )
        try:
            server = _local_api_server(app_module.app, config, HOST, self.settings.api_port, RequestHandler)
        except OSError as error:
            raise StackError(_port_message("the API", "API_PORT", self.settings.api_port, error)) from None
        host, port = server.server.server_address[:2]
        self.api_url = f"http://{host}:{port}"
        return server

    def _serve_api(self, server) -> None:
        thread = threading.Thread(
            target=server.server.serve_forever, kwargs={"poll_interval": 0.1}, name="chalice-local", daemon=True
        )
        thread.start()

        def stop() -> None:
            server.server.shutdown()
            server.server.server_close()
            thread.join(timeout=5)

        self._stops.append(("api", stop))

    def _start_chat_receiver(self) -> None:
        s = self.settings
        if s.chat_webhook_url:
            self.chat_webhook_url = s.chat_webhook_url
        else:
            from devstack.chat_receiver import ChatReceiver

            try:
                # "new,old" during a rotation (chalicelib/core/event_signing.py): any listed one verifies.
                secrets = [secret.strip() for secret in s.chat_webhook_secret.split(",") if secret.strip()]
                receiver = ChatReceiver(
                    secrets,
                    host=HOST,
                    port=s.chat_receiver_port,
                    on_event=self._print_event,
                    bridge_url=self.api_url,  # the chat page's calls, with the token added server-side
                    bridge_token=s.api_token,
                )
            except OSError as error:
                raise StackError(
                    _port_message("the chat receiver", "CHAT_RECEIVER_PORT", s.chat_receiver_port, error)
                ) from None
            receiver.start()
            self._stops.append(("chat receiver", receiver.stop))
            self.chat_receiver = receiver
            self.chat_receiver_url = receiver.url
            self.chat_webhook_url = receiver.url
        os.environ["CHAT_WEBHOOK_URL"] = self.chat_webhook_url

    def _start_standin(self) -> None:
        s = self.settings
        if s.twilio_api_base_url:
            self.twilio_api_base_url = s.twilio_api_base_url
        else:
            from devstack.twilio.server import serve
            from devstack.twilio.traffic import print_traffic

            try:
                standin = serve(
                    HOST,
                    s.standin_port,
                    account_sid=s.twilio_account_sid,
                    auth_token=s.twilio_auth_token,
                    callback_delay=s.standin_callback_delay,
                    queue_depth=self._outbound_queue_depth(),
                    chat_page_url=self.chat_receiver.base_url + "/" if self.chat_receiver else None,
                )
            except OSError as error:
                raise StackError(_port_message("the Twilio stand-in", "STANDIN_PORT", s.standin_port, error)) from None
            self._stops.append(("twilio stand-in", standin.shutdown))
            self.standin = standin
            self.standin_url = standin.url
            self.twilio_api_base_url = standin.url
            self._stops.append(("sms printer", print_traffic(standin.state, self.say)))
            self._set_up_messaging_service(standin.state)
            if self.chat_receiver is not None:
                self.chat_receiver.phone_page_url = standin.url + "/"
        os.environ["TWILIO_API_BASE_URL"] = self.twilio_api_base_url

    def _set_up_messaging_service(self, backend) -> None:
        """The field setup at the stand-in: a service with a VERIFIED campaign, named to the
        app, so the pool's numbers join it when adopted. Off, the app gets no service (a
        shell's TWILIO_MESSAGING_SERVICE_SID would name one the stand-in does not have)."""
        if not self.settings.standin_messaging_service:
            os.environ.pop("TWILIO_MESSAGING_SERVICE_SID", None)
            return
        self.messaging_service_sid = field_setup.set_up_service(backend)
        os.environ["TWILIO_MESSAGING_SERVICE_SID"] = self.messaging_service_sid

    def _outbound_queue_depth(self) -> Callable[[], int]:
        """For the phone page: SMS in the outbound queue not yet sent (waiting, delayed by
        the limiter, or in a sender's hands)."""
        import boto3

        sqs = boto3.client("sqs")
        url = sqs.get_queue_url(QueueName=f"{self.settings.resource_prefix}outbound.fifo")["QueueUrl"]
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]

        def depth() -> int:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
            return sum(int(attributes.get(name, 0)) for name in names)

        return depth

    def _start_pollers(self) -> None:
        import boto3

        from devstack.poller import Poller, feeds_for

        pollers = []
        for feed in feeds_for(self.app_module):
            feed.region = self.settings.region
            poller = Poller(feed, lambda: boto3.client("sqs"), on_error=self._poller_error)
            poller.start()
            pollers.append(poller)

        def stop() -> None:
            for poller in pollers:
                poller.stop()
            for poller in pollers:
                poller.join(timeout=10)

        self._stops.append(("pollers", stop))
        self.pollers = pollers

    def _start_scheduler(self) -> None:
        from devstack.scheduler import Scheduler, schedules_for

        schedules = schedules_for(self.app_module)
        if not schedules or self.settings.schedule_seconds == 0:
            return

        def ran(schedule, seconds: float) -> None:
            self.say(f"[schedule] {schedule.name} ran in {seconds:.2f}s (run {schedule.runs})")

        def failed(schedule, error: Exception) -> None:
            self.say(f"[schedule] {schedule.name} failed: {type(error).__name__}: {error}")

        scheduler = Scheduler(
            schedules,
            region=self.settings.region,
            every_seconds=self.settings.schedule_seconds,
            on_run=ran,
            on_error=failed,
        )
        for schedule in scheduler.unsupported:
            self.say(
                f"[schedule] {schedule.name} {schedule.expression}: not supported locally "
                "(cron with L, W or #); it runs only with LOCAL_SCHEDULE_SECONDS"
            )
        scheduler.start()

        def stop() -> None:
            scheduler.stop()
            scheduler.join(timeout=30)  # a run under way finishes first

        self._stops.append(("scheduler", stop))
        self.scheduler = scheduler

    def _seed_pool(self) -> None:
        import requests

        for number in self.settings.pool_numbers:
            if self.standin is not None and self.standin.state.number_by_phone(number) is None:
                self.standin.state.add_number(number)
            answer = requests.post(
                f"{self.api_url}/numbers",
                json={"phone_number": number},
                headers={"Authorization": f"Bearer {self.settings.api_token}"},
                timeout=30,
            )
            if answer.status_code != 201:
                raise StackError(f"could not adopt pool number {number}: {answer.status_code} {answer.text}")

    # -- stop --------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every started part, last started first; safe to call twice."""
        while self._stops:
            name, stop = self._stops.pop()
            try:
                stop()
            except Exception as error:  # keep stopping the rest
                self.say(f"[stack] stopping {name} failed: {error}")

    # -- output ------------------------------------------------------------------------

    def say(self, line: str) -> None:
        with self._print_lock:
            self.out(line)

    def summary(self) -> dict:
        """What a client needs to talk to this stack (the ready file of devstack.run)."""
        return {
            "api_url": self.api_url,
            "api_token": self.settings.api_token,
            "public_base_url": self.public_base_url,
            "standin_url": self.standin_url,
            "chat_receiver_url": self.chat_receiver_url,
            "chat_page_url": self.chat_receiver.base_url + "/" if self.chat_receiver else None,
            "chat_webhook_url": self.chat_webhook_url,
            "twilio_api_base_url": self.twilio_api_base_url,
            "twilio_account_sid": self.settings.twilio_account_sid,
            "twilio_messaging_service_sid": os.environ.get("TWILIO_MESSAGING_SERVICE_SID") or None,
            "aws_endpoint_url": self.aws_endpoint_url,
            "resource_prefix": self.settings.resource_prefix,
            "pool_numbers": list(self.settings.pool_numbers),
            "schedules": [
                {"name": s.name, "expression": s.expression}
                for s in (self.scheduler.schedules if self.scheduler else [])
            ],
            "schedule_seconds": self.settings.schedule_seconds,
        }

    def banner(self) -> str:
        token = self.settings.api_token
        lines = [
            "",
            "sms-bridge is running locally (Ctrl-C stops everything).",
            f"  API            {self.api_url}",
            f"  dev token      {token}",
        ]
        if self.standin_url:
            lines.append(
                f"  phone page     {self.standin_url}/   (Twilio stand-in, account {self.settings.twilio_account_sid})"
            )
        else:
            lines.append(f"  Twilio API     {self.twilio_api_base_url}")
        configured = os.environ.get("TWILIO_MESSAGING_SERVICE_SID")
        lines.append(f"  service        {field_setup.describe(self.messaging_service_sid, configured)}")
        if self.chat_receiver_url:
            base = self.chat_receiver.base_url if self.chat_receiver else ""
            lines.append(f"  chat page      {base}/   (type as a chat partner; both pages: {base}/both)")
            lines.append(f"  chat receiver  {self.chat_receiver_url}   (events are printed below)")
        else:
            lines.append(f"  chat webhook   {self.chat_webhook_url}")
        lines += [
            f"  webhooks       signed against {self.public_base_url}",
            f"  DynamoDB, SQS  {self.aws_endpoint_url}   (moto, in memory; tables prefixed {self.settings.resource_prefix})",
            f"  pool           {', '.join(self.settings.pool_numbers) or '(empty: POST /numbers to adopt or buy one)'}",
            f"  schedules      {self._schedules_line()}",
            "",
            "Try it:",
            f"  curl -s -H 'Authorization: Bearer {token}' {self.api_url}/numbers",
            "  make demo        (in another terminal: a short conversation through the API)",
            "",
        ]
        return "\n".join(lines)

    def _schedules_line(self) -> str:
        scheduler = self.scheduler
        if scheduler is None:
            return "off (LOCAL_SCHEDULE_SECONDS=0, or none in the app)"
        every = self.settings.schedule_seconds
        names = ", ".join(f"{s.name} {s.expression}" for s in scheduler.schedules)
        return f"{names}   (every {every:g}s: LOCAL_SCHEDULE_SECONDS)" if every else names

    def _print_event(self, event: dict) -> None:
        fields = {k: v for k, v in event.items() if k not in ("type", "event_id", "created_at")}
        text = fields.pop("text", None)
        described = " ".join(f"{k}={v}" for k, v in fields.items() if v not in (None, "", []))
        quoted = f" {json.dumps(text, ensure_ascii=False)}" if text else ""
        self.say(f"[chat] {event['type']} (signature ok){quoted}  {described}")

    def _poller_error(self, feed, error: Exception) -> None:
        self.say(f"[sqs]  {feed.queue_name}: {type(error).__name__}: {error}")


# The API server's listen backlog. socketserver's default (request_queue_size = 5, kept by
# chalice's ThreadedHTTPServer) overflows when some tens of clients connect at once, and
# the kernel then drops or resets their connections; API Gateway takes them all. The
# kernel caps it at net.core.somaxconn (4096 on current Linux).
API_LISTEN_BACKLOG = 1024


def _local_api_server(app_obj, config, host: str, port: int, handler_cls):
    """chalice's local server (what chalice.local.create_local_server makes), with our
    request logging and a server class that takes many clients at once: one thread per
    connection (chalice's ThreadedHTTPServer) and a listen backlog of API_LISTEN_BACKLOG.
    The app becomes a chalice LocalChalice, as create_local_server does, so
    app.current_request is per thread."""
    from chalice.local import CustomLocalChalice, LocalChalice, LocalDevServer, ThreadedHTTPServer

    class ApiServer(ThreadedHTTPServer):
        request_queue_size = API_LISTEN_BACKLOG
        daemon_threads = True

    if not isinstance(app_obj, LocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)
        app_obj.__class__ = CustomLocalChalice
    return LocalDevServer(app_obj, config, host, port, handler_cls=handler_cls, server_cls=ApiServer)


def _port_message(what: str, variable: str, port: int, error: object) -> str:
    return (
        f"{what} cannot listen on {HOST}:{port} ({error}). Is another `make run` still running? "
        f"Stop it, or choose another port: {variable}=<port> make run"
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run `python -m devstack.run` (or `make run`)")
