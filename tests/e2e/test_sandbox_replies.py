"""Replies by email on ``closeloop sandbox``: mail put where SES puts it, or sent to the sandbox's SMTP
listener, takes the deployed path (the bucket's notification, InboundQueue, the relay, InboundFunction,
ReopenFunction) to the helpdesk."""

from __future__ import annotations

import email
import email.policy
import json
import smtplib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from closeloop_cli.demo import customer_reply
from closeloop_cli.fake_helpdesk import DEFAULT_ZENDESK_EMAIL, DEFAULT_ZENDESK_TOKEN, FakeHelpdesk
from tests.e2e.sandbox_process import (
    RunningSandbox,
    eventually,
    fixture_template,
    put_ticket_event,
    seeded_zendesk,
    start_sandbox,
    start_story_sandbox,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sandbox_replies")]

REPLY_DOMAIN = "replies.closeloop.test"  # the sandbox's default ReplyDomain
STILL_BROKEN = "No, it still doesn't work. The app keeps crashing when I log in."


@pytest.fixture(scope="module")
def zendesk() -> Iterator[FakeHelpdesk]:
    with seeded_zendesk() as helpdesk:
        yield helpdesk


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, zendesk: FakeHelpdesk) -> Iterator[RunningSandbox]:
    folder = tmp_path_factory.mktemp("replies")
    running = start_story_sandbox(folder, zendesk.url, "SenderAddress=support@acme.example", "GraceMinutes=0")
    running.client("secretsmanager").put_secret_value(
        SecretId=running.outputs()["ZendeskSecretArn"],
        SecretString=json.dumps(
            {"webhook_secret": "unused", "api_token": DEFAULT_ZENDESK_TOKEN, "email": DEFAULT_ZENDESK_EMAIL}
        ),
    )
    yield running
    running.stop()


def survey_email(sandbox: RunningSandbox, ticket_id: int, address: str) -> EmailMessage:
    """The survey email of a solved Zendesk ticket, as the customer received it."""
    put_ticket_event(
        sandbox,
        {
            "ticket_id": str(ticket_id), "helpdesk": "zendesk", "status": "solved",
            "closed_at": datetime.now(UTC).isoformat(), "subject": "The app crashes at login",
            "customer": {"email": address, "name": "Sam Taylor", "locale": "en"},
        },
    )  # fmt: skip

    def received() -> EmailMessage | None:
        for path in sorted(sandbox.outbox.glob("*.eml")) if sandbox.outbox.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            if message["To"].addresses[0].addr_spec == address:
                return message
        return None

    return eventually(received, timeout=30)


def reopen_of(zendesk: FakeHelpdesk, ticket_id: int) -> dict[str, Any] | None:
    for request in zendesk.requests:
        if request.method == "PUT" and request.path == f"/api/v2/tickets/{ticket_id}.json":
            return dict(request.json["ticket"])
    return None


def stored_keys(sandbox: RunningSandbox) -> list[str]:
    outputs = sandbox.outputs()
    listed = sandbox.client("s3").list_objects_v2(Bucket=outputs["InboundBucketName"])
    return [item["Key"] for item in listed.get("Contents", [])]


def test_the_startup_summary_and_outputs_say_where_replies_go(sandbox: RunningSandbox) -> None:
    outputs = sandbox.outputs()

    assert outputs["InboundPrefix"] == "inbound/"
    bucket = outputs["InboundBucketName"]
    summary = "".join(sandbox.lines)
    assert f"replies to *@{REPLY_DOMAIN}: raw messages put in s3://{bucket}/inbound/" in summary
    assert f"SMTP smtp://127.0.0.1:{sandbox.smtp_port}" in summary


def test_the_survey_email_names_its_reply_address_and_the_message_id_ses_gives_it(
    sandbox: RunningSandbox,
) -> None:
    message = survey_email(sandbox, 9101, "sam.9101@example.org")

    assert message["Reply-To"].addresses[0].domain == REPLY_DOMAIN
    assert message["Reply-To"].addresses[0].username.startswith("reply+")
    # SES replaces the sender's Message-ID with its own, which replies then quote.
    assert str(message["Message-ID"]).endswith("@eu-west-1.amazonses.com>")


