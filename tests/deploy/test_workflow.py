"""The GitHub Actions workflow: it parses, runs `make lint` and `make test` before any deploy,
and deploys with an OIDC role, never with stored keys."""

from __future__ import annotations

import re

import pytest
import yaml
from packaged import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"


def _workflow() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads a bare `on` as true
    return data


def _runs(job: dict) -> list[str]:
    return [step.get("run", "") for step in job["steps"]]


def _deploys(job: dict) -> bool:
    return any(re.search(r"\bmake deploy\b|\baws cloudformation\b|\bchalice deploy\b", run) for run in _runs(job))


def _ancestors(jobs: dict, name: str) -> set[str]:
    needs = jobs[name].get("needs", [])
    needs = [needs] if isinstance(needs, str) else needs
    return set(needs).union(*(_ancestors(jobs, n) for n in needs)) if needs else set()


def test_workflow_parses_and_triggers_on_main_and_by_hand():
    workflow = _workflow()
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["on"]["workflow_dispatch"]["inputs"]["stage"]["options"] == ["dev", "prod"]


@pytest.mark.parametrize("check", ["make lint", "make test"])
def test_check_runs_before_any_deploy(check):
    jobs = _workflow()["jobs"]
    checkers = {name for name, job in jobs.items() if any(re.search(rf"\b{check}\b", r) for r in _runs(job))}
    deployers = [name for name, job in jobs.items() if _deploys(job)]
    assert checkers and deployers, f"no job runs `{check}`"
    for name in deployers:
        assert _ancestors(jobs, name) & checkers, f"job {name} deploys without needing `{check}`"
        runs = _runs(jobs[name])
        first_deploy = next(i for i, r in enumerate(runs) if _deploys({"steps": [{"run": r}]}))
        assert not any(check in r for r in runs[first_deploy:]), f"`{check}` must come first"
    for name in checkers:
        assert not _deploys(jobs[name])


def test_deploys_with_an_oidc_role_and_no_stored_keys():
    workflow = _workflow()
    text = WORKFLOW.read_text()
    assert "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    assert "secrets." not in text
    assert workflow.get("permissions", {}).get("id-token") != "write", "only the deploy job gets an OIDC token"
    for job in workflow["jobs"].values():
        if not _deploys(job):
            continue
        assert job["permissions"]["id-token"] == "write"
        credentials = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")]
        assert len(credentials) == 1 and "role-to-assume" in credentials[0]["with"]
        assert job["steps"].index(credentials[0]) < next(
            i for i, s in enumerate(job["steps"]) if _deploys({"steps": [s]})
        )
        assert job["environment"], "deploys go through a GitHub environment (reviewers for prod)"
        assert job["concurrency"]["cancel-in-progress"] is False
