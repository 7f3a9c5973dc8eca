"""The webhook receiver the stand-in's test modules share (import `receiver_fixture` for the `receiver` fixture).

Not a conftest.py: other test directories import their constants with `from conftest import`,
which a second conftest module here would shadow."""

import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request as WsgiRequest
from werkzeug.wrappers import Response as WsgiResponse

WAIT = 5  # seconds: an upper bound for conditions, never a sleep


class Receiver:
    """A tiny HTTP server on 127.0.0.1 recording what the stand-in posts to it."""

    def __init__(self):
        self.calls = []
        self.replies = {}  # path -> (status, body, content type)
        self._cond = threading.Condition()
        self._http = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._http.server_port}"
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def _app(self, environ, start_response):
        incoming = WsgiRequest(environ)
        call = {
            "path": incoming.path,
            "url": self.url + incoming.full_path.rstrip("?"),
            "method": incoming.method,
            "form": incoming.form.to_dict(),
            "signature": incoming.headers.get("X-Twilio-Signature"),
        }
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()
        status, body, content_type = self.replies.get(incoming.path, (204, "", "text/plain"))
        return WsgiResponse(body, status=status, content_type=content_type)(environ, start_response)

    def wait_for_calls(self, count, path=None):
        def matching():
            return [c for c in self.calls if path is None or c["path"] == path]

        with self._cond:
            if not self._cond.wait_for(lambda: len(matching()) >= count, WAIT):
                raise TimeoutError(f"{len(matching())} calls to {path}, wanted {count}")
            return matching()

    def close(self):
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture(name="receiver")
def receiver_fixture():
    server = Receiver()
    yield server
    server.close()
