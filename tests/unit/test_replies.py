"""Replies by email, the flow (``ReplyRecorder``) with in-memory fakes: which survey a reply answers, what
is recorded and followed up, and what is kept with its reason instead."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given

from closeloop.domain.answers import SurveyClosedError
from closeloop.domain.inbound_mail import MAX_MESSAGE_BYTES, OwnMail
from closeloop.domain.links import SigningKeys
from closeloop.domain.replies import (
    InboundMessageTooLargeError,
    MailLocation,
    MalformedInboundNotificationError,
    ReplyOutcome,
    ReplyPolicy,
    ReplyRecorder,
    ReplyResult,
    parse_inbound_notification,
)
from closeloop.domain.reply_addresses import ReplyTokens
from closeloop.domain.surveys import (
    ResponseAlreadyRecordedError,
    ResponseSource,
    Survey,
    SurveyResponse,
    SurveyStatus,
)
from tests import strategies
from tests.conftest import EVENTS, load_event

SURVEY_ID = "3f9c2b7e41d84a0f9e6b5c1d2a7e8f90"  # the survey the events/email/ replies answer
SES_KEY = "0102019a4c3e6b1d-5f2c8a91-7d3e-4b6a-9c0f-1e2d3c4b5a69-000000"
KEYS = SigningKeys({"k1": "s" * 64}, "k1")
RECEIVED = datetime(2026, 11, 23, 9, 14, 27, tzinfo=UTC)
GRACE = timedelta(minutes=10)


def a_survey(**changes: Any) -> Survey:
    survey = Survey(
        survey_id=SURVEY_ID, helpdesk="zendesk", ticket_id="4521", closed_at=RECEIVED - timedelta(days=2),
        customer_email="giulia.rossi@example.com", customer_name="Giulia Rossi", locale="en",
        timezone="Europe/Rome", survey_type="csat", planned_at=RECEIVED - timedelta(days=2),
        send_at=RECEIVED - timedelta(days=1), expires_at=RECEIVED + timedelta(days=27),
        status=SurveyStatus.SENT, agent={"id": "361245", "name": "Marta Puig"}, team={"id": "20455932"},
        sent_at=RECEIVED - timedelta(days=1), message_id=SES_KEY,
    )  # fmt: skip
    return replace(survey, **changes)


class InMemoryMail:
    """The inbound bucket: objects by key, and the outcome each was marked with."""

    def __init__(self, objects: Mapping[str, bytes]) -> None:
        self.objects = dict(objects)
        self.marks: dict[str, ReplyOutcome] = {}

    def read(self, location: MailLocation) -> bytes:
        raw = self.objects[location.key]
        if len(raw) > MAX_MESSAGE_BYTES:
            raise InboundMessageTooLargeError(f"the message is over {MAX_MESSAGE_BYTES} bytes")
        return raw

    def mark(self, location: MailLocation, outcome: ReplyOutcome) -> None:
        self.marks[location.key] = outcome


class InMemoryReplyStore:
    def __init__(self, *surveys: Survey) -> None:
        self.surveys = {survey.survey_id: survey for survey in surveys}
        self.messages = {survey.message_id: survey.survey_id for survey in surveys if survey.message_id}
        self.responses: list[SurveyResponse] = []

    def get_survey(self, survey_id: str) -> Survey | None:
        return self.surveys.get(survey_id)

    def survey_for_message(self, message_key: str) -> str | None:
        return self.messages.get(message_key)

    def add_response(self, survey: Survey, response: SurveyResponse) -> None:
        if survey.status is not SurveyStatus.SENT:
            raise SurveyClosedError("closed")
        if any(stored.response_id == response.response_id for stored in self.responses):
            raise ResponseAlreadyRecordedError(response.response_id)
        self.responses.append(response)


class RecordingFollowUps:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, timedelta]] = []

    def request_reply_follow_up(self, survey_id: str, response_id: str, delay: timedelta) -> None:
        self.requests.append((survey_id, response_id, delay))


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def publish(self, detail_type: str, detail: Mapping[str, Any], source: str = "closeloop") -> str:
        self.events.append((detail_type, dict(detail)))
        return "event-id"


class World:
    def __init__(self, *surveys: Survey) -> None:
        self.mail = InMemoryMail({})
        self.store = InMemoryReplyStore(*(surveys or (a_survey(),)))
        self.follow_ups = RecordingFollowUps()
        self.publisher = RecordingPublisher()
        self.recorder = ReplyRecorder(
            self.mail,
            self.mail,
            self.store,
            lambda: ReplyTokens(KEYS),
            self.publisher,
            self.follow_ups,
            ReplyPolicy(
                reply_domain="replies.acme.example",
                own_mail=OwnMail("support@acme.example", "replies.acme.example", "X-Closeloop-Survey-Id"),
                grace=GRACE,
            ),
        )

    def receive(self, raw: bytes, key: str = "inbound/message-1", at: datetime = RECEIVED) -> ReplyResult:
        self.mail.objects[key] = raw
        return self.recorder.record_reply(MailLocation("inbound-bucket", key, at))

    def receive_example(self, name: str, **kwargs: Any) -> ReplyResult:
        return self.receive((EVENTS / "email" / name).read_bytes(), **kwargs)


@pytest.fixture
def world() -> World:
    return World()


def test_a_negative_reply_is_recorded_and_followed_up_after_the_grace_period(world: World) -> None:
    # GIVEN Giulia's Gmail reply "No, it still doesn't work." to her survey
    result = world.receive_example("gmail_en_top_posted.eml")
    # THEN it is stored as an email answer with its new text only, judged negative
    assert result.outcome is ReplyOutcome.RECORDED
    assert result.matched_by == "reply_address"
    [response] = world.store.responses
    assert response.source is ResponseSource.EMAIL
    assert (
        response.comment
        == "No, it still doesn't work. The app crashes every time I try to log in, since yesterday."
    )
    assert (response.score, response.resolved, response.negative) == (None, None, True)
    assert response.received_at == RECEIVED
    # AND its follow-up (note and reopen) waits the grace period, like a bad answer on the page
    assert world.follow_ups.requests == [(SURVEY_ID, response.response_id, GRACE)]
    [(detail_type, detail)] = world.publisher.events
    assert detail_type == "Survey Response Received"
    assert (detail["source"], detail["negative"], detail["has_comment"]) == ("email", True, True)
    assert world.mail.marks == {"inbound/message-1": ReplyOutcome.RECORDED}


def test_a_happy_reply_is_recorded_and_its_note_is_asked_for_at_once(world: World) -> None:
    result = world.receive_example("gmail_es_top_posted.eml")
    assert result.outcome is ReplyOutcome.RECORDED
    [response] = world.store.responses
    assert response.negative is False
    assert world.follow_ups.requests == [(SURVEY_ID, response.response_id, timedelta(0))]


def test_a_reply_without_its_reply_address_is_matched_by_in_reply_to(world: World) -> None:
    # GIVEN Outlook's reply whose To lost the +token on the way; its In-Reply-To names the survey email
    result = world.receive_example("outlook_desktop_it_windows1252.eml")
    assert result.outcome is ReplyOutcome.RECORDED
    assert result.matched_by == "message_id"


def test_a_forged_reply_address_falls_back_to_the_message_id() -> None:
    world = World(a_survey(message_id="0102019a00000000-00000000-0000-0000-0000-000000000000-000000"))
    result = world.receive_example("unknown_survey.eml")
    assert result.outcome is ReplyOutcome.RECORDED
    assert result.matched_by == "message_id"


def test_a_reply_matching_no_survey_is_kept_and_marked(world: World) -> None:
    result = world.receive_example("unknown_survey.eml")
    assert result.outcome is ReplyOutcome.UNKNOWN_SURVEY
    assert world.store.responses == []
    assert world.follow_ups.requests == []
    assert world.publisher.events == []
    assert world.mail.marks == {"inbound/message-1": ReplyOutcome.UNKNOWN_SURVEY}


def test_a_reply_after_the_survey_expired_is_kept_and_marked() -> None:
    world = World(a_survey(expires_at=RECEIVED - timedelta(days=1)))
    result = world.receive_example("expired_survey.eml")
    assert (result.outcome, result.survey_id) == (ReplyOutcome.EXPIRED_SURVEY, SURVEY_ID)
    assert world.store.responses == []
    assert world.follow_ups.requests == []


def test_a_reply_received_in_time_counts_even_when_read_after_the_expiry() -> None:
    world = World(a_survey(expires_at=RECEIVED + timedelta(seconds=1)))
    assert world.receive_example("gmail_en_top_posted.eml").outcome is ReplyOutcome.RECORDED


@pytest.mark.parametrize("status", [SurveyStatus.CANCELLED, SurveyStatus.PLANNED, SurveyStatus.SUPPRESSED])
def test_a_reply_to_a_survey_that_takes_no_answers_is_kept(status: SurveyStatus) -> None:
    world = World(a_survey(status=status))
    result = world.receive_example("gmail_en_top_posted.eml")
    assert (result.outcome, result.reason) == (ReplyOutcome.CLOSED_SURVEY, status.value)
    assert world.store.responses == []


AUTOMATIC_EXAMPLES = sorted(
    path.name for path in (EVENTS / "email").glob("*.eml") if path.name.startswith(("auto_", "dsn_", "loop_"))
)


@pytest.mark.parametrize("name", AUTOMATIC_EXAMPLES)
def test_automatic_mail_records_and_reopens_nothing(world: World, name: str) -> None:
    result = world.receive_example(name)
    assert result.outcome is ReplyOutcome.AUTOMATIC
    assert result.reason
    assert world.store.responses == []
    assert world.follow_ups.requests == []
    assert world.publisher.events == []
    assert world.mail.marks == {"inbound/message-1": ReplyOutcome.AUTOMATIC}


def test_a_reply_with_nothing_new_is_kept(world: World) -> None:
    raw = (EVENTS / "email" / "gmail_en_top_posted.eml").read_bytes()
    headers, _, _ = raw.partition(b"\r\n\r\n")
    plain = headers.split(b"Content-Type:")[0] + b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    result = world.receive(plain + b"On Mon, Nov 23, 2026 at 9:02 AM Acme wrote:\r\n> How did we do?\r\n")
    assert (result.outcome, result.survey_id) == (ReplyOutcome.NO_NEW_TEXT, SURVEY_ID)
    assert world.store.responses == []


def test_a_message_over_the_size_limit_is_refused_with_its_reason(world: World) -> None:
    result = world.receive(b"x" * (MAX_MESSAGE_BYTES + 1))
    assert result.outcome is ReplyOutcome.REFUSED
    assert result.reason == f"the message is over {MAX_MESSAGE_BYTES} bytes"
    assert world.mail.marks == {"inbound/message-1": ReplyOutcome.REFUSED}


def test_a_redelivered_notification_records_once_and_asks_for_the_follow_up_again(world: World) -> None:
    first = world.receive_example("gmail_en_top_posted.eml")
    again = world.receive_example("gmail_en_top_posted.eml")
    assert (first.outcome, again.outcome) == (ReplyOutcome.RECORDED, ReplyOutcome.DUPLICATE)
    assert first.response_id == again.response_id
    assert len(world.store.responses) == 1
    # the follow-up is idempotent downstream (one reopen per survey, one note per marker)
    assert len(world.follow_ups.requests) == 2


def test_two_replies_are_two_answers(world: World) -> None:
    world.receive_example("gmail_en_top_posted.eml", key="inbound/a")
    world.receive_example("apple_mail_en_iphone.eml", key="inbound/b", at=RECEIVED + timedelta(hours=1))
    assert [r.comment for r in world.store.responses] == [
        "No, it still doesn't work. The app crashes every time I try to log in, since yesterday.",
        "Still broken. Same error as before.",
    ]


def test_the_log_fields_of_a_result_hold_no_text_or_address(world: World) -> None:
    result = world.receive_example("gmail_en_top_posted.eml")
    logged = json.dumps(result.log_fields())
    assert "@" not in logged
    assert "work" not in logged


PROPERTY = strategies.property_settings(200, timedelta(seconds=2), fixtures=True)


@PROPERTY
@given(raw=strategies.raw_replies())
def test_any_bytes_give_an_outcome_never_an_exception(raw: bytes) -> None:
    # GIVEN whatever bytes SES stored; WHEN the flow reads them
    world = World()
    result = world.receive(raw)
    # THEN there is an outcome, and the object is marked with it: an answer, or a kept message and why
    assert world.mail.marks == {"inbound/message-1": result.outcome}
    recorded = result.outcome in (ReplyOutcome.RECORDED, ReplyOutcome.DUPLICATE)
    assert len(world.store.responses) == (1 if recorded else 0)
    assert len(world.follow_ups.requests) == (1 if recorded else 0)


# ---- the inbound queue's messages: S3 notifications ------------------------------------------------


def test_s3s_notification_names_the_stored_message_and_when_it_was_stored() -> None:
    [location] = parse_inbound_notification(json.dumps(load_event("s3/inbound_object_created.json")))
    assert location == MailLocation(
        "closeloop-inboundbucket-1x7p4k9q2m3n",
        "inbound/5v3ejqm0d2t8k1c9hf4a6b7n0p2r8s1u3w5y7z9a",
        datetime(2026, 11, 23, 9, 14, 27, 512000, tzinfo=UTC),
    )


def test_an_object_key_comes_url_decoded() -> None:
    event = load_event("s3/inbound_object_created.json")
    event["Records"][0]["s3"]["object"]["key"] = "inbound/a+b%2Bc%C3%A9"
    [location] = parse_inbound_notification(json.dumps(event))
    assert location.key == "inbound/a b+cé"


def test_s3s_test_event_names_no_message() -> None:
    body = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-23T09:00:00.000Z",
        "Bucket": "b",
    }
    assert parse_inbound_notification(json.dumps(body)) == ()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "the body is not JSON"),
        ("[]", "the body is a JSON list"),
        ('{"Records": []}', "Records is not a list of 1 to 10 records"),
        ('{"Records": [{"eventSource": "aws:sqs"}]}', "a record is not from aws:s3"),
        ('{"Records": [{"eventSource": "aws:s3", "s3": {}}]}', "a record names no bucket and key"),
        (
            '{"Records": [{"eventSource": "aws:s3", "eventTime": "yesterday", '
            '"s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]}',
            "a record's eventTime is not an ISO 8601 time",
        ),
    ],
)
def test_a_notification_that_is_none_is_refused_naming_what_is_wrong(body: str, problem: str) -> None:
    with pytest.raises(MalformedInboundNotificationError) as refused:
        parse_inbound_notification(body)
    assert str(refused.value).startswith(problem)
