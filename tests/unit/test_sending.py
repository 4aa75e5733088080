"""SurveySender: a due survey becomes exactly one email, or a clear reason why not, and never a second one.

Over the in-memory adapters (``closeloop_cli.in_memory``): the store claims a survey once, as the
repository's conditional write does; the mailer builds the MIME message SES would receive, or answers
as SES would fail. The integration tests (``tests/integration/test_send_handler.py``,
``test_send_faults.py``) run the same rules against SES and DynamoDB on moto.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from closeloop.domain.links import LinkPurpose, LinkSigner
from closeloop.domain.planning import PlanResult
from closeloop.domain.sending import (
    InvalidRecipientError,
    MailOutcomeUnknownError,
    MailRecipientUnverifiedError,
    MailRejectedError,
    MailRetryableError,
    RecipientNotVerifiedError,
    SendOutcomeUnknownError,
    SendRejectedError,
    SendResult,
)
from closeloop.domain.surveys import SurveyStatus, UnknownSurveyError
from closeloop.domain.tickets import TicketClosed, TicketReopened, parse_ticket_event
from closeloop.domain.timing import QuietHours
from tests.conftest import load_event
from tests.fakes import (
    PUBLIC_BASE_URL,
    SENDER,
    SIGNING_SECRET,
    InMemoryDomain,
    InMemorySurveyStore,
    in_memory_domain,
)

NOW = datetime(2025, 11, 20, 16, 0, tzinfo=UTC)  # in the past: a ticket event may not be solved later
ADDRESS = "giulia.rossi@example.com"
SURVEY_LINK = re.compile(re.escape(PUBLIC_BASE_URL) + r"/s/([^?\s]+)\?(\w+)=(\w+)")


def due_survey(store: InMemorySurveyStore | None = None, **settings: Any) -> tuple[InMemoryDomain, str]:
    """A survey planned for Giulia's solved ticket (it-IT, Europe/Rome), due now; the domain and its id."""
    settings.setdefault("quiet_hours", QuietHours.parse("off"))
    domain = in_memory_domain(store=store, follow_up_delay_minutes=0, **settings)
    event = load_event("canonical/ticket_closed.json")
    event["detail"]["closed_at"] = (NOW - timedelta(minutes=5)).isoformat()
    ticket = parse_ticket_event(event)
    assert isinstance(ticket, TicketClosed)
    outcome = domain.planner.plan_followup(ticket, NOW)
    assert outcome.result is PlanResult.PLANNED
    assert outcome.survey_id is not None
    return domain, outcome.survey_id


def status(domain: InMemoryDomain, survey_id: str) -> SurveyStatus:
    return domain.store.surveys[survey_id].status


# --- the email, once ------------------------------------------------------------------------------------


def test_a_due_survey_is_sent_as_one_email_in_the_customers_language() -> None:
    # GIVEN a survey due for Giulia, whose helpdesk says it-IT
    domain, survey_id = due_survey()
    # WHEN it is sent
    result = domain.sender.send_survey(survey_id, NOW)
    # THEN one email goes to her, from the deployment's sender, in Italian, about her ticket
    assert result is SendResult.SENT
    [email] = domain.mailer.sent
    assert (email.recipient_address, email.recipient_name) == (ADDRESS, "Giulia Rossi")
    assert (email.sender_address, email.sender_name) == (SENDER, "Support team")
    assert email.locale == "it"
    assert email.survey_id == survey_id
    assert "4521" in email.subject
    assert "Giulia" in email.text
    assert "Giulia" in email.html
    # AND the MIME message SES would receive was built from it
    assert domain.mailer.sent_bytes[0] > 1000


def test_a_sent_survey_is_recorded_with_the_message_id_and_its_answer_window() -> None:
    # GIVEN the default 28-day expiry
    domain, survey_id = due_survey()
    # WHEN the survey is sent
    domain.sender.send_survey(survey_id, NOW)
    # THEN it is marked sent with the mail service's id, taking answers for 28 days from now
    survey = domain.store.surveys[survey_id]
    assert survey.status is SurveyStatus.SENT
    assert survey.message_id == "message-1"
    assert (survey.sent_at, survey.expires_at) == (NOW, NOW + timedelta(days=28))


