"""The deployable template of a stage: Chalice's SAM output plus everything
Chalice does not make, merged in one step.

`chalice package` writes the functions, their roles (from the hand-written
.chalice/policy-<stage>.json), the REST API, the layer and the log groups.
`overlay()` adds what it cannot:

- the tables and queues of infra/resources.py (the same definitions the
  local stack and the tests create), tables kept on stack deletion;
- on every SQS event source: ReportBatchItemFailures (Chalice never sets
  it, and without it Lambda ignores the handlers' `batchItemFailures` and
  deletes the whole batch) and MaximumConcurrency; each function depends on
  its queue so CloudFormation creates the queue before the mapping;
- fixed function names (`sms-bridge-<stage>-<function>`), which the IAM
  policy, the alarms and the dashboard name;
- settings that are not secrets, from deploy-time parameters (the Twilio
  account SID and the chat webhook URL from SSM String parameters, the public
  base URL Twilio signs against);
- IAM policy ARNs pinned to the stack's own partition, region and account;
- alarms (dead-letter queues not empty, oldest message age, sender errors,
  Twilio error rate) to an SNS topic, and a CloudWatch dashboard;
- the security posture of infra/security.py: the optional customer-managed KMS
  key (KmsKeyArn), an access log for every API stage, the scheduled run's
  dead-letter queue, the media bucket's access log, and each checkov check left
  failing with its reason (infra/suppressions.py).

`merge()` applies the overlay with Chalice's own TemplateDeepMerger, the
merger behind `chalice package --merge-template`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from chalicelib import config
from chalicelib.adapters import metrics
from chalicelib.core import delivery_retry
from infra import resources, security, suppressions

APP = "sms-bridge"
SSM_ROOT = "/sms-bridge"


@dataclass(frozen=True)
class StageSettings:
    # MaximumConcurrency of each queue's event source (2..1000). The outbound
    # queue's groups are pool numbers: more concurrent senders than numbers
    # sending at once only wait on each other.
    max_concurrency: dict = field(default_factory=lambda: {"outbound": 2, "delivery": 2, "requests": 2})
    # Alarm when a queue's oldest message is older than this many seconds.
    oldest_message_seconds: dict = field(default_factory=lambda: {"outbound": 600, "delivery": 1800, "requests": 600})
    twilio_error_rate: float = 0.10  # share of Twilio calls failing, over 5 minutes
    twilio_min_requests: int = 10  # ...counted only once there are this many calls
    table_deletion_protection: bool = False
    # Days the media bucket's S3 server access logs are kept (0: no access log). Delivery
    # is free; a log line per request (an upload, a fetch by Twilio or a phone) costs storage only.
    media_access_log_days: int = 90


STAGES = {
    "dev": StageSettings(),
    "prod": StageSettings(
        max_concurrency={"outbound": 10, "delivery": 5, "requests": 5},
        oldest_message_seconds={"outbound": 300, "delivery": 900, "requests": 300},
        twilio_error_rate=0.05,
        table_deletion_protection=True,
    ),
}

BATCH_FAILURES = ["ReportBatchItemFailures"]
LOG_METRICS_NAMESPACE = "SmsBridge/Logs"


class TemplateError(Exception):
    """Chalice's template holds something the overlay does not know how to complete."""


def prefix(stage: str) -> str:
    return f"{APP}-{stage}-"


def function_name(stage: str, chalice_name: str) -> str:
    return f"{prefix(stage)}{chalice_name}"


def queue_kind(stage: str, queue_name: str) -> str:
    """sms-bridge-dev-outbound.fifo -> outbound"""
    return queue_name[len(prefix(stage)) :].removesuffix(".fifo")


