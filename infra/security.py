"""The deployment's security posture (issue 27), as patches infra/template.py merges in:

- the optional customer-managed KMS key (parameter KmsKeyArn, empty by default): with it,
  the tables, queues, alarm topic, log groups, the functions' environment variables and the
  media bucket are encrypted with the operator's key, and every function role may use it;
  without it each keeps the AWS key it has today (`encryption_patches`, `key_statement`);
- an access log for every API stage (`access_log_resources`) and X-Ray on the REST API;
- the media bucket's S3 access log, in a bucket of its own (`media_access_log_resources`);
- the scheduled run's dead-letter queue (`async_failure_patches`);
- every checkov check left failing on purpose, suppressed on its resource with the reason
  (`checkov_skips`); docs/deploy.md ("Security posture") lists them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from infra import resources

KMS_KEY = "KmsKeyArn"
HAS_KMS_KEY = "HasKmsKey"
NO_VALUE = {"Ref": "AWS::NoValue"}

# Event sources through which Lambda invokes a function asynchronously (its own retries,
# then the function's dead-letter queue); API Gateway and SQS event sources invoke it
# synchronously, and a failed SQS record goes to its queue's own dead-letter queue.
ASYNC_EVENT_TYPES = frozenset({"Schedule", "ScheduleV2", "CloudWatchEvent", "EventBridgeRule", "SNS", "S3"})
# A scheduled pool run retried after this long is stale: newer runs did its work.
ASYNC_MAX_EVENT_AGE_SECONDS = 300
ASYNC_RETRIES = 2


def kms_parameter() -> dict:
    return {
        KMS_KEY: {
            "Type": "String",
            "Description": "Optional: the ARN of a symmetric customer-managed KMS key for the tables, queues, "
            "alarm topic, log groups, the functions' environment variables and the media bucket. Its key policy "
            "must let CloudWatch Logs and CloudWatch alarms use it (docs/deploy.md, 'Security posture'). "
            "Empty: AWS-owned and AWS-managed keys.",
            "Default": "",
            "AllowedPattern": "^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f-]{36}))?$",
            "ConstraintDescription": "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias, or empty",
        }
    }


def kms_condition() -> dict:
    return {HAS_KMS_KEY: {"Fn::Not": [{"Fn::Equals": [{"Ref": KMS_KEY}, ""]}]}}


def _with_key(otherwise: object = NO_VALUE) -> dict:
    return {"Fn::If": [HAS_KMS_KEY, {"Ref": KMS_KEY}, otherwise]}


def _if_key(then: object, otherwise: object) -> dict:
    return {"Fn::If": [HAS_KMS_KEY, then, otherwise]}


# --- encryption at rest ------------------------------------------------------------


def _encryption(resource_type: str) -> dict | None:
    """The properties that encrypt a resource of this type with the operator's key when
    KmsKeyArn is set, and as today when it is not; None: the type holds nothing to encrypt."""
    if resource_type == "AWS::DynamoDB::Table":
        # SSEType KMS without a key is aws/dynamodb, what SSEEnabled alone gave.
        return {"SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": _with_key()}}
    if resource_type == "AWS::SQS::Queue":
        # SSE-SQS and SSE-KMS exclude each other.
        return {"SqsManagedSseEnabled": _if_key(False, True), "KmsMasterKeyId": _with_key()}
    if resource_type == "AWS::SNS::Topic":
        return {"KmsMasterKeyId": _with_key()}
    if resource_type == "AWS::Logs::LogGroup":
        return {"KmsKeyId": _with_key()}
    if resource_type == "AWS::Serverless::Function":
        return {"KmsKeyArn": _with_key()}
    return None


def media_bucket_encryption() -> dict:
    """SSE-S3 by default; SSE-KMS with the operator's key (a bucket key, so S3 asks KMS for a
    data key per bucket and hour, not per object)."""
    return {
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {
                    "ServerSideEncryptionByDefault": _if_key(
                        {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Ref": KMS_KEY}}, {"SSEAlgorithm": "AES256"}
                    ),
                    "BucketKeyEnabled": True,
                }
            ]
        }
    }


def encryption_patches(resources: Mapping[str, Mapping]) -> dict:
    """Logical id -> the patch that lets KmsKeyArn encrypt it, for every resource of
    `resources` (the whole template's) that holds data."""
    patches: dict = {}
    for logical_id, resource in resources.items():
        properties = _encryption(resource["Type"])
        if properties is not None:
            patches[logical_id] = {"Properties": properties}
    patches["MediaBucket"] = {"Properties": media_bucket_encryption()}
    return patches


KEY_POLICY = "OperatorsKeyPolicy"


def key_policy(role_ids: list[str]) -> dict:
    """A policy that exists only when KmsKeyArn is set, on every function role: what DynamoDB,
    SQS and S3 ask of the caller to read and write data under a customer-managed key (Lambda
    decrypts the environment itself, CloudWatch is let in by the key policy). A
    resource of its own, not a conditional statement in the roles, so their policies stay
    plain IAM that checkov's policy checks can read."""
    return {
        KEY_POLICY: {
            "Type": "AWS::IAM::Policy",
            "Condition": HAS_KMS_KEY,
            "Properties": {
                "PolicyName": "operators-kms-key",
                "Roles": [{"Ref": role_id} for role_id in role_ids],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "OperatorsKey",
                            "Effect": "Allow",
                            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                            "Resource": {"Ref": KMS_KEY},
                        }
                    ],
                },
            },
        }
    }


