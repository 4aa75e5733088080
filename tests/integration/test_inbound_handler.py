"""InboundFunction against moto (S3, SQS, DynamoDB) and the fake helpdesk: replies by email, end to end.

A raw reply from events/email/ is put in the inbound bucket under the inbound prefix, as SES's receipt rule
stores it; the bucket's notification reaches the inbound queue (moto delivers S3 notifications to SQS),
InboundFunction handles the batch, and ReopenFunction then follows the reply up at the fake Zendesk.
SES receipt rules themselves do not run in moto: nothing here checks the rule, its recipients or its
permission to write to the bucket (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from hypothesis import given

from closeloop import wiring
from closeloop.adapters.dynamodb.items import survey_to_item
from closeloop.adapters.inbound_mail import OUTCOME_TAG
from closeloop.domain.inbound_mail import AutomaticReason
from closeloop.domain.messages import message_id_key
from closeloop.domain.reply_addresses import reply_token_of
from closeloop.domain.surveys import ResponseSource, Survey, SurveyResponse, SurveyStatus
from closeloop.handlers import inbound
from tests import strategies
from tests.conftest import EVENTS, published_metrics
from tests.integration.conftest import LambdaContext, ReopenStack, Stack
from tests.integration.journeys import deliver, run_send, sent_messages, solved_ticket, surveys

SURVEY_ID = "3f9c2b7e41d84a0f9e6b5c1d2a7e8f90"  # the survey events/email/ answers (its README)
SES_MESSAGE_ID = "0102019a4c3e6b1d-5f2c8a91-7d3e-4b6a-9c0f-1e2d3c4b5a69-000000"
PREFIX = "inbound/"  # the template's InboundPrefix output


@dataclass
class Inbound:
    reopen: ReopenStack
    s3: Any
    bucket: str
    queue: str
    dlq: str
    follow_up_delays: list[int]

    def deliver(self, example: str, key: str | None = None) -> dict[str, Any]:
        """Put a raw reply where SES stores it, then run InboundFunction on the notification."""
        raw = (EVENTS / "email" / example).read_bytes()
        return self.deliver_raw(raw, key or f"{PREFIX}{example.removesuffix('.eml')}")

    def deliver_raw(self, raw: bytes, key: str) -> dict[str, Any]:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=raw)
        return self.run()

    def run(self) -> dict[str, Any]:
        """One batch, handled; then, as Lambda does, the records not reported as failures are deleted."""
        event = self.reopen.stack.sqs_event(self.queue)
        result: dict[str, Any] = inbound.lambda_handler(event, LambdaContext())
        failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
        sqs = self.reopen.stack.clients["sqs"]
        for record in event["Records"]:
            if record["messageId"] not in failed:
                sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=record["receiptHandle"])
        return result

    def outcome(self, key: str) -> str | None:
        tags = self.s3.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]
        return next((tag["Value"] for tag in tags if tag["Key"] == OUTCOME_TAG), None)

    def answers(self) -> list[SurveyResponse]:
        return wiring.reopen_store().responses(SURVEY_ID)

    def reopen_requests(self) -> list[dict[str, Any]]:
        """What InboundFunction put on the reopen queue (taken off it: ``requeue`` puts one back)."""
        return [message["body"] for message in self.reopen.stack.drain(self.reopen.queue)]

    def requeue(self, request: dict[str, Any]) -> None:
        self.reopen.stack.clients["sqs"].send_message(
            QueueUrl=self.reopen.queue, MessageBody=json.dumps(request)
        )


def the_survey(expires_at: datetime) -> Survey:
    now = datetime.now(UTC)
    return Survey(
        survey_id=SURVEY_ID, helpdesk="zendesk", ticket_id="4521", closed_at=now - timedelta(days=1),
        customer_email="giulia.rossi@example.com", customer_name="Giulia Rossi", locale="en",
        timezone="Europe/Rome", survey_type="csat", planned_at=now - timedelta(days=1), send_at=now,
        expires_at=expires_at, status=SurveyStatus.SENDING, subject="Invoice shows the wrong VAT number",
        agent={"id": "361245", "name": "Marta Puig"}, team={"id": "20455932", "name": "Billing"},
    )  # fmt: skip


def send_the_survey(stack: Stack, expires_in: timedelta = timedelta(days=28)) -> None:
    """The survey, claimed and marked sent with SES's message id, as SendFunction records it."""
    now = datetime.now(UTC)
    survey = the_survey(now + expires_in)
    item = survey_to_item(survey, timedelta(days=400))
    stack.clients["dynamodb"].put_item(TableName=stack.table, Item=item)
    wiring.sending_store().mark_sent(SURVEY_ID, SES_MESSAGE_ID, now, now + expires_in)


