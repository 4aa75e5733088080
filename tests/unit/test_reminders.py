"""The one reminder: a customer who has not answered after ReminderDays gets it once, with the same links,
and nobody else gets it.

Over the in-memory adapters (``closeloop_cli.in_memory``): the store claims a reminder once, as the
repository's conditional write does; the scheduler records the reminder's one-time schedule; the mailer
builds the MIME message SES would receive, or fails as SES would. ``tests/integration/test_reminders.py``
runs the same rules against DynamoDB, Scheduler and SES on moto.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from closeloop.domain.planning import PlanResult
from closeloop.domain.sending import (
    MailOutcomeUnknownError,
    MailRejectedError,
    MailRetryableError,
    SendOutcomeUnknownError,
    SendRejectedError,
    SendResult,
)
from closeloop.domain.surveys import ReminderSkipReason, ReminderStatus, Survey
from closeloop.domain.tickets import TicketClosed, TicketReopened, parse_ticket_event
from closeloop.domain.timing import QuietHours
from tests.conftest import load_event
from tests.fakes import InMemoryDomain, InMemorySurveyStore, in_memory_domain

NOW = datetime(2025, 11, 20, 16, 0, tzinfo=UTC)  # 17:00 in Rome, Giulia's zone
DUE = NOW + timedelta(days=3)  # ReminderDays' default


def sent_survey(
    store: InMemorySurveyStore | None = None, quiet_hours: str = "off", at: datetime = NOW, **settings: Any
) -> tuple[InMemoryDomain, str]:
    """Giulia's survey (it-IT, Europe/Rome), planned and sent at ``at``; the domain and its id."""
    domain = in_memory_domain(
        store=store, follow_up_delay_minutes=0, quiet_hours=QuietHours.parse(quiet_hours), **settings
    )
    event = load_event("canonical/ticket_closed.json")
    event["detail"]["closed_at"] = (at - timedelta(minutes=5)).isoformat()
    ticket = parse_ticket_event(event)
    assert isinstance(ticket, TicketClosed)
    outcome = domain.planner.plan_followup(ticket, at)
    assert outcome.result is PlanResult.PLANNED
    assert outcome.survey_id is not None
    assert domain.sender.send_survey(outcome.survey_id, at) is SendResult.SENT
    return domain, outcome.survey_id


def reminder_of(domain: InMemoryDomain, survey_id: str) -> ReminderStatus | None:
    return domain.store.surveys[survey_id].reminder


# --- when it is due -------------------------------------------------------------------------------------


def test_sending_a_survey_schedules_its_reminder_reminder_days_later() -> None:
    # GIVEN the default ReminderDays (3) WHEN Giulia's survey is sent
    domain, survey_id = sent_survey()
    # THEN one reminder is scheduled three days later
    assert domain.scheduler.reminders == {survey_id: DUE}
    survey = domain.store.surveys[survey_id]
    assert (survey.reminder, survey.reminder_at, survey.reminder_scheduled) == (
        ReminderStatus.SCHEDULED,
        DUE,
        True,
    )


def test_reminder_days_zero_sends_no_reminder() -> None:
    domain, survey_id = sent_survey(reminder_days=0)
    assert domain.scheduler.reminders == {}
    assert reminder_of(domain, survey_id) is None


def test_a_reminder_due_in_quiet_hours_moves_to_their_end_in_the_customers_zone() -> None:
    # GIVEN quiet hours 21:00-08:00, and a survey sent at 08:30 in Rome (06:30 UTC) on 23 October 2025
    domain, survey_id = sent_survey(quiet_hours="21:00-08:00", at=datetime(2025, 10, 23, 6, 30, tzinfo=UTC))
    # THEN the reminder, due three days later at 06:30 UTC, which is 07:30 in Rome once summer time has
    # ended on the 26th, waits for 08:00 in Rome (07:00 UTC)
    assert domain.scheduler.reminders[survey_id] == datetime(2025, 10, 26, 7, 0, tzinfo=UTC)


def test_a_reminder_that_would_come_after_the_survey_expires_is_not_planned() -> None:
    # GIVEN surveys that take answers for 2 days, and reminders after 3
    domain, survey_id = sent_survey(survey_expiry_days=2, reminder_days=3)
    # THEN the survey gets no reminder
    assert domain.scheduler.reminders == {}
    assert reminder_of(domain, survey_id) is None


