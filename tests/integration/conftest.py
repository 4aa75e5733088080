"""The stack's AWS resources in in-process moto, and helpers to drive handlers with real queue messages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from closeloop import wiring
from closeloop.domain.leads import team_lead
from closeloop.domain.surveys import Survey, SurveyResponse
from closeloop.handlers import reopen
from closeloop_cli.fake_helpdesk import (
    DEFAULT_FRESHDESK_KEY,
    DEFAULT_ZENDESK_EMAIL,
    DEFAULT_ZENDESK_TOKEN,
    FakeHelpdesk,
)
from closeloop_cli.relay import sqs_event
from closeloop_cli.stack import SqsSource
from tests.fakes import LambdaContext

REGION = "eu-west-1"
SENDER = "support@acme.example"
CONFIGURATION_SET = "closeloop"


@dataclass
class Stack:
    table: str
    bus: str
    plan_queue: str
    plan_dlq: str
    send_queue: str
    send_dlq: str
    bus_tap: str  # receives every closeloop event put on the bus, so tests can read them back
    clients: dict[str, Any]

    def sqs_event(self, queue_url: str, max_messages: int = 10) -> dict[str, Any]:
        """Receive real messages from a queue and wrap them as Lambda's SQS event (as the sandbox does)."""
        sqs = self.clients["sqs"]
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=max_messages,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return sqs_event(messages, SqsSource(queue_url, arn), REGION)

    def drain(self, queue_url: str) -> list[dict[str, Any]]:
        """Every message currently visible on a queue (bodies parsed as JSON), removing them."""
        sqs = self.clients["sqs"]
        found = []
        while batch := sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            for message in batch:
                try:
                    body = json.loads(message["Body"])
                except json.JSONDecodeError:
                    body = message["Body"]
                found.append({"body": body, "attributes": message.get("MessageAttributes", {})})
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return found

    def published(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        events = [m["body"] for m in self.drain(self.bus_tap)]
        return [e for e in events if detail_type is None or e["detail-type"] == detail_type]


def _queue(sqs: Any, name: str, dlq_arn: str | None = None) -> tuple[str, str]:
    attributes = {"VisibilityTimeout": "0"}
    if dlq_arn:
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with mock_aws():
        clients = {
            name: boto3.client(name, region_name=REGION)
            for name in ("dynamodb", "sqs", "events", "scheduler", "secretsmanager", "sesv2", "ses")
        }
        clients["dynamodb"].create_table(
            TableName="surveys",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "GSI1PK", "GSI1SK")
            ],
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "GSI1",
                    "Projection": {"ProjectionType": "ALL"},
                    "KeySchema": [
                        {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                        {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                    ],
                }
            ],
        )
        sqs = clients["sqs"]
        plan_dlq, plan_dlq_arn = _queue(sqs, "plan-dlq")
        plan_queue, _ = _queue(sqs, "plan", plan_dlq_arn)
        send_dlq, send_dlq_arn = _queue(sqs, "send-dlq")
        send_queue, send_arn = _queue(sqs, "send", send_dlq_arn)
        tap, tap_arn = _queue(sqs, "bus-tap")
        bus = clients["events"].create_event_bus(Name="closeloop")["EventBusArn"]
        clients["events"].put_rule(
            Name="tap", EventBusName="closeloop", EventPattern=json.dumps({"source": ["closeloop"]})
        )
        clients["events"].put_targets(
            Rule="tap", EventBusName="closeloop", Targets=[{"Id": "tap", "Arn": tap_arn}]
        )
        clients["scheduler"].create_schedule_group(Name="closeloop")
        secret = clients["secretsmanager"].create_secret(
            Name="signing", SecretString=json.dumps({"active": "k1", "k1": "s" * 64})
        )["ARN"]
        clients["ses"].verify_email_identity(EmailAddress=SENDER)
        clients["sesv2"].create_configuration_set(ConfigurationSetName=CONFIGURATION_SET)
        # Created without a value, as the template creates them: the operator writes them later.
        helpdesk_secrets = {
            name: clients["secretsmanager"].create_secret(Name=f"closeloop/{name}")["ARN"]
            for name in ("zendesk", "freshdesk")
        }
        # What the template gives the functions (each function checks its own at cold start); the
        # reopen and delivery queues are added by the fixtures of the tests that use them.
        environment = {
            "EVENT_BUS_NAME": "closeloop",
            "SURVEYS_TABLE": "surveys",
            "PLAN_QUEUE_URL": plan_queue,
            "PLAN_DLQ_URL": plan_dlq,
            "SEND_QUEUE_URL": send_queue,
            "SEND_QUEUE_ARN": send_arn,
            "SEND_DLQ_URL": send_dlq,
            "SEND_DLQ_ARN": send_dlq_arn,
            "SCHEDULE_GROUP": "closeloop",
            "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler",
            "SIGNING_KEYS_SECRET_ARN": secret,
            "ZENDESK_SECRET_ARN": helpdesk_secrets["zendesk"],
            "FRESHDESK_SECRET_ARN": helpdesk_secrets["freshdesk"],
            "SES_CONFIGURATION_SET": CONFIGURATION_SET,
            "SENDER_ADDRESS": SENDER,
            "SENDER_NAME": "Acme Support",
            "PUBLIC_BASE_URL": "https://surveys.acme.example",
            "QUIET_HOURS": "off",
            "FOLLOW_UP_DELAY_MINUTES": "0",
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        wiring.reset()
        yield Stack("surveys", bus, plan_queue, plan_dlq, send_queue, send_dlq, tap, clients)
        wiring.reset()


def record_ses_sends(client: Any) -> list[dict[str, Any]]:
    """Every SendEmail request ``client`` makes from now on, as SES receives it (moto keeps no tags)."""
    requests: list[dict[str, Any]] = []

    def keep(params: dict[str, Any], **_: Any) -> None:
        requests.append(params)

    client.meta.events.register("provide-client-params.sesv2.SendEmail", keep)
    return requests


def ses_event_for(example: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """An SES event (from ``events/ses/``) about the email ``request`` sent: its recipient, message and tags
    as SES reports them (``mail.tags`` maps each tag name to a list of values)."""
    event = json.loads(json.dumps(example))
    [recipient] = request["Destination"]["ToAddresses"]
    mail = event["detail"]["mail"]
    mail["destination"] = [recipient]
    auto_tags = {name: values for name, values in mail["tags"].items() if name.startswith("ses:")}
    mail["tags"] = auto_tags | {tag["Name"]: [tag["Value"]] for tag in request.get("EmailTags", [])}
    for kind, recipients in (("bounce", "bouncedRecipients"), ("complaint", "complainedRecipients")):
        if kind in event["detail"]:
            event["detail"][kind][recipients] = [
                {**entry, "emailAddress": recipient} for entry in event["detail"][kind][recipients]
            ]
    return event


# --- reopening: the reopen queue, a lead-alert topic read through SQS, helpdesk secrets, a fake helpdesk

GENERIC_SECRET = "generic-webhook-secret"


@dataclass
class ReopenStack:
    stack: Stack
    helpdesk: FakeHelpdesk
    queue: str
    dlq: str
    alerts: str  # an SQS queue subscribed to the lead alert topic

    def request(self, survey: Survey, response: SurveyResponse) -> None:
        """What the survey page sends after a negative answer (here without the grace-period delay)."""
        self.stack.clients["sqs"].send_message(
            QueueUrl=self.queue,
            MessageBody=json.dumps({"survey_id": survey.survey_id, "response_id": response.response_id}),
        )

    def run(self) -> dict[str, Any]:
        result: dict[str, Any] = reopen.lambda_handler(self.stack.sqs_event(self.queue), LambdaContext())
        return result

    def sns_messages(self) -> list[dict[str, Any]]:
        return [message["body"] for message in self.stack.drain(self.alerts)]


@pytest.fixture
def reopen_stack(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReopenStack]:
    sqs, secrets = stack.clients["sqs"], stack.clients["secretsmanager"]
    dlq, dlq_arn = _queue(sqs, "reopen-dlq")
    queue, _ = _queue(sqs, "reopen", dlq_arn)
    alerts, alerts_arn = _queue(sqs, "lead-alerts")
    sns = stack.clients["sns"] = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="lead-alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=alerts_arn)
    zendesk_secret = secrets.create_secret(
        Name="zendesk",
        SecretString=json.dumps(
            {"webhook_secret": "w", "email": DEFAULT_ZENDESK_EMAIL, "api_token": DEFAULT_ZENDESK_TOKEN}
        ),
    )["ARN"]
    freshdesk_secret = secrets.create_secret(
        Name="freshdesk", SecretString=json.dumps({"webhook_secret": "w", "api_key": DEFAULT_FRESHDESK_KEY})
    )["ARN"]
    generic_secret = secrets.create_secret(
        Name="generic", SecretString=json.dumps({"webhook_secret": GENERIC_SECRET})
    )["ARN"]
    with FakeHelpdesk() as helpdesk:
        environment = {
            "REOPEN_QUEUE_URL": queue,
            "REOPEN_DLQ_URL": dlq,
            "LEAD_ALERT_TOPIC_ARN": topic,
            "ZENDESK_BASE_URL": helpdesk.url,
            "ZENDESK_SECRET_ARN": zendesk_secret,
            "FRESHDESK_BASE_URL": helpdesk.url,
            "FRESHDESK_SECRET_ARN": freshdesk_secret,
            "GENERIC_SECRET_ARN": generic_secret,
            "GENERIC_REOPEN_URL": f"{helpdesk.url}/hooks/reopen",
            "LEAD_ALERT_ADDRESS": "leads@acme.example",
            "REOPEN_CAP": "2",
            "THROTTLE_DAYS": "0",  # so one customer can have several surveys (the lead sees the history)
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        wiring.reset()
        # The Billing team's lead, as `closeloop leads set Billing ana@acme.example --locale es` stores it.
        wiring.team_lead_repository().put(team_lead("Billing", "ana@acme.example", "es"), datetime.now(UTC))
        yield ReopenStack(stack, helpdesk, queue, dlq, alerts)


@pytest.fixture
def pages(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The stack plus the reopen queue, and a survey sent to Giulia (csat, Italian)."""
    reopen = stack.clients["sqs"].create_queue(QueueName="reopen")["QueueUrl"]
    monkeypatch.setenv("REOPEN_QUEUE_URL", reopen)
    monkeypatch.setenv("GRACE_MINUTES", "10")
    wiring.reset()
    stack.reopen_queue = reopen  # type: ignore[attr-defined]
    from tests.integration.journeys import deliver, run_send, solved_ticket

    deliver(stack, solved_ticket())
    run_send(stack)
    stack.drain(stack.bus_tap)
    return stack