@pytest.fixture
def replies(reopen_stack: ReopenStack, monkeypatch: pytest.MonkeyPatch) -> Inbound:
    # The template's inbound bucket, which tells its inbound queue of each stored message.
    stack = reopen_stack.stack
    bucket, queue, dlq = (
        stack.outputs["InboundBucketName"],
        stack.queues["InboundQueue"],
        stack.queues["InboundDeadLetterQueue"],
    )
    assert stack.outputs["InboundPrefix"] == PREFIX
    s3 = boto3.client("s3")
    monkeypatch.setenv("GRACE_MINUTES", "0")  # so the follow-up can be read at once; the delay is asserted
    wiring.reset()
    stack.drain(queue)  # S3's s3:TestEvent, if the mock sends one
    delays: list[int] = []
    wiring.sqs_client().meta.events.register(
        "provide-client-params.sqs.SendMessage",
        lambda params, **_: (
            delays.append(int(params.get("DelaySeconds", 0)))
            if params.get("QueueUrl") == reopen_stack.queue
            else None
        ),
    )
    send_the_survey(stack)
    stack.drain(stack.bus_tap)
    return Inbound(reopen_stack, s3, bucket, queue, dlq, delays)


def test_a_negative_gmail_reply_is_recorded_and_reopens_the_ticket_with_its_new_text(
    replies: Inbound,
) -> None:
    # GIVEN Giulia hit Reply in Gmail and wrote that it still doesn't work
    # WHEN SES stores her reply and InboundFunction handles the notification
    assert replies.deliver("gmail_en_top_posted.eml") == {"batchItemFailures": []}
    # THEN her new text, without the quoted survey, is an answer of the survey with source email
    [answer] = replies.answers()
    assert answer.source is ResponseSource.EMAIL
    assert answer.comment == (
        "No, it still doesn't work. The app crashes every time I try to log in, since yesterday."
    )
    assert answer.negative is True
    assert replies.outcome(f"{PREFIX}gmail_en_top_posted") == "recorded"
    [event] = replies.reopen.stack.published("Survey Response Received")
    assert event["detail"]["source"] == "email"
    # AND the reopen function is asked to follow it up
    [request] = replies.reopen_requests()
    assert request == {"survey_id": SURVEY_ID, "response_id": answer.response_id, "reply": True}
    # WHEN that request is handled
    replies.requeue(request)
    assert replies.reopen.run() == {"batchItemFailures": []}
    # THEN Zendesk reopened the ticket once, with a private note quoting her words and not the survey
    [update] = [r for r in replies.reopen.helpdesk.requests if r.method == "PUT"]
    comment = update.json["ticket"]["comment"]
    assert update.json["ticket"]["status"] == "open"
    assert comment["public"] is False
    assert "> No, it still doesn't work." in comment["body"]
    assert "How did we do" not in comment["body"]
    # AND the lead was alerted
    assert len(replies.reopen.sns_messages()) == 1


