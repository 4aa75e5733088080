"""Bounces and complaints: which SES events suppress an address, and what is recorded and announced."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from closeloop.domain.deliverability import (
    DeliverabilityRecorder,
    DeliveryResult,
    InvalidDeliveryEventError,
    UndeliverableReason,
    parse_delivery_event,
)
from closeloop.domain.surveys import Survey, SurveyStatus, customer_key
from tests.conftest import load_event
from tests.fakes import RecordingPublisher

NOW = datetime(2026, 11, 21, 15, 45, tzinfo=UTC)
SURVEY_ID = "3f9c2b7e41d84a0f9e6b5c1d2a7e8f90"  # the survey_id tag of the examples in events/ses/
ADDRESS = "giulia.rossi@example.com"


def sent_survey(**changes: Any) -> Survey:
    survey = Survey(
        survey_id=SURVEY_ID,
        helpdesk="zendesk",
        ticket_id="4521",
        closed_at=NOW - timedelta(days=1),
        customer_email=ADDRESS,
        customer_name="Giulia",
        locale="it-IT",
        timezone="Europe/Rome",
        survey_type="csat",
        planned_at=NOW - timedelta(days=1),
        send_at=NOW - timedelta(minutes=5),
        expires_at=NOW + timedelta(days=28),
        status=SurveyStatus.SENT,
        sent_at=NOW - timedelta(minutes=5),
    )
    return replace(survey, **changes)


class InMemoryStore:
    def __init__(self, *surveys: Survey) -> None:
        self.surveys = {survey.survey_id: survey for survey in surveys}
        self.suppressions: dict[str, str] = {}  # customer key -> reason

    def get_survey(self, survey_id: str) -> Survey | None:
        return self.surveys.get(survey_id)

    def is_suppressed(self, email: str) -> bool:
        return customer_key(email) in self.suppressions

    def suppress(self, email: str, reason: str, now: datetime) -> None:
        self.suppressions[customer_key(email)] = reason

    def mark_undeliverable(self, survey_id: str, reason: UndeliverableReason, now: datetime) -> bool:
        if survey_id not in self.surveys:
            return False
        self.surveys[survey_id] = replace(self.surveys[survey_id], delivery=reason.delivery, delivery_at=now)
        return True


def record(example: str, store: InMemoryStore, publisher: RecordingPublisher | None = None) -> Any:
    recorder = DeliverabilityRecorder(store, publisher or RecordingPublisher())
    return recorder.record_delivery_event(parse_delivery_event(load_event(example)), NOW)


def with_tags(example: str, tags: dict[str, list[str]]) -> dict[str, Any]:
    event = load_event(example)
    event["detail"]["mail"]["tags"] = tags
    return event


def test_a_permanent_bounce_suppresses_the_address_marks_the_survey_and_announces_it() -> None:
    # GIVEN a sent survey for Giulia
    store, publisher = InMemoryStore(sent_survey()), RecordingPublisher()
    # WHEN SES reports that her mailbox does not exist
    outcome = record("ses/bounce_permanent.json", store, publisher)
    # THEN her address is suppressed for the bounce, and the survey is marked bounced (status untouched)
    assert outcome.result is DeliveryResult.SUPPRESSED
    assert store.suppressions == {customer_key(ADDRESS): "bounce"}
    survey = store.surveys[SURVEY_ID]
    assert (survey.delivery, survey.delivery_at, survey.status) == ("bounced", NOW, SurveyStatus.SENT)
    # AND one Customer Suppressed names the ticket and survey, without her address
    [(detail_type, detail)] = publisher.events
    assert detail_type == "Customer Suppressed"
    assert detail == {
        "version": 1,
        "helpdesk": "zendesk",
        "ticket_id": "4521",
        "survey_id": SURVEY_ID,
        "reason": "bounce",
        "suppressed_at": NOW.isoformat().replace("+00:00", "Z"),
    }
    assert ADDRESS not in str(detail)


def test_a_complaint_suppresses_the_address_and_marks_the_survey_complained() -> None:
    store, publisher = InMemoryStore(sent_survey()), RecordingPublisher()
    outcome = record("ses/complaint.json", store, publisher)
    assert outcome.result is DeliveryResult.SUPPRESSED
    assert store.suppressions == {customer_key(ADDRESS): "complaint"}
    assert store.surveys[SURVEY_ID].delivery == "complained"
    assert [detail["reason"] for _, detail in publisher.events] == ["complaint"]


@pytest.mark.parametrize("bounce_type", ["Transient", "Undetermined"])
def test_a_soft_bounce_suppresses_nothing(bounce_type: str) -> None:
    # GIVEN a bounce SES could not call permanent (a full mailbox, an unclear answer)
    event = load_event("ses/bounce_transient.json")
    event["detail"]["bounce"]["bounceType"] = bounce_type
    store, publisher = InMemoryStore(sent_survey()), RecordingPublisher()
    # WHEN it is recorded
    outcome = DeliverabilityRecorder(store, publisher).record_delivery_event(parse_delivery_event(event), NOW)
    # THEN nothing changes: the next survey may well arrive
    assert outcome.result is DeliveryResult.SOFT_BOUNCE
    assert store.suppressions == {}
    assert store.surveys[SURVEY_ID].delivery is None
    assert publisher.events == []


def test_a_feedback_report_saying_not_spam_suppresses_nothing() -> None:
    event = load_event("ses/complaint.json")
    event["detail"]["complaint"]["complaintFeedbackType"] = "not-spam"
    store = InMemoryStore(sent_survey())
    outcome = DeliverabilityRecorder(store, RecordingPublisher()).record_delivery_event(
        parse_delivery_event(event), NOW
    )
    assert outcome.result is DeliveryResult.NOT_SPAM
    assert store.suppressions == {}


@pytest.mark.parametrize(
    "tags",
    [{}, {"closeloop": ["lead_alert"]}, {"ses:configuration-set": ["closeloop"]}],
    ids=["untagged", "lead-alert", "other-mail-of-the-configuration-set"],
)
def test_mail_that_is_not_a_survey_is_left_alone(tags: dict[str, list[str]]) -> None:
    # GIVEN a permanent bounce of mail closeloop did not tag as a survey (e.g. the lead's alert)
    event = parse_delivery_event(with_tags("ses/bounce_permanent.json", tags))
    store, publisher = InMemoryStore(sent_survey()), RecordingPublisher()
    # WHEN it is recorded
    outcome = DeliverabilityRecorder(store, publisher).record_delivery_event(event, NOW)
    # THEN no customer is suppressed for it
    assert outcome.result is DeliveryResult.NOT_A_SURVEY
    assert store.suppressions == {}
    assert publisher.events == []


def test_a_survey_bounce_without_a_known_survey_still_suppresses_the_address() -> None:
    # GIVEN a survey email sent before surveys carried their id (only the closeloop tag)
    event = parse_delivery_event(with_tags("ses/bounce_permanent.json", {"closeloop": ["survey"]}))
    store, publisher = InMemoryStore(), RecordingPublisher()
    # WHEN it bounces for good
    outcome = DeliverabilityRecorder(store, publisher).record_delivery_event(event, NOW)
    # THEN the address is suppressed; with no survey to name, nothing is announced
    assert outcome.result is DeliveryResult.SUPPRESSED
    assert store.suppressions == {customer_key(ADDRESS): "bounce"}
    assert publisher.events == []


def test_a_redelivered_event_announces_once() -> None:
    store, publisher = InMemoryStore(sent_survey()), RecordingPublisher()
    record("ses/bounce_permanent.json", store, publisher)
    again = record("ses/bounce_permanent.json", store, publisher)
    assert again.newly_suppressed == 0
    assert len(publisher.events) == 1
    assert store.suppressions == {customer_key(ADDRESS): "bounce"}


def test_an_address_already_suppressed_keeps_its_first_reason() -> None:
    # GIVEN Giulia unsubscribed, then her mailbox provider reported the email as spam
    store = InMemoryStore(sent_survey())
    store.suppress(ADDRESS, "unsubscribed", NOW)
    outcome = record("ses/complaint.json", store)
    # THEN her suppression still says she unsubscribed, and the survey records the complaint
    assert outcome.newly_suppressed == 0
    assert store.suppressions == {customer_key(ADDRESS): "unsubscribed"}
    assert store.surveys[SURVEY_ID].delivery == "complained"


def test_every_bounced_recipient_is_suppressed_once_whatever_its_case() -> None:
    event = load_event("ses/bounce_permanent.json")
    recipients = event["detail"]["bounce"]["bouncedRecipients"]
    recipients += [{"emailAddress": "Giulia.Rossi@Example.com"}, {"emailAddress": "ana@example.org"}]
    store = InMemoryStore(sent_survey())
    outcome = DeliverabilityRecorder(store, RecordingPublisher()).record_delivery_event(
        parse_delivery_event(event), NOW
    )
    assert outcome.newly_suppressed == 2
    assert set(store.suppressions) == {customer_key(ADDRESS), customer_key("ana@example.org")}


def test_other_ses_event_types_are_ignored() -> None:
    event = load_event("ses/bounce_permanent.json")
    event["detail-type"] = "Email Delivered"
    event["detail"]["eventType"] = "Delivery"
    del event["detail"]["bounce"]
    event["detail"]["delivery"] = {"timestamp": "2026-11-21T15:43:11.402Z", "recipients": [ADDRESS]}
    store = InMemoryStore(sent_survey())
    outcome = DeliverabilityRecorder(store, RecordingPublisher()).record_delivery_event(
        parse_delivery_event(event), NOW
    )
    assert outcome.result is DeliveryResult.IGNORED
    assert store.suppressions == {}


def _without(path: tuple[str, ...]) -> dict[str, Any]:
    event = copy.deepcopy(load_event("ses/bounce_permanent.json"))
    node = event
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return event


@pytest.mark.parametrize(
    ("event", "named"),
    [
        (_without(("detail", "bounce")), "bounce"),
        (_without(("detail", "mail")), "mail"),
        (_without(("detail", "bounce", "bouncedRecipients")), "bounce.bouncedRecipients"),
        (_without(("detail", "eventType")), "eventType"),
        (load_event("ses/bounce_permanent.json") | {"source": "closeloop.tickets"}, "not an SES event"),
        (["not", "an", "event"], "not an SES event"),
    ],
    ids=["no-bounce", "no-mail", "no-recipients", "no-event-type", "other-source", "not-an-object"],
)
def test_a_malformed_event_is_rejected_naming_the_problem_but_no_address(event: Any, named: str) -> None:
    with pytest.raises(InvalidDeliveryEventError) as caught:
        parse_delivery_event(event)
    assert named in str(caught.value)
    assert "@" not in str(caught.value)


def test_a_recipient_that_is_not_an_address_is_rejected_without_repeating_it() -> None:
    event = load_event("ses/complaint.json")
    event["detail"]["complaint"]["complainedRecipients"] = [{"emailAddress": ["giulia@example.com"]}]
    with pytest.raises(InvalidDeliveryEventError, match=r"complainedRecipients\.0\.emailAddress") as caught:
        parse_delivery_event(event)
    assert "giulia" not in str(caught.value)


def test_what_a_bounce_logs_names_the_event_and_its_outcome_never_the_address() -> None:
    # GIVEN a permanent bounce of Giulia's survey, recorded
    event = parse_delivery_event(load_event("ses/bounce_permanent.json"))
    outcome = record("ses/bounce_permanent.json", InMemoryStore(sent_survey()))
    # WHEN the handler's log fields are taken from both
    fields = event.log_fields() | outcome.log_fields()
    # THEN they say what happened, with ids and codes only
    assert fields == {
        "ses_message_id": event.message_id,
        "event_type": "Bounce",
        "bounce_type": "Permanent",
        "bounce_sub_type": event.bounce_sub_type,
        "feedback_type": None,
        "survey_id": SURVEY_ID,
        "result": "suppressed",
        "reason": "bounce",
        "newly_suppressed": 1,
    }
    assert ADDRESS not in repr(fields)
