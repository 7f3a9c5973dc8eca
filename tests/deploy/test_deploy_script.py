"""scripts/deploy.sh against a fake `aws` CLI that plays CloudFormation's part:
the first deploy learns the API's URL and deploys again with it, a second run
deploys once with the same URL (safe to run again), and a stage whose SSM
parameters are missing is refused before anything changes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from packaged import ROOT, build_dir

FAKE_AWS = r"""#!PYTHON
import json, shutil, sys
from pathlib import Path

state_file = Path(__file__).with_name("state.json")
state = json.loads(state_file.read_text()) if state_file.exists() else {"stacks": {}, "calls": [], "missing": []}
args = sys.argv[1:]
state["calls"].append(args)

def option(name):
    return args[args.index(name) + 1] if name in args else None

def done(text="", code=0):
    state_file.write_text(json.dumps(state))
    if text:
        print(text)
    sys.exit(code)

command = args[:2]
if command == ["configure", "get"]:
    done("us-east-1")
if command == ["sts", "get-caller-identity"]:
    done("arn:aws:sts::123456789012:assumed-role/deployer/ci")
if command == ["ssm", "get-parameters"]:
    done("\t".join(state["missing"]) or "None")
if command == ["cloudformation", "describe-stacks"]:
    name, query = option("--stack-name"), option("--query") or ""
    if name == "sms-bridge-bootstrap":
        done("artifacts-bucket" if "ArtifactBucket" in query else "arn:aws:iam::123456789012:role/cfn-exec")
    stack = state["stacks"].get(name)
    if stack is None:
        done(f"An error occurred (ValidationError): Stack with id {name} does not exist", 254)
    if "StackStatus" in query:
        done(stack["status"])
    if "EndpointURL" in query and "||" not in query:
        done("https://abc123.execute-api.us-east-1.amazonaws.com/api/")
    done("EndpointURL\thttps://abc123.execute-api.us-east-1.amazonaws.com/api/")
if command == ["cloudformation", "package"]:
    shutil.copy(option("--template-file"), option("--output-template-file"))
    done()
if command == ["cloudformation", "deploy"]:
    state["stacks"][option("--stack-name")] = {"status": "UPDATE_COMPLETE"}
    done()
if command == ["cloudformation", "update-termination-protection"]:
    done()
