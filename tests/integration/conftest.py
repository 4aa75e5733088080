"""The stack's AWS resources in in-process moto, and helpers to drive handlers with real queue messages.

The stack is ``template.yaml`` provisioned by the sandbox's own ``provision()`` under ``mock_aws``, and the
handlers run with the environment the template gives the functions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
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
from closeloop_cli.stack import SqsSource, provision
from tests.conftest import REPO
from tests.fakes import LambdaContext

REGION = "eu-west-1"
SENDER = "support@acme.example"
# The parameters the integration tests deploy template.yaml with: surveys go out at once, at any hour.
PARAMETERS = {
    "SenderAddress": SENDER,
    "SenderName": "Acme Support",
    "PublicBaseUrl": "https://surveys.acme.example",
    "QuietHours": "off",
    "FollowUpDelayMinutes": "0",
    "ReplyDomain": "replies.acme.example",  # so the inbound bucket, queue and function exist too
}
# The template's queues wait minutes before a message a function did not delete comes back (Lambda's
# retry pace); a test runs the next batch at once, so here such a message is visible again at once.
WORK_QUEUES = ("PlanQueue", "SendQueue", "ReopenQueue", "DeliveryEventsQueue", "InboundQueue", "ArchiveQueue")
# One session for every test's provisioning: it loads each service's model once (clients come and go
# with each test's mock_aws).
PROVISIONING_SESSION = boto3.session.Session()


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
    outputs: dict[str, str]  # the template's outputs (the inbound bucket and prefix...)
    queues: dict[str, str]  # each of the template's queues' URL, by logical id

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


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    """A queue of the tests' own (not the stack's), read back as soon as something arrives."""
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


@cache
def _test_clients() -> dict[str, Any]:
    """The tests' own clients, created once: a client made under one ``mock_aws`` reaches the next one's
    fresh state, and creating them for every test costs more than most tests."""
    return {
        name: PROVISIONING_SESSION.client(name, region_name=REGION)  # type: ignore[call-overload]
        for name in ("dynamodb", "sqs", "events", "scheduler", "secretsmanager", "sesv2", "ses")
    }


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with mock_aws():
        template = REPO / "template.yaml"
        provisioned = provision(template, PARAMETERS, region=REGION, session=PROVISIONING_SESSION)
        clients = _test_clients()
        sqs = clients["sqs"]
        for queue in WORK_QUEUES:
            sqs.set_queue_attributes(QueueUrl=provisioned.ref(queue), Attributes={"VisibilityTimeout": "0"})
        tap, tap_arn = _queue(sqs, "bus-tap")
        bus, events = provisioned.ref("EventBus"), clients["events"]
        events.put_rule(Name="tap", EventBusName=bus, EventPattern=json.dumps({"source": ["closeloop"]}))
        events.put_targets(Rule="tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": tap_arn}])
        bus_arn = provisioned.resources["EventBus"].attributes["Arn"]
        # Every function's environment, as the template gives it (one process runs every handler here).
        environment: dict[str, str] = {}
        for function in provisioned.functions.values():
            for name, value in function.environment.items():
                assert environment.setdefault(name, value) == value, f"the functions disagree on {name}"
                monkeypatch.setenv(name, value)
        wiring.reset()
        yield Stack(
            provisioned.ref("SurveysTable"),
            bus_arn,
            provisioned.ref("PlanQueue"),
            provisioned.ref("PlanDeadLetterQueue"),
            provisioned.ref("SendQueue"),
            provisioned.ref("SendDeadLetterQueue"),
            tap,
            clients,
            dict(provisioned.outputs),
            {
                logical_id: provisioned.ref(logical_id)
                for logical_id, resource in provisioned.resources.items()
                if resource.type == "AWS::SQS::Queue"
            },
        )
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
    alerts, alerts_arn = _queue(sqs, "lead-alerts")
    sns = stack.clients["sns"] = boto3.client("sns", region_name=REGION)
    sns.subscribe(TopicArn=os.environ["LEAD_ALERT_TOPIC_ARN"], Protocol="sqs", Endpoint=alerts_arn)
    # What the operator writes into the stack's helpdesk secrets after deploying.
    for variable, value in (
        (
            "ZENDESK_SECRET_ARN",
            {"webhook_secret": "w", "email": DEFAULT_ZENDESK_EMAIL, "api_token": DEFAULT_ZENDESK_TOKEN},
        ),
        ("FRESHDESK_SECRET_ARN", {"webhook_secret": "w", "api_key": DEFAULT_FRESHDESK_KEY}),
        ("GENERIC_SECRET_ARN", {"webhook_secret": GENERIC_SECRET}),
    ):
        secrets.put_secret_value(SecretId=os.environ[variable], SecretString=json.dumps(value))
    with FakeHelpdesk() as helpdesk:
        # The parameters these tests deploy with beyond the stack's (the helpdesks' URLs are known only now),
        # as the variables the template maps them to.
        environment = {
            "ZENDESK_BASE_URL": helpdesk.url,  # ZendeskBaseUrl
            "FRESHDESK_BASE_URL": helpdesk.url,  # FreshdeskBaseUrl
            "GENERIC_REOPEN_URL": f"{helpdesk.url}/hooks/reopen",  # GenericReopenUrl
            "LEAD_ALERT_ADDRESS": "leads@acme.example",  # LeadAlertAddress
            "THROTTLE_DAYS": "0",  # ThrottleDays: one customer can have several surveys (the lead sees them)
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        wiring.reset()
        # The Billing team's lead, as `closeloop leads set Billing ana@acme.example --locale es` stores it.
        wiring.team_lead_repository().put(team_lead("Billing", "ana@acme.example", "es"), datetime.now(UTC))
        yield ReopenStack(
            stack, helpdesk, os.environ["REOPEN_QUEUE_URL"], os.environ["REOPEN_DLQ_URL"], alerts
        )


@pytest.fixture
def pages(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The stack, its reopen queue, and a survey sent to Giulia (csat, Italian)."""
    stack.reopen_queue = os.environ["REOPEN_QUEUE_URL"]  # type: ignore[attr-defined]
    from tests.integration.journeys import deliver, run_send, solved_ticket

    deliver(stack, solved_ticket())
    run_send(stack)
    stack.drain(stack.bus_tap)
    return stack