# --- the template with KmsKeyArn decided (for the tests, and to read it) -------------------


def with_kms_key(template: Any, key_arn: str | None) -> Any:
    """`template` as CloudFormation deploys it with KmsKeyArn = `key_arn` (None: empty, the
    default): each Fn::If on HasKmsKey decided, Ref KmsKeyArn replaced, AWS::NoValue dropped,
    a resource on condition HasKmsKey kept or dropped. Other conditions are left as they are."""

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"} and node["Fn::If"][0] == HAS_KMS_KEY:
                return resolve(node["Fn::If"][1] if key_arn else node["Fn::If"][2])
            if node == {"Ref": KMS_KEY}:
                return key_arn or ""
            resolved = {key: resolve(value) for key, value in node.items()}
            return {key: value for key, value in resolved.items() if value != NO_VALUE}
        if isinstance(node, list):
            return [item for item in (resolve(value) for value in node) if item != NO_VALUE]
        return node

    resolved = resolve(template)
    for logical_id, resource in list(resolved.get("Resources", {}).items()):
        if resource.get("Condition") == HAS_KMS_KEY:
            if key_arn:
                del resource["Condition"]
            else:
                del resolved["Resources"][logical_id]
    return resolved


# --- access logs -------------------------------------------------------------------

# One JSON line per request: its id, the caller, and the route's template, never the path
# itself (a picture link's token, a pool number, ids) nor the query string.
HTTP_API_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "requestTime": "$context.requestTime",
    "method": "$context.httpMethod",
    "route": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
}
REST_API_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "requestTime": "$context.requestTime",
    "method": "$context.httpMethod",
    "route": "$context.resourcePath",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "xrayTraceId": "$context.xrayTraceId",
}


def access_log_group_name(stage: str, api: str) -> str:
    # /aws/vendedlogs/: CloudWatch Logs' advice for groups services deliver to (it keeps the
    # account's log resource policy short).
    return f"/aws/vendedlogs/sms-bridge-{stage}/{api}-access"


def _log_group_arn(group_id: str) -> dict:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{group_id}}}"}


