"""The infrastructure security scan of `make lint`: checkov on each stage's packaged template.

    python -m infra.scan [--checkov .venv-scan/bin/checkov] [--stage dev --stage prod]

Packages each stage as `make package` does, offline (`infra.package --offline`: the same
template, only the layer's contents left out), then runs checkov (requirements-scan.lock,
in its own venv .venv-scan) on the templates, offline: no download from Prisma Cloud, no
update check. Prints each stage's passed/failed/skipped counts and every failure, and
exits 1 on an unsuppressed failure or a suppression without a reason.

A check the template leaves failing on purpose is skipped on its resource in the template
itself (Metadata.checkov.skip with a one-line comment: infra/suppressions.py writes them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = ROOT / ".venv-scan" / "bin" / "checkov"
STAGES = ("dev", "prod")
# Offline, and nothing but the template's own framework.
OFFLINE_ENVIRONMENT = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}


@dataclass(frozen=True)
class Finding:
    check_id: str
    resource: str  # AWS::Type.LogicalId
    name: str
    comment: str = ""  # a skip's reason


@dataclass
class Report:
    passed: list[Finding] = field(default_factory=list)
    failed: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)

    def counts(self) -> str:
        return f"passed {len(self.passed)}, failed {len(self.failed)}, skipped {len(self.skipped)}"


class ScanError(Exception):
    """checkov did not run, or did not report on every template."""


def run_checkov(templates: Sequence[Path], checkov: Path = CHECKOV) -> dict[Path, Report]:
    """One checkov run over `templates` (CloudFormation JSON): each one's report."""
    checkov = checkov.absolute()
    if not checkov.exists():
        raise ScanError(f"{checkov} is missing: `make install` creates .venv-scan from requirements-scan.lock")
    templates = [template.resolve() for template in templates]
    command = [str(checkov), "--framework", "cloudformation", "--skip-download", "--output", "json"]
    for template in templates:
        command += ["--file", str(template)]
    environment = {**os.environ, **OFFLINE_ENVIRONMENT}
    result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd="/")
    # checkov exits 1 when a check failed; anything else that is not a report is an error.
    try:
        output = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise ScanError(f"checkov exited {result.returncode} without a report:\n{result.stderr[-2000:]}") from None
    if isinstance(output, list):  # one entry per framework; only cloudformation runs
        (output,) = output
    if output.get("summary", {}).get("parsing_errors"):
        raise ScanError(f"checkov could not parse: {output['results'].get('parsing_errors')}")
    reports = {template: Report() for template in templates}
    by_name = {str(template): template for template in templates}
    for kind in ("passed", "failed", "skipped"):
        for check in output.get("results", {}).get(f"{kind}_checks", []):
            # checkov names each file relative to its working directory, here /.
            reported = by_name.get("/" + check["file_abs_path"].lstrip("/"))
            if reported is None:
                raise ScanError(f"checkov reported on a file it was not given: {check['file_abs_path']}")
            comment = (check.get("check_result") or {}).get("suppress_comment") or ""
            finding = Finding(check["check_id"], check["resource"], check["check_name"], comment)
            getattr(reports[reported], kind).append(finding)
    empty = [str(template) for template, report in reports.items() if not (report.passed or report.failed)]
    if empty:
        raise ScanError(f"checkov reported nothing on {', '.join(empty)}")
    return reports


# --- the template with nothing suppressed (for the tests) ------------------------------


def without_skips(template: dict) -> dict:
    """`template` with no Metadata.checkov: what checkov finds when nothing is suppressed."""
    out = json.loads(json.dumps(template))
    for resource in out["Resources"].values():
        resource.get("Metadata", {}).pop("checkov", None)
    return out


# --- make lint ------------------------------------------------------------------------


def package_offline(stage: str, out_dir: Path) -> Path:
    """The stage's template as `make package` writes it, less the layer's contents, in `out_dir`.

    A fresh interpreter per stage: Chalice imports app.py with the stage's environment,
    which names the queues, and a process imports it once."""
    subprocess.run(
        [sys.executable, "-m", "infra.package", "--stage", stage, "--out", str(out_dir), "--offline"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return out_dir / "template.json"


def problems(report: Report) -> Iterable[str]:
    for finding in report.failed:
        yield f"FAILED {finding.check_id} on {finding.resource}: {finding.name}"
    for finding in report.skipped:
        if not finding.comment.strip():
            yield f"SKIPPED WITHOUT A REASON {finding.check_id} on {finding.resource}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkov", type=Path, default=CHECKOV)
    parser.add_argument("--stage", action="append", choices=STAGES, help="default: every stage")
    args = parser.parse_args(argv)
    stages = args.stage or list(STAGES)
    with tempfile.TemporaryDirectory(prefix="sms-bridge-scan-") as scratch:
        templates = {stage: package_offline(stage, Path(scratch) / stage) for stage in stages}
        try:
            reports = run_checkov(list(templates.values()), args.checkov)
        except ScanError as error:
            print(f"checkov: {error}", file=sys.stderr)
            return 1
        found = False
        for stage, template in templates.items():
            report = reports[template.resolve()]
            print(f"checkov {stage}: {report.counts()}")
            for line in problems(report):
                found = True
                print(f"  {line}")
    if found:
        print("fix each failure, or skip it on its resource with the reason (infra/suppressions.py)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
