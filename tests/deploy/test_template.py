"""The template `make package` writes: valid for CloudFormation (cfn-lint), and
holding every table, queue, dead-letter queue, alarm and event source setting
the service relies on."""

from __future__ import annotations

import json
import re

import pytest
from packaged import ROOT, STAGES, build_dir, chalice_config, of_type, stage_environment, template

from chalicelib import config
from chalicelib.adapters import metrics
from chalicelib.core import delivery_retry
from chalicelib.store.models import TABLE_MODELS, TTL_ATTRIBUTE
from infra import resources
from infra import template as infra_template

pytestmark = pytest.mark.parametrize("stage", STAGES)


def _sqs_events(t: dict):
    """(function logical id, function properties, event properties) of each SQS event source."""
    for logical_id, function in of_type(t, "AWS::Serverless::Function").items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                yield logical_id, function["Properties"], event["Properties"]


def _queue_by_name(t: dict) -> dict:
    return {r["Properties"]["QueueName"]: r for r in of_type(t, "AWS::SQS::Queue").values()}


def _queue_name(event: dict) -> str:
    return event["Queue"]["Fn::Sub"].rsplit(":", 1)[-1]


def test_passes_cfn_lint(stage):
    from cfnlint.api import lint_file

    matches = lint_file(build_dir(stage) / "template.json")
    assert not matches, "\n".join(str(match) for match in matches)


