"""Every table and queue the service uses, defined once.

The definitions are CloudFormation resources: `template()` is what the
deployment merges into Chalice's template, and `create_all()` makes the same
tables and queues through boto3 for the local stack and the tests (the
CloudFormation property names are the API's parameter names).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from chalicelib.config import MEDIA_RETENTION_DAYS_DEFAULT, QUEUE_MAX_RECEIVES
from chalicelib.core import delivery_retry
from chalicelib.store.models import TABLE_MODELS, TTL_ATTRIBUTE

# Seconds a Lambda consuming each queue may run (lambda_timeout of its function in
# .chalice/config.json; tests/deploy checks they agree); SQS visibility is six times it,
# as AWS advises for event source mappings, so a batch still running is never redelivered.
FUNCTION_TIMEOUTS = {"outbound": 30, "delivery": 60, "requests": 60}
MAX_RECEIVES = QUEUE_MAX_RECEIVES  # the runtime reads them too: chalicelib/config.py holds them
RETENTION_SECONDS = 14 * 86400  # SQS's most; a dead-letter queue keeps an event's first enqueue time
# The delivery queue keeps an event its retention, retried all along (core/delivery_retry.py);
# the template makes it a parameter (infra/template.py: delivery_retention).
DELIVERY_RETENTION_SECONDS = delivery_retry.DEFAULT_RETENTION_DAYS * 86400
SCHEDULED_DLQ = "ScheduledDlq"


def _logical(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace(".", "-").split("-"))


def table_resources(prefix: str) -> dict:
    resources = {}
    for model in TABLE_MODELS:
        suffix = model.Meta.table_suffix
        schema = model._get_schema()
        properties = {
            "TableName": prefix + suffix,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": schema["attribute_definitions"],
            "KeySchema": _hash_first(schema["key_schema"]),
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
        }
        if schema["global_secondary_indexes"]:
            properties["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index["index_name"],
                    "KeySchema": _hash_first(index["key_schema"]),
                    "Projection": index["projection"],
                }
                for index in schema["global_secondary_indexes"]
            ]
        if TTL_ATTRIBUTE in model.get_attributes():
            properties["TimeToLiveSpecification"] = {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
        resources[_logical(suffix) + "Table"] = {"Type": "AWS::DynamoDB::Table", "Properties": properties}
    return resources


def _hash_first(key_schema: Sequence[Mapping[str, object]]) -> list[Mapping[str, object]]:
    return sorted(key_schema, key=lambda key: key["KeyType"] != "HASH")


def queue_resources(prefix: str) -> dict:
    def queue(
        kind: str, *, fifo: bool = False, dlq: str | None = None, receives: int = 0, retention: int = RETENTION_SECONDS
    ) -> dict:
        name = f"{prefix}{kind}{'.fifo' if fifo else ''}"
        properties: dict = {
            "QueueName": name,
            "MessageRetentionPeriod": retention,
            "SqsManagedSseEnabled": True,
        }
        if kind in FUNCTION_TIMEOUTS:
            properties["VisibilityTimeout"] = 6 * FUNCTION_TIMEOUTS[kind]
        if fifo:
            properties["FifoQueue"] = True
            # Throughput per message group: each pool number is a group.
            properties["DeduplicationScope"] = "messageGroup"
            properties["FifoThroughputLimit"] = "perMessageGroupId"
        if dlq:
            properties["RedrivePolicy"] = {
                "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
                "maxReceiveCount": receives,
            }
        return {"Type": "AWS::SQS::Queue", "Properties": properties}

    return {
        "OutboundDlq": queue("outbound-dlq", fifo=True),
        "OutboundQueue": queue("outbound", fifo=True, dlq="OutboundDlq", receives=MAX_RECEIVES["outbound"]),
        "DeliveryDlq": queue("delivery-dlq"),
        "DeliveryQueue": queue(
            "delivery", dlq="DeliveryDlq", receives=MAX_RECEIVES["delivery"], retention=DELIVERY_RETENTION_SECONDS
        ),
        "RequestsDlq": queue("requests-dlq"),
        "RequestsQueue": queue("requests", dlq="RequestsDlq", receives=MAX_RECEIVES["requests"]),
        # Where Lambda puts a scheduled run that failed every attempt (the function's own
        # dead-letter queue: a schedule invokes it asynchronously, with no queue in front).
        SCHEDULED_DLQ: queue("scheduled-dlq"),
    }


def private_bucket_properties() -> dict:
    """A bucket no one outside the account reaches: every public access blocked, ACLs off,
    encrypted at rest with SSE-S3 (a bucket key)."""
    return {
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
            ]
        },
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    }


def media_bucket_resources(prefix: str, retention_days: int = MEDIA_RETENTION_DAYS_DEFAULT) -> dict:
    """Pictures of MMS both ways: private (every public access blocked, ACLs off),
    encrypted at rest (SSE-S3), and expired after `retention_days`."""
    return {
        "MediaBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": f"{prefix}media",
                **private_bucket_properties(),
                "LifecycleConfiguration": {
                    "Rules": [
                        {"Id": "expire-media", "Status": "Enabled", "ExpirationInDays": retention_days},
                        {
                            "Id": "abort-uploads",
                            "Status": "Enabled",
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        },
                    ]
                },
            },
        }
    }


def template(prefix: str, media_retention_days: int = MEDIA_RETENTION_DAYS_DEFAULT) -> dict:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "sms-bridge tables, queues and media bucket",
        "Resources": {
            **table_resources(prefix),
            **queue_resources(prefix),
            **media_bucket_resources(prefix, media_retention_days),
        },
    }


def create_all(prefix: str, dynamodb, sqs, s3=None) -> None:
    """Create every table and queue of `template(prefix)` through boto3 clients
    (and the media bucket, given an S3 client)."""
    resources = template(prefix)["Resources"]
    if s3 is not None:
        create_bucket(resources["MediaBucket"]["Properties"], s3)
    arns: dict[str, str] = {}
    for resource in resources.values():
        properties = dict(resource["Properties"])
        if resource["Type"] == "AWS::DynamoDB::Table":
            ttl = properties.pop("TimeToLiveSpecification", None)
            properties.pop("PointInTimeRecoverySpecification", None)
            properties.pop("SSESpecification", None)
            dynamodb.create_table(**properties)
            if ttl:
                dynamodb.update_time_to_live(TableName=properties["TableName"], TimeToLiveSpecification=ttl)
    # Queues: dead-letter queues first, so redrive policies can name their ARNs.
    for logical_id, resource in sorted(resources.items(), key=lambda item: "RedrivePolicy" in item[1]["Properties"]):
        if resource["Type"] != "AWS::SQS::Queue":
            continue
        properties = dict(resource["Properties"])
        name = properties.pop("QueueName")
        attributes = {key: _attribute(value) for key, value in properties.items()}
        if "RedrivePolicy" in properties:
            policy = dict(properties["RedrivePolicy"])
            policy["deadLetterTargetArn"] = arns[policy["deadLetterTargetArn"]["Fn::GetAtt"][0]]
            attributes["RedrivePolicy"] = json.dumps(policy)
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arns[logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _attribute(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def create_bucket(properties: Mapping, s3) -> None:
    """The bucket of `media_bucket_resources`, made through the S3 API (CloudFormation's
    property names differ from the API's here, so each is mapped)."""
    name = properties["BucketName"]
    s3.create_bucket(Bucket=name)
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"])
    encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                    "BucketKeyEnabled": rule["BucketKeyEnabled"],
                }
                for rule in encryption
            ]
        },
    )
    rules = []
    for rule in properties["LifecycleConfiguration"]["Rules"]:
        api_rule: dict = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": ""}}
        if "ExpirationInDays" in rule:
            api_rule["Expiration"] = {"Days": rule["ExpirationInDays"]}
        if "AbortIncompleteMultipartUpload" in rule:
            api_rule["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
        rules.append(api_rule)
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
