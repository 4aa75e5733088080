"""Policies a business sets, tried as a new user would on ``closeloop sandbox``: the rules document put with
``closeloop rules put``, tickets through the public contract (signed webhooks, events on the bus), and
what comes out read back as a mail client and an AWS client read it."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
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
    start_story_sandbox,
)

pytestmark = pytest.mark.e2e

WEBHOOK_SECRET = "e2e-policies-secret"
LEAD = "lead@acme.example"
AGENT_ID = "8447388090494"  # events/zendesk/user_agent.json: Ana, role agent
RULES = {
    "version": 1,
    "rules": [
        {"name": "pilot-alert", "match": {"team": "Pilot"}, "negative_answer": "alert"},
        {"name": "sampled", "match": {"team": "Sampled"}, "sample": 0.3, "delay_minutes": 1440},
        {
            "name": "acme-pro",
            "match": {"brand": "Acme Pro"},
            "survey_type": "nps",
            "sender_name": "Acme Pro Care",
        },
        {"name": "acme", "match": {"brand": "Acme"}, "survey_type": "ces"},
    ],
}
# Enough tickets to see both outcomes and a redelivery agree; the share's precision over 1,000 tickets is
# tests/unit/test_policies.py's (these 100 hash to 24 % planned).
SAMPLED_TICKETS = 100


@pytest.fixture(scope="module")
def zendesk() -> Iterator[FakeHelpdesk]:
    with seeded_zendesk() as helpdesk:
        yield helpdesk


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, zendesk: FakeHelpdesk) -> Iterator[RunningSandbox]:
    folder = tmp_path_factory.mktemp("policies")
    running = start_story_sandbox(
        folder,
        zendesk.url,
        "SenderAddress=support@acme.example",
        "InternalDomains=acme.example",
        "GraceMinutes=0",
        f"LeadAlertAddress={LEAD}",
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
    rules = folder / "rules.json"
    rules.write_text(json.dumps(RULES), encoding="utf-8")
    put = closeloop(running, "rules", "put", str(rules), "--outputs", str(folder / "outputs.json"))
    assert put.returncode == 0, put.stderr
    yield running
    running.stop()


def closeloop(sandbox: RunningSandbox, *arguments: str) -> subprocess.CompletedProcess[str]:
    """The ``closeloop`` command, as an operator runs it against the sandbox."""
    environment = os.environ | {
        "AWS_ENDPOINT_URL": sandbox.aws_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    return subprocess.run(
        [sys.executable, "-m", "closeloop_cli.main", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def closed(ticket_id: str, address: str, **extra: Any) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id, "helpdesk": "generic", "status": "solved",
        "closed_at": datetime.now(UTC).isoformat(), "customer": {"email": address}, **extra,
    }  # fmt: skip


def emails_to(sandbox: RunningSandbox, address: str) -> list[EmailMessage]:
    found = []
    for path in sorted(sandbox.outbox.glob("*.eml")) if sandbox.outbox.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if message["To"].addresses[0].addr_spec == address:
            found.append(message)
    return found


def close_outcomes(sandbox: RunningSandbox) -> dict[str, dict[str, Any]]:
    """Each solve's marker (planned, or skipped with its reason), by ticket key."""
    dynamodb, table = sandbox.client("dynamodb"), sandbox.outputs()["SurveysTableName"]
    items: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {"TableName": table}
    while True:
        page = dynamodb.scan(**arguments)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {
        item["PK"]["S"].removeprefix("TICKET#"): item
        for item in items
        if item["SK"]["S"].startswith("CLOSE#")
    }


