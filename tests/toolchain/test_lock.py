"""requirements.lock and requirements-dev.lock are what `make lock` makes of
the pinned inputs now: a pin changed without `make lock` fails here. Cheap and
offline: each lock's header records a sha256 of its inputs, recomputed here."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from infra import lock

ROOT = Path(__file__).resolve().parents[2]
LOCKS = {entry.path: entry for entry in lock.LOCKS}


def _pins(requirements: str) -> dict[str, str]:
    """name -> version of a hand-written requirements file's `name==version` lines."""
    pins = {}
    for line in (ROOT / requirements).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


@pytest.mark.parametrize("path", sorted(LOCKS))
def test_lock_is_fresh(path):
    inputs = LOCKS[path].inputs
    digest = hashlib.sha256()
    for name in inputs:
        digest.update(name.encode() + b"\0" + (ROOT / name).read_bytes() + b"\0")
    recorded = re.search(r"^# inputs-sha256: ([0-9a-f]{64})$", (ROOT / path).read_text(), re.MULTILINE)
    assert recorded, f"{path} has no inputs-sha256 line: run make lock"
    assert recorded.group(1) == digest.hexdigest(), (
        f"{' or '.join(inputs)} changed since {path} was made: run make lock"
    )


@pytest.mark.parametrize("path", sorted(LOCKS))
def test_lock_pins_every_input_as_written_with_hashes(path):
    entries = lock.entries((ROOT / path).read_text())
    for requirements in LOCKS[path].inputs:
        for name, version in _pins(requirements).items():
            assert name in entries, f"{name} ({requirements}) is not in {path}"
            assert entries[name][0] == version, f"{path} has {name}=={entries[name][0]}, {requirements} {version}"
    for name, (_, text) in entries.items():
        assert "--hash=sha256:" in text, f"{name} has no hash in {path}"


def test_runtime_packages_have_the_same_versions_in_both_locks():
    """What the tests run is what Lambda gets."""
    runtime = lock.entries((ROOT / "requirements.lock").read_text())
    dev = lock.entries((ROOT / "requirements-dev.lock").read_text())
    differ = {
        name: (version, dev.get(name, ("missing",))[0])
        for name, (version, _) in runtime.items()
        if dev.get(name, ("missing",))[0] != version
    }
    assert not differ, f"requirements.lock vs requirements-dev.lock: {differ}"


def test_the_check_of_infra_lock_agrees():
    assert lock.stale() == []