def test_the_send_is_announced_with_the_language_the_answer_window_and_the_snapshot() -> None:
    domain, survey_id = due_survey()

    domain.sender.send_survey(survey_id, NOW)

    assert domain.publisher.of("Survey Sent") == [
        {
            "version": 1,
            "helpdesk": "zendesk",
            "ticket_id": "4521",
            "survey_id": survey_id,
            "survey_type": "csat",
            "locale": "it",
            "sent_at": "2025-11-20T16:00:00Z",
            "expires_at": "2025-12-18T16:00:00Z",
            # the planning snapshot again, so reports of a period's sends need no earlier event
            "agent_id": "361245",
            "agent_name": "Marta Puig",
            "team_id": "20455932",
            "team_name": "Billing",
            "brand": "Acme",
            "channel": "email",
            "rule": None,
            "negative_answer": "reopen",
        }
    ]


def test_every_answer_link_is_signed_for_this_survey_and_carries_one_answer_of_its_scale() -> None:
    # GIVEN a CSAT survey
    domain, survey_id = due_survey()
    # WHEN it is sent
    domain.sender.send_survey(survey_id, NOW)
    # THEN the email links to answers 1 to 5, each under a token naming this survey until it expires
    [email] = domain.mailer.sent
    links = SURVEY_LINK.findall(email.text)
    assert [(key, value) for _, key, value in links] == [("score", str(value)) for value in range(1, 6)]
    signer = LinkSigner.from_secret(SIGNING_SECRET)
    for token, _, _ in links:
        claims = signer.verify(token, LinkPurpose.SURVEY, NOW)
        assert (claims.survey_id, claims.expires_at) == (survey_id, NOW + timedelta(days=28))


def test_a_resolved_survey_asks_yes_or_no_under_the_answer_key() -> None:
    domain, survey_id = due_survey(survey_type="resolved")

    domain.sender.send_survey(survey_id, NOW)

    [email] = domain.mailer.sent
    assert [(key, value) for _, key, value in SURVEY_LINK.findall(email.text)] == [
        ("answer", "yes"),
        ("answer", "no"),
    ]


def test_the_unsubscribe_link_is_signed_for_this_survey_and_outlives_it() -> None:
    domain, survey_id = due_survey()

    domain.sender.send_survey(survey_id, NOW)

    [email] = domain.mailer.sent
    assert email.unsubscribe_url.startswith(f"{PUBLIC_BASE_URL}/u/")
    token = email.unsubscribe_url.rsplit("/", 1)[1]
    claims = LinkSigner.from_secret(SIGNING_SECRET).verify(token, LinkPurpose.UNSUBSCRIBE, NOW)
    assert claims.survey_id == survey_id
    assert claims.expires_at > NOW + timedelta(days=28)


def test_a_redelivered_send_request_sends_nothing_more() -> None:
    # GIVEN a survey already sent
    domain, survey_id = due_survey()
    domain.sender.send_survey(survey_id, NOW)
    # WHEN its send request arrives again (SQS delivers at least once)
    again = domain.sender.send_survey(survey_id, NOW + timedelta(minutes=1))
    # THEN nothing is sent or announced a second time
    assert again is SendResult.NOT_PENDING
    assert len(domain.mailer.sent) == 1
    assert len(domain.publisher.of("Survey Sent")) == 1


class ContestedStore(InMemorySurveyStore):
    """A store where a concurrent delivery of the same send request claims the survey first."""

    def claim_for_sending(self, survey_id: str, now: datetime) -> None:
        super().claim_for_sending(survey_id, now)  # the concurrent delivery's claim
        super().claim_for_sending(survey_id, now)


def test_a_survey_claimed_by_a_concurrent_delivery_is_left_to_it() -> None:
    # GIVEN a concurrent delivery claims the survey between this one's read and its claim
    domain, survey_id = due_survey(store=ContestedStore())
    # WHEN this one tries to send
    result = domain.sender.send_survey(survey_id, NOW)
    # THEN it sends nothing and leaves the survey to the other
    assert result is SendResult.NOT_PENDING
    assert domain.mailer.attempts == 0
    assert status(domain, survey_id) is SurveyStatus.SENDING


# --- surveys that must not be sent ----------------------------------------------------------------------


def test_a_survey_cancelled_before_its_send_sends_nothing() -> None:
    # GIVEN the ticket was reopened after the survey was planned
    domain, survey_id = due_survey()
    event = load_event("canonical/ticket_reopened.json")
    reopened = parse_ticket_event(event)
    assert isinstance(reopened, TicketReopened)
    domain.planner.cancel_followup(reopened, NOW)
    # WHEN the send request arrives anyway (the schedule fired before it was deleted)
    result = domain.sender.send_survey(survey_id, NOW)
    # THEN nothing is sent
    assert result is SendResult.NOT_PENDING
    assert domain.mailer.attempts == 0
    assert status(domain, survey_id) is SurveyStatus.CANCELLED


