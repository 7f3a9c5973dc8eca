"""`make doctor STAGE=...` finds a deployed stage's settings where the deployment keeps them:
the stack's EndpointURL, the API function's environment, the SSM parameters (moto here)."""

from __future__ import annotations

import importlib
import io
import json
import os
import zipfile

import boto3
from conftest import ACCOUNT_SID, API_TOKEN, AUTH_TOKEN, PREFIX

doctor_targets = importlib.import_module("scripts.doctor_targets")

ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/api/"
SERVICE = "MG" + "a" * 32


def deploy_stage_parts(stage: str, public: str) -> None:
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"EndpointURL": {"Value": ENDPOINT}}}
    boto3.client("cloudformation").create_stack(StackName=f"sms-bridge-{stage}", TemplateBody=json.dumps(template))
    role = boto3.client("iam").create_role(RoleName="api", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    boto3.client("lambda").create_function(
        FunctionName=f"sms-bridge-{stage}-api_handler",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
        Environment={
            "Variables": {
                "PUBLIC_BASE_URL": public,
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_MESSAGING_SERVICE_SID": SERVICE,
                "RESOURCE_PREFIX": PREFIX,
            }
        },
    )
    ssm = boto3.client("ssm")
    for key, value in (("twilio-auth-token", AUTH_TOKEN), ("api-tokens", f"{API_TOKEN},old")):
        ssm.put_parameter(Name=f"/sms-bridge/{stage}/{key}", Value=value, Type="SecureString")


def test_a_stage_target_reads_the_deployment(aws_backend, monkeypatch):
    monkeypatch.setenv("TWILIO_API_BASE_URL", "http://twilio.invalid")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "unset")
    deploy_stage_parts("dev", "https://sms.example.com")

    target = doctor_targets.stage("dev")

    assert (target.service_sid, target.public_base_url, target.api_url) == (
        SERVICE,
        "https://sms.example.com",
        ENDPOINT,
    )
    assert os.environ["TWILIO_AUTH_TOKEN"] == AUTH_TOKEN and "TWILIO_API_BASE_URL" not in os.environ
    assert "custom domain" in target.notes[0]
    assert target.missing_aws_resources() == []  # the conftest's tables and queues, by the function's prefix
