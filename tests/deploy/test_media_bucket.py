"""The media bucket: private, encrypted, expiring, in the packaged template and
as the local stack and the tests' moto make it (infra/resources.create_bucket)."""

from __future__ import annotations

import boto3
import pytest
from conftest import PREFIX
from packaged import STAGES, of_type, template

from chalicelib.config import MEDIA_RETENTION_DAYS_DEFAULT


@pytest.mark.parametrize("stage", STAGES)
def test_the_template_has_a_private_encrypted_expiring_bucket(stage):
    t = template(stage)
    (bucket,) = of_type(t, "AWS::S3::Bucket").values()
    properties = bucket["Properties"]
    assert properties["BucketName"] == f"sms-bridge-{stage}-media"
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    expiry = [r for r in properties["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r]
    assert expiry == [{"Id": "expire-media", "Status": "Enabled", "ExpirationInDays": MEDIA_RETENTION_DAYS_DEFAULT}]
    for function in of_type(t, "AWS::Serverless::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["MEDIA_BUCKET"] == {"Ref": "MediaBucket"}


def test_the_tests_aws_has_the_same_bucket(aws_backend):
    s3 = boto3.client("s3")
    name = f"{PREFIX}media"
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert set(block.values()) == {True}
    (rule,) = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]}
    assert rules["expire-media"]["Expiration"] == {"Days": MEDIA_RETENTION_DAYS_DEFAULT}