def chalice_functions(sam: dict) -> dict[str, str]:
    """Logical id -> Chalice's function name (the key in config.json's lambda_functions)."""
    found = {}
    for logical_id, resource in sam["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        handler = resource["Properties"]["Handler"]  # app.<function> or app.app for the API
        name = handler.split(".", 1)[1]
        found[logical_id] = "api_handler" if name == "app" else name
    return found


def _queue_name_of(queue: object) -> str:
    """The queue name in Chalice's event source: an ARN string or an Fn::Sub of one."""
    if isinstance(queue, dict) and "Fn::Sub" in queue:
        queue = queue["Fn::Sub"]
    if not isinstance(queue, str):
        raise TemplateError(f"unexpected SQS event source queue: {queue!r}")
    return queue.rsplit(":", 1)[-1]


def sqs_consumers(stage: str, sam: dict) -> dict[str, tuple[str, str]]:
    """Queue kind -> (function logical id, event logical id) of each SQS event source."""
    consumers = {}
    for logical_id in chalice_functions(sam):
        events = sam["Resources"][logical_id]["Properties"].get("Events", {})
        for event_id, event in events.items():
            if event["Type"] != "SQS":
                continue
            kind = queue_kind(stage, _queue_name_of(event["Properties"]["Queue"]))
            consumers[kind] = (logical_id, event_id)
    return consumers


# --- parameters -------------------------------------------------------------------

_LOOKUP_FIELD = "line_type_intelligence|sms_pumping_risk"  # config.LookupSettings' fields


def parameters(stage: str) -> dict:
    return {
        "PublicBaseUrl": {
            "Type": "String",
            "Description": "The REST API's URL, without a trailing slash (its EndpointURL, or a custom domain).",
            "AllowedPattern": "^https://[^ ]*[^/ ]$",
        },
        "TwilioWebhookBaseUrl": {
            "Type": "String",
            "Description": "Optional: the URL Twilio's webhooks are signed against and pool numbers point at "
            "(a custom domain in front of the webhook HTTP API); default: that API's own endpoint.",
            "AllowedPattern": "^(https://[^ ]*[^/ ])?$",
            "Default": "",
        },
        "TwilioAccountSid": {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Description": "SSM String parameter holding the Twilio account SID (AC...).",
            "Default": f"{SSM_ROOT}/{stage}/twilio-account-sid",
        },
        "ChatWebhookUrl": {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Description": "SSM String parameter holding the chat backend's webhook URL.",
            "Default": f"{SSM_ROOT}/{stage}/chat-webhook-url",
        },
        "TwilioMessagingServiceSid": {
            "Type": "String",
            "Description": "The Twilio Messaging Service (MG...) whose approved A2P 10DLC campaign registers "
            "the pool's numbers (docs/deploy.md, 'Twilio side'); empty: plain numbers.",
            "Default": "",
            "AllowedPattern": "^(MG[0-9a-fA-F]{32})?$",
        },
        "DeliveryRetentionDays": {
            "Type": "Number",
            "Description": "Days an event the chat backend does not take is retried (every 15 minutes at most) "
            "before it is dead-lettered; 4 to 10, so the dead-letter queue (14 days from the event's first "
            "enqueue) still holds it 4 days or more for make replay-dlq.",
            "AllowedValues": [str(days) for days in delivery_retry.RETENTION_DAYS],
            "Default": str(delivery_retry.DEFAULT_RETENTION_DAYS),
        },
        # Line type at every hook-up (landlines and VoIP refused: $0.008 a new phone); SMS pumping
        # risk ($0.025 more) is off, as Twilio does not recommend it for US and Canadian numbers,
        # the only countries ALLOWED_COUNTRIES admits by default (README "Lookup at hook-up").
        "TwilioLookupFields": {
            "Type": "String",
            "Description": "Twilio Lookup v2 data packages each new phone is looked up with at hook-up: "
            "line_type_intelligence, sms_pumping_risk (comma-separated); empty: no lookup.",
            "Default": "line_type_intelligence",
            "AllowedPattern": f"^(({_LOOKUP_FIELD})(,({_LOOKUP_FIELD}))*)?$",
        },
        "TwilioLookupOnFailure": {
            "Type": "String",
            "Description": "Twilio Lookup unreachable at a hook-up: open (the phone is taken, its carrier unknown; "
            "metric LookupFailed) or closed (503 lookup_unavailable, the caller retries).",
            "Default": "open",
            "AllowedValues": ["open", "closed"],
        },
        "AlarmEmail": {
            "Type": "String",
            "Description": "Optional address subscribed to the alarm topic (confirm the e-mail AWS sends).",
            "Default": "",
        },
        **security.kms_parameter(),
    }


def delivery_retention_mapping() -> dict:
    """Each allowed DeliveryRetentionDays: the delivery queue's retention and the
    maxReceiveCount that makes SQS dead-letter just before it (core/delivery_retry.py)."""
    return {
        str(days): {"Seconds": days * 86400, "MaxReceives": delivery_retry.max_receives(days * 86400)}
        for days in delivery_retry.RETENTION_DAYS
    }


def _delivery_retention(key: str) -> dict:
    return {"Fn::FindInMap": ["DeliveryRetention", {"Ref": "DeliveryRetentionDays"}, key]}


def deploy_time_environment() -> dict:
    return {
        "PUBLIC_BASE_URL": {"Ref": "PublicBaseUrl"},
        "TWILIO_WEBHOOK_BASE_URL": {
            "Fn::If": [
                "HasTwilioWebhookBaseUrl",
                {"Ref": "TwilioWebhookBaseUrl"},
                {"Fn::GetAtt": [WEBHOOK_API, "ApiEndpoint"]},
            ]
        },
        "TWILIO_ACCOUNT_SID": {"Ref": "TwilioAccountSid"},
        "CHAT_WEBHOOK_URL": {"Ref": "ChatWebhookUrl"},
        "MEDIA_BUCKET": {"Ref": "MediaBucket"},
        "TWILIO_MESSAGING_SERVICE_SID": {"Ref": "TwilioMessagingServiceSid"},
        "TWILIO_LOOKUP_FIELDS": {"Ref": "TwilioLookupFields"},
        "TWILIO_LOOKUP_ON_FAILURE": {"Ref": "TwilioLookupOnFailure"},
    }


# --- functions, event sources, roles ----------------------------------------------


def function_patches(stage: str, sam: dict, queue_ids: dict[str, str]) -> dict:
    settings = STAGES[stage]
    patches = {}
    groups = log_groups(sam)
    for logical_id, name in chalice_functions(sam).items():
        # Chalice names each queue by an ARN string, which CloudFormation does not
        # read as a dependency: without DependsOn a first deploy could create an
        # event source mapping before its queue. The log group first, too, so no
        # line is logged before its retention is set.
        depends_on = [groups[logical_id]]
        properties: dict = {
            "FunctionName": function_name(stage, name),
            "Environment": {"Variables": deploy_time_environment()},
        }
        events = sam["Resources"][logical_id]["Properties"].get("Events", {})
        for event_id, event in events.items():
            if event["Type"] != "SQS":
                continue  # schedules need nothing Chalice does not set
            queue_name = _queue_name_of(event["Properties"]["Queue"])
            if queue_name not in queue_ids:
                raise TemplateError(f"{logical_id} consumes {queue_name}, which infra/resources.py does not define")
            kind = queue_kind(stage, queue_name)
            depends_on.append(queue_ids[queue_name])
            properties.setdefault("Events", {})[event_id] = {
                "Properties": {
                    "FunctionResponseTypes": BATCH_FAILURES,
                    "ScalingConfig": {"MaximumConcurrency": settings.max_concurrency[kind]},
                }
            }
        patches[logical_id] = {"Properties": properties, "DependsOn": depends_on}
    return patches


def pin_arn(value: object) -> object:
    """arn:aws:<service>:*:*:<resource> -> the stack's own partition, region, account.

    The policy files use wildcards so they stay valid IAM on their own; in the
    template the wildcards become this account and region."""
    if not isinstance(value, str) or not value.startswith("arn:aws:"):
        return value
    parts = value.split(":", 5)
    if len(parts) < 6:
        return value
    _, _, service, region, account, rest = parts
    region = "${AWS::Region}" if region == "*" else region
    account = "${AWS::AccountId}" if account == "*" else account
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:{service}:{region}:{account}:{rest}"}


def role_patches(sam: dict) -> dict:
    patches = {}
    for logical_id, resource in sam["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        policies = []
        for policy in resource["Properties"].get("Policies", []):
            document = json.loads(json.dumps(policy["PolicyDocument"]))
            for statement in document["Statement"]:
                if "Resource" in statement:
                    targets = statement["Resource"]
                    targets = targets if isinstance(targets, list) else [targets]
                    statement["Resource"] = [pin_arn(target) for target in targets]
            policies.append({**policy, "PolicyDocument": document})
        patches[logical_id] = {"Properties": {"Policies": policies}}
    return patches


# --- tables and queues ------------------------------------------------------------


def data_resources(stage: str) -> dict:
    defined = resources.template(prefix(stage), config.load().media.retention_days)["Resources"]
    out = {}
    for logical_id, resource in defined.items():
        resource = json.loads(json.dumps(resource))
        if resource["Type"] == "AWS::DynamoDB::Table":
            # The data outlives the stack: deleting or replacing the stack keeps the tables.
            resource["DeletionPolicy"] = "Retain"
            resource["UpdateReplacePolicy"] = "Retain"
            if STAGES[stage].table_deletion_protection:
                resource["Properties"]["DeletionProtectionEnabled"] = True
        if logical_id == "DeliveryQueue":
            resource["Properties"]["MessageRetentionPeriod"] = _delivery_retention("Seconds")
            resource["Properties"]["RedrivePolicy"]["maxReceiveCount"] = _delivery_retention("MaxReceives")
        if resource["Type"] == "AWS::S3::Bucket":
            # A stack deleted with pictures in the bucket keeps it; its lifecycle rule empties it.
            resource["DeletionPolicy"] = "Retain"
            resource["UpdateReplacePolicy"] = "Retain"
        out[logical_id] = resource
    days = STAGES[stage].media_access_log_days
    if days:
        out = deep_merge(security.media_access_log_resources(prefix(stage), days), out)
    return out


def deep_merge(patch: Any, base: Any) -> Any:
    """`patch` merged into `base`: dicts key by key, anything else replaced (what Chalice's
    TemplateDeepMerger does to the template, here also used to combine the overlay's parts)."""
    if isinstance(patch, dict) and isinstance(base, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = deep_merge(value, base.get(key))
        return merged
    return patch


def queue_logical_ids(data: dict) -> dict[str, str]:
    return {
        resource["Properties"]["QueueName"]: logical_id
        for logical_id, resource in data.items()
        if resource["Type"] == "AWS::SQS::Queue"
    }


def dead_letter_queues(data: dict) -> dict[str, str]:
    """Source queue logical id -> its dead-letter queue's logical id."""
    return {
        logical_id: resource["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for logical_id, resource in data.items()
        if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in resource["Properties"]
    }


# --- alarms -----------------------------------------------------------------------


def _app_metric(name: str, stage: str) -> dict:
    dimensions = metrics.base_dimensions(stage)
    return {
        "Namespace": metrics.DEFAULT_NAMESPACE,
        "MetricName": name,
        "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()],
    }


def _alarm(stage: str, name: str, description: str, **properties) -> dict:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": f"{prefix(stage)}{name}",
            "AlarmDescription": description,
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
            "TreatMissingData": "notBreaching",
            **properties,
        },
    }


def alarm_resources(stage: str, sam: dict, data: dict) -> dict:
    settings = STAGES[stage]
    out: dict = {
        "AlarmTopic": {
            "Type": "AWS::SNS::Topic",
            # Not encrypted with aws/sns: that key's policy does not let CloudWatch publish
            # (KmsKeyArn encrypts it with the operator's key, security.encryption_patches).
            "Properties": {"TopicName": f"{prefix(stage)}alarms"},
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}},
        },
    }
    names = {
        resource["Properties"]["QueueName"]: lid
        for lid, resource in data.items()
        if resource["Type"] == "AWS::SQS::Queue"
    }
    by_id = {lid: name for name, lid in names.items()}

    def not_empty(dlq_id: str, description: str) -> None:
        dlq_name = by_id[dlq_id]
        out[f"{dlq_id}NotEmptyAlarm"] = _alarm(
            stage,
            f"{queue_kind(stage, dlq_name)}-not-empty",
            description,
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": dlq_name}],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )

    scheduled = [
        function_name(stage, name)
        for lid, name in chalice_functions(sam).items()
        if security.invoked_asynchronously(sam["Resources"][lid])
    ]
    not_empty(
        resources.SCHEDULED_DLQ,
        f"{by_id[resources.SCHEDULED_DLQ]} holds scheduled runs ({', '.join(scheduled)}) that failed every attempt "
        "or grew stale: read each message's ErrorMessage attribute and the function's log, then fix the cause. "
        "Nothing to replay: the next run (every minute) does the same work; purge the queue.",
    )
    for source_id, dlq_id in dead_letter_queues(data).items():
        kind = queue_kind(stage, by_id[source_id])
        not_empty(
            dlq_id,
            f"{by_id[dlq_id]} holds messages: {kind} work that failed every retry. Inspect them, fix the cause, "
            "then redrive them to the source queue (docs/deploy.md).",
        )
        out[f"{source_id}OldestMessageAlarm"] = _alarm(
            stage,
            f"{kind}-oldest-message",
            f"The oldest message on {by_id[source_id]} has waited over {settings.oldest_message_seconds[kind]} s: "
            "its consumer is failing, throttled or too slow.",
            Namespace="AWS/SQS",
            MetricName="ApproximateAgeOfOldestMessage",
            Dimensions=[{"Name": "QueueName", "Value": by_id[source_id]}],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=5,
            DatapointsToAlarm=5,
            Threshold=settings.oldest_message_seconds[kind],
            ComparisonOperator="GreaterThanThreshold",
        )

    functions = chalice_functions(sam)
    for logical_id, chalice_name in functions.items():
        # Every ERROR line a function logs (Powertools JSON) becomes a count per function.
        out[f"{logical_id}ErrorLogsFilter"] = {
            "Type": "AWS::Logs::MetricFilter",
            "Properties": {
                "LogGroupName": {"Ref": _log_group_id(sam, logical_id)},
                "FilterPattern": '{ $.level = "ERROR" }',
                "MetricTransformations": [
                    {
                        "MetricNamespace": LOG_METRICS_NAMESPACE,
                        "MetricName": function_name(stage, chalice_name),
                        "MetricValue": "1",
                        "DefaultValue": 0,
                        "Unit": "Count",
                    }
                ],
            },
        }

    sender_id = sqs_consumers(stage, sam)["outbound"][0]
    out.update(sent_line_filters(sam, sender_id))
    sender = function_name(stage, functions[sender_id])
    out["SenderErrorsAlarm"] = _alarm(
        stage,
        "sender-errors",
        f"{sender} failed: invocations that crashed or timed out, plus errors it logged "
        "(messages it could not send stay queued and are retried).",
        Metrics=[
            _metric_stat(
                "crashed",
                {
                    "Namespace": "AWS/Lambda",
                    "MetricName": "Errors",
                    "Dimensions": [{"Name": "FunctionName", "Value": sender}],
                },
            ),
            _metric_stat("logged", {"Namespace": LOG_METRICS_NAMESPACE, "MetricName": sender}),
            {
                "Id": "errors",
                "Expression": "FILL(crashed, 0) + FILL(logged, 0)",
                "Label": "sender errors",
                "ReturnData": True,
            },
        ],
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    out["PoolNumberFaultsAlarm"] = _alarm(
        stage,
        "pool-number-faults",
        "A pool number or the Twilio account is at fault (30007 carrier filtering, 30034 number not in an "
        "approved A2P 10DLC campaign, 30032 toll-free not verified, 21408 region not enabled): the number "
        "is held back from new sessions. Run `make doctor STAGE=...`, fix the cause, then "
        "POST /numbers/{n}/reactivate (README 'Carrier outcomes').",
        **_app_metric(metrics.POOL_NUMBER_FAULTS, stage),
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    out["TMobileCapNearAlarm"] = _alarm(
        stage,
        "tmobile-cap-near",
        "Sends to T-Mobile phones reached 80% of T-Mobile's daily cap on the brand (its tier's, or "
        "TMOBILE_DAILY_SEGMENTS): past the cap they fail 30023 without calling Twilio until midnight Pacific. "
        "Raise the brand's trust score (Twilio Console > Trust Hub) or spread traffic; make doctor shows the count.",
        **_app_metric(metrics.TMOBILE_CAP_NEAR, stage),
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    out["TwilioErrorRateAlarm"] = _alarm(
        stage,
        "twilio-error-rate",
        f"Over {settings.twilio_error_rate:.0%} of calls to Twilio failed in 5 minutes (with at least "
        f"{settings.twilio_min_requests} calls). See the dashboard's failures by Twilio error code.",
        Metrics=[
            _metric_stat("failed", _app_metric(metrics.TWILIO_ERRORS, stage)),
            _metric_stat("calls", _app_metric(metrics.TWILIO_REQUESTS, stage)),
            {
                "Id": "rate",
                "Expression": f"IF(calls >= {settings.twilio_min_requests}, FILL(failed, 0) / calls, 0)",
                "Label": "Twilio error rate",
                "ReturnData": True,
            },
        ],
        EvaluationPeriods=1,
        Threshold=settings.twilio_error_rate,
        ComparisonOperator="GreaterThanThreshold",
    )
    out["VerificationBudgetAlarm"] = _alarm(
        stage,
        "verification-budget-near",
        "Verification code SMS reached VERIFY_GLOBAL_ALARM_FRACTION (default 80%) of the hour's global budget "
        "(VERIFY_GLOBAL_MAX_PER_HOUR): a busy hour or SMS pumping. Past the budget, codes answer 429 too_many_codes.",
        Namespace=metrics.DEFAULT_NAMESPACE,
        MetricName=metrics.VERIFICATION_BUDGET_NEAR,
        Dimensions=_app_metric(metrics.VERIFICATION_BUDGET_NEAR, stage)["Dimensions"],
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    return out


def _metric_stat(metric_id: str, metric: dict, stat: str = "Sum", period: int = 300) -> dict:
    return {"Id": metric_id, "MetricStat": {"Metric": metric, "Period": period, "Stat": stat}, "ReturnData": False}


def log_groups(sam: dict) -> dict[str, str]:
    """Function logical id -> the logical id of the log group Chalice made for it.

    Chalice names the group `/aws/lambda/${<function>}`, but for the API
    handler it writes `${ApiHandler}` while the function is `APIHandler`, a
    reference CloudFormation cannot resolve: match without case here, and
    log_group_patches() replaces every name with the fixed function name."""
    functions = {logical_id.lower(): logical_id for logical_id in chalice_functions(sam)}
    found = {}
    for logical_id, resource in sam["Resources"].items():
        if resource["Type"] != "AWS::Logs::LogGroup":
            continue
        name = resource["Properties"]["LogGroupName"]
        referenced = name.get("Fn::Sub", "") if isinstance(name, dict) else name
        target = referenced.removeprefix("/aws/lambda/${").removesuffix("}").lower()
        if target in functions:
            found[functions[target]] = logical_id
    missing = set(functions.values()) - set(found)
    if missing:
        raise TemplateError(
            f"no log group for {', '.join(sorted(missing))}: set log_retention_in_days in .chalice/config.json"
        )
    return found


def log_retention_days(sam: dict) -> int:
    """The functions' log retention (log_retention_in_days in .chalice/config.json), which
    the API access logs keep too."""
    days = {sam["Resources"][group]["Properties"]["RetentionInDays"] for group in log_groups(sam).values()}
    if len(days) != 1:
        raise TemplateError(f"the functions' log groups keep their logs for different days: {sorted(days)}")
    return days.pop()


def _log_group_id(sam: dict, function_id: str) -> str:
    return log_groups(sam)[function_id]


def log_group_patches(stage: str, sam: dict) -> dict:
    """Each log group named after its function's fixed name, so it exists
    before the function first logs and the reference always resolves."""
    functions = chalice_functions(sam)
    return {
        group_id: {"Properties": {"LogGroupName": f"/aws/lambda/{function_name(stage, functions[function_id])}"}}
        for function_id, group_id in log_groups(sam).items()
    }


def sent_line_filters(sam: dict, sender_id: str) -> dict:
    """The sender's figures (SmsSent, SegmentsSent per PoolNumber, SendLatency, TwilioRequests)
    from the fields of its one 'sms sent' line a message (metrics.SENT_LINE_METRICS), with the
    dimensions EMF gives every metric, so the alarms and the dashboard read them as before."""
    out = {}
    for name, value, unit, number_field in metrics.SENT_LINE_METRICS:
        dimensions = {"service": "$.service", "stage": "$.stage"}
        if number_field:
            dimensions["PoolNumber"] = f"$.{number_field}"
        out[f"{sender_id}{name}Filter"] = {
            "Type": "AWS::Logs::MetricFilter",
            "Properties": {
                "LogGroupName": {"Ref": _log_group_id(sam, sender_id)},
                "FilterPattern": f'{{ $.message = "{metrics.SENT_LINE}" }}',
                "MetricTransformations": [
                    {
                        "MetricNamespace": metrics.DEFAULT_NAMESPACE,
                        "MetricName": name,
                        "MetricValue": value,
                        "Unit": unit,
                        "Dimensions": [{"Key": key, "Value": field} for key, field in dimensions.items()],
                    }
                ],
            },
        }
    return out


# --- dashboard --------------------------------------------------------------------


def dashboard(stage: str, sam: dict, data: dict) -> dict:
    functions = [function_name(stage, name) for name in chalice_functions(sam).values()]
    queues = [r["Properties"]["QueueName"] for r in data.values() if r["Type"] == "AWS::SQS::Queue"]
    main_queues = [q for q in queues if not queue_kind(stage, q).endswith("-dlq")]
    dead_letters = [q for q in queues if queue_kind(stage, q).endswith("-dlq")]
    ns = metrics.DEFAULT_NAMESPACE
    scope = f'service="{metrics.SERVICE}" stage="{stage}"'

    def search(metric: str, dimension: str | None, stat: str, label: str) -> dict:
        dims = f"{ns},service,stage" + (f",{dimension}" if dimension else "")
        expression = {
            "expression": f"SEARCH('{{{dims}}} MetricName=\"{metric}\" {scope}', '{stat}', 60)",
            "id": f"{metric[0].lower()}{metric[1:]}",
        }
        if label:
            expression["label"] = label
        return expression

    def widget(title: str, x: int, y: int, metric_rows: list, **extra) -> dict:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": "${AWS::Region}",
                "view": "timeSeries",
                "stacked": False,
                "metrics": metric_rows,
                **extra,
            },
        }

    def app_metric(name: str, stat: str, label: str) -> list:
        return [ns, name, "service", metrics.SERVICE, "stage", stage, {"stat": stat, "label": label}]

    body = {
        "widgets": [
            widget(
                "Sends per pool number (messages / min)", 0, 0, [[search(metrics.SMS_SENT, "PoolNumber", "Sum", "")]]
            ),
            widget(
                "Segments per pool number (the limits count these)",
                12,
                0,
                [[search(metrics.SEGMENTS_SENT, "PoolNumber", "Sum", "")]],
            ),
            widget(
                "Backlog: messages waiting",
                0,
                6,
                [
                    ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q, {"stat": "Maximum"}]
                    for q in main_queues + dead_letters
                ],
            ),
            widget(
                "Backlog: age of oldest message (s)",
                12,
                6,
                [
                    ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q, {"stat": "Maximum"}]
                    for q in main_queues
                ],
            ),
            widget(
                "Delivery latency: submitted -> delivered to the phone (ms)",
                0,
                12,
                [
                    app_metric(metrics.DELIVERY_LATENCY, "p50", "p50"),
                    app_metric(metrics.DELIVERY_LATENCY, "p90", "p90"),
                    app_metric(metrics.DELIVERY_LATENCY, "p99", "p99"),
                    app_metric(metrics.SEND_LATENCY, "p90", "send p90 (submitted -> Twilio accepted)"),
                ],
            ),
            widget(
                "Failures by Twilio error code",
                12,
                12,
                [
                    [search(metrics.MESSAGE_FAILED, "ErrorCode", "Sum", "undelivered/failed")],
                    [search(metrics.TWILIO_ERRORS_BY_CODE, "ErrorCode", "Sum", "API call refused")],
                ],
            ),
            widget(
                "Twilio calls and errors",
                0,
                18,
                [
                    app_metric(metrics.TWILIO_REQUESTS, "Sum", "calls"),
                    app_metric(metrics.TWILIO_ERRORS, "Sum", "errors"),
                ],
            ),
            widget(
                "Functions: errors, logged errors, throttles",
                12,
                18,
                [["AWS/Lambda", "Errors", "FunctionName", f, {"stat": "Sum"}] for f in functions]
                + [[LOG_METRICS_NAMESPACE, f, {"stat": "Sum", "label": f"{f} logged"}] for f in functions]
                + [["AWS/Lambda", "Throttles", "FunctionName", f, {"stat": "Sum"}] for f in functions],
            ),
            widget(
                "Functions: duration p90 (ms)",
                0,
                24,
                [["AWS/Lambda", "Duration", "FunctionName", f, {"stat": "p90"}] for f in functions],
            ),
            {
                "type": "alarm",
                "x": 12,
                "y": 24,
                "width": 12,
                "height": 6,
                "properties": {"title": "Alarms", "alarms": []},  # filled with ARNs below
            },
        ]
    }
    return body


def dashboard_resource(stage: str, sam: dict, data: dict, alarms: dict) -> dict:
    body = dashboard(stage, sam, data)
    alarm_names = sorted(r["Properties"]["AlarmName"] for r in alarms.values() if r["Type"] == "AWS::CloudWatch::Alarm")
    body["widgets"][-1]["properties"]["alarms"] = [
        "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:" + name for name in alarm_names
    ]
    text = json.dumps(body, separators=(",", ":"))
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {"DashboardName": f"{APP}-{stage}", "DashboardBody": {"Fn::Sub": text}},
    }