def access_log_resources(stage: str, retention_days: int, http_stages: Mapping[str, str], rest_api: str) -> dict:
    """A log group (retention: the functions') for each HTTP API stage of `http_stages`
    (stage logical id -> API name) and for the REST API `rest_api`, each stage writing
    its access log there; the REST API also traces a sample of requests with X-Ray."""
    out: dict = {}

    def group(group_id: str, api: str) -> None:
        out[group_id] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": access_log_group_name(stage, api), "RetentionInDays": retention_days},
        }

    for stage_id, api in http_stages.items():
        group_id = f"{stage_id}AccessLogs"
        group(group_id, api)
        out[stage_id] = {
            "Properties": {
                "AccessLogSettings": {
                    "DestinationArn": _log_group_arn(group_id),
                    "Format": json.dumps(HTTP_API_LOG_FORMAT, separators=(",", ":")),
                }
            }
        }
    group_id = f"{rest_api}AccessLogs"
    group(group_id, "rest-api")
    out[rest_api] = {
        "Properties": {
            "AccessLogSetting": {
                "DestinationArn": _log_group_arn(group_id),
                "Format": json.dumps(REST_API_LOG_FORMAT, separators=(",", ":")),
            },
            "TracingEnabled": True,
        }
    }
    return out


# --- the media bucket's access log -------------------------------------------------

MEDIA_ACCESS_LOG_BUCKET = "MediaAccessLogBucket"
MEDIA_LOG_PREFIX = "media/"


def media_access_log_resources(prefix: str, days: int) -> dict:
    """S3 server access logs of the media bucket: a bucket of their own (named by
    CloudFormation), private, SSE-S3 (log delivery writes no SSE-KMS), kept `days`, which
    only S3's log delivery may write to, for that bucket of this account."""
    media_arn = f"arn:${{AWS::Partition}}:s3:::{prefix}media"
    return {
        MEDIA_ACCESS_LOG_BUCKET: {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                **resources.private_bucket_properties(),
                "LifecycleConfiguration": {
                    "Rules": [{"Id": "expire-access-logs", "Status": "Enabled", "ExpirationInDays": days}]
                },
            },
        },
        f"{MEDIA_ACCESS_LOG_BUCKET}Policy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": MEDIA_ACCESS_LOG_BUCKET},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "S3LogDelivery",
                            "Effect": "Allow",
                            "Principal": {"Service": "logging.s3.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": {"Fn::Sub": f"${{{MEDIA_ACCESS_LOG_BUCKET}.Arn}}/{MEDIA_LOG_PREFIX}*"},
                            "Condition": {
                                "ArnLike": {"aws:SourceArn": {"Fn::Sub": media_arn}},
                                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                            },
                        },
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [
                                {"Fn::GetAtt": [MEDIA_ACCESS_LOG_BUCKET, "Arn"]},
                                {"Fn::Sub": f"${{{MEDIA_ACCESS_LOG_BUCKET}.Arn}}/*"},
                            ],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                    ],
                },
            },
        },
        "MediaBucket": {
            # Log delivery is authorized by the policy above (the bucket has no ACLs).
            "DependsOn": [f"{MEDIA_ACCESS_LOG_BUCKET}Policy"],
            "Properties": {
                "LoggingConfiguration": {
                    "DestinationBucketName": {"Ref": MEDIA_ACCESS_LOG_BUCKET},
                    "LogFilePrefix": MEDIA_LOG_PREFIX,
                }
            },
        },
    }


# --- asynchronous invocations ------------------------------------------------------


def invoked_asynchronously(function: Mapping) -> bool:
    events = function["Properties"].get("Events", {}).values()
    return any(event["Type"] in ASYNC_EVENT_TYPES for event in events)


def async_failure_patches(functions: Mapping[str, Mapping], dlq_id: str) -> dict:
    """Each function Lambda invokes asynchronously sends an invocation that failed every
    attempt, or grew stale, to the queue `dlq_id` (alarmed when not empty)."""
    return {
        logical_id: {
            "Properties": {
                "DeadLetterQueue": {"Type": "SQS", "TargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]}},
                "EventInvokeConfig": {
                    "MaximumEventAgeInSeconds": ASYNC_MAX_EVENT_AGE_SECONDS,
                    "MaximumRetryAttempts": ASYNC_RETRIES,
                },
            }
        }
        for logical_id, function in functions.items()
        if invoked_asynchronously(function)
    }
