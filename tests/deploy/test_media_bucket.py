"""The media bucket: private, encrypted, expiring, in the packaged template and
as the local stack and the tests' moto make it (infra/resources.create_bucket)."""

from __future__ import annotations

import boto3
import pytest
from conftest import PREFIX
from packaged import STAGES, of_type, template

from chalicelib.config import MEDIA_RETENTION_DAYS_DEFAULT
from infra import template as infra_template
from infra.security import with_kms_key


@pytest.mark.parametrize("stage", STAGES)
def test_the_template_has_a_private_encrypted_expiring_bucket(stage):
    t = with_kms_key(template(stage), None)  # the default: no customer-managed key
    properties = t["Resources"]["MediaBucket"]["Properties"]
    assert properties["BucketName"] == f"sms-bridge-{stage}-media"
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    expiry = [r for r in properties["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r]
    assert expiry == [{"Id": "expire-media", "Status": "Enabled", "ExpirationInDays": MEDIA_RETENTION_DAYS_DEFAULT}]
    for function in of_type(t, "AWS::Serverless::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["MEDIA_BUCKET"] == {"Ref": "MediaBucket"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_media_buckets_access_log_goes_to_a_private_expiring_bucket_only_s3_may_write(stage):
    t = template(stage)
    days = infra_template.STAGES[stage].media_access_log_days
    assert days > 0
    media = t["Resources"]["MediaBucket"]
    logging = media["Properties"]["LoggingConfiguration"]
    assert logging == {"DestinationBucketName": {"Ref": "MediaAccessLogBucket"}, "LogFilePrefix": "media/"}
    assert "MediaAccessLogBucketPolicy" in media["DependsOn"]
    log_bucket = t["Resources"]["MediaAccessLogBucket"]["Properties"]
    assert set(log_bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert log_bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    # S3 delivers access logs only to a bucket encrypted with SSE-S3, whatever KmsKeyArn says.
    (rule,) = log_bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert log_bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == days
    allow, deny = t["Resources"]["MediaAccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"} and allow["Action"] == "s3:PutObject"
    assert allow["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"].endswith(f":::sms-bridge-{stage}-media")
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_a_stage_without_media_access_logs_has_no_log_bucket_and_says_why(monkeypatch):
    """media_access_log_days = 0 drops the log bucket, and the skipped check names the setting."""
    import dataclasses

    from infra import suppressions

    sam = {"Resources": {}}
    monkeypatch.setitem(
        infra_template.STAGES, "dev", dataclasses.replace(infra_template.STAGES["dev"], media_access_log_days=0)
    )
    data = infra_template.data_resources("dev")
    assert "MediaAccessLogBucket" not in data and "LoggingConfiguration" not in data["MediaBucket"]["Properties"]
    skips = suppressions.checkov_skips(
        {**sam["Resources"], **data}, api_handler="APIHandler", media_logged=False, log_bucket="MediaAccessLogBucket"
    )
    checks = {s["id"]: s["comment"] for s in skips["MediaBucket"]["Metadata"]["checkov"]["skip"]}
    assert "media_access_log_days" in checks[suppressions.S3_ACCESS_LOGS]


def test_the_tests_aws_has_the_same_bucket(aws_backend):
    s3 = boto3.client("s3")
    name = f"{PREFIX}media"
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert set(block.values()) == {True}
    (rule,) = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]}
    assert rules["expire-media"]["Expiration"] == {"Days": MEDIA_RETENTION_DAYS_DEFAULT}
