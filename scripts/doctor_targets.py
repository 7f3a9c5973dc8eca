"""Where `make doctor` looks (scripts/doctor.py examines a Target): the local stack of `make run`, or a
deployed stage (its CloudFormation stack, its API function's environment, its SSM
parameters). Both set the process's environment the way the app reads it
(chalicelib/config.py), so the doctor's Twilio gateway talks to the same account."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from chalicelib.adapters.twilio import TwilioGateway

HTTP_TIMEOUT = 15
SSM_ROOT = "/sms-bridge"


@dataclass
class Target:
    """What the doctor examines: where Twilio, the API and AWS are, and the settings."""

    name: str
    twilio: TwilioGateway
    service_sid: str | None
    public_base_url: str
    list_numbers: Callable[[], list[dict]]  # GET /numbers through PUBLIC_BASE_URL (raises when unreachable)
    missing_aws_resources: Callable[[], list[str]]
    api_url: str | None = None  # the stage's own API URL, when known (CloudFormation EndpointURL)
    # Where the numbers' webhooks point: TWILIO_WEBHOOK_BASE_URL (the cheaper HTTP API), else PUBLIC_BASE_URL.
    webhook_base_url: str | None = None
    notes: list[str] = field(default_factory=list)
    # The day's count against T-Mobile's daily cap (Pacific date -> SMS segments and MMS), and the
    # stage's settings (TMOBILE_DAILY_SEGMENTS, CAMPAIGN_MAX_NUMBERS) as the app reads them.
    tmobile_count: Callable[[str], int] = lambda day: 0
    environment: dict = field(default_factory=dict)
    now: Callable[[], float] = time.time


def api_numbers(base_url: str, token: str):
    def list_numbers() -> list[dict]:
        answer = requests.get(
            f"{base_url.rstrip('/')}/numbers", timeout=HTTP_TIMEOUT, headers={"Authorization": f"Bearer {token}"}
        )
        if answer.status_code != 200:
            raise RuntimeError(f"GET /numbers answered {answer.status_code}, not the bridge's 200")
        body = answer.json()
        if not isinstance(body, dict) or "numbers" not in body:
            raise RuntimeError("GET /numbers did not answer with the bridge's pool")
        return body["numbers"]

    return list_numbers


def tmobile_count(prefix: str):
    """The day's T-Mobile count as the sender keeps it (store/dynamodb/tmobile_counts.py), read with boto3."""

    def count(day: str) -> int:
        import boto3

        item = boto3.client("dynamodb").get_item(
            TableName=f"{prefix}counters", Key={"key": {"S": f"tmobile#{day}"}}, ConsistentRead=True
        )
        return int(item.get("Item", {}).get("count", {}).get("N", "0"))

    return count


def missing_resources(prefix: str):
    """Names of the stage's tables and queues that do not exist (boto3 from the environment)."""

    def missing() -> list[str]:
        import boto3

        from infra.resources import queue_resources, table_resources

        dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
        absent = []
        for resource in table_resources(prefix).values():
            name = resource["Properties"]["TableName"]
            try:
                dynamodb.describe_table(TableName=name)
            except dynamodb.exceptions.ResourceNotFoundException:
                absent.append(f"table {name}")
        for resource in queue_resources(prefix).values():
            name = resource["Properties"]["QueueName"]
            try:
                sqs.get_queue_url(QueueName=name)
            except sqs.exceptions.QueueDoesNotExist:
                absent.append(f"queue {name}")
        return absent

    return missing


def local() -> Target:
    from devstack.offline import fake_aws_environment
    from devstack.stack import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

    env = os.environ
    port = lambda name, default: env.get(name) or default  # noqa: E731
    public = env.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port('API_PORT', '8000')}"
    token = (env.get("API_TOKENS") or "local-dev-token").split(",")[0].strip()
    twilio_url = env.get("TWILIO_API_BASE_URL") or f"http://127.0.0.1:{port('STANDIN_PORT', '8010')}"
    aws_url = env.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{port('MOTO_PORT', '8030')}"
    for name, value in fake_aws_environment(env.get("AWS_REGION") or "us-east-1", secret="local").items():
        env.setdefault(name, value)
    env.update(
        {
            "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID") or DEFAULT_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": env.get("TWILIO_AUTH_TOKEN") or DEFAULT_AUTH_TOKEN,
            "TWILIO_API_BASE_URL": twilio_url,
            "AWS_ENDPOINT_URL": aws_url,
        }
    )
    return Target(
        name=f"local stack (make run): API {public}, Twilio {twilio_url}",
        twilio=TwilioGateway(),
        service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
        public_base_url=public,
        webhook_base_url=env.get("TWILIO_WEBHOOK_BASE_URL") or None,
        list_numbers=api_numbers(public, token),
        missing_aws_resources=missing_resources(env.get("RESOURCE_PREFIX") or "sms-bridge-local-"),
        tmobile_count=tmobile_count(env.get("RESOURCE_PREFIX") or "sms-bridge-local-"),
        environment=dict(env),
    )


def stage(name: str) -> Target:
    import boto3

    stack = f"sms-bridge-{name}"
    outputs = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    api_url = next((o["OutputValue"] for o in outputs if o["OutputKey"] == "EndpointURL"), None)
    function = boto3.client("lambda").get_function_configuration(FunctionName=f"{stack}-api_handler")
    lambda_env = function.get("Environment", {}).get("Variables", {})
    ssm = boto3.client("ssm")

    def parameter(key: str) -> str:
        return ssm.get_parameter(Name=f"{SSM_ROOT}/{name}/{key}", WithDecryption=True)["Parameter"]["Value"]

    public = lambda_env.get("PUBLIC_BASE_URL") or (api_url or "").rstrip("/")
    os.environ.update(
        {
            "TWILIO_ACCOUNT_SID": lambda_env.get("TWILIO_ACCOUNT_SID") or parameter("twilio-account-sid"),
            "TWILIO_AUTH_TOKEN": parameter("twilio-auth-token"),
        }
    )
    os.environ.pop("TWILIO_API_BASE_URL", None)
    notes = []
    if api_url and public.rstrip("/") != api_url.rstrip("/"):
        notes.append(f"PUBLIC_BASE_URL {public} is not the API's own URL {api_url} (a custom domain?)")
    return Target(
        name=f"stage {name} (stack {stack}): API {api_url}",
        twilio=TwilioGateway(),
        service_sid=lambda_env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
        public_base_url=public,
        webhook_base_url=lambda_env.get("TWILIO_WEBHOOK_BASE_URL") or None,
        list_numbers=api_numbers(public, parameter("api-tokens").split(",")[0].strip()),
        missing_aws_resources=missing_resources(lambda_env.get("RESOURCE_PREFIX") or f"{stack}-"),
        tmobile_count=tmobile_count(lambda_env.get("RESOURCE_PREFIX") or f"{stack}-"),
        environment=lambda_env,
        api_url=api_url,
        notes=notes,
    )