def test_a_send_that_stopped_before_scheduling_the_reminder_is_finished_by_its_redelivery() -> None:
    # GIVEN the scheduler fails just after the survey email was sent and recorded
    domain = in_memory_domain(follow_up_delay_minutes=0, quiet_hours=QuietHours.parse("off"))
    domain.scheduler.failures.append(ConnectionError("scheduler unavailable"))
    event = load_event("canonical/ticket_closed.json")
    event["detail"]["closed_at"] = (NOW - timedelta(minutes=5)).isoformat()
    ticket = parse_ticket_event(event)
    assert isinstance(ticket, TicketClosed)
    survey_id = domain.planner.plan_followup(ticket, NOW).survey_id
    assert survey_id is not None
    with pytest.raises(ConnectionError):
        domain.sender.send_survey(survey_id, NOW)
    # WHEN the send request is delivered again
    result = domain.sender.send_survey(survey_id, NOW + timedelta(minutes=1))
    # THEN the reminder is scheduled for its original moment, and the survey email is not sent again
    assert result is SendResult.NOT_PENDING
    assert domain.scheduler.reminders == {survey_id: DUE}
    assert len(domain.mailer.sent) == 1


# --- the reminder, once, with the same links ------------------------------------------------------------


def test_an_unanswered_survey_gets_one_reminder_in_the_customers_language_with_the_same_links() -> None:
    # GIVEN Giulia has not answered her survey
    domain, survey_id = sent_survey(reply_domain="replies.acme.example")
    # WHEN her reminder is due
    result = domain.sender.send_reminder(survey_id, DUE)
    # THEN she gets a second email, in Italian, worded as a reminder, carrying the first one's links
    assert result is SendResult.SENT
    first, reminder = domain.mailer.sent
    assert reminder.recipient_address == first.recipient_address
    assert reminder.locale == "it"
    assert reminder.subject.startswith("Promemoria: ")
    assert "Questo è l\u2019unico promemoria che le invieremo." in reminder.text
    assert reminder.subject != first.subject
    assert reminder.unsubscribe_url == first.unsubscribe_url
    assert reminder.reply_to == first.reply_to
    first_links = [line for line in first.text.splitlines() if "/s/" in line]
    assert first_links
    assert [line for line in reminder.text.splitlines() if "/s/" in line] == first_links
    # AND it is recorded and announced, for reports to count
    assert domain.store.surveys[survey_id].reminder is ReminderStatus.SENT
    assert domain.store.surveys[survey_id].reminder_sent_at == DUE
    [sent] = domain.publisher.of("Reminder Sent")
    assert sent["survey_id"] == survey_id
    assert (sent["locale"], sent["sent_at"]) == ("it", "2025-11-23T16:00:00Z")


def test_a_reminder_delivered_twice_is_sent_once() -> None:
    domain, survey_id = sent_survey()
    assert domain.sender.send_reminder(survey_id, DUE) is SendResult.SENT
    assert domain.sender.send_reminder(survey_id, DUE + timedelta(minutes=1)) is SendResult.NOT_PENDING
    assert len(domain.mailer.sent) == 2
    assert len(domain.publisher.of("Reminder Sent")) == 1


def test_a_survey_that_was_never_sent_gets_no_reminder() -> None:
    domain = in_memory_domain(follow_up_delay_minutes=0, quiet_hours=QuietHours.parse("off"))
    event = load_event("canonical/ticket_closed.json")
    event["detail"]["closed_at"] = (NOW - timedelta(minutes=5)).isoformat()
    ticket = parse_ticket_event(event)
    assert isinstance(ticket, TicketClosed)
    survey_id = domain.planner.plan_followup(ticket, NOW).survey_id
    assert survey_id is not None
    assert domain.sender.send_reminder(survey_id, DUE) is SendResult.NOT_PENDING
    assert domain.mailer.sent == []


def test_a_reminder_delivered_late_inside_quiet_hours_is_held_until_they_end() -> None:
    # GIVEN quiet hours 18:00-08:00: Giulia's reminder is due at 17:00 in Rome on the 23rd
    domain, survey_id = sent_survey(quiet_hours="18:00-08:00")
    assert domain.scheduler.reminders[survey_id] == DUE
    # WHEN its delivery comes late, at 22:00 in Rome
    result = domain.sender.send_reminder(survey_id, DUE + timedelta(hours=5))
    # THEN nothing is mailed or claimed: it is held until 08:00 in Rome on the 24th (07:00 UTC)
    morning = datetime(2025, 11, 24, 7, 0, tzinfo=UTC)
    assert result is SendResult.HELD
    assert domain.scheduler.held == {(survey_id, True): morning}
    assert (len(domain.mailer.sent), reminder_of(domain, survey_id)) == (1, ReminderStatus.SCHEDULED)
    # AND at that moment it is sent, once
    assert domain.sender.send_reminder(survey_id, morning) is SendResult.SENT
    assert len(domain.mailer.sent) == 2


