"""POST /webhooks/{provider} end to end: the API Lambda under moto, a real bus, the fake helpdesk.

The bus has a rule delivering every ``closeloop.tickets`` event to an SQS queue, so each test reads
back exactly what was put on the bus. The Zendesk API is the local fake helpdesk, seeded with the
example Users and Groups API responses from ``events/zendesk``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from closeloop import wiring
from closeloop.domain.tickets import TicketClosed, TicketReopened, parse_ticket_event
from closeloop.handlers import api
from closeloop_cli.fake_helpdesk import DEFAULT_ZENDESK_EMAIL, DEFAULT_ZENDESK_TOKEN, FakeHelpdesk
from tests.conftest import EVENTS, PublishedMetric, load_event, published_metrics
from tests.fakes import LambdaContext

ZENDESK_SECRET = "zendesk-signing-secret-for-tests"
FRESHDESK_SECRET = "freshdesk-shared-secret-for-tests"
BUS = "closeloop-test"
REQUESTER_ID = "8447388090500"


@dataclass
class Stack:
    queue_url: str
    helpdesk: FakeHelpdesk

    def bus_events(self) -> list[dict[str, Any]]:
        """Everything the rule delivered from the bus so far."""
        sqs = boto3.client("sqs")
        messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    def user_requests(self) -> list[str]:
        return [
            request.path for request in self.helpdesk.requests if request.path.startswith("/api/v2/users/")
        ]


def zendesk_request(
    payload: dict[str, Any] | None = None,
    *,
    sent_at: datetime | None = None,
    secret: str = ZENDESK_SECRET,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """The events/apigw example, carrying ``payload`` and re-signed for ``sent_at`` (default: now).

    The shipped example's signature is only valid at its own timestamp; this signs like Zendesk does:
    base64(HMAC-SHA256(secret, timestamp + body)).
    """
    event = copy.deepcopy(load_event("apigw/webhook_zendesk.json"))
    body = raw_body if raw_body is not None else json.dumps(payload, separators=(",", ":"))
    timestamp = (sent_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(secret.encode(), timestamp.encode() + body.encode(), hashlib.sha256).digest()
    event["body"] = body
    event["headers"]["content-length"] = str(len(body.encode()))
    event["headers"]["x-zendesk-webhook-signature-timestamp"] = timestamp
    event["headers"]["x-zendesk-webhook-signature"] = base64.b64encode(digest).decode()
    return event


def freshdesk_request(
    payload: dict[str, Any] | None = None, *, secret: str = FRESHDESK_SECRET
) -> dict[str, Any]:
    event = copy.deepcopy(load_event("apigw/webhook_freshdesk.json"))
    if payload is not None:
        event["body"] = json.dumps(payload)
    event["headers"]["x-closeloop-webhook-secret"] = secret
    return event


def invoke(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = api.lambda_handler(event, LambdaContext())  # type: ignore[arg-type]
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with mock_aws(), FakeHelpdesk() as helpdesk:
        helpdesk.seed(EVENTS / "zendesk")
        events = boto3.client("events")
        sqs = boto3.client("sqs")
        secrets = boto3.client("secretsmanager")
        events.create_event_bus(Name=BUS)
        queue_url = sqs.create_queue(QueueName="bus-tap")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name="tap", EventBusName=BUS, EventPattern=json.dumps({"source": ["closeloop.tickets"]})
        )
        events.put_targets(Rule="tap", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])
        zendesk_arn = secrets.create_secret(
            Name="closeloop/zendesk",
            SecretString=json.dumps(
                {
                    "webhook_secret": ZENDESK_SECRET,
                    "api_token": DEFAULT_ZENDESK_TOKEN,
                    "email": DEFAULT_ZENDESK_EMAIL,
                }
            ),
        )["ARN"]
        freshdesk_arn = secrets.create_secret(
            Name="closeloop/freshdesk",
            SecretString=json.dumps({"webhook_secret": FRESHDESK_SECRET, "api_key": "unused"}),
        )["ARN"]
        monkeypatch.setenv("EVENT_BUS_NAME", BUS)
        monkeypatch.setenv("ZENDESK_SECRET_ARN", zendesk_arn)
        monkeypatch.setenv("ZENDESK_BASE_URL", helpdesk.url)
        monkeypatch.setenv("FRESHDESK_SECRET_ARN", freshdesk_arn)
        monkeypatch.setenv("FRESHDESK_BASE_URL", "https://example.freshdesk.com")
        # The rest of what ApiFunction checks at cold start (the pages' resources: unused by webhooks).
        monkeypatch.setenv("SURVEYS_TABLE", "surveys")
        monkeypatch.setenv("SIGNING_KEYS_SECRET_ARN", "closeloop/signing-keys")
        monkeypatch.setenv("REOPEN_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/123456789012/reopen")
        wiring.reset()
        yield Stack(queue_url, helpdesk)


def test_signed_zendesk_solve_puts_one_ticket_closed_on_the_bus(stack: Stack) -> None:
    # GIVEN a genuine, fresh Zendesk "status changed to solved" webhook
    request = zendesk_request(load_event("zendesk/ticket_solved.json"))
    # WHEN the API receives it
    status, body = invoke(request)
    # THEN it is accepted and exactly one canonical Ticket Closed event is on the bus
    assert (status, body) == (202, {"status": "accepted", "event": "Ticket Closed"})
    [event] = stack.bus_events()
    closed = parse_ticket_event(event)
    assert isinstance(closed, TicketClosed)
    assert (closed.ticket_id, closed.helpdesk, closed.status) == ("5158", "zendesk", "solved")
    assert (closed.customer.email, closed.customer.locale, closed.customer.timezone) == (
        "giulia.rossi@example.com",
        "it",
        "Europe/Rome",
    )
    assert closed.agent is not None
    assert closed.agent.model_dump() == {
        "id": "8447388090494",
        "name": "Ana Agent",
        "email": "ana.agent@example.com",
    }
    assert closed.team is not None
    assert closed.team.model_dump() == {"id": "8447346622334", "name": "Returns and damages"}
    assert closed.url == f"{stack.helpdesk.url}/agent/tickets/5158"


def test_zendesk_api_is_called_with_the_api_token(stack: Stack) -> None:
    invoke(zendesk_request(load_event("zendesk/ticket_solved.json")))
    requester_lookup = next(
        r for r in stack.helpdesk.requests if r.path == f"/api/v2/users/{REQUESTER_ID}.json"
    )
    expected = base64.b64encode(f"{DEFAULT_ZENDESK_EMAIL}/token:{DEFAULT_ZENDESK_TOKEN}".encode()).decode()
    assert requester_lookup.headers["Authorization"] == f"Basic {expected}"
    assert requester_lookup.status == 200


def test_zendesk_webhook_with_a_bad_signature_is_401_and_reaches_nothing(stack: Stack) -> None:
    request = zendesk_request(load_event("zendesk/ticket_solved.json"), secret="not-the-secret")
    status, body = invoke(request)
    assert (status, body["reason"]) == (401, "signature does not match")
    assert stack.bus_events() == []
    assert stack.helpdesk.requests == []


def test_zendesk_webhook_with_a_stale_timestamp_is_401(stack: Stack) -> None:
    request = zendesk_request(
        load_event("zendesk/ticket_solved.json"), sent_at=datetime.now(UTC) - timedelta(minutes=10)
    )
    status, _ = invoke(request)
    assert status == 401
    assert stack.bus_events() == []


def test_zendesk_webhook_without_signature_headers_is_401(stack: Stack) -> None:
    request = zendesk_request(load_event("zendesk/ticket_solved.json"))
    del request["headers"]["x-zendesk-webhook-signature"]
    status, body = invoke(request)
    assert (status, body["reason"]) == (401, "missing signature headers")
    assert stack.bus_events() == []


def test_unknown_provider_is_404(stack: Stack) -> None:
    request = zendesk_request(load_event("zendesk/ticket_solved.json"))
    request["rawPath"] = request["requestContext"]["http"]["path"] = "/webhooks/servicenow"
    request["pathParameters"] = {"provider": "servicenow"}
    status, body = invoke(request)
    assert (status, body["reason"]) == (404, "unknown helpdesk provider")
    assert stack.bus_events() == []


def test_signed_body_that_is_not_json_is_400(stack: Stack) -> None:
    status, body = invoke(zendesk_request(raw_body="status=solved&id=5158"))
    assert (status, body["reason"]) == (400, "body is not valid JSON")
    assert stack.bus_events() == []


def test_zendesk_event_that_is_not_a_status_change_is_200_ignored(stack: Stack) -> None:
    status, body = invoke(zendesk_request(load_event("zendesk/ticket_comment_added.json")))
    assert (status, body) == (
        200,
        {"status": "ignored", "reason": "event type is not a ticket status change"},
    )
    assert stack.bus_events() == []


def test_zendesk_ticket_moved_back_to_open_puts_ticket_reopened_on_the_bus(stack: Stack) -> None:
    status, body = invoke(zendesk_request(load_event("zendesk/ticket_reopened.json")))
    assert (status, body) == (202, {"status": "accepted", "event": "Ticket Reopened"})
    [event] = stack.bus_events()
    reopened = parse_ticket_event(event)
    assert isinstance(reopened, TicketReopened)
    assert (reopened.ticket_id, reopened.helpdesk) == ("5158", "zendesk")
    assert stack.helpdesk.requests == []  # a reopen needs no lookup


def test_zendesk_api_answering_503_briefly_is_retried(stack: Stack) -> None:
    stack.helpdesk.fail_next(1, status=503)
    status, _ = invoke(zendesk_request(load_event("zendesk/ticket_solved.json")))
    assert status == 202
    assert stack.user_requests()[:2] == [f"/api/v2/users/{REQUESTER_ID}.json"] * 2
    assert len(stack.bus_events()) == 1


def test_zendesk_api_down_is_503_after_bounded_retries_and_reaches_nothing(stack: Stack) -> None:
    # GIVEN the Zendesk API answers 503 to everything
    stack.helpdesk.fail_next(100, status=503)
    # WHEN a genuine solve arrives
    status, body = invoke(zendesk_request(load_event("zendesk/ticket_solved.json")))
    # THEN Zendesk is told to retry later, nothing is on the bus, and the API was tried a bounded
    # number of times
    assert status == 503
    assert body["reason"] == "zendesk api unavailable (zendesk answered 503)"
    assert stack.bus_events() == []
    assert len(stack.user_requests()) == 3


def test_zendesk_rate_limit_with_a_short_retry_after_is_honoured(stack: Stack) -> None:
    stack.helpdesk.fail_next(1, status=429, retry_after="0")
    status, _ = invoke(zendesk_request(load_event("zendesk/ticket_solved.json")))
    assert status == 202


def test_zendesk_not_configured_is_503(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the Zendesk secret as the template creates it: no value until the operator writes one
    empty = boto3.client("secretsmanager").create_secret(Name="closeloop/zendesk-unset")["ARN"]
    monkeypatch.setenv("ZENDESK_SECRET_ARN", empty)
    wiring.reset()
    status, body = invoke(zendesk_request(load_event("zendesk/ticket_solved.json")))
    assert (status, body["reason"]) == (503, "zendesk is not configured")
    assert stack.bus_events() == []


def test_zendesk_secret_without_a_webhook_secret_is_503(stack: Stack) -> None:
    secrets = boto3.client("secretsmanager")
    secrets.put_secret_value(SecretId="closeloop/zendesk", SecretString="{}")
    wiring.reset()
    status, body = invoke(zendesk_request(load_event("zendesk/ticket_solved.json")))
    assert (status, body["reason"]) == (503, "zendesk webhook secret is not configured")
    assert stack.bus_events() == []


def test_freshdesk_resolve_with_the_right_secret_puts_ticket_closed_on_the_bus(stack: Stack) -> None:
    status, body = invoke(freshdesk_request())
    assert (status, body) == (202, {"status": "accepted", "event": "Ticket Closed"})
    [event] = stack.bus_events()
    closed = parse_ticket_event(event)
    assert isinstance(closed, TicketClosed)
    assert (closed.ticket_id, closed.helpdesk, closed.customer.email) == (
        "2741",
        "freshdesk",
        "tran.minh@example.com",
    )


def test_freshdesk_with_a_wrong_secret_is_401_and_reaches_nothing(stack: Stack) -> None:
    status, body = invoke(freshdesk_request(secret="guess"))
    assert (status, body["reason"]) == (401, "webhook secret does not match")
    assert stack.bus_events() == []


def test_freshdesk_reopened_rule_puts_ticket_reopened_on_the_bus(stack: Stack) -> None:
    status, body = invoke(freshdesk_request(load_event("freshdesk/ticket_reopened.json")))
    assert (status, body["event"]) == (202, "Ticket Reopened")
    assert [event["detail-type"] for event in stack.bus_events()] == ["Ticket Reopened"]


def test_freshdesk_payload_with_a_bad_email_is_400(stack: Stack) -> None:
    payload = load_event("freshdesk/ticket_resolved.json") | {"requester_email": "not-an-email"}
    status, body = invoke(freshdesk_request(payload))
    assert status == 400
    assert body["reason"] == "invalid ticket: customer.email: Value error, not an email address"
    assert stack.bus_events() == []


# Signed but hostile bodies: a 4xx with a reason, never a 500, never "retry later" ----------------------


@pytest.mark.parametrize(
    ("raw_body", "reason"),
    [
        ("[" * 50_000 + "]" * 50_000, "body is nested too deeply"),
        ('{"type": ' + "9" * 5_000 + "}", "body is not valid JSON"),
        ('{"type": NaN}', "body holds NaN, which is not a JSON number"),
    ],
    ids=["deep-nesting", "5000-digit-integer", "nan"],
)
def test_a_signed_hostile_zendesk_body_is_400_with_a_reason(stack: Stack, raw_body: str, reason: str) -> None:
    status, body = invoke(zendesk_request(raw_body=raw_body))
    assert (status, body) == (400, {"status": "rejected", "reason": reason})
    assert stack.bus_events() == []


def test_a_signed_zendesk_event_with_an_integer_beyond_floats_is_not_a_crash(stack: Stack) -> None:
    # GIVEN an integer of 400 digits where the ticket id goes (float() of it raised OverflowError: a 500)
    payload = load_event("zendesk/ticket_solved.json")
    payload["detail"]["id"] = 10**400
    status, body = invoke(zendesk_request(raw_body=json.dumps(payload)))
    # THEN it is refused with a reason, and nothing reaches the bus
    assert status == 400
    assert body["reason"]
    assert stack.bus_events() == []


def test_a_signed_zendesk_event_with_a_non_numeric_user_id_is_400_not_503(stack: Stack) -> None:
    # GIVEN a requester id that cannot be a Zendesk user (it became an API error, reported as "retry later")
    payload = load_event("zendesk/ticket_solved.json")
    payload["detail"]["requester_id"] = "../groups/1"
    status, body = invoke(zendesk_request(payload))
    # THEN it is a permanent refusal, and the Zendesk API is never asked
    assert (status, body["reason"]) == (400, "requester_id is not a zendesk id")
    assert stack.helpdesk.requests == []
    assert stack.bus_events() == []


@pytest.mark.parametrize("status_value", ["²", "4" * 5_000])
def test_a_freshdesk_status_that_only_looks_numeric_is_ignored(stack: Stack, status_value: str) -> None:
    payload = load_event("freshdesk/ticket_resolved.json") | {"status": status_value}
    status, body = invoke(freshdesk_request(payload))
    assert status == 200
    assert body["status"] == "ignored"
    assert len(body["reason"]) < 100
    assert stack.bus_events() == []


def test_a_signed_freshdesk_event_too_large_for_the_bus_is_413_not_503(stack: Stack) -> None:
    # GIVEN a genuine Freshdesk rule whose ticket carries 2 MB of tags (it got 503 + Retry-After:
    # Freshdesk would retry forever)
    tags = ",".join(f"tag{index:07d}" for index in range(200_000))
    payload = load_event("freshdesk/ticket_resolved.json") | {"tags": tags}
    # WHEN it arrives
    response = api.lambda_handler(freshdesk_request(payload), LambdaContext())  # type: ignore[arg-type]
    # THEN it is refused for good: 413 with a reason and no Retry-After, and nothing is on the bus
    assert response["statusCode"] == 413
    assert json.loads(response["body"])["reason"] == "body is over 262144 bytes"
    assert "Retry-After" not in (response.get("headers") or {})
    assert stack.bus_events() == []


def test_a_freshdesk_event_under_the_body_limit_but_too_large_for_the_bus_is_413(stack: Stack) -> None:
    # GIVEN tags under the body limit that grow past EventBridge's limit once JSON-escaped (each emoji
    # is 4 bytes in the body, 12 in the event)
    tags = ",".join("\U0001f600" * 50 for _ in range(1_200))
    payload = load_event("freshdesk/ticket_resolved.json") | {"tags": tags}
    request = freshdesk_request(payload)
    request["body"] = json.dumps(payload, ensure_ascii=False)
    status, body = invoke(request)
    assert status == 413
    assert body["reason"].startswith("the ticket event is over")
    assert stack.bus_events() == []


# Metrics: what CloudWatch reads from the EMF record the invocation prints when it ends -------------------


def test_an_accepted_webhook_is_counted_with_its_provider(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a genuine Zendesk solve WHEN the API accepts it
    capsys.readouterr()
    status, _ = invoke(zendesk_request(load_event("zendesk/ticket_solved.json")))
    # THEN the invocation publishes one WebhooksAccepted, for Zendesk, and nothing else
    assert status == 202
    assert published_metrics(capsys.readouterr().out) == {
        "WebhooksAccepted": PublishedMetric([1.0], {"service": "closeloop", "provider": "zendesk"})
    }


def test_an_ignored_webhook_is_counted_with_its_provider(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    status, _ = invoke(zendesk_request(load_event("zendesk/ticket_comment_added.json")))
    assert status == 200
    assert published_metrics(capsys.readouterr().out) == {
        "WebhooksIgnored": PublishedMetric([1.0], {"service": "closeloop", "provider": "zendesk"})
    }


def test_a_rejected_webhook_is_counted_by_status_never_by_the_path_it_named(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a forged signature, and a provider nobody configured
    capsys.readouterr()
    forged = zendesk_request(load_event("zendesk/ticket_solved.json"), secret="not-the-secret")
    unknown = zendesk_request(load_event("zendesk/ticket_solved.json"))
    unknown["rawPath"] = unknown["requestContext"]["http"]["path"] = "/webhooks/attacker-chosen-name"
    unknown["pathParameters"] = {"provider": "attacker-chosen-name"}
    # WHEN each is refused THEN each invocation counts one WebhooksRejected by status, with no provider
    assert invoke(forged)[0] == 401
    assert published_metrics(capsys.readouterr().out) == {
        "WebhooksRejected": PublishedMetric([1.0], {"service": "closeloop", "status": "401"})
    }
    assert invoke(unknown)[0] == 404
    assert published_metrics(capsys.readouterr().out) == {
        "WebhooksRejected": PublishedMetric([1.0], {"service": "closeloop", "status": "404"})
    }
