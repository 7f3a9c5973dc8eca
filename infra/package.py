"""Write a stage's deployable template and code to build/<stage>/ (`make package`).

    python -m infra.package --stage dev [--out build/dev] [--offline]

Runs Chalice's own packager (what `chalice package` runs) in this process,
then merges infra/template.py's overlay into its SAM template:

    build/<stage>/sam.json               Chalice's template, as Chalice wrote it
    build/<stage>/overlay.json           what infra/template.py adds (a --merge-template file)
    build/<stage>/template.json          the two merged: what `make deploy` deploys
    build/<stage>/deployment.zip         app.py + chalicelib/ (the functions' code)
    build/<stage>/layer-deployment.zip   the dependencies, as Chalice's automatic layer

The code zips get bytecode for the modules a cold start imports (see
_precompile: `import app` about 5x faster on a read-only /var/task and /opt),
written deterministically so an unchanged layer is not published again.
`python -m infra.cold_start --stage <stage>` measures the result.

The functions and the layer are for Lambda's arm64 (Graviton) CPython 3.13:
`lambda_architecture` in .chalice/config.json makes Chalice write
Architectures [arm64] on every function and CompatibleArchitectures on the
layer, and the runtime is the Python that runs this (make's venv: 3.13).
The layer holds requirements.lock, installed with its hashes checked and
for the target whatever machine packages it (pip --platform
manylinux2014_aarch64 --only-binary=:all: --python-version 3.13
--implementation cp), less NOT_DEPLOYED: twilio's asyncio client's packages,
which the code never imports (tests/toolchain/test_not_deployed.py shows
app and the twilio paths it uses import without them).

Packaging the dependencies needs PyPI (pip downloads the wheels; Chalice
caches the built layer in .chalice/deployments/, keyed on the lock's entries
that go in). `--offline` skips them: it packages a copy of the project with no
dependencies, so the template is the same apart from the layer's contents;
the tests use it, and it never touches the real cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the deployment package is built from (Chalice reads no other file).
PROJECT_FILES = ("app.py", "chalicelib", ".chalice/config.json", "requirements.txt")
RUNTIME_LOCK = ROOT / "requirements.lock"
# The wheels the layer gets: Lambda's arm64 CPython 3.13 (Amazon Linux 2023, glibc 2.34).
TARGET_PIP_OPTIONS = (
    "--platform",
    "manylinux2014_aarch64",
    "--platform",
    "manylinux_2_28_aarch64",
    "--platform",
    "manylinux_2_34_aarch64",
    "--only-binary=:all:",
    "--python-version",
    "3.13",
    "--implementation",
    "cp",
)
# Packages of requirements.lock left out of the layer, with the modules they
# provide: twilio requires them for its asyncio client alone
# (twilio/http/async_http_client.py, the only twilio module that imports
# aiohttp, and nothing imports it but a caller of AsyncTwilioHttpClient),
# which this code never uses. About 10 MB unpacked.
NOT_DEPLOYED = {
    "aiohttp": ("aiohttp",),
    "aiohttp-retry": ("aiohttp_retry",),
    "aiohappyeyeballs": ("aiohappyeyeballs",),
    "aiosignal": ("aiosignal",),
    "attrs": ("attr", "attrs"),
    "frozenlist": ("frozenlist",),
    "multidict": ("multidict",),
    "propcache": ("propcache",),
    "yarl": ("yarl",),
}


def layer_requirements(lock_text: str) -> str:
    """The lock's entries that go into the layer, hashes and all, as a requirements file.

    Its bytes are also Chalice's cache key for the built layer, so they name
    the target and what was left out: a change to either builds it again."""
    from infra import lock

    kept = {name: entry for name, entry in lock.entries(lock_text).items() if name not in NOT_DEPLOYED}
    header = (
        "# The Lambda layer: requirements.lock less infra/package.py's NOT_DEPLOYED\n"
        f"# ({', '.join(sorted(NOT_DEPLOYED))}), for pip {' '.join(TARGET_PIP_OPTIONS)}\n"
    )
    return header + "".join(kept[name][1] for name in sorted(kept))


def install_layer_packages(requirements: Path, target: Path) -> None:
    """pip-installs a layer_requirements() file into `target` for Lambda's arm64 CPython 3.13,
    hashes checked, each package alone (the lock is the whole closure)."""
    import subprocess

    from infra import progress

    target.mkdir(parents=True, exist_ok=True)
    with progress.step("installing requirements.lock's aarch64 wheels for the layer"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--no-deps",
                "--require-hashes",
                "--target",
                str(target),
                *TARGET_PIP_OPTIONS,
                "-r",
                str(requirements),
            ],
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit("pip could not install the layer's packages")


def _layer_from_lock(requirements: Path) -> None:
    """Chalice builds the layer from `requirements` with install_layer_packages instead of
    its own resolver (which would take requirements.txt's unpinned, unhashed closure)."""
    from chalice.deploy import packager

    def build_site_packages(self, abi, requirements_filepath, target_directory):
        install_layer_packages(Path(requirements_filepath), Path(target_directory))

    packager.DependencyBuilder.build_site_packages = build_site_packages  # type: ignore[method-assign]
    packager.LayerDeploymentPackager._get_requirements_filename = lambda self, project_dir: str(requirements)  # type: ignore[method-assign]


def chalice_package(stage: str, out_dir: Path, project_dir: Path = ROOT) -> dict:
    """`chalice package --stage <stage> <out_dir>`, in-process; returns the SAM template."""
    from chalice.cli.factory import CLIFactory

    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
    factory = CLIFactory(project_dir=str(project_dir), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    packager = factory.create_app_packager(config, factory.create_package_options(), "cloudformation", "json", None)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    packager.package_app(config, str(out_dir), stage)
    return json.loads((out_dir / "sam.json").read_text())


def _offline_copy(destination: Path) -> Path:
    for relative in PROJECT_FILES:
        source = ROOT / relative
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    for policy in (ROOT / ".chalice").glob("policy-*.json"):
        shutil.copy2(policy, destination / ".chalice" / policy.name)
    return destination


def _skip_dependencies() -> None:
    from chalice.deploy import packager

    def build_site_packages(self, abi, requirements_filepath, target_directory):
        os.makedirs(target_directory, exist_ok=True)

    packager.DependencyBuilder.build_site_packages = build_site_packages  # type: ignore[method-assign]


def _drop_bytecode(archive: Path) -> None:
    """Chalice copies chalicelib/__pycache__ into the code zip: bytecode of the
    packaging machine, which Lambda would only recompile. Leave it out."""
    import zipfile

    if not archive.exists():
        return
    kept = archive.with_suffix(".tmp")
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(kept, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            if "__pycache__/" not in entry.filename and not entry.filename.endswith(".pyc"):
                target.writestr(entry, source.read(entry))
    kept.replace(archive)


# Imported in a clean interpreter from the unpacked zips: what a cold start loads.
_COLD_START_PROBE = """
import sys
task, site = sys.argv[1], sys.argv[2]
sys.path[:0] = [task, site]
import app  # every function's cold start
for name in ("twilio.rest", "twilio.request_validator", "requests", "pynamodb.connection"):
    __import__(name)  # what the first request or record needs
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None) or ""
    if path.endswith(".py") and path.startswith((task, site)):
        print(path)
"""


def _precompile(out_dir: Path, runtime: str) -> int:
    """Add bytecode for the modules a cold start imports to the zips.

    Lambda's /var/task and /opt are read-only, so Python compiles every module
    from source on each cold start (the wheels ship no .pyc). Compiled here
    with the runtime's own Python version and unchecked hashes (the zips'
    timestamps are fixed), `import app` takes a third of the time. Returns how
    many modules were compiled."""
    import importlib.util
    import py_compile
    import subprocess
    import zipfile

    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtime != version:
        print(f"not precompiling: packaging with {version} for a {runtime} runtime", file=sys.stderr)
        return 0
    roots = {"deployment.zip": "/var/task", "layer-deployment.zip": "/opt"}
    with tempfile.TemporaryDirectory(prefix="sms-bridge-bytecode-") as scratch:
        unpacked = {}
        for name in roots:
            if (out_dir / name).exists():
                unpacked[name] = Path(scratch) / name
                with zipfile.ZipFile(out_dir / name) as archive:
                    archive.extractall(unpacked[name])
        task = unpacked["deployment.zip"]
        site = (
            unpacked.get("layer-deployment.zip", Path(scratch) / "none") / "python" / "lib" / version / "site-packages"
        )
        probe = subprocess.run(
            [sys.executable, "-S", "-I", "-B", "-c", _COLD_START_PROBE, str(task), str(site)],
            capture_output=True,
            text=True,
            env={"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1"},
        )
        if probe.returncode != 0:
            # The layer holds Linux wheels: on another OS they may not import here.
            last = (probe.stderr.strip().splitlines() or ["?"])[-1]
            print(f"not precompiling: the packaged app does not import on this machine ({last})", file=sys.stderr)
            return 0
        by_zip: dict[str, list[Path]] = {name: [] for name in unpacked}
        for line in sorted(set(probe.stdout.splitlines())):  # requests.packages aliases urllib3's modules
            source = Path(line)
            zip_name = next(name for name, root in unpacked.items() if source.is_relative_to(root))
            cache = Path(importlib.util.cache_from_source(str(source)))
            py_compile.compile(
                str(source),
                cfile=str(cache),
                dfile=f"{roots[zip_name]}/{source.relative_to(unpacked[zip_name])}",
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            by_zip[zip_name].append(cache)
        for zip_name, caches in by_zip.items():
            with zipfile.ZipFile(out_dir / zip_name, "a", zipfile.ZIP_DEFLATED) as archive:
                for cache in caches:
                    # Fixed dates, as Chalice's own entries: the same code makes the same
                    # zip, so an unchanged layer is neither uploaded nor published again.
                    entry = zipfile.ZipInfo(str(cache.relative_to(unpacked[zip_name])), date_time=(1980, 1, 1, 0, 0, 0))
                    entry.external_attr = 0o644 << 16
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(entry, cache.read_bytes())
    return sum(len(caches) for caches in by_zip.values())


def package(stage: str, out_dir: Path, offline: bool = False, precompile: bool = True) -> Path:
    from infra import progress, template

    if stage not in template.STAGES:
        raise SystemExit(f"unknown stage {stage!r}; known: {', '.join(template.STAGES)}")
    out_dir = out_dir.resolve()
    if offline:
        _skip_dependencies()
        with tempfile.TemporaryDirectory(prefix="sms-bridge-package-") as scratch:
            sam = chalice_package(stage, out_dir, _offline_copy(Path(scratch)))
    else:
        with tempfile.TemporaryDirectory(prefix="sms-bridge-layer-") as scratch:
            requirements = Path(scratch) / "layer-requirements.txt"
            requirements.write_text(layer_requirements(RUNTIME_LOCK.read_text()))
            _layer_from_lock(requirements)
            with progress.step(f"packaging {stage} (chalice package)"):
                sam = chalice_package(stage, out_dir)
    _drop_bytecode(out_dir / "deployment.zip")
    if precompile and not offline:
        runtime = next(
            r["Properties"]["Runtime"] for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::Function"
        )
        with progress.step("precompiling the modules a cold start imports"):
            compiled = _precompile(out_dir, runtime)
        print(f"precompiled {compiled} modules a cold start imports")
    (out_dir / "overlay.json").write_text(json.dumps(template.overlay(stage, sam), indent=2) + "\n")
    merged = template.merge(stage, sam)
    target = out_dir / "template.json"
    target.write_text(json.dumps(merged, indent=2) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--out", type=Path, help="default: build/<stage>")
    parser.add_argument("--offline", action="store_true", help="skip the dependencies (no PyPI)")
    parser.add_argument("--no-precompile", action="store_true", help="ship sources only (to measure the difference)")
    args = parser.parse_args(argv)
    target = package(args.stage, args.out or ROOT / "build" / args.stage, args.offline, not args.no_precompile)
    for artifact in sorted(target.parent.glob("*.zip")):
        print(
            f"{artifact.relative_to(ROOT) if artifact.is_relative_to(ROOT) else artifact}: "
            f"{artifact.stat().st_size / 1e6:.1f} MB"
        )
    print(f"template: {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