done(f"fake aws: unexpected {args}", 2)
"""


@pytest.fixture
def fake_aws(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "aws"
    script.write_text(FAKE_AWS.replace("PYTHON", sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def _state(fake_aws: Path) -> dict:
    return json.loads((fake_aws / "state.json").read_text())


def _run(fake_aws: Path, stage: str = "dev", **env) -> subprocess.CompletedProcess:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PUBLIC_BASE_URL", "ARTIFACT_"))},
        "PATH": f"{fake_aws}:{os.environ['PATH']}",
        "STAGE": stage,
        "PYTHON": sys.executable,
        "BUILD_DIR": str(build_dir(stage)),
        **env,
    }
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "deploy.sh")],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _deploys(fake_aws: Path) -> list[list[str]]:
    return [call for call in _state(fake_aws)["calls"] if call[:2] == ["cloudformation", "deploy"]]


def _override(call: list[str], key: str) -> str | None:
    values = call[call.index("--parameter-overrides") + 1 :]
    return next((v.split("=", 1)[1] for v in values if v.startswith(key + "=")), None)


def test_first_deploy_learns_its_url_then_a_rerun_changes_nothing_else(fake_aws):
    first = _run(fake_aws)
    assert first.returncode == 0, first.stderr
    deploys = _deploys(fake_aws)
    assert [_override(d, "PublicBaseUrl") for d in deploys] == [
        "https://pending.invalid",
        "https://abc123.execute-api.us-east-1.amazonaws.com/api",
    ]
    call = deploys[0]
    assert call[call.index("--stack-name") + 1] == "sms-bridge-dev"
    assert {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND", "--no-fail-on-empty-changeset"} <= set(call)
    assert call[call.index("--role-arn") + 1] == "arn:aws:iam::123456789012:role/cfn-exec"

    again = _run(fake_aws)
    assert again.returncode == 0, again.stderr
    deploys = _deploys(fake_aws)
    assert len(deploys) == 3
    assert _override(deploys[-1], "PublicBaseUrl") == "https://abc123.execute-api.us-east-1.amazonaws.com/api"


def test_missing_parameters_stop_the_deploy_before_any_change(fake_aws):
    (fake_aws / "state.json").write_text(
        json.dumps({"stacks": {}, "calls": [], "missing": ["/sms-bridge/dev/api-tokens"]})
    )
    result = _run(fake_aws)
    assert result.returncode != 0
    assert "/sms-bridge/dev/api-tokens" in result.stderr
    assert not _deploys(fake_aws)
    checked = next(c for c in _state(fake_aws)["calls"] if c[:2] == ["ssm", "get-parameters"])
    assert {
        "/sms-bridge/dev/twilio-auth-token",
        "/sms-bridge/dev/api-tokens",
        "/sms-bridge/dev/chat-webhook-secret",
        "/sms-bridge/dev/twilio-account-sid",
        "/sms-bridge/dev/chat-webhook-url",
    } <= set(checked)


def test_prod_gets_termination_protection_and_a_given_url_and_email(fake_aws):
    result = _run(fake_aws, "prod", PUBLIC_BASE_URL="https://sms.example.com", ALARM_EMAIL="ops@example.com")
    assert result.returncode == 0, result.stderr
    (deploy,) = _deploys(fake_aws)
    assert _override(deploy, "PublicBaseUrl") == "https://sms.example.com"
    assert _override(deploy, "AlarmEmail") == "ops@example.com"
    assert deploy[deploy.index("--stack-name") + 1] == "sms-bridge-prod"
    assert any(c[:2] == ["cloudformation", "update-termination-protection"] for c in _state(fake_aws)["calls"])


def test_a_kms_key_is_passed_once_kept_after_and_none_goes_back_to_awss_keys(fake_aws):
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert _run(fake_aws, "dev", PUBLIC_BASE_URL="https://sms.example.com", KMS_KEY_ARN=key).returncode == 0
    assert _override(_deploys(fake_aws)[-1], "KmsKeyArn") == key
    assert _run(fake_aws, "dev", PUBLIC_BASE_URL="https://sms.example.com").returncode == 0
    assert _override(_deploys(fake_aws)[-1], "KmsKeyArn") is None  # CloudFormation keeps the previous value
    assert _run(fake_aws, "dev", PUBLIC_BASE_URL="https://sms.example.com", KMS_KEY_ARN="none").returncode == 0
    assert _override(_deploys(fake_aws)[-1], "KmsKeyArn") == ""


def test_a_stack_left_by_a_failed_first_creation_is_explained(fake_aws):
    state = {"stacks": {"sms-bridge-dev": {"status": "ROLLBACK_COMPLETE"}}, "calls": [], "missing": []}
    (fake_aws / "state.json").write_text(json.dumps(state))
    result = _run(fake_aws)
    assert result.returncode != 0 and "When a first deploy fails" in result.stderr
    assert not _deploys(fake_aws)


def test_lookup_settings_are_passed_once_kept_after_and_none_turns_lookup_off(fake_aws):
    url = "https://sms.example.com"
    both = "line_type_intelligence,sms_pumping_risk"
    env = {"TWILIO_LOOKUP_FIELDS": both, "TWILIO_LOOKUP_ON_FAILURE": "closed"}
    assert _run(fake_aws, "dev", PUBLIC_BASE_URL=url, **env).returncode == 0
    deploy = _deploys(fake_aws)[-1]
    assert (_override(deploy, "TwilioLookupFields"), _override(deploy, "TwilioLookupOnFailure")) == (both, "closed")
    assert _run(fake_aws, "dev", PUBLIC_BASE_URL=url).returncode == 0
    assert _override(_deploys(fake_aws)[-1], "TwilioLookupFields") is None  # CloudFormation keeps the previous value
    assert _run(fake_aws, "dev", PUBLIC_BASE_URL=url, TWILIO_LOOKUP_FIELDS="none").returncode == 0
    assert _override(_deploys(fake_aws)[-1], "TwilioLookupFields") == ""