# --- HTTP APIs in front of the API handler -------------------------------------------
#
# An HTTP API request costs $1.00 per million against the REST API's $3.50. Both APIs
# below send the API handler the REST API's event format (payload 1.0), which Chalice
# routes, so the routes, the checks and the answers are Chalice's, whichever API a
# request came in by. Chalice's REST API stays (Chalice makes it) and answers the same.

WEBHOOK_API = "TwilioWebhookApi"
WEBHOOK_ROUTES = ("/twilio/sms", "/twilio/status")
# The picture links an SMS carries and Twilio fetches as an MMS's MediaUrl: built on the same
# public URL as the webhooks (config.webhook_url), so served by the same API.
LINK_ROUTE = "/l/{token}"
CHAT_API = "ChatApi"
# Each HTTP API's stage (logical id) -> the name its access log group carries.
HTTP_API_STAGES = {"TwilioWebhookStage": "twilio-webhooks", "ChatApiStage": "chat-api"}


def api_handler(sam: dict) -> str:
    handler = next((lid for lid, name in chalice_functions(sam).items() if name == "api_handler"), None)
    if handler is None:
        raise TemplateError("Chalice's template has no API handler to put an HTTP API in front of")
    return handler


def chalice_paths(sam: dict) -> list[str]:
    """Every path Chalice's REST API serves, as its template lists them."""
    return list(sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"])


def _id_words(path: str) -> str:
    """ "/users/{user_id}/sessions" -> "UsersUserIdSessions" (a logical id's part)."""
    return "".join(word.capitalize() for word in re.findall(r"[A-Za-z0-9]+", path))


def _invoke_permission(api_id: str, handler: str, invoked_on: str) -> dict:
    """`api_id` may invoke `handler` for requests matching `invoked_on` (stage/method/path)."""
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": handler},
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {
                "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                f"${{{api_id}}}/{invoked_on}"
            },
        },
    }