def plan_queue_idle(sandbox: RunningSandbox) -> bool | None:
    """Whether every ticket event put on the bus so far was planned (none waiting, none in flight)."""
    attributes = sandbox.client("sqs").get_queue_attributes(
        QueueUrl=sandbox.outputs()["PlanQueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(value == "0" for value in attributes.values()) or None


def surveys_of(sandbox: RunningSandbox, prefix: str) -> set[str]:
    """The ids of the surveys stored for tickets whose key starts with ``prefix``."""
    return {
        item["survey_id"]["S"]
        for key, item in close_outcomes(sandbox).items()
        if key.startswith(prefix) and "survey_id" in item
    }


def skip_reason(sandbox: RunningSandbox, ticket_key: str) -> str | None:
    item = close_outcomes(sandbox).get(ticket_key)
    return item["reason"]["S"] if item and "reason" in item else None


def test_a_ticket_solved_by_its_own_requester_agent_gets_no_survey(sandbox: RunningSandbox) -> None:
    # GIVEN a Zendesk ticket whose requester is Ana, one of the helpdesk's agents (role agent)
    payload = json.loads((REPO / "events" / "zendesk" / "ticket_solved.json").read_text(encoding="utf-8"))
    payload["detail"] |= {"id": "9101", "requester_id": AGENT_ID}
    payload["subject"] = "zen:ticket:9101"
    payload["time"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    body = json.dumps(payload).encode()
    timestamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    headers = {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        "X-Zendesk-Webhook-Signature": zendesk_signature(WEBHOOK_SECRET, timestamp, body),
    }
    # WHEN Zendesk's signed webhook says it was solved
    status, _, _ = http_request(sandbox.outputs()["ZendeskWebhookUrl"], body, headers)
    # THEN it is accepted, skipped as an internal requester, and Ana gets no email
    assert status == 202
    assert eventually(lambda: skip_reason(sandbox, "zendesk#9101"), timeout=30) == "internal_requester"
    assert emails_to(sandbox, "ana.agent@example.com") == []


def test_a_requester_at_an_internal_domain_gets_no_survey(sandbox: RunningSandbox) -> None:
    put_ticket_event(sandbox, closed("D1", "luca@eu.acme.example"))
    assert eventually(lambda: skip_reason(sandbox, "generic#D1"), timeout=30) == "internal_domain"
    assert emails_to(sandbox, "luca@eu.acme.example") == []


def test_two_brands_get_different_survey_types_and_sender_names(sandbox: RunningSandbox) -> None:
    put_ticket_event(sandbox, closed("P1", "pro@example.org", brand="Acme Pro"))
    put_ticket_event(sandbox, closed("A1", "plain@example.org", brand="Acme"))
    [pro] = eventually(lambda: emails_to(sandbox, "pro@example.org"), timeout=30)
    [plain] = eventually(lambda: emails_to(sandbox, "plain@example.org"), timeout=30)
    # NPS offers 0-10 (eleven links), CES 1-7 (seven); the Pro brand's email comes from its own name
    assert pro.get_body(("plain",)).get_content().count(f"{sandbox.api_url}/s/") == 11
    assert plain.get_body(("plain",)).get_content().count(f"{sandbox.api_url}/s/") == 7
    assert pro["From"].addresses[0].display_name == "Acme Pro Care"
    assert plain["From"].addresses[0].display_name != "Acme Pro Care"


def test_a_team_set_to_alert_alerts_the_lead_and_reopens_nothing(
    sandbox: RunningSandbox, zendesk: FakeHelpdesk
) -> None:
    # GIVEN a survey email for a ticket of the Pilot team (policy "alert")
    put_ticket_event(sandbox, closed("T1", "pilot@example.org", team={"id": "77", "name": "Pilot"}))
    [message] = eventually(lambda: emails_to(sandbox, "pilot@example.org"), timeout=30)
    text = message.get_body(("plain",)).get_content()
    [link] = [url for url in re.findall(r"https?://\S+/s/\S+", text) if url.endswith("score=1")]
    # WHEN the customer answers 1 of 5 on the survey page
    _, _, page = http_request(link)
    form_token = re.search(r'name="form_token" value="([^"]+)"', page)
    assert form_token is not None
    form = urllib.parse.urlencode({"form_token": form_token[1], "lang": "en", "score": "1", "resolved": "no"})
    status, _, _ = http_request(
        link.split("?")[0],
        form.encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Origin": sandbox.api_url},
    )
    assert status == 200
    # THEN the lead gets an alert that names the policy, and the helpdesk is never asked to reopen
    [alert] = eventually(lambda: emails_to(sandbox, LEAD), timeout=30)
    assert "policy “alert”" in alert["Subject"]
    assert "T1" in alert["Subject"]
    assert not [r for r in zendesk.requests if r.method == "PUT"]


def test_a_thirty_percent_sample_surveys_its_share_and_redeliveries_agree(sandbox: RunningSandbox) -> None:
    # GIVEN the Sampled team surveyed at 30 % (a day's delay, so nothing is sent during the test)
    entries = [
        {
            "EventBusName": sandbox.outputs()["EventBusName"],
            "Source": "closeloop.tickets",
            "DetailType": "Ticket Closed",
            "Detail": json.dumps(
                closed(f"S{n}", f"sampled{n}@example.org", team={"id": "88", "name": "Sampled"})
            ),
        }
        for n in range(SAMPLED_TICKETS)
    ]

    def put_all() -> None:
        # The same events each time: a redelivery, as EventBridge or a helpdesk's retry makes one.
        for start in range(0, SAMPLED_TICKETS, 10):
            response = sandbox.client("events").put_events(Entries=entries[start : start + 10])
            assert response["FailedEntryCount"] == 0

    def sampled() -> dict[str, dict[str, Any]] | None:
        found = {key: item for key, item in close_outcomes(sandbox).items() if key.startswith("generic#S")}
        return found if len(found) == SAMPLED_TICKETS else None

    # WHEN 100 of its tickets are solved
    put_all()
    first = eventually(sampled, timeout=240)
    # THEN about 30 % are planned and the others skipped as sampled out
    outcomes = {key: item.get("reason", {}).get("S", "planned") for key, item in first.items()}
    planned = sum(1 for outcome in outcomes.values() if outcome == "planned")
    assert set(outcomes.values()) == {"planned", "sampled_out"}
    assert 0.22 <= planned / SAMPLED_TICKETS <= 0.38
    # AND every event delivered again changes nothing: the same tickets, the same decisions
    emails_before = len(list(sandbox.outbox.glob("*.eml")))
    surveys_before = surveys_of(sandbox, "generic#S")
    put_all()
    eventually(lambda: plan_queue_idle(sandbox), timeout=240)
    again = close_outcomes(sandbox)
    assert {
        key: item.get("reason", {}).get("S", "planned") for key, item in again.items() if key in first
    } == outcomes
    assert surveys_of(sandbox, "generic#S") == surveys_before
    assert len(surveys_before) == planned
    assert len(list(sandbox.outbox.glob("*.eml"))) == emails_before
