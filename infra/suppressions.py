"""Every checkov check the template leaves failing on purpose, on the resources it fails
on, with the reason in one line: written into the template as each resource's
Metadata.checkov.skip (what checkov reads), listed in docs/deploy.md ("Security posture").

The KMS checks name the default: with the KmsKeyArn parameter set, those resources are
encrypted with the operator's key and the checks would pass (tests/deploy/test_checkov.py
runs checkov on both settings).
"""

from __future__ import annotations

from collections.abc import Mapping

from infra import security

# Check id -> why it does not apply, for every resource it is skipped on.
SQS_KMS = "CKV_AWS_27"
SNS_KMS = "CKV_AWS_26"
DYNAMODB_CMK = "CKV_AWS_119"
LOG_GROUP_KMS = "CKV_AWS_158"
LAMBDA_ENV_KMS = "CKV_AWS_173"
LAMBDA_VPC = "CKV_AWS_117"
LAMBDA_DLQ = "CKV_AWS_116"
LAMBDA_CONCURRENCY = "CKV_AWS_115"
API_CACHE = "CKV_AWS_120"
S3_VERSIONING = "CKV_AWS_21"
S3_ACCESS_LOGS = "CKV_AWS_18"

KMS_DEFAULT = "; set KmsKeyArn to use the operator's key"
REASONS = {
    SQS_KMS: "encrypted at rest with SSE-SQS (SqsManagedSseEnabled), which this check does not read" + KMS_DEFAULT,
    SNS_KMS: "alarm notices only (no phone number, no message text); aws/sns would keep CloudWatch from "
    "publishing" + KMS_DEFAULT,
    DYNAMODB_CMK: "encrypted at rest with the AWS-managed key aws/dynamodb" + KMS_DEFAULT,
    LOG_GROUP_KMS: "encrypted at rest by CloudWatch Logs; phone numbers masked, message text never logged"
    + KMS_DEFAULT,
    LAMBDA_ENV_KMS: "encrypted at rest with aws/lambda, and no secret among them (secrets are SSM SecureStrings, "
    "read at run time)" + KMS_DEFAULT,
    LAMBDA_VPC: "reaches only AWS APIs and Twilio over TLS; a VPC would add NAT (about $33 a month per AZ) or "
    "endpoints and protect nothing",
    LAMBDA_DLQ: "invoked synchronously (API Gateway, SQS event source): a Lambda DLQ only catches asynchronous "
    "invocations, and a failed SQS record goes to its queue's dead-letter queue",
    API_CACHE: "every route answers per caller (bearer token, Twilio signature) or changes state; a cache would "
    "serve stale or another caller's answers, from $14 a month",
    S3_VERSIONING: "each picture is written once under its own key, the functions cannot delete, and versions would "
    "outlive the retention the users are promised",
}
FRONT_DOOR = (
    "the API handler is the front door: a cap would turn a burst into 429s for every caller, "
    "and the queue handlers have their own limits (MaximumConcurrency, prod's reservations)"
)
UNRESERVED_STAGE = (
    "this stage reserves no concurrency, so it deploys in accounts whose limit is 10 (AWS keeps 100 unreserved); "
    "MaximumConcurrency caps each queue handler"
)
MEDIA_LOGS_OFF = "media_access_log_days is 0 for this stage (infra/template.py STAGES)"
LOG_BUCKET = "the media bucket's access-log bucket: logging or versioning it would only log and keep its own writes"


def _function_skips(function: Mapping, is_api_handler: bool) -> list[tuple[str, str]]:
    skips = [(LAMBDA_ENV_KMS, REASONS[LAMBDA_ENV_KMS]), (LAMBDA_VPC, REASONS[LAMBDA_VPC])]
    if not security.invoked_asynchronously(function):
        skips.append((LAMBDA_DLQ, REASONS[LAMBDA_DLQ]))
    if "ReservedConcurrentExecutions" not in function["Properties"]:
        skips.append((LAMBDA_CONCURRENCY, FRONT_DOOR if is_api_handler else UNRESERVED_STAGE))
    return skips


def skips_of(
    logical_id: str, resource: Mapping, *, api_handler: str, media_logged: bool, log_bucket: str
) -> list[tuple[str, str]]:
    """(check id, reason) of each check skipped on this resource."""
    kind = resource["Type"]
    by_type = {
        "AWS::SQS::Queue": [SQS_KMS],
        "AWS::SNS::Topic": [SNS_KMS],
        "AWS::DynamoDB::Table": [DYNAMODB_CMK],
        "AWS::Logs::LogGroup": [LOG_GROUP_KMS],
        "AWS::Serverless::Api": [API_CACHE],
    }
    if kind in by_type:
        return [(check, REASONS[check]) for check in by_type[kind]]
    if kind == "AWS::Serverless::Function":
        return _function_skips(resource, logical_id == api_handler)
    if logical_id == log_bucket:
        return [(S3_ACCESS_LOGS, LOG_BUCKET), (S3_VERSIONING, LOG_BUCKET)]
    if logical_id == "MediaBucket":
        return [(S3_VERSIONING, REASONS[S3_VERSIONING])] + ([] if media_logged else [(S3_ACCESS_LOGS, MEDIA_LOGS_OFF)])
    return []


def checkov_skips(resources: Mapping[str, Mapping], *, api_handler: str, media_logged: bool, log_bucket: str) -> dict:
    """Logical id -> {"Metadata": {"checkov": {"skip": [...]}}} for every resource of the
    whole template `resources` that leaves a check failing."""
    out = {}
    for logical_id, resource in resources.items():
        skips = skips_of(
            logical_id, resource, api_handler=api_handler, media_logged=media_logged, log_bucket=log_bucket
        )
        if skips:
            out[logical_id] = {
                "Metadata": {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in skips]}}
            }
    return out
