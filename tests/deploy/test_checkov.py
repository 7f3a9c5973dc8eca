"""checkov (requirements-scan.lock, .venv-scan) on both stages' packaged templates, as
`make lint` runs it (infra/scan.py): no unsuppressed failure; every suppression carries a
one-line reason and names a check that fails without it on the template as deployed by
default; with KmsKeyArn set, the KMS checks pass; docs/deploy.md lists every suppression.

One checkov run over six templates: each stage as packaged, with its suppressions
removed, and with them removed and a key given."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

import pytest
from packaged import ROOT, STAGES, template

from infra import scan, security, suppressions

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VARIANTS = ("packaged", "no-skips", "no-skips-with-key")
KMS_CHECKS = {
    suppressions.SQS_KMS,
    suppressions.SNS_KMS,
    suppressions.DYNAMODB_CMK,
    suppressions.LOG_GROUP_KMS,
    suppressions.LAMBDA_ENV_KMS,
}


def _variant(stage: str, variant: str) -> dict:
    if variant == "packaged":
        return template(stage)
    key = KEY if variant == "no-skips-with-key" else None
    return scan.without_skips(security.with_kms_key(template(stage), key))


@functools.cache
def reports() -> dict[tuple[str, str], scan.Report]:
    scratch = Path(tempfile.mkdtemp(prefix="sms-bridge-checkov-"))
    files = {}
    for stage in STAGES:
        for variant in VARIANTS:
            path = scratch / f"{stage}-{variant}.json"
            path.write_text(json.dumps(_variant(stage, variant)))
            files[stage, variant] = path
    by_file = scan.run_checkov(list(files.values()))
    return {name: by_file[path.resolve()] for name, path in files.items()}


def _pairs(findings: list[scan.Finding]) -> set[tuple[str, str]]:
    return {(finding.check_id, finding.resource) for finding in findings}


@pytest.mark.parametrize("stage", STAGES)
def test_no_unsuppressed_failure(stage):
    report = reports()[stage, "packaged"]
    assert report.passed, "checkov ran no check"
    assert not report.failed, "\n".join(scan.problems(report))


@pytest.mark.parametrize("stage", STAGES)
def test_every_suppression_has_a_one_line_reason(stage):
    skipped = reports()[stage, "packaged"].skipped
    assert skipped
    for finding in skipped:
        assert finding.comment.strip() and "\n" not in finding.comment, finding
        assert len(finding.comment) <= 200, f"{finding.check_id}: say it in one line"


@pytest.mark.parametrize("stage", STAGES)
def test_each_suppression_is_a_check_that_fails_on_the_default_deployment_without_it(stage):
    """No stale suppression, and none missing: with every skip removed (and KmsKeyArn empty),
    checkov fails exactly the checks the template skips, on the same resources."""
    assert _pairs(reports()[stage, "no-skips"].failed) == _pairs(reports()[stage, "packaged"].skipped)


@pytest.mark.parametrize("stage", STAGES)
def test_with_a_customer_managed_key_the_kms_checks_pass(stage):
    with_key = reports()[stage, "no-skips-with-key"]
    assert not {finding.check_id for finding in with_key.failed} & KMS_CHECKS
    passed = {finding.check_id for finding in with_key.passed}
    assert passed >= KMS_CHECKS
    # ...and only they: the other suppressions hold whatever the key.
    others = _pairs(reports()[stage, "no-skips"].failed) - {p for p in _pairs(with_key.passed) if p[0] in KMS_CHECKS}
    assert _pairs(with_key.failed) == others


@pytest.mark.parametrize("stage", STAGES)
def test_the_deploy_guide_lists_every_suppressed_check(stage):
    posture = (ROOT / "docs" / "deploy.md").read_text().split("## Security posture", 1)[1].split("\n## ", 1)[0]
    for check in {finding.check_id for finding in reports()[stage, "packaged"].skipped}:
        assert f"`{check}`" in posture, f"docs/deploy.md, 'Security posture', does not list {check}"
