"""The deployable template of a stage, built once per test run by the same
code as `make package` (infra/package.py), offline: the dependencies are left
out of the layer, which changes no resource the tests look at."""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path

from infra import scan

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")


@functools.cache
def build_dir(stage: str) -> Path:
    scratch = tempfile.mkdtemp(prefix=f"sms-bridge-{stage}-")
    atexit.register(shutil.rmtree, scratch, True)
    out = Path(scratch) / stage
    scan.package_offline(stage, out)
    return out


def template(stage: str) -> dict:
    return json.loads((build_dir(stage) / "template.json").read_text())


def chalice_config() -> dict:
    return json.loads((ROOT / ".chalice" / "config.json").read_text())


def stage_environment(stage: str) -> dict:
    config = chalice_config()
    return {**config.get("environment_variables", {}), **config["stages"][stage]["environment_variables"]}


def policy(stage: str) -> dict:
    return json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())


def of_type(template_: dict, kind: str) -> dict:
    return {lid: r for lid, r in template_["Resources"].items() if r["Type"] == kind}