def http_api_resources(
    api_id: str, prefix: str, name: str, handler: str, routes: dict[str, tuple[str, str]], invoked_on: str
) -> dict:
    """An HTTP API with `routes` (logical id -> (METHOD, path)), each proxied to `handler` with
    payload 1.0; `invoked_on` is the part of the execute-api ARN (stage/method/path) the
    handler may be invoked from."""
    resources: dict = {
        api_id: {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}-" + name}, "ProtocolType": "HTTP"},
        },
        f"{prefix}Integration": {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": {"Ref": api_id},
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": {"Fn::GetAtt": [handler, "Arn"]},
                "PayloadFormatVersion": "1.0",
                "TimeoutInMillis": 29000,
            },
        },
        f"{prefix}Stage": {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {"ApiId": {"Ref": api_id}, "StageName": "$default", "AutoDeploy": True},
        },
        f"{prefix}Permission": _invoke_permission(api_id, handler, invoked_on),
    }
    for route_id, (method, path) in routes.items():
        resources[route_id] = {
            "Type": "AWS::ApiGatewayV2::Route",
            "Properties": {
                "ApiId": {"Ref": api_id},
                "RouteKey": f"{method} {path}",
                "Target": {"Fn::Sub": f"integrations/${{{prefix}Integration}}"},
            },
        }
    return resources