def test_a_negative_reply_waits_the_grace_period(replies: Inbound, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRACE_MINUTES", "10")
    wiring.reset()
    wiring.sqs_client().meta.events.register(
        "provide-client-params.sqs.SendMessage",
        lambda params, **_: replies.follow_up_delays.append(int(params.get("DelaySeconds", 0))),
    )
    replies.deliver("gmail_en_top_posted.eml")
    assert replies.follow_up_delays == [600]


def test_a_happy_reply_becomes_a_private_note_and_reopens_nothing(replies: Inbound) -> None:
    replies.deliver("gmail_es_top_posted.eml")
    [answer] = replies.answers()
    assert answer.negative is False
    assert replies.follow_up_delays == [0]
    [request] = replies.reopen_requests()
    replies.requeue(request)
    assert replies.reopen.run() == {"batchItemFailures": []}
    # THEN one private comment, the ticket's status untouched, no alert
    [update] = [r for r in replies.reopen.helpdesk.requests if r.method == "PUT"]
    assert "status" not in update.json["ticket"]
    assert "> Muchas gracias, ya funciona todo perfectamente." in update.json["ticket"]["comment"]["body"]
    assert replies.reopen.sns_messages() == []
    # AND a redelivered follow-up finds the note's marker and writes nothing more
    replies.requeue(request)
    assert replies.reopen.run() == {"batchItemFailures": []}
    assert len([r for r in replies.reopen.helpdesk.requests if r.method == "PUT"]) == 1


def test_a_reply_is_matched_by_in_reply_to_when_its_address_lost_the_token(replies: Inbound) -> None:
    replies.deliver("outlook_desktop_it_windows1252.eml")
    [answer] = replies.answers()
    assert answer.comment is not None
    assert answer.comment.startswith("Buongiorno,\n\npurtroppo il problema non è risolto")


def test_a_redelivered_notification_records_the_reply_once(replies: Inbound) -> None:
    # GIVEN S3's notification of a stored reply, handled once
    sqs = replies.reopen.stack.clients["sqs"]
    replies.s3.put_object(
        Bucket=replies.bucket,
        Key=f"{PREFIX}same",
        Body=(EVENTS / "email" / "apple_mail_en_iphone.eml").read_bytes(),
    )
    [notification] = sqs.receive_message(QueueUrl=replies.queue)["Messages"]
    replies.run()
    # WHEN the same notification comes again (SQS delivers at least once)
    sqs.send_message(QueueUrl=replies.queue, MessageBody=notification["Body"])
    assert replies.run() == {"batchItemFailures": []}
    # THEN there is one answer, its object marked a duplicate, and its (idempotent) follow-up asked again
    [answer] = replies.answers()
    assert replies.outcome(f"{PREFIX}same") == "duplicate"
    requests = replies.reopen_requests()
    assert len(requests) >= 2
    assert {request["response_id"] for request in requests} == {answer.response_id}


@pytest.mark.parametrize(
    "example",
    sorted(
        path.name
        for path in (EVENTS / "email").glob("*.eml")
        if path.name.startswith(("auto_", "dsn_", "loop_"))
    ),
)
def test_automatic_mail_is_kept_and_changes_nothing(
    replies: Inbound, example: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replies.deliver(example) == {"batchItemFailures": []}
    # counted with its reason
    metric = published_metrics(capsys.readouterr().out)["RepliesAutomatic"]
    assert metric.values == [1.0]
    assert metric.dimensions["reason"] in {reason.value for reason in AutomaticReason}
    assert replies.outcome(f"{PREFIX}{example.removesuffix('.eml')}") == "automatic"
    assert replies.answers() == []
    assert replies.reopen_requests() == []
    assert replies.reopen.stack.published() == []


def test_a_reply_to_no_survey_is_kept_in_the_bucket_and_marked(
    replies: Inbound, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replies.deliver("unknown_survey.eml") == {"batchItemFailures": []}
    assert published_metrics(capsys.readouterr().out)["RepliesUnknownSurvey"].values == [1.0]
    assert replies.outcome(f"{PREFIX}unknown_survey") == "unknown_survey"
    assert replies.s3.get_object(Bucket=replies.bucket, Key=f"{PREFIX}unknown_survey")["ContentLength"] > 0
    assert replies.answers() == []
    assert replies.reopen_requests() == []


def test_a_reply_to_an_expired_survey_is_kept_and_marked(replies: Inbound) -> None:
    send_the_survey(replies.reopen.stack, expires_in=timedelta(seconds=-1))
    replies.deliver("expired_survey.eml")
    assert replies.outcome(f"{PREFIX}expired_survey") == "expired_survey"
    assert replies.answers() == []
    assert replies.reopen_requests() == []


def test_a_notification_of_a_deleted_object_is_parked_with_its_reason(replies: Inbound) -> None:
    replies.s3.put_object(Bucket=replies.bucket, Key=f"{PREFIX}gone", Body=b"Subject: x\r\n\r\ny")
    replies.s3.delete_object(Bucket=replies.bucket, Key=f"{PREFIX}gone")
    assert replies.run() == {"batchItemFailures": []}
    [parked] = replies.reopen.stack.drain(replies.dlq)
    assert parked["attributes"]["reason"]["StringValue"].startswith("InboundMessageMissingError: ")
    assert replies.answers() == []


def test_a_message_that_is_no_notification_is_parked_and_the_rest_of_the_batch_handled(
    replies: Inbound,
) -> None:
    sqs = replies.reopen.stack.clients["sqs"]
    sqs.send_message(QueueUrl=replies.queue, MessageBody=json.dumps({"Records": "nope"}))
    replies.s3.put_object(
        Bucket=replies.bucket,
        Key=f"{PREFIX}reply",
        Body=(EVENTS / "email" / "gmail_es_top_posted.eml").read_bytes(),
    )
    assert replies.run() == {"batchItemFailures": []}
    [parked] = replies.reopen.stack.drain(replies.dlq)
    assert parked["attributes"]["reason"]["StringValue"].startswith("MalformedInboundNotificationError: ")
    assert len(replies.answers()) == 1


# --- the send side: what a reply is matched by ----------------------------------------------------------


def test_a_sent_survey_carries_its_signed_reply_address_and_records_its_message_id(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a deployment receiving replies at replies.acme.example
    monkeypatch.setenv("REPLY_DOMAIN", "replies.acme.example")
    wiring.reset()
    # WHEN a survey is planned and sent
    deliver(stack, solved_ticket())
    run_send(stack)
    [item] = surveys(stack)
    survey_id, ses_id = item["survey_id"]["S"], item["message_id"]["S"]
    # THEN its email's Reply-To is its own reply address, which names it
    [message] = sent_messages()
    local, _, domain = str(message["Reply-To"]).partition("@")
    assert domain == "replies.acme.example"
    assert len(local) <= 64
    token = reply_token_of(str(message["Reply-To"]), "replies.acme.example")
    assert token is not None
    assert wiring.reply_tokens().verify(token) == survey_id
    # AND the message id SES gave it finds it too (a reply's In-Reply-To: <id@region.amazonses.com>)
    assert wiring.reply_store().survey_for_message(message_id_key(f"{ses_id}@eu-west-1.amazonses.com")) == (
        survey_id
    )


def test_without_a_reply_domain_survey_emails_have_no_reply_to(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLY_DOMAIN", "")  # the template's ReplyDomain left empty
    wiring.reset()
    deliver(stack, solved_ticket())
    run_send(stack)
    [message] = sent_messages()
    assert message["Reply-To"] is None


# --- whatever lands in the bucket ----------------------------------------------------------------------

BATCH_PROPERTY = strategies.property_settings(25, None, fixtures=True)


@BATCH_PROPERTY
@given(raw=strategies.raw_replies())
def test_any_stored_bytes_are_an_outcome_and_never_cost_the_batch(replies: Inbound, raw: bytes) -> None:
    # GIVEN whatever bytes, stored beside a genuine reply, in one batch
    key = f"{PREFIX}any-{hashlib.sha256(raw).hexdigest()[:16]}"
    genuine = f"{PREFIX}genuine-{key[-16:]}"
    replies.s3.put_object(Bucket=replies.bucket, Key=key, Body=raw)
    replies.s3.put_object(
        Bucket=replies.bucket, Key=genuine, Body=(EVENTS / "email" / "apple_mail_en_iphone.eml").read_bytes()
    )
    # WHEN InboundFunction handles the batch
    assert replies.run() == {"batchItemFailures": []}
    # THEN each object is marked with what became of it, and nothing was parked
    assert replies.outcome(key) is not None
    assert replies.outcome(genuine) in ("recorded", "duplicate")
    assert replies.reopen.stack.drain(replies.dlq) == []
