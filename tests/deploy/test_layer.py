"""What `make package` ships for Lambda's arm64 CPython 3.13.

The template part is offline (packaged.py's template). The layer part builds
the real layer the way `make package` does (infra/package.py: requirements.lock's
wheels for manylinux aarch64, hashes checked), so it needs PyPI or pip's cache,
as `make test`'s own install does; a layer Chalice already built for the same
lock entries is taken from .chalice/deployments/, exactly as `make package` would."""

from __future__ import annotations

import functools
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from packaged import ROOT, STAGES, of_type, template

from infra.package import NOT_DEPLOYED

EM_AARCH64 = 183  # ELF e_machine
RUNTIME = "python3.13"


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_runs_python_3_13_on_arm64(stage):
    functions = of_type(template(stage), "AWS::Serverless::Function")
    assert functions
    for logical_id, function in functions.items():
        assert function["Properties"]["Runtime"] == RUNTIME, logical_id
        assert function["Properties"]["Architectures"] == ["arm64"], logical_id


def test_the_venv_runs_the_lambda_runtimes_python():
    """Chalice takes the runtime from the packaging Python; the tests run the same minor."""
    assert f"python{sys.version_info.major}.{sys.version_info.minor}" == RUNTIME


@functools.cache
def _real_build() -> Path:
    scratch = tempfile.mkdtemp(prefix="sms-bridge-layer-test-")
    import atexit

    atexit.register(shutil.rmtree, scratch, True)
    out = Path(scratch) / "dev"
    result = subprocess.run(
        [sys.executable, "-m", "infra.package", "--stage", "dev", "--out", str(out), "--no-precompile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return out


def _elf_machine(header: bytes) -> tuple[int, int]:
    """(EI_CLASS, e_machine) of an ELF header (little-endian, as both Lambda architectures are)."""
    assert header[:4] == b"\x7fELF", "not an ELF file"
    return header[4], struct.unpack("<H", header[18:20])[0]


def test_the_layer_holds_aarch64_wheels_for_python_3_13():
    build = _real_build()
    with zipfile.ZipFile(build / "layer-deployment.zip") as layer:
        names = layer.namelist()
        prefix = f"python/lib/{RUNTIME}/site-packages/"
        assert names and all(name.startswith(prefix) for name in names)
        shared = [name for name in names if name.endswith(".so") or ".so." in name]
        assert shared, "no compiled module at all: the check below would prove nothing"
        for name in shared:
            with layer.open(name) as entry:
                assert _elf_machine(entry.read(20)) == (2, EM_AARCH64), f"{name} is not a 64-bit aarch64 ELF"
            assert "x86_64" not in name and "cpython-3" not in name.replace("cpython-313", ""), name
        top = {name[len(prefix) :].split("/")[0] for name in names}
    for package, modules in NOT_DEPLOYED.items():
        assert not top & set(modules), f"{package} is in the layer"
    assert {"twilio", "boto3", "botocore", "pynamodb", "phonenumbers", "requests", "regex"} <= top


def test_the_packaged_template_has_an_arm64_layer_for_python_3_13():
    sam = json.loads((_real_build() / "template.json").read_text())
    layers = of_type(sam, "AWS::Serverless::LayerVersion")
    assert len(layers) == 1
    (layer,) = layers.values()
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Properties"]["CompatibleRuntimes"] == [RUNTIME]
