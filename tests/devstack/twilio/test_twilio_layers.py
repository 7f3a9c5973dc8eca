"""The stand-in's backend side stays free of HTTP, threads and the wall clock, so its rules
run as the tests above run them: no server, no timer, time passed in."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "devstack" / "twilio"
BACKEND_SIDE = ("backend", "errors", "inbound", "media", "outbound", "phone_numbers", "resources", "segments")
# What the backend side may not import: HTTP (server and client), and the package's own HTTP
# and time side.
FORBIDDEN = ("flask", "werkzeug", "requests", "urllib3", "http", "twilio", "socket")
HTTP_SIDE = ("api", "context", "control", "delivery", "media_fetch", "phone_page", "render", "server", "webhooks")


def _imports(tree: ast.Module) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return names


@pytest.mark.parametrize("module", BACKEND_SIDE)
def test_the_backend_side_imports_no_http(module):
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    own = tuple(f"devstack.twilio.{name}" for name in HTTP_SIDE)
    bad = [
        name
        for name in _imports(tree)
        if name.split(".")[0] in FORBIDDEN or name == "devstack.twilio_spec" or name.startswith(own)
    ]
    assert bad == []


@pytest.mark.parametrize("module", BACKEND_SIDE)
def test_the_backend_side_starts_no_thread_sleeps_never_and_reads_no_wall_clock(module):
    source = (PACKAGE / f"{module}.py").read_text()
    calls = [
        f"line {node.lineno}: {ast.unparse(node.func)}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and ast.unparse(node.func)
        in (
            "threading.Thread",
            "Thread",
            "time.sleep",
            "time.time",
            "time.monotonic",
            "datetime.now",
            "datetime.utcnow",
        )
    ]
    assert calls == []
