"""infra/bootstrap.yaml, the once-per-account stack: valid, and its GitHub role
is only for this repository's dev and prod environments."""

from __future__ import annotations

from cfnlint.api import lint_file
from cfnlint.decode import decode
from packaged import ROOT

BOOTSTRAP = ROOT / "infra" / "bootstrap.yaml"


def test_passes_cfn_lint():
    matches = lint_file(BOOTSTRAP)
    assert not matches, "\n".join(str(m) for m in matches)


def test_github_role_trusts_only_the_repository_environments():
    template, errors = decode(str(BOOTSTRAP))
    assert not errors
    role = template["Resources"]["GitHubDeployRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    condition = statement["Condition"]
    assert condition["StringEquals"] == {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    subjects = [s["Fn::Sub"] for s in condition["StringLike"]["token.actions.githubusercontent.com:sub"]]
    assert subjects == ["repo:${GitHubRepository}:environment:dev", "repo:${GitHubRepository}:environment:prod"]
    # It deploys through CloudFormation's role; it cannot create resources itself.
    actions = {
        a
        for s in role["Policies"][0]["PolicyDocument"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert all(a.split(":")[0] in {"cloudformation", "iam", "s3", "ssm"} for a in actions)
    assert {a for a in actions if a.startswith("iam:")} == {"iam:PassRole"}
