"""Start and stop `python -m devstack.run` as `make run` does, for the tests
that talk to the whole stack over HTTP (tests/e2e, tests/fuzz)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Only what a shell would pass on: tests/conftest.py fills this process's
# environment with the in-process tests' settings, which must not reach the stack.
PASSED_ON = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")


def start(directory: Path, settings: dict, startup_seconds: float = 60) -> tuple[subprocess.Popen, dict, Path]:
    """Launch the stack with `settings` on top of a shell's environment; wait
    until it writes its ready file. Returns (process, the ready summary, log path)."""
    ready_file, log_path = directory / "ready.json", directory / "run.log"
    env = {name: os.environ[name] for name in PASSED_ON if name in os.environ}
    env.update(settings)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack.run", "--ready-file", str(ready_file)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + startup_seconds
    while not ready_file.exists():
        try:  # wait on the process itself between looks at the ready file
            code = process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None:
            pytest.fail(f"devstack.run exited {code} before ready:\n{log_path.read_text()}")
        if time.monotonic() > deadline:
            stop(process, 5)
            pytest.fail(f"devstack.run not ready within {startup_seconds}s:\n{log_path.read_text()}")
    return process, json.loads(ready_file.read_text()), log_path


def stop(process: subprocess.Popen, timeout: float) -> int | None:
    """Ctrl-C, as a person stops `make run`; killed if it does not stop in time.
    Returns its exit code, or None when it had to be killed."""
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None
