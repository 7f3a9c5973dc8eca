"""The packaged template's security posture (infra/security.py): encryption at rest with or
without the operator's KMS key, an access log for every API stage, X-Ray on the REST API,
the scheduled run's dead-letter queue and its alarm, and where concurrency is reserved."""

from __future__ import annotations

import json
import re

import pytest
from packaged import STAGES, chalice_config, of_type, template

from infra import security

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# Every kind of resource that holds data or configuration at rest.
HOLDS_DATA = (
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::Logs::LogGroup",
    "AWS::Serverless::Function",
    "AWS::S3::Bucket",
)


def _resolved(stage: str, key: str | None) -> dict:
    return security.with_kms_key(template(stage), key)


def _encryption_of(resource: dict) -> object:
    """The key a resource is encrypted with: KEY, or the name of the AWS default it keeps."""
    kind, p = resource["Type"], resource["Properties"]
    if kind == "AWS::DynamoDB::Table":
        assert p["SSESpecification"]["SSEEnabled"] is True
        return p["SSESpecification"].get("KMSMasterKeyId", "aws/dynamodb")
    if kind == "AWS::SQS::Queue":
        if p["SqsManagedSseEnabled"]:
            assert "KmsMasterKeyId" not in p
            return "SSE-SQS"
        return p["KmsMasterKeyId"]
    if kind == "AWS::SNS::Topic":
        return p.get("KmsMasterKeyId", "none")
    if kind == "AWS::Logs::LogGroup":
        return p.get("KmsKeyId", "CloudWatch Logs")
    if kind == "AWS::Serverless::Function":
        return p.get("KmsKeyArn", "aws/lambda")
    (rule,) = p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["BucketKeyEnabled"] is True
    default = rule["ServerSideEncryptionByDefault"]
    return default.get("KMSMasterKeyID", default["SSEAlgorithm"])


def _holding_data(t: dict) -> dict:
    return {lid: r for lid, r in t["Resources"].items() if r["Type"] in HOLDS_DATA}


@pytest.mark.parametrize("stage", STAGES)
def test_by_default_each_resource_keeps_its_aws_key(stage):
    found = {lid: _encryption_of(r) for lid, r in _holding_data(_resolved(stage, None)).items()}
    expected = {
        "AWS::DynamoDB::Table": "aws/dynamodb",
        "AWS::SQS::Queue": "SSE-SQS",
        "AWS::SNS::Topic": "none",  # alarm notices only; aws/sns would keep CloudWatch from publishing
        "AWS::Logs::LogGroup": "CloudWatch Logs",
        "AWS::Serverless::Function": "aws/lambda",
        "AWS::S3::Bucket": "AES256",
    }
    t = template(stage)
    assert found == {lid: expected[t["Resources"][lid]["Type"]] for lid in found}


