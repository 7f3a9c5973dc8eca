"""infra/bootstrap.yaml, the once-per-account stack: valid, its GitHub role is only for
this repository's dev and prod environments, and its CloudFormation role may create
every resource of a stage."""

from __future__ import annotations

import fnmatch

import pytest
from cfnlint.api import lint_file
from cfnlint.decode import decode
from packaged import ROOT, STAGES, template

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


# --- the CloudFormation role can create every resource of a stage ------------------------

ACCOUNT, REGION = "123456789012", "us-east-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _role_statements() -> list[dict]:
    """The CloudFormation role's statements, with the bootstrap's StageKmsKeyArn = KEY."""
    template, _ = decode(str(BOOTSTRAP))
    (policy,) = template["Resources"]["CloudFormationExecutionRole"]["Properties"]["Policies"]
    statements = []
    for statement in policy["PolicyDocument"]["Statement"]:
        if "Fn::If" in statement:
            statement = statement["Fn::If"][1]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        statements.append({**statement, "Resource": [_arn(r) for r in resources]})
    return statements


def _arn(value) -> str:
    if isinstance(value, dict) and "Ref" in value:
        return {"StageKmsKeyArn": KEY}[value["Ref"]]
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    for name, real in (("AWS::Partition", "aws"), ("AWS::Region", REGION), ("AWS::AccountId", ACCOUNT)):
        text = text.replace("${" + name + "}", real)
    return text


def _allowed(statements: list[dict], action: str, resource: str) -> bool:
    return any(
        any(fnmatch.fnmatchcase(action, a) for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
        and any(fnmatch.fnmatchcase(resource, r) for r in s["Resource"])
        for s in statements
    )


def _needs(stage: str) -> set[tuple[str, str]]:
    """A call CloudFormation makes with the role for each resource of the stage's template
    (CloudFormation names what the template leaves unnamed <stack>-<logical id>-<suffix>)."""
    t = template(stage)
    stack = f"sms-bridge-{stage}"
    arn = f"{REGION}:{ACCOUNT}"

    def generated(logical_id: str) -> str:
        return f"{stack}-{logical_id}-ABC123"

    def group(resource: dict) -> str:
        name = resource["Properties"]["LogGroupName"]
        if isinstance(name, dict):
            name = t["Resources"][name["Ref"]]["Properties"]["LogGroupName"]
        return f"arn:aws:logs:{arn}:log-group:{name}"

    needs: set[tuple[str, str]] = set()
    for logical_id, resource in t["Resources"].items():
        kind, p = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::DynamoDB::Table":
            needs.add(("dynamodb:CreateTable", f"arn:aws:dynamodb:{arn}:table/{p['TableName']}"))
        elif kind == "AWS::SQS::Queue":
            needs.add(("sqs:CreateQueue", f"arn:aws:sqs:{arn}:{p['QueueName']}"))
        elif kind == "AWS::Serverless::Function":
            function = f"arn:aws:lambda:{arn}:function:{p['FunctionName']}"
            needs |= {("lambda:CreateFunction", function), ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{stack}-x")}
            if "EventInvokeConfig" in p:
                needs.add(("lambda:PutFunctionEventInvokeConfig", function))
            for event_id, event in p.get("Events", {}).items():
                if event["Type"] == "SQS":
                    needs.add(("lambda:CreateEventSourceMapping", "*"))
                elif event["Type"] == "Schedule":
                    needs.add(("events:PutRule", f"arn:aws:events:{arn}:rule/{generated(event_id)}"))
            if "KmsKeyArn" in p:
                needs.add(("kms:CreateGrant", KEY))
        elif kind == "AWS::IAM::Policy":  # attached to the function roles
            needs.add(("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{generated('role')}"))
        elif kind == "AWS::IAM::Role":
            needs |= {("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/{generated(logical_id)}")}
        elif kind == "AWS::Logs::LogGroup":
            needs |= {("logs:CreateLogGroup", group(resource)), ("logs:AssociateKmsKey", group(resource))}
        elif kind == "AWS::Logs::MetricFilter":
            needs.add(("logs:PutMetricFilter", group(resource)))
        elif kind in ("AWS::SNS::Topic", "AWS::SNS::Subscription"):
            needs |= {
                ("sns:CreateTopic", f"arn:aws:sns:{arn}:{stack}-alarms"),
                ("sns:Subscribe", f"arn:aws:sns:{arn}:{stack}-alarms"),
            }
        elif kind == "AWS::CloudWatch::Alarm":
            needs.add(("cloudwatch:PutMetricAlarm", f"arn:aws:cloudwatch:{arn}:alarm:{p['AlarmName']}"))
        elif kind == "AWS::CloudWatch::Dashboard":
            needs.add(("cloudwatch:PutDashboard", f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{p['DashboardName']}"))
        elif kind == "AWS::S3::Bucket":
            bucket = f"arn:aws:s3:::{p.get('BucketName') or generated(logical_id).lower()}"
            needs |= {("s3:CreateBucket", bucket), ("s3:PutEncryptionConfiguration", bucket)}
            needs |= {("s3:PutLifecycleConfiguration", bucket), ("s3:PutBucketPublicAccessBlock", bucket)}
            if "LoggingConfiguration" in p:
                needs.add(("s3:PutBucketLogging", bucket))
        elif kind == "AWS::S3::BucketPolicy":
            needs.add(("s3:PutBucketPolicy", f"arn:aws:s3:::{generated('bucket').lower()}"))
        elif kind.startswith("AWS::ApiGatewayV2::"):
            needs.add(("apigateway:POST", f"arn:aws:apigateway:{REGION}::/apis/abc123"))
            if "AccessLogSettings" in p:
                needs |= {("logs:CreateLogDelivery", "*"), ("logs:PutResourcePolicy", "*")}
        elif kind == "AWS::Serverless::Api":
            needs |= {
                ("apigateway:POST", f"arn:aws:apigateway:{REGION}::/restapis"),
                ("apigateway:PATCH", f"arn:aws:apigateway:{REGION}::/restapis/abc/stages/api"),
            }
        elif kind == "AWS::Lambda::Permission":
            needs.add(("lambda:AddPermission", f"arn:aws:lambda:{arn}:function:{stack}-api_handler"))
        elif kind == "AWS::Serverless::LayerVersion":
            needs.add(("lambda:PublishLayerVersion", f"arn:aws:lambda:{arn}:layer:{stack}-managed-layer"))
        else:
            raise AssertionError(f"{logical_id}: what does CloudFormation need to create a {kind}? Add it here")
    return needs


@pytest.mark.parametrize("stage", STAGES)
def test_the_cloudformation_role_may_create_every_resource_of_the_stage(stage):
    statements = _role_statements()
    refused = sorted(need for need in _needs(stage) if not _allowed(statements, *need))
    assert not refused, "infra/bootstrap.yaml's CloudFormation role refuses:\n" + "\n".join(
        f"  {a} on {r}" for a, r in refused
    )