def test_an_address_suppressed_after_planning_gets_no_email() -> None:
    # GIVEN Giulia unsubscribed (or bounced, or complained) after her survey was planned
    domain, survey_id = due_survey()
    domain.store.suppress(ADDRESS)
    # WHEN the survey is due
    result = domain.sender.send_survey(survey_id, NOW)
    # THEN no email is attempted; the survey is marked suppressed and that is announced
    assert result is SendResult.SUPPRESSED
    assert domain.mailer.attempts == 0
    assert status(domain, survey_id) is SurveyStatus.SUPPRESSED
    assert domain.publisher.of("Survey Suppressed") == [
        {
            "version": 1,
            "helpdesk": "zendesk",
            "ticket_id": "4521",
            "survey_id": survey_id,
            "reason": "address_suppressed",
        }
    ]


def test_a_suppressed_survey_delivered_again_is_not_announced_again() -> None:
    domain, survey_id = due_survey()
    domain.store.suppress(ADDRESS)
    domain.sender.send_survey(survey_id, NOW)

    assert domain.sender.send_survey(survey_id, NOW) is SendResult.NOT_PENDING
    assert len(domain.publisher.of("Survey Suppressed")) == 1


def test_an_unknown_survey_is_an_error() -> None:
    domain, _ = due_survey()

    with pytest.raises(UnknownSurveyError):
        domain.sender.send_survey("no-such-survey", NOW)
    assert domain.mailer.attempts == 0


@pytest.mark.parametrize("address", ["a,b@example.com", "<a>@example.com", "a..b@example.com"])
def test_an_address_no_email_can_carry_is_refused_before_the_survey_is_claimed(address: str) -> None:
    # GIVEN a survey stored with an address no email header can carry (planned before addresses were
    # checked at planning time)
    domain, survey_id = due_survey()
    survey = domain.store.surveys[survey_id]
    domain.store.surveys[survey_id] = dataclasses.replace(survey, customer_email=address)
    # WHEN it is due THEN it is refused with the rule it broke, never the address
    with pytest.raises(InvalidRecipientError) as refused:
        domain.sender.send_survey(survey_id, NOW)
    assert address not in str(refused.value)
    # AND nothing was attempted, and the survey is not left claimed
    assert domain.mailer.attempts == 0
    assert status(domain, survey_id) is SurveyStatus.PLANNED


def test_a_survey_left_claimed_by_an_unfinished_attempt_is_never_resent() -> None:
    # GIVEN an earlier attempt claimed the survey and never finished (it may have reached SES)
    domain, survey_id = due_survey()
    domain.store.claim_for_sending(survey_id, NOW)
    # WHEN the send request arrives again THEN it is an unknown outcome for a person to decide
    with pytest.raises(SendOutcomeUnknownError):
        domain.sender.send_survey(survey_id, NOW)
    assert domain.mailer.attempts == 0
    assert status(domain, survey_id) is SurveyStatus.SENDING


# --- when the mail service fails ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "raised", "left"),
    [
        (MailRetryableError("throttled"), MailRetryableError, SurveyStatus.PLANNED),
        (MailRejectedError("MessageRejected"), SendRejectedError, SurveyStatus.PLANNED),
        (MailRecipientUnverifiedError("SES sandbox"), RecipientNotVerifiedError, SurveyStatus.PLANNED),
        (MailOutcomeUnknownError("read timeout"), SendOutcomeUnknownError, SurveyStatus.SENDING),
    ],
    ids=["retryable", "rejected", "recipient-unverified", "outcome-unknown"],
)
def test_a_failed_send_raises_its_reason_and_records_nothing_as_sent(
    failure: Exception, raised: type[Exception], left: SurveyStatus
) -> None:
    # GIVEN the mail service fails the attempt
    domain, survey_id = due_survey()
    domain.mailer.failures.append(failure)
    # WHEN the survey is sent THEN the failure is raised as the sender's reason
    with pytest.raises(raised):
        domain.sender.send_survey(survey_id, NOW)
    # AND nothing is recorded or announced as sent; a survey not sent waits again, one that may have
    # been sent stays claimed
    assert domain.mailer.sent == []
    assert status(domain, survey_id) is left
    assert domain.publisher.of("Survey Sent") == []