def webhook_api_resources(sam: dict) -> dict:
    """Twilio's webhooks (an inbound SMS, two status callbacks per message) on an API of their
    own whose URL Twilio signs (TwilioWebhookBaseUrl), with the picture links built on it."""
    # Their logical ids predate the chat API's: renamed, CloudFormation would create the new
    # route before deleting the old one, and an API refuses a second route with the same key.
    routes = {"TwilioWebhookRoute" + path.rsplit("/", 1)[-1].capitalize(): ("POST", path) for path in WEBHOOK_ROUTES}
    routes |= {f"TwilioWebhookRouteLink{method.capitalize()}": (method, LINK_ROUTE) for method in ("GET", "HEAD")}
    handler = api_handler(sam)
    resources = http_api_resources(WEBHOOK_API, "TwilioWebhook", "twilio-webhooks", handler, routes, "*/*/twilio/*")
    return resources | {"TwilioWebhookLinkPermission": _invoke_permission(WEBHOOK_API, handler, "*/*/l/*")}


def chat_api_resources(sam: dict) -> dict:
    """The chat backend's API (every path but Twilio's webhooks) on an HTTP API: the submit
    of each message is a request, so this is the URL to call (output ChatApiUrl). A path's
    route takes ANY method, so a method it does not have reaches the handler, which answers
    405 in openapi.yaml's error shape (an HTTP API answers a request no route matches itself, 404
    {"message": "Not Found"}, as it still does for a path the API does not have)."""
    paths = [path for path in chalice_paths(sam) if path not in WEBHOOK_ROUTES]
    routes = {f"{CHAT_API}RouteAny{_id_words(path)}": ("ANY", path) for path in paths}
    return http_api_resources(CHAT_API, CHAT_API, "chat-api", api_handler(sam), routes, "*/*/*")