def test_a_held_reminder_the_customer_answered_overnight_is_skipped() -> None:
    domain, survey_id = sent_survey(quiet_hours="18:00-08:00")
    assert domain.sender.send_reminder(survey_id, DUE + timedelta(hours=5)) is SendResult.HELD
    answered(domain, survey_id)
    morning = datetime(2025, 11, 24, 7, 0, tzinfo=UTC)
    assert domain.sender.send_reminder(survey_id, morning) is SendResult.SKIPPED
    assert len(domain.mailer.sent) == 1


# --- cancelled by what the customer, their mailbox or the helpdesk did ----------------------------------


def answered(domain: InMemoryDomain, survey_id: str) -> None:
    domain.store.record_answer(survey_id)


def unsubscribed(domain: InMemoryDomain, survey_id: str) -> None:
    domain.store.suppress(domain.store.surveys[survey_id].customer_email)


def bounced(domain: InMemoryDomain, survey_id: str) -> None:
    survey = domain.store.surveys[survey_id]
    domain.store.surveys[survey_id] = dataclasses.replace(survey, delivery="bounced", delivery_at=NOW)
    domain.store.suppress(survey.customer_email)


def complained(domain: InMemoryDomain, survey_id: str) -> None:
    survey = domain.store.surveys[survey_id]
    domain.store.surveys[survey_id] = dataclasses.replace(survey, delivery="complained", delivery_at=NOW)
    domain.store.suppress(survey.customer_email)


@pytest.mark.parametrize(
    ("happened", "reason"),
    [
        (answered, ReminderSkipReason.ANSWERED),
        (unsubscribed, ReminderSkipReason.SUPPRESSED),
        (bounced, ReminderSkipReason.BOUNCED),
        (complained, ReminderSkipReason.COMPLAINED),
    ],
    ids=["answered or replied", "unsubscribed", "bounced", "complained"],
)
def test_the_reminder_is_skipped_when_the_survey_no_longer_wants_it(happened: Any, reason: str) -> None:
    # GIVEN Giulia's survey was sent, and then something happened to it
    domain, survey_id = sent_survey()
    happened(domain, survey_id)
    # WHEN its reminder is due
    result = domain.sender.send_reminder(survey_id, DUE)
    # THEN nothing is sent, and the skip is recorded with its reason and announced
    assert result is SendResult.SKIPPED
    assert len(domain.mailer.sent) == 1
    survey = domain.store.surveys[survey_id]
    assert (survey.reminder, survey.reminder_skip_reason) == (ReminderStatus.SKIPPED, reason)
    [skipped] = domain.publisher.of("Reminder Skipped")
    assert (skipped["survey_id"], skipped["reason"]) == (survey_id, reason.value)
    # AND a redelivery neither sends nor announces anything
    assert domain.sender.send_reminder(survey_id, DUE) is SendResult.NOT_PENDING
    assert len(domain.publisher.of("Reminder Skipped")) == 1


def test_a_reminder_that_fires_after_the_survey_expired_is_skipped() -> None:
    # GIVEN the reminder's schedule fires late, after the survey stopped taking answers
    domain, survey_id = sent_survey()
    expired = domain.store.surveys[survey_id].expires_at
    # THEN nothing is sent
    assert domain.sender.send_reminder(survey_id, expired) is SendResult.SKIPPED
    assert len(domain.mailer.sent) == 1
    assert domain.store.surveys[survey_id].reminder_skip_reason is ReminderSkipReason.EXPIRED


def test_reminders_turned_off_after_one_was_scheduled_send_nothing() -> None:
    # GIVEN a reminder scheduled under ReminderDays=3, then the deployment sets ReminderDays=0
    domain, survey_id = sent_survey()
    turned_off = in_memory_domain(store=domain.store, reminder_days=0)
    # WHEN the schedule fires THEN nothing is sent, and the skip says why
    assert turned_off.sender.send_reminder(survey_id, DUE) is SendResult.SKIPPED
    assert turned_off.mailer.sent == []
    assert domain.store.surveys[survey_id].reminder_skip_reason is ReminderSkipReason.TURNED_OFF