@pytest.mark.parametrize(
    ("failure", "raised"),
    [
        (MailRetryableError("throttled"), MailRetryableError),
        (MailRejectedError("refused"), SendRejectedError),
    ],
    ids=["retry", "redrive"],
)
def test_a_survey_given_back_after_a_failure_is_sent_once_when_tried_again(
    failure: Exception, raised: type[Exception]
) -> None:
    # GIVEN an attempt the mail service did not take
    domain, survey_id = due_survey()
    domain.mailer.failures.append(failure)
    with pytest.raises(raised):
        domain.sender.send_survey(survey_id, NOW)
    # WHEN the request comes back (a retry after backoff, or a redrive once the cause is fixed)
    results = [domain.sender.send_survey(survey_id, NOW) for _ in range(2)]
    # THEN the survey is sent, once
    assert results == [SendResult.SENT, SendResult.NOT_PENDING]
    assert len(domain.mailer.sent) == 1
    assert status(domain, survey_id) is SurveyStatus.SENT


def test_after_an_unknown_outcome_no_redelivery_reaches_the_mail_service_again() -> None:
    # GIVEN an attempt whose answer never came (SES may have sent it)
    domain, survey_id = due_survey()
    domain.mailer.failures.append(MailOutcomeUnknownError("read timeout"))
    with pytest.raises(SendOutcomeUnknownError):
        domain.sender.send_survey(survey_id, NOW)
    # WHEN the request is delivered again THEN it is refused again without calling the mail service
    with pytest.raises(SendOutcomeUnknownError):
        domain.sender.send_survey(survey_id, NOW)
    assert domain.mailer.attempts == 1
    assert domain.mailer.sent == []


class UnrecordingStore(InMemorySurveyStore):
    """A store that fails to record the send (DynamoDB unavailable just after SES took the email)."""

    def mark_sent(
        self,
        survey_id: str,
        message_id: str,
        sent_at: datetime,
        expires_at: datetime,
        reminder_at: datetime | None = None,
    ) -> None:
        raise ConnectionError("table unavailable")


def test_an_email_sent_but_not_recorded_is_never_sent_again() -> None:
    # GIVEN the mail service takes the email, then recording it as sent fails
    domain, survey_id = due_survey(store=UnrecordingStore())
    with pytest.raises(ConnectionError):
        domain.sender.send_survey(survey_id, NOW)
    # WHEN the request is delivered again THEN it is an unknown outcome, and nothing is mailed twice
    with pytest.raises(SendOutcomeUnknownError):
        domain.sender.send_survey(survey_id, NOW)
    assert len(domain.mailer.sent) == 1
    assert domain.mailer.attempts == 1
    assert domain.publisher.of("Survey Sent") == []


# --- quiet hours, at the moment of sending --------------------------------------------------------------


def test_a_send_delivered_late_inside_quiet_hours_is_held_until_they_end() -> None:
    # GIVEN quiet hours 18:00-08:00, and Giulia's survey due at 17:00 in Rome (outside them)
    domain, survey_id = due_survey(quiet_hours=QuietHours.parse("18:00-08:00"))
    # WHEN SES throttling kept its send request waiting until 19:00 in Rome
    late = NOW + timedelta(hours=2)
    result = domain.sender.send_survey(survey_id, late)
    # THEN nothing is mailed, claimed or announced: the request is held until 08:00 in Rome (07:00 UTC)
    morning = datetime(2025, 11, 21, 7, 0, tzinfo=UTC)
    assert result is SendResult.HELD
    assert domain.scheduler.held == {(survey_id, False): morning}
    assert (domain.mailer.sent, status(domain, survey_id)) == ([], SurveyStatus.PLANNED)
    assert domain.publisher.of("Survey Sent") == []
    # AND delivered again in the night, it is held for the same moment
    assert domain.sender.send_survey(survey_id, late + timedelta(hours=3)) is SendResult.HELD
    assert domain.scheduler.held == {(survey_id, False): morning}
    # AND at the end of the quiet hours it is sent, once
    assert domain.sender.send_survey(survey_id, morning) is SendResult.SENT
    assert len(domain.mailer.sent) == 1


def test_a_send_inside_quiet_hours_is_sent_when_quiet_hours_are_off() -> None:
    domain, survey_id = due_survey()
    assert domain.sender.send_survey(survey_id, NOW + timedelta(hours=2)) is SendResult.SENT
    assert domain.scheduler.held == {}