def test_a_reply_put_under_the_inbound_prefix_reopens_the_ticket_with_its_new_text(
    sandbox: RunningSandbox, zendesk: FakeHelpdesk
) -> None:
    # GIVEN Sam's survey email
    survey = survey_email(sandbox, 9102, "sam.9102@example.org")
    # WHEN his reply, quoting the survey, is stored where SES's receipt rule stores mail
    reply = customer_reply(survey, STILL_BROKEN, sent_at=datetime.now(UTC))
    outputs = sandbox.outputs()
    sandbox.client("s3").put_object(
        Bucket=outputs["InboundBucketName"], Key=f"{outputs['InboundPrefix']}put-9102", Body=reply.as_bytes()
    )

    # THEN the ticket is reopened with a private note holding the new text and none of the quoted survey
    update = eventually(lambda: reopen_of(zendesk, 9102), timeout=40)
    assert update["status"] == "open"
    note = update["comment"]["body"]
    assert update["comment"]["public"] is False
    assert STILL_BROKEN in note
    assert "wrote:" not in note
    assert survey["Subject"] not in note


def test_a_reply_sent_to_the_smtp_listener_is_stored_as_ses_stores_it_and_recorded(
    sandbox: RunningSandbox, zendesk: FakeHelpdesk
) -> None:
    # GIVEN Sam's survey email and his reply to it
    survey = survey_email(sandbox, 9103, "sam.9103@example.org")
    reply = customer_reply(survey, STILL_BROKEN, sent_at=datetime.now(UTC))
    before = set(stored_keys(sandbox))

    # WHEN his mail server delivers it over SMTP
    with smtplib.SMTP("127.0.0.1", sandbox.smtp_port, timeout=10) as smtp:
        smtp.send_message(reply)

    # THEN one new object is under the prefix, with the headers SES adds above the message as sent
    [key] = set(stored_keys(sandbox)) - before
    assert key.startswith("inbound/")
    outputs = sandbox.outputs()
    stored = sandbox.client("s3").get_object(Bucket=outputs["InboundBucketName"], Key=key)["Body"].read()
    assert stored.startswith(b"Return-Path: <sam.9103@example.org>\r\nReceived: from ")
    assert stored.endswith(reply.as_bytes(policy=email.policy.SMTP).split(b"\r\n\r\n", 1)[1])
    # AND the reply reopens the ticket, as a reply SES received would
    update = eventually(lambda: reopen_of(zendesk, 9103), timeout=40)
    assert STILL_BROKEN in update["comment"]["body"]
    tags = sandbox.client("s3").get_object_tagging(Bucket=outputs["InboundBucketName"], Key=key)["TagSet"]
    assert {"Key": "closeloop-outcome", "Value": "recorded"} in tags


def test_the_smtp_listener_refuses_recipients_outside_the_reply_domain(sandbox: RunningSandbox) -> None:
    before = stored_keys(sandbox)
    with (
        smtplib.SMTP("127.0.0.1", sandbox.smtp_port, timeout=10) as smtp,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        smtp.sendmail("sam@example.org", ["support@acme.example"], b"Subject: hi\r\n\r\nhello\r\n")

    code, reason = refused.value.recipients["support@acme.example"]
    assert code == 550
    assert REPLY_DOMAIN.encode() in reason
    assert stored_keys(sandbox) == before


@pytest.mark.parametrize("declares_size", [True, False], ids=["size-declared", "size-undeclared"])
def test_the_smtp_listener_refuses_a_message_over_10_mb_with_552(
    sandbox: RunningSandbox, declares_size: bool
) -> None:
    before = stored_keys(sandbox)
    huge = b"Subject: attachment\r\n\r\n" + (b"x" * 998 + b"\r\n") * (10 * 1024 * 1024 // 1000 + 1)
    with smtplib.SMTP("127.0.0.1", sandbox.smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        if not declares_size:
            smtp.esmtp_features.pop("size")  # a client that does not announce the size: refused after DATA
        with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as refused:
            smtp.sendmail("sam@example.org", [f"reply+x@{REPLY_DOMAIN}"], huge)

    assert refused.value.smtp_code == 552
    assert stored_keys(sandbox) == before


def test_an_empty_reply_domain_turns_replies_and_the_smtp_listener_off(tmp_path: Path) -> None:
    # GIVEN a sandbox told to leave replies off, as the template's default does
    sandbox = start_sandbox(tmp_path, fixture_template(), "ReplyDomain=")
    try:
        # THEN no inbound bucket exists, the summary names none, and nothing listens for SMTP
        assert "InboundBucketName" not in sandbox.outputs()
        assert not any("replies to" in line for line in sandbox.lines)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", sandbox.smtp_port), timeout=5).close()
    finally:
        assert sandbox.stop() == 0
