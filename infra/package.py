"""Write a stage's deployable template and code to build/<stage>/ (`make package`).

    python -m infra.package --stage dev [--out build/dev] [--offline]

Runs Chalice's own packager (what `chalice package` runs) in this process,
then merges infra/template.py's overlay into its SAM template:

    build/<stage>/sam.json               Chalice's template, as Chalice wrote it
    build/<stage>/overlay.json           what infra/template.py adds (a --merge-template file)
    build/<stage>/template.json          the two merged: what `make deploy` deploys
    build/<stage>/deployment.zip         app.py + chalicelib/ (the functions' code)
    build/<stage>/layer-deployment.zip   the dependencies, as Chalice's automatic layer

Packaging the dependencies needs PyPI (Chalice downloads manylinux wheels for
the Lambda runtime; it caches the built layer in .chalice/deployments/).
`--offline` skips them: it packages a copy of the project with no
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

    packager.DependencyBuilder.build_site_packages = build_site_packages


def package(stage: str, out_dir: Path, offline: bool = False) -> Path:
    from infra import template

    if stage not in template.STAGES:
        raise SystemExit(f"unknown stage {stage!r}; known: {', '.join(template.STAGES)}")
    out_dir = out_dir.resolve()
    if offline:
        _skip_dependencies()
        with tempfile.TemporaryDirectory(prefix="sms-bridge-package-") as scratch:
            sam = chalice_package(stage, out_dir, _offline_copy(Path(scratch)))
    else:
        sam = chalice_package(stage, out_dir)
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
    args = parser.parse_args(argv)
    target = package(args.stage, args.out or ROOT / "build" / args.stage, args.offline)
    for artifact in sorted(target.parent.glob("*.zip")):
        print(f"{artifact.relative_to(ROOT) if artifact.is_relative_to(ROOT) else artifact}: "
              f"{artifact.stat().st_size / 1e6:.1f} MB")
    print(f"template: {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