def test_a_reopened_ticket_cancels_the_reminder_of_its_sent_survey() -> None:
    # GIVEN Giulia's survey was sent, then her ticket is reopened in the helpdesk
    domain, survey_id = sent_survey()
    reopened = parse_ticket_event(load_event("canonical/ticket_reopened.json"))
    assert isinstance(reopened, TicketReopened)
    domain.planner.cancel_followup(reopened, NOW + timedelta(hours=1))
    # THEN the reminder is skipped, with its reason, and its schedule deleted
    survey = domain.store.surveys[survey_id]
    assert (survey.reminder, survey.reminder_skip_reason) == (
        ReminderStatus.SKIPPED,
        ReminderSkipReason.REOPENED,
    )
    assert domain.scheduler.reminders == {}
    [skipped] = domain.publisher.of("Reminder Skipped")
    assert skipped["reason"] == "reopened"
    # AND should the schedule have fired already, its delivery sends nothing
    assert domain.sender.send_reminder(survey_id, DUE) is SendResult.NOT_PENDING
    assert len(domain.mailer.sent) == 1


# --- failures around the mail service: one reminder at most ---------------------------------------------


def test_a_reminder_the_mail_service_could_not_take_waits_and_is_sent_once_later() -> None:
    domain, survey_id = sent_survey()
    domain.mailer.failures.append(MailRetryableError("throttled"))
    with pytest.raises(MailRetryableError):
        domain.sender.send_reminder(survey_id, DUE)
    assert reminder_of(domain, survey_id) is ReminderStatus.SCHEDULED
    assert domain.sender.send_reminder(survey_id, DUE + timedelta(minutes=5)) is SendResult.SENT
    assert len(domain.mailer.sent) == 2


def test_a_reminder_the_mail_service_refused_is_not_sent_and_waits_for_a_redrive() -> None:
    domain, survey_id = sent_survey()
    domain.mailer.failures.append(MailRejectedError("sender not verified"))
    with pytest.raises(SendRejectedError):
        domain.sender.send_reminder(survey_id, DUE)
    assert reminder_of(domain, survey_id) is ReminderStatus.SCHEDULED
    assert len(domain.mailer.sent) == 1


def test_a_reminder_whose_send_outcome_is_unknown_is_never_sent_again() -> None:
    # GIVEN the mail service did not answer in time: it may have sent the reminder
    domain, survey_id = sent_survey()
    domain.mailer.failures.append(MailOutcomeUnknownError("read timeout"))
    with pytest.raises(SendOutcomeUnknownError):
        domain.sender.send_reminder(survey_id, DUE)
    # WHEN the request is delivered again THEN it is refused again without calling the mail service
    with pytest.raises(SendOutcomeUnknownError):
        domain.sender.send_reminder(survey_id, DUE)
    assert domain.mailer.attempts == 2  # the survey email and the one reminder attempt
    assert reminder_of(domain, survey_id) is ReminderStatus.SENDING


class UnrecordingReminderStore(InMemorySurveyStore):
    """A store that fails to record the reminder's send (DynamoDB unavailable just after SES took it)."""

    def mark_reminder_sent(self, survey_id: str, message_id: str, now: datetime) -> None:
        raise ConnectionError("table unavailable")


def test_a_reminder_sent_but_not_recorded_is_never_sent_again() -> None:
    domain, survey_id = sent_survey(store=UnrecordingReminderStore())
    with pytest.raises(ConnectionError):
        domain.sender.send_reminder(survey_id, DUE)
    with pytest.raises(SendOutcomeUnknownError):
        domain.sender.send_reminder(survey_id, DUE)
    assert len(domain.mailer.sent) == 2
    assert domain.publisher.of("Reminder Sent") == []


class ConcurrentSenderStore(InMemorySurveyStore):
    """A store where another delivery of the same reminder claims it between this one's read and claim."""

    def get_survey(self, survey_id: str) -> Survey | None:
        survey = super().get_survey(survey_id)
        if survey is not None and survey.reminder is ReminderStatus.SCHEDULED:
            self.claim_reminder(survey_id, DUE)  # the other delivery wins the claim
        return survey


def test_a_reminder_claimed_by_a_concurrent_delivery_is_left_to_it() -> None:
    domain, survey_id = sent_survey(store=ConcurrentSenderStore())
    assert domain.sender.send_reminder(survey_id, DUE) is SendResult.NOT_PENDING
    assert len(domain.mailer.sent) == 1