@pytest.mark.parametrize("stage", STAGES)
def test_with_kms_key_arn_every_resource_that_holds_data_uses_the_operators_key(stage):
    t = _resolved(stage, KEY)
    found = {lid: _encryption_of(r) for lid, r in _holding_data(t).items()}
    # S3 delivers server access logs only to an SSE-S3 bucket: the one exception.
    assert found.pop(security.MEDIA_ACCESS_LOG_BUCKET) == "AES256"
    assert found and set(found.values()) == {KEY}, {lid: k for lid, k in found.items() if k != KEY}
    for kind in HOLDS_DATA:
        assert any(t["Resources"][lid]["Type"] == kind for lid in found), f"no {kind} checked"
    for queue in of_type(t, "AWS::SQS::Queue").values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is False  # SSE-SQS and SSE-KMS exclude each other
    (rule,) = t["Resources"]["MediaBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


@pytest.mark.parametrize("stage", STAGES)
def test_the_kms_parameter_takes_a_key_arn_or_nothing(stage):
    parameter = template(stage)["Parameters"][security.KMS_KEY]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    for accepted in ("", KEY, "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234567890abcdef1234567890abcdef"):
        assert pattern.fullmatch(accepted), accepted
    # Log groups and Lambda take a key ARN only: an alias would fail the deploy half-way.
    for refused in (
        "alias/sms",
        "arn:aws:kms:us-east-1:123456789012:alias/sms",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
    ):
        assert not pattern.fullmatch(refused), refused


def _log_group_named_by(t: dict, destination: dict) -> dict:
    (group_id,) = re.findall(r":log-group:\$\{(\w+)\}$", destination["Fn::Sub"])
    group = t["Resources"][group_id]
    assert group["Type"] == "AWS::Logs::LogGroup"
    return group["Properties"]


def _assert_access_log_format(text: str, route_variable: str) -> None:
    fields = json.loads(text)  # one JSON object per line
    assert fields["requestId"] == "$context.requestId"
    assert fields["ip"] == "$context.identity.sourceIp"  # the caller
    assert fields["route"] == route_variable  # the route's template
    # Never the path itself (a picture link's token, a pool number) nor the query string.
    assert not {"$context.path", "$context.requestPath"} & set(fields.values())
    assert "querystring" not in text.lower()


@pytest.mark.parametrize("stage", STAGES)
def test_every_api_stage_writes_an_access_log_kept_as_long_as_the_functions_logs(stage):
    t = template(stage)
    retention = chalice_config()["stages"][stage]["log_retention_in_days"]
    http_stages = of_type(t, "AWS::ApiGatewayV2::Stage")
    assert len(http_stages) == len(of_type(t, "AWS::ApiGatewayV2::Api")) == 2
    for stage_resource in http_stages.values():
        settings = stage_resource["Properties"]["AccessLogSettings"]
        group = _log_group_named_by(t, settings["DestinationArn"])
        assert group["RetentionInDays"] == retention
        assert group["LogGroupName"].startswith(f"/aws/vendedlogs/sms-bridge-{stage}/")
        _assert_access_log_format(settings["Format"], "$context.routeKey")
    (rest,) = of_type(t, "AWS::Serverless::Api").values()
    setting = rest["Properties"]["AccessLogSetting"]
    assert _log_group_named_by(t, setting["DestinationArn"])["RetentionInDays"] == retention
    _assert_access_log_format(setting["Format"], "$context.resourcePath")
    assert rest["Properties"]["TracingEnabled"] is True


@pytest.mark.parametrize("stage", STAGES)
def test_the_scheduled_run_fails_into_a_dead_letter_queue_with_an_alarm(stage):
    t = template(stage)
    functions = of_type(t, "AWS::Serverless::Function")
    scheduled = {lid: f for lid, f in functions.items() if security.invoked_asynchronously(f)}
    assert scheduled, "the pool's scheduled run"
    alarms = [a["Properties"] for a in of_type(t, "AWS::CloudWatch::Alarm").values()]
    for function in scheduled.values():
        properties = function["Properties"]
        assert properties["DeadLetterQueue"]["Type"] == "SQS"
        dlq = t["Resources"][properties["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0]]
        assert dlq["Type"] == "AWS::SQS::Queue"
        name = dlq["Properties"]["QueueName"]
        (alarm,) = [a for a in alarms if a.get("Dimensions") == [{"Name": "QueueName", "Value": name}]]
        assert (alarm["MetricName"], alarm["Threshold"]) == ("ApproximateNumberOfMessagesVisible", 0)
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert properties["FunctionName"] in alarm["AlarmDescription"]
        invoke = properties["EventInvokeConfig"]
        assert invoke["MaximumEventAgeInSeconds"] <= 600 and invoke["MaximumRetryAttempts"] == 2
    # API Gateway and SQS invoke the others synchronously: a Lambda DLQ would never fire.
    for logical_id in functions.keys() - scheduled.keys():
        assert "DeadLetterQueue" not in functions[logical_id]["Properties"], logical_id


@pytest.mark.parametrize("stage", STAGES)
def test_prod_reserves_concurrency_for_all_but_the_front_door_and_dev_for_none(stage):
    functions = of_type(template(stage), "AWS::Serverless::Function")
    reserved = {
        f["Properties"]["Handler"]: f["Properties"].get("ReservedConcurrentExecutions") for f in functions.values()
    }
    if stage == "dev":
        assert set(reserved.values()) == {None}
    else:
        assert reserved.pop("app.app") is None
        assert reserved.pop("app.autoscale_pool") == 1  # one pool run at a time, never starved by an API burst
        assert all(reserved.values()), reserved
