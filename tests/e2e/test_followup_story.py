"""The follow-up story on the real template, driven from outside as a user would: signed webhooks and
plain AWS clients against ``closeloop sandbox``, and the emails read back as a mail client reads them."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from closeloop.domain.webhooks import zendesk_signature
from closeloop_cli.fake_helpdesk import DEFAULT_ZENDESK_EMAIL, DEFAULT_ZENDESK_TOKEN, FakeHelpdesk
from tests.e2e.sandbox_process import (
    REPO,
    RunningSandbox,
    eventually,
    http_request,
    put_ticket_event,
    seeded_zendesk,
    start_sandbox,
    start_story_sandbox,
)
from tests.fakes import SHIPPED_LOCALES

pytestmark = pytest.mark.e2e

WEBHOOK_SECRET = "e2e-webhook-secret"
# Tags helpdesks send for a language; each must reach its language's shipped catalog, unless it ships its own.
REGIONAL_TAGS = {"it": "it-IT", "es": "es-MX", "de": "de-AT", "pt": "pt-BR"}
# A customer's locale for each shipped locale -> the Content-Language the email must carry.
LOCALES = {
    (regional if (regional := REGIONAL_TAGS.get(locale, locale)) not in SHIPPED_LOCALES else locale): locale
    for locale in SHIPPED_LOCALES
}


@pytest.fixture(scope="module")
def zendesk() -> Iterator[FakeHelpdesk]:
    with seeded_zendesk() as helpdesk:
        yield helpdesk


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, zendesk: FakeHelpdesk) -> Iterator[RunningSandbox]:
    running = start_story_sandbox(
        tmp_path_factory.mktemp("story"), zendesk.url, "SenderAddress=support@acme.example"
    )
    running.client("secretsmanager").put_secret_value(
        SecretId=running.outputs()["ZendeskSecretArn"],
        SecretString=json.dumps(
            {
                "webhook_secret": WEBHOOK_SECRET,
                "api_token": DEFAULT_ZENDESK_TOKEN,
                "email": DEFAULT_ZENDESK_EMAIL,
            }
        ),
    )
    yield running
    running.stop()


def emails_to(sandbox: RunningSandbox, address: str) -> list[EmailMessage]:
    found = []
    for path in sorted(sandbox.outbox.glob("*.eml")) if sandbox.outbox.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if message["To"].addresses[0].addr_spec == address:
            found.append(message)
    return found


def closed(ticket_id: str, address: str, **extra: Any) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id, "helpdesk": "generic", "status": "solved",
        "closed_at": datetime.now(UTC).isoformat(), "customer": {"email": address}, **extra,
    }  # fmt: skip


def signed_post(url: str, body: bytes, secret: str) -> tuple[int, Any, str]:
    timestamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return http_request(url, body, {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        "X-Zendesk-Webhook-Signature": zendesk_signature(secret, timestamp, body),
    })  # fmt: skip


def zendesk_solved_body(ticket_id: str) -> bytes:
    payload = json.loads((REPO / "events" / "zendesk" / "ticket_solved.json").read_text(encoding="utf-8"))
    payload["detail"]["id"] = ticket_id
    payload["subject"] = f"zen:ticket:{ticket_id}"
    payload["time"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(payload).encode()


def test_a_signed_zendesk_webhook_becomes_one_survey_email_however_often_it_is_sent(
    sandbox: RunningSandbox,
) -> None:
    # GIVEN a solved Zendesk ticket whose requester Zendesk knows as Giulia (Italian)
    body = zendesk_solved_body("7001")
    webhook = sandbox.outputs()["ZendeskWebhookUrl"]
    # WHEN Zendesk sends its signed webhook three times (its retries)
    statuses = [signed_post(webhook, body, WEBHOOK_SECRET)[0] for _ in range(3)]
    # THEN each is accepted, and exactly one Italian survey email arrives
    assert statuses == [202, 202, 202]
    [message] = eventually(lambda: emails_to(sandbox, "giulia.rossi@example.com"), timeout=30)
    assert message["Content-Language"] == "it"
    assert "7001" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Giulia" in text
    assert text.count(f"{sandbox.api_url}/s/") == 5
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_badly_signed_webhook_is_refused_and_reaches_nothing(
    sandbox: RunningSandbox, zendesk: FakeHelpdesk
) -> None:
    before = len(zendesk.requests)
    status, _, answer = signed_post(
        sandbox.outputs()["ZendeskWebhookUrl"], zendesk_solved_body("7002"), "wrong"
    )
    assert status == 401
    assert json.loads(answer)["status"] == "rejected"
    assert len(zendesk.requests) == before  # not even a requester lookup


def test_every_shipped_locale_gets_its_own_language(sandbox: RunningSandbox) -> None:
    for index, locale in enumerate(LOCALES):
        put_ticket_event(
            sandbox,
            closed(
                f"L{index}",
                f"locale{index}@example.org",
                customer={"email": f"locale{index}@example.org", "locale": locale},
            ),
        )
    for index, expected in enumerate(LOCALES.values()):
        [message] = eventually(lambda i=index: emails_to(sandbox, f"locale{i}@example.org"), timeout=30)
        assert message["Content-Language"] == expected


def test_excluded_tags_and_no_reply_addresses_get_no_email_and_a_recorded_reason(
    sandbox: RunningSandbox,
) -> None:
    put_ticket_event(sandbox, closed("X1", "ana@example.org", tags=["Spam"]))
    put_ticket_event(sandbox, closed("X2", "noreply@shop.example"))
    put_ticket_event(
        sandbox, closed("X3", "marker@example.org")
    )  # a normal one, to know the others were seen
    eventually(lambda: emails_to(sandbox, "marker@example.org"), timeout=30)
    assert emails_to(sandbox, "ana@example.org") == []
    assert emails_to(sandbox, "noreply@shop.example") == []
    items = sandbox.client("dynamodb").scan(TableName=sandbox.outputs()["SurveysTableName"])["Items"]
    reasons = {
        item["PK"]["S"]: item["reason"]["S"]
        for item in items
        if item.get("outcome", {}).get("S") == "skipped"
    }
    assert reasons["TICKET#generic#X1"] == "excluded_tag"
    assert reasons["TICKET#generic#X2"] == "no_reply_address"


def test_an_address_that_bounced_for_good_is_not_surveyed_again(sandbox: RunningSandbox) -> None:
    # GIVEN Bruno got a survey email
    put_ticket_event(sandbox, closed("B1", "bruno@example.org"))
    [message] = eventually(lambda: emails_to(sandbox, "bruno@example.org"), timeout=30)
    survey_id = message["X-Closeloop-Survey-Id"]
    # WHEN SES publishes, on the account's default bus, that the email bounced for good
    bounce = json.loads((REPO / "events" / "ses" / "bounce_permanent.json").read_text(encoding="utf-8"))
    bounce["detail"]["bounce"]["bouncedRecipients"][0]["emailAddress"] = "bruno@example.org"
    bounce["detail"]["mail"]["destination"] = ["bruno@example.org"]
    bounce["detail"]["mail"]["tags"] |= {"closeloop": ["survey"], "survey_id": [survey_id]}
    response = sandbox.client("events").put_events(
        Entries=[{"Source": "aws.ses", "DetailType": "Email Bounced", "Detail": json.dumps(bounce["detail"])}]
    )
    assert response["FailedEntryCount"] == 0
    dynamodb, table = sandbox.client("dynamodb"), sandbox.outputs()["SurveysTableName"]

    def marked_bounced() -> list[dict[str, Any]]:
        key = {"PK": {"S": f"SURVEY#{survey_id}"}, "SK": {"S": "SURVEY"}}
        item = dynamodb.get_item(TableName=table, Key=key).get("Item", {})
        return [item] if item.get("delivery", {}).get("S") == "bounced" else []

    eventually(marked_bounced, timeout=30)
    # AND Bruno's next ticket is solved
    put_ticket_event(sandbox, closed("B2", "bruno@example.org"))

    def skip_reason() -> list[str]:
        key = {"PK": {"S": "TICKET#generic#B2"}, "SK": {"S": "CLOSE#"}}
        items = dynamodb.query(
            TableName=table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
            ExpressionAttributeValues={":pk": key["PK"], ":sk": key["SK"]},
        )["Items"]
        return [item["reason"]["S"] for item in items if "reason" in item]

    # THEN it is skipped as suppressed, and no second email reaches him
    assert eventually(skip_reason, timeout=30) == ["suppressed"]
    assert len(emails_to(sandbox, "bruno@example.org")) == 1


def test_a_malformed_event_lands_in_the_dead_letter_queue_with_its_reason(sandbox: RunningSandbox) -> None:
    put_ticket_event(
        sandbox,
        {
            "ticket_id": "M1",
            "helpdesk": "generic",
            "status": "solved",
            "closed_at": "last tuesday",
            "customer": {"email": "not an address"},
        },
    )
    sqs = sandbox.client("sqs")
    dead_letters = sandbox.outputs()["PlanDeadLetterQueueUrl"]

    def parked() -> list[dict[str, Any]]:
        response = sqs.receive_message(
            QueueUrl=dead_letters, MessageAttributeNames=["All"], WaitTimeSeconds=1
        )
        return list(response.get("Messages", []))

    [message] = eventually(parked, timeout=30)
    reason = message["MessageAttributes"]["reason"]["StringValue"]
    assert "closed_at" in reason
    assert "customer.email" in reason
    assert "not an address" not in reason


def test_a_reopen_before_the_send_cancels_the_survey(tmp_path: Path) -> None:
    # GIVEN a sandbox with the default one-day delay
    sandbox = start_sandbox(tmp_path, REPO / "template.yaml", "QuietHours=off")
    try:
        scheduler = sandbox.client("scheduler")
        group = sandbox.outputs()["ScheduleGroupName"]
        put_ticket_event(sandbox, closed("R1", "rita@example.org"))
        eventually(lambda: scheduler.list_schedules(GroupName=group)["Schedules"], timeout=30)
        # WHEN the ticket is reopened before the send
        reopened = {"ticket_id": "R1", "helpdesk": "generic", "reopened_at": datetime.now(UTC).isoformat()}
        put_ticket_event(sandbox, reopened, "Ticket Reopened")

        def cancelled_and_unscheduled() -> list[dict[str, Any]]:
            if scheduler.list_schedules(GroupName=group)["Schedules"]:
                return []
            items = sandbox.client("dynamodb").scan(TableName=sandbox.outputs()["SurveysTableName"])["Items"]
            return [i for i in items if i["SK"]["S"] == "SURVEY" and i["status"]["S"] == "cancelled"]

        # THEN the survey is cancelled, its schedule is gone, and no email goes out
        eventually(cancelled_and_unscheduled, timeout=30)
        assert emails_to(sandbox, "rita@example.org") == []
    finally:
        sandbox.stop()