# --- the whole overlay ------------------------------------------------------------


def overlay(stage: str, sam: dict) -> dict:
    """What gets merged into Chalice's template for `stage`."""
    if stage not in STAGES:
        raise TemplateError(f"unknown stage {stage!r}; known: {', '.join(STAGES)}")
    data = data_resources(stage)
    alarms = alarm_resources(stage, sam, data)
    functions = {lid: sam["Resources"][lid] for lid in chalice_functions(sam)}
    parts = (
        data,
        function_patches(stage, sam, queue_logical_ids(data)),
        security.async_failure_patches(functions, resources.SCHEDULED_DLQ),
        role_patches(sam),
        log_group_patches(stage, sam),
        webhook_api_resources(sam),
        chat_api_resources(sam),
        security.access_log_resources(stage, log_retention_days(sam), HTTP_API_STAGES, "RestAPI"),
        security.key_policy([lid for lid, r in sam["Resources"].items() if r["Type"] == "AWS::IAM::Role"]),
        alarms,
        {"Dashboard": dashboard_resource(stage, sam, data, alarms)},
    )
    overlay_resources: dict = {}
    for part in parts:
        overlay_resources = deep_merge(part, overlay_resources)
    # What holds data and what checkov would flag are read off the whole template.
    whole = deep_merge(overlay_resources, sam["Resources"])
    overlay_resources = deep_merge(security.encryption_patches(whole), overlay_resources)
    skips = suppressions.checkov_skips(
        whole,
        api_handler=api_handler(sam),
        media_logged=security.MEDIA_ACCESS_LOG_BUCKET in whole,
        log_bucket=security.MEDIA_ACCESS_LOG_BUCKET,
    )
    overlay_resources = deep_merge(skips, overlay_resources)
    queue_outputs = {
        f"{lid}Url": {"Description": f"URL of {r['Properties']['QueueName']}", "Value": {"Ref": lid}}
        for lid, r in data.items()
        if r["Type"] == "AWS::SQS::Queue"
    }
    return {
        "Description": f"sms-bridge ({stage}): API, queue handlers, tables, queues, alarms, dashboard",
        "Parameters": parameters(stage),
        "Mappings": {"DeliveryRetention": delivery_retention_mapping()},
        "Conditions": {
            "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
            "HasTwilioWebhookBaseUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "TwilioWebhookBaseUrl"}, ""]}]},
            **security.kms_condition(),
        },
        "Resources": overlay_resources,
        "Outputs": {
            **queue_outputs,
            "TwilioWebhookBaseUrl": {
                "Description": "Where Twilio's webhooks are served and signed (pool numbers point here)",
                "Value": {
                    "Fn::If": [
                        "HasTwilioWebhookBaseUrl",
                        {"Ref": "TwilioWebhookBaseUrl"},
                        {"Fn::GetAtt": [WEBHOOK_API, "ApiEndpoint"]},
                    ]
                },
            },
            "ChatApiUrl": {
                "Description": "The chat backend's API on an HTTP API ($1.00 per million requests; "
                "the REST API's EndpointURL answers the same at $3.50)",
                "Value": {"Fn::GetAtt": [CHAT_API, "ApiEndpoint"]},
            },
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
            "DashboardUrl": {
                "Value": {
                    "Fn::Sub": "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home"
                    f"?region=${{AWS::Region}}#dashboards:name={APP}-{stage}"
                }
            },
        },
    }


def merge(stage: str, sam: dict) -> dict:
    from chalice.package import TemplateDeepMerger

    return TemplateDeepMerger().merge(overlay(stage, sam), sam)