def test_has_every_table_from_the_models(stage):
    tables = {r["Properties"]["TableName"]: r for r in of_type(template(stage), "AWS::DynamoDB::Table").values()}
    prefix = f"sms-bridge-{stage}-"
    assert set(tables) == {prefix + model.Meta.table_suffix for model in TABLE_MODELS}
    for model in TABLE_MODELS:
        table = tables[prefix + model.Meta.table_suffix]
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
        if TTL_ATTRIBUTE in model.get_attributes():
            assert properties["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
        indexes = {i["IndexName"] for i in properties.get("GlobalSecondaryIndexes", [])}
        assert indexes == {i["index_name"] for i in model._get_schema()["global_secondary_indexes"]}
    assert all(t["Properties"].get("DeletionProtectionEnabled") for t in tables.values()) == (stage == "prod")


def test_has_every_queue_with_a_dead_letter_queue(stage):
    t = template(stage)
    queues = _queue_by_name(t)
    defined = resources.template(f"sms-bridge-{stage}-")["Resources"]
    assert set(queues) == {r["Properties"]["QueueName"] for r in defined.values() if r["Type"] == "AWS::SQS::Queue"}
    sources = {name: q for name, q in queues.items() if "-dlq" not in name}
    assert set(sources) == {f"sms-bridge-{stage}-{k}" for k in ("outbound.fifo", "delivery", "requests")}
    for queue in sources.values():
        redrive = queue["Properties"]["RedrivePolicy"]
        dlq = t["Resources"][redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]["Properties"]
        receives = _resolved(t, redrive["maxReceiveCount"])
        assert "-dlq" in dlq["QueueName"] and 1 <= receives <= 1000
        assert dlq.get("FifoQueue", False) == queue["Properties"].get("FifoQueue", False)


def _resolved(t: dict, value, days: str | None = None):
    """A property's value, a DeliveryRetention mapping looked up for `days` (the default)."""
    if not isinstance(value, dict):
        return value
    mapping, key, field = value["Fn::FindInMap"]
    assert key == {"Ref": "DeliveryRetentionDays"}
    return t["Mappings"][mapping][days or t["Parameters"]["DeliveryRetentionDays"]["Default"]][field]


def test_events_wait_out_the_delivery_retention_then_are_dead_lettered_before_sqs_deletes_them(stage):
    t = template(stage)
    queues = _queue_by_name(t)
    delivery = queues[f"sms-bridge-{stage}-delivery"]["Properties"]
    dlq = queues[f"sms-bridge-{stage}-delivery-dlq"]["Properties"]
    allowed = t["Parameters"]["DeliveryRetentionDays"]["AllowedValues"]
    assert allowed[0] == "4" and allowed[-1] == "10"
    for days in allowed:
        retention = _resolved(t, delivery["MessageRetentionPeriod"], days)
        receives = _resolved(t, delivery["RedrivePolicy"]["maxReceiveCount"], days)
        assert retention == int(days) * 86400 and receives <= 1000
        # The receive that dead-letters comes before SQS would delete the event (lost), and
        # after most of the retention; the dead-letter queue (of a standard queue, it counts an
        # event's age from its first enqueue) then keeps it 4 days or more.
        assert delivery_retry.longest_wait(receives) <= retention - delivery_retry.MARGIN_SECONDS
        assert delivery_retry.shortest_wait(receives) >= 0.7 * retention
        assert dlq["MessageRetentionPeriod"] - retention >= 4 * 86400
    # The handler's time that the waits allow for is the delivery function's timeout.
    assert resources.FUNCTION_TIMEOUTS["delivery"] == delivery_retry.HANDLER_SECONDS


def test_every_sqs_event_source_reports_batch_item_failures(stage):
    events = list(_sqs_events(template(stage)))
    # One event source per @app.on_sqs_message handler (three today).
    assert len(events) == len(re.findall(r"@app\.on_sqs_message\(", (ROOT / "app.py").read_text())) >= 3
    for logical_id, _, event in events:
        assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"], logical_id
        assert 2 <= event["ScalingConfig"]["MaximumConcurrency"] <= 1000


def test_every_event_source_queue_is_created_before_its_mapping(stage):
    t = template(stage)
    by_name = {r["Properties"]["QueueName"]: lid for lid, r in of_type(t, "AWS::SQS::Queue").items()}
    for logical_id, _, event in _sqs_events(t):
        assert by_name[_queue_name(event)] in t["Resources"][logical_id]["DependsOn"], logical_id


def test_visibility_timeout_is_at_least_six_function_timeouts(stage):
    t = template(stage)
    queues = _queue_by_name(t)
    for logical_id, function, event in _sqs_events(t):
        queue = queues[_queue_name(event)]
        assert queue["Properties"]["VisibilityTimeout"] >= 6 * function["Timeout"], logical_id
        kind = infra_template.queue_kind(stage, _queue_name(event))
        assert function["Timeout"] == resources.FUNCTION_TIMEOUTS[kind], (
            f"{logical_id}: lambda_timeout in .chalice/config.json and FUNCTION_TIMEOUTS in infra/resources.py differ"
        )


def test_reserved_concurrency_covers_the_event_source(stage):
    for logical_id, function, event in _sqs_events(template(stage)):
        reserved = function.get("ReservedConcurrentExecutions")
        if reserved is not None:
            assert reserved >= event["ScalingConfig"]["MaximumConcurrency"], logical_id


def test_functions_have_fixed_names_log_groups_and_deploy_time_settings(stage):
    t = template(stage)
    functions = of_type(t, "AWS::Serverless::Function")
    groups = {r["Properties"]["LogGroupName"]: r for r in of_type(t, "AWS::Logs::LogGroup").values()}
    retention = chalice_config()["stages"][stage]["log_retention_in_days"]
    for logical_id, function in functions.items():
        name = function["Properties"]["FunctionName"]
        assert name.startswith(f"sms-bridge-{stage}-"), logical_id
        assert groups[f"/aws/lambda/{name}"]["Properties"]["RetentionInDays"] == retention
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["PUBLIC_BASE_URL"] == {"Ref": "PublicBaseUrl"}
        assert variables["TWILIO_ACCOUNT_SID"] == {"Ref": "TwilioAccountSid"}
        assert variables["CHAT_WEBHOOK_URL"] == {"Ref": "ChatWebhookUrl"}
        assert variables["TWILIO_LOOKUP_FIELDS"] == {"Ref": "TwilioLookupFields"}
    assert t["Parameters"]["TwilioAccountSid"]["Default"] == f"/sms-bridge/{stage}/twilio-account-sid"


def test_deployed_stages_look_up_each_new_phones_line_type_by_default(stage):
    fields = template(stage)["Parameters"]["TwilioLookupFields"]
    assert fields["Default"] == "line_type_intelligence"
    assert config.load({"TWILIO_LOOKUP_FIELDS": fields["Default"]}).lookup.fields == ("line_type_intelligence",)
    pattern = re.compile(fields["AllowedPattern"])
    assert pattern.fullmatch("line_type_intelligence,sms_pumping_risk") and pattern.fullmatch("")
    assert not pattern.fullmatch("caller_name"), "the template refuses what the bridge would refuse at start"


def test_config_names_the_queues_and_secrets_of_the_template(stage):
    env = stage_environment(stage)
    queues = set(_queue_by_name(template(stage)))
    for key in ("OUTBOUND_QUEUE", "DELIVERY_QUEUE", "REQUESTS_QUEUE", "REQUESTS_DLQ_QUEUE"):
        assert env[key] in queues, key
    for key in ("TWILIO_AUTH_TOKEN_PARAM", "API_TOKENS_PARAM", "CHAT_WEBHOOK_SECRET_PARAM"):
        assert env[key].startswith(f"/sms-bridge/{stage}/"), key
    # Secrets are named, never given: no value of a secret in the config.
    assert not {"TWILIO_AUTH_TOKEN", "API_TOKENS", "CHAT_WEBHOOK_SECRET"} & set(env)


def _subs(node):
    """(text, local variable names) of every Fn::Sub in the template."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::Sub":
                yield (value, set()) if isinstance(value, str) else (value[0], set(value[1]))
            yield from _subs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _subs(value)


def test_no_unresolved_substitution(stage):
    """Every ${Name} in an Fn::Sub names a resource, parameter, pseudo parameter or
    local variable (Chalice's own log group for the API handler did not)."""
    t = template(stage)
    known = set(t["Resources"]) | set(t.get("Parameters", {}))
    for text, local in _subs(t):
        for match in re.finditer(r"\$\{([A-Za-z0-9:.]+)\}", text):
            name = match.group(1)
            assert name.startswith("AWS::") or name in local or name.split(".")[0] in known, name


def _alarms(t: dict) -> dict:
    return {r["Properties"]["AlarmName"]: r["Properties"] for r in of_type(t, "AWS::CloudWatch::Alarm").values()}


def _alarm_metric_names(alarm: dict) -> set[str]:
    if "MetricName" in alarm:
        return {alarm["MetricName"]}
    return {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}


def test_alarms(stage):
    t = template(stage)
    alarms = _alarms(t)
    prefix = f"sms-bridge-{stage}-"
    for dlq in (n for n in _queue_by_name(t) if "-dlq" in n):
        not_empty = [a for a in alarms.values() if a.get("Dimensions") == [{"Name": "QueueName", "Value": dlq}]]
        assert [a["MetricName"] for a in not_empty] == ["ApproximateNumberOfMessagesVisible"], dlq
        assert not_empty[0]["Threshold"] == 0 and not_empty[0]["ComparisonOperator"] == "GreaterThanThreshold"
    for queue in (n for n in _queue_by_name(t) if "-dlq" not in n):
        oldest = [a for a in alarms.values() if a.get("Dimensions") == [{"Name": "QueueName", "Value": queue}]]
        assert [a["MetricName"] for a in oldest] == ["ApproximateAgeOfOldestMessage"], queue
    sender = alarms[prefix + "sender-errors"]
    assert {"Errors", f"{prefix}send_outbound"} == _alarm_metric_names(sender)
    faults = alarms[prefix + "pool-number-faults"]
    assert faults["MetricName"] == metrics.POOL_NUMBER_FAULTS and faults["Threshold"] == 0
    assert {d["Name"]: d["Value"] for d in faults["Dimensions"]} == {"service": metrics.SERVICE, "stage": stage}
    near = alarms[prefix + "tmobile-cap-near"]
    assert near["MetricName"] == metrics.TMOBILE_CAP_NEAR and near["Threshold"] == 0
    assert {d["Name"]: d["Value"] for d in near["Dimensions"]} == {"service": metrics.SERVICE, "stage": stage}
    rate = alarms[prefix + "twilio-error-rate"]
    assert _alarm_metric_names(rate) == {metrics.TWILIO_ERRORS, metrics.TWILIO_REQUESTS}
    budget = alarms[prefix + "verification-budget-near"]
    assert _alarm_metric_names(budget) == {metrics.VERIFICATION_BUDGET_NEAR}
    assert (budget["Threshold"], budget["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["AlarmName"].startswith(prefix)
    # The app metrics the alarms read carry exactly the dimensions chalicelib/adapters/metrics.py emits.
    for metric in rate["Metrics"][:2]:
        dims = {d["Name"]: d["Value"] for d in metric["MetricStat"]["Metric"]["Dimensions"]}
        assert dims == {"service": metrics.SERVICE, "stage": stage}
    # The sender's logged errors come from a metric filter on its own log group.
    filters = of_type(t, "AWS::Logs::MetricFilter").values()
    assert any(f["Properties"]["MetricTransformations"][0]["MetricName"] == f"{prefix}send_outbound" for f in filters)


def test_dashboard_shows_sends_backlog_latency_and_failures(stage):
    t = template(stage)
    (dashboard,) = of_type(t, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(
        dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
        .replace("${AWS::Region}", "us-east-1")
        .replace("${AWS::Partition}", "aws")
        .replace("${AWS::AccountId}", "123456789012")
    )
    text = json.dumps(body)
    titles = " | ".join(w["properties"]["title"] for w in body["widgets"])
    for words in ("Sends per pool number", "Backlog", "Delivery latency", "Failures by Twilio error code"):
        assert words in titles
    for name in (metrics.SMS_SENT, metrics.DELIVERY_LATENCY, metrics.MESSAGE_FAILED, metrics.TWILIO_ERRORS_BY_CODE):
        assert name in text
    assert "ApproximateNumberOfMessagesVisible" in text
    alarm_widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    assert len(alarm_widget["properties"]["alarms"]) == len(_alarms(t))


def test_the_senders_figures_come_from_its_sent_line_with_the_dashboards_dimensions(stage):
    """SmsSent and SegmentsSent per PoolNumber, SendLatency and TwilioRequests: metric filters on
    the sender's log group turn the fields of its 'sms sent' line into the metrics the alarms and
    the dashboard read, with the dimensions they search (service, stage[, PoolNumber])."""
    t = template(stage)
    filters = [
        f["Properties"]
        for f in of_type(t, "AWS::Logs::MetricFilter").values()
        if f["Properties"]["FilterPattern"] == '{ $.message = "sms sent" }'
    ]
    by_name = {p["MetricTransformations"][0]["MetricName"]: p for p in filters}
    assert set(by_name) == {metrics.SMS_SENT, metrics.SEGMENTS_SENT, metrics.SEND_LATENCY, metrics.TWILIO_REQUESTS}
    groups = {json.dumps(p["LogGroupName"]) for p in filters}
    assert len(groups) == 1, "all on the sender's log group"
    (group,) = [json.loads(g)["Ref"] for g in groups]
    assert "Outbound" in group or "send" in group.lower()
    for name, properties in by_name.items():
        (transformation,) = properties["MetricTransformations"]
        keys = [d["Key"] for d in transformation["Dimensions"]]
        per_number = name in (metrics.SMS_SENT, metrics.SEGMENTS_SENT)
        assert keys == ["service", "stage", *(["PoolNumber"] if per_number else [])]
        assert transformation["MetricNamespace"] == metrics.DEFAULT_NAMESPACE


def _route_keys(t: dict, api: str) -> set[str]:
    routes = of_type(t, "AWS::ApiGatewayV2::Route").values()
    return {r["Properties"]["RouteKey"] for r in routes if r["Properties"]["ApiId"] == {"Ref": api}}


def test_twilio_webhooks_are_served_by_an_http_api_in_front_of_the_api_handler(stage):
    """Twilio's webhooks cost an HTTP API request ($1.00/M), not a REST API one ($3.50/M):
    the two routes, payload 1.0 (the REST API's event format, which Chalice routes), the
    handler allowed to be invoked by it, and every function told the base URL Twilio signs."""
    t = template(stage)
    api = t["Resources"]["TwilioWebhookApi"]
    assert api["Type"] == "AWS::ApiGatewayV2::Api" and api["Properties"]["ProtocolType"] == "HTTP"
    # Every URL the app builds on TWILIO_WEBHOOK_BASE_URL (config.webhook_url): the webhooks,
    # and the picture links an SMS carries and Twilio fetches as an MMS's MediaUrl.
    assert _route_keys(t, "TwilioWebhookApi") == {
        "POST /twilio/sms",
        "POST /twilio/status",
        "GET /l/{token}",
        "HEAD /l/{token}",
    }
    link_permission = t["Resources"]["TwilioWebhookLinkPermission"]["Properties"]
    assert link_permission["SourceArn"]["Fn::Sub"].endswith("${TwilioWebhookApi}/*/*/l/*")
    integration = t["Resources"]["TwilioWebhookIntegration"]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY" and integration["PayloadFormatVersion"] == "1.0"
    handler = integration["IntegrationUri"]["Fn::GetAtt"][0]
    assert t["Resources"][handler]["Type"] == "AWS::Serverless::Function"
    permission = t["Resources"]["TwilioWebhookPermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": handler} and permission["Principal"] == "apigateway.amazonaws.com"
    stage_resource = t["Resources"]["TwilioWebhookStage"]["Properties"]
    assert stage_resource["StageName"] == "$default" and stage_resource["AutoDeploy"] is True
    for function in of_type(t, "AWS::Serverless::Function").values():
        url = function["Properties"]["Environment"]["Variables"]["TWILIO_WEBHOOK_BASE_URL"]
        assert url["Fn::If"][0] == "HasTwilioWebhookBaseUrl"
        assert url["Fn::If"][2] == {"Fn::GetAtt": ["TwilioWebhookApi", "ApiEndpoint"]}
    assert t["Parameters"]["TwilioWebhookBaseUrl"]["Default"] == ""


def test_the_chat_api_is_served_by_an_http_api_with_every_route_but_twilios(stage):
    """A message's submit costs an HTTP API request ($1.00/M), not a REST API one ($3.50/M):
    every path the REST API has, but Twilio's two, with the same path parameters and any
    method (the handler answers a method a path does not have: 405 in openapi.yaml's error shape),
    proxied to the same handler with payload 1.0; the URL is a stack output."""
    t = template(stage)
    paths = set(t["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"])
    assert "/sessions/{session_id}/messages" in paths
    assert _route_keys(t, "ChatApi") == {f"ANY {path}" for path in paths - {"/twilio/sms", "/twilio/status"}}
    integration = t["Resources"]["ChatApiIntegration"]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY" and integration["PayloadFormatVersion"] == "1.0"
    assert integration["IntegrationUri"] == t["Resources"]["TwilioWebhookIntegration"]["Properties"]["IntegrationUri"]
    permission = t["Resources"]["ChatApiPermission"]["Properties"]
    assert permission["SourceArn"]["Fn::Sub"].endswith("${ChatApi}/*/*/*")
    assert t["Outputs"]["ChatApiUrl"]["Value"] == {"Fn::GetAtt": ["ChatApi", "ApiEndpoint"]}
