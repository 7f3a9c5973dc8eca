"""`make run`: the whole service offline on 127.0.0.1, in the foreground, until Ctrl-C.

    .venv/bin/python -m devstack.run [--ready-file PATH]

Settings come from the environment (devstack.stack.StackSettings.from_env; README
"Run it locally"). --ready-file (or STACK_READY_FILE) names a file written, as JSON
with the URLs and the token, once everything is up: the end-to-end tests start the
stack this way, on free ports (every *_PORT=0).
Exit status: 0 after Ctrl-C or SIGTERM, 1 when a part cannot start.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    parser = argparse.ArgumentParser(prog="python -m devstack.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--ready-file",
        default=os.environ.get("STACK_READY_FILE"),
        help="write the stack's URLs and token here (JSON) once it is ready",
    )
    args = parser.parse_args(argv)

    # Servers' own access logs (moto's, werkzeug's) would drown the lines that matter.
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if os.environ.get("SHOW_METRICS", "") in ("", "0", "false"):
        sys.stdout = _WithoutMetricLines(sys.stdout)

    from devstack.stack import Stack, StackError, StackSettings

    settings = StackSettings.from_env()
    stack = Stack(settings)
    stop = threading.Event()
    try:
        print("starting sms-bridge locally ...", flush=True)
        stack.start()
    except StackError as error:
        print(f"make run: {error}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("stopped before it was ready", flush=True)
        return 130
    try:
        # From here on Ctrl-C and SIGTERM both mean: stop every part, then exit 0.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        print(stack.banner(), flush=True)
        print(f"ready in {time.monotonic() - started:.1f}s", flush=True)
        if args.ready_file:
            _write_atomically(Path(args.ready_file), json.dumps(stack.summary(), indent=2))
        while not stop.wait(0.5):
            pass
        print("\nstopping ...", flush=True)
    finally:
        stack.stop()
        if args.ready_file:
            Path(args.ready_file).unlink(missing_ok=True)
    print("stopped", flush=True)
    return 0


class _WithoutMetricLines:
    """stdout without CloudWatch EMF lines: chalicelib/adapters/metrics.py prints one JSON line per
    figure (Powertools' single_metric ignores POWERTOOLS_METRICS_DISABLED), useful on
    Lambda, noise in a terminal. SHOW_METRICS=1 keeps them."""

    def __init__(self, stream):
        self._stream = stream
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            lines = (self._partial + text).split("\n")
            self._partial = lines.pop()
            kept = [line for line in lines if not line.startswith('{"_aws":')]
            if kept:
                self._stream.write("\n".join(kept) + "\n")
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)


if __name__ == "__main__":
    sys.exit(main())
