"""In-memory adapters of closeloop's domain ports, for the benchmark and the unit tests.

Each one keeps what it was given in plain attributes a test can read, and follows the rules of the
adapter it stands in for (conditional writes, one claim per survey, one throttle per customer), so the
domain behaves over them as it does over DynamoDB, EventBridge Scheduler, EventBridge and SES. Nothing
here touches AWS: closeloop's adapters and wiring are imported only where a function needs them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closeloop.domain.sending import OutgoingEmail
from closeloop.domain.surveys import (
    CustomerThrottledError,
    DuplicateCloseError,
    ReminderNotClaimableError,
    ReminderSkipReason,
    ReminderStatus,
    SkipReason,
    Survey,
    SurveyNotClaimableError,
    SurveyStatus,
    customer_key,
    ticket_key,
)
from closeloop.domain.tickets import TicketClosed

if TYPE_CHECKING:
    from closeloop.adapters.rendering import EmailRenderer
    from closeloop.config import Settings
    from closeloop.domain.planning import FollowUpPlanner
    from closeloop.domain.policies import RulesSource
    from closeloop.domain.sending import SurveySender

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SENDER = "support@acme.example"
PUBLIC_BASE_URL = "https://surveys.acme.example"
# Link-signing keys as the secret holds them (wiring builds a LinkSigner from it per use).
SIGNING_SECRET: Mapping[str, str] = {"active": "k1", "k1": "in-memory-signing-key-" + "x" * 42}


class InMemorySurveyStore:
    """``PlanningStore`` and ``SendingStore`` in dictionaries, with the repository's conditional rules."""

    def __init__(self) -> None:
        self.surveys: dict[str, Survey] = {}
        self.closes: dict[tuple[str, datetime], str | SkipReason] = {}
        self.by_ticket: dict[str, list[str]] = {}
        self.suppressed: set[str] = set()  # customer keys
        self.throttles: dict[str, tuple[datetime, str]] = {}  # customer key -> (until, survey id)
        self.skips: list[tuple[str, SkipReason]] = []
        self.answered: set[str] = set()  # survey ids with at least one answer
        self.message_ids: dict[str, str] = {}  # message id -> survey id (a reply's In-Reply-To)

    def record_answer(self, survey_id: str) -> None:
        """The customer answered this survey (on the page, or by replying to its email)."""
        self.answered.add(survey_id)

    def suppress(self, email: str) -> None:
        """Never survey this address again (what an unsubscribe, bounce or complaint does)."""
        self.suppressed.add(customer_key(email))

    def find_close(self, ticket_key: str, closed_at: datetime) -> Survey | SkipReason | None:
        found = self.closes.get((ticket_key, closed_at))
        if found is None or isinstance(found, SkipReason):  # a SkipReason is a str too: test it first
            return found
        return self.surveys[found]

    def is_suppressed(self, email: str) -> bool:
        return customer_key(email) in self.suppressed

    def ticket_was_surveyed(self, ticket_key: str) -> bool:
        sent = (SurveyStatus.SENT, SurveyStatus.SENDING)
        return any(self.surveys[survey_id].status in sent for survey_id in self.by_ticket.get(ticket_key, ()))

    def create_survey(self, survey: Survey, throttle_until: datetime | None) -> None:
        """The solve's marker, the survey and the customer's throttle, all written or none."""
        if (survey.ticket_key, survey.closed_at) in self.closes:
            raise DuplicateCloseError(survey.ticket_key)
        until, _ = self.throttles.get(survey.customer_key, (survey.planned_at, ""))
        if throttle_until is not None and until > survey.planned_at:  # an expired throttle is no throttle
            raise CustomerThrottledError(survey.ticket_key)
        self.surveys[survey.survey_id] = survey
        self.closes[(survey.ticket_key, survey.closed_at)] = survey.survey_id
        self.by_ticket.setdefault(survey.ticket_key, []).append(survey.survey_id)
        if throttle_until is not None:
            self.throttles[survey.customer_key] = (throttle_until, survey.survey_id)

    def record_skip(self, ticket: TicketClosed, reason: SkipReason, now: datetime) -> None:
        key = ticket_key(ticket.helpdesk, ticket.ticket_id)
        if (key, ticket.closed_at) in self.closes:
            raise DuplicateCloseError(key)
        self.closes[(key, ticket.closed_at)] = reason
        self.skips.append((key, reason))

    def mark_scheduled(self, survey_id: str) -> None:
        self.surveys[survey_id] = dataclasses.replace(self.surveys[survey_id], scheduled=True)

    def pending_surveys(self, ticket_key: str) -> list[Survey]:
        surveys = (self.surveys[survey_id] for survey_id in self.by_ticket.get(ticket_key, ()))
        return [survey for survey in surveys if survey.status is SurveyStatus.PLANNED]

    def cancel_survey(self, survey: Survey, now: datetime) -> bool:
        """Cancel a survey that is still waiting; also frees the customer's throttle it took."""
        if not self._transition(survey.survey_id, SurveyStatus.PLANNED, SurveyStatus.CANCELLED):
            return False
        if self.throttles.get(survey.customer_key, (now, ""))[1] == survey.survey_id:
            del self.throttles[survey.customer_key]
        return True

    def get_survey(self, survey_id: str) -> Survey | None:
        return self.surveys.get(survey_id)

    def mark_suppressed(self, survey_id: str, now: datetime) -> None:
        self._transition(survey_id, SurveyStatus.PLANNED, SurveyStatus.SUPPRESSED)

    def claim_for_sending(self, survey_id: str, now: datetime) -> None:
        if not self._transition(survey_id, SurveyStatus.PLANNED, SurveyStatus.SENDING):
            raise SurveyNotClaimableError(survey_id)

    def release_claim(self, survey_id: str, now: datetime) -> None:
        self._transition(survey_id, SurveyStatus.SENDING, SurveyStatus.PLANNED)

    def mark_sent(
        self,
        survey_id: str,
        message_id: str,
        sent_at: datetime,
        expires_at: datetime,
        reminder_at: datetime | None = None,
    ) -> None:
        survey = self.surveys[survey_id]
        if survey.status is not SurveyStatus.SENDING:
            raise RuntimeError(f"survey {survey_id} is {survey.status}, not sending")
        self.message_ids[message_id] = survey_id
        self.surveys[survey_id] = dataclasses.replace(
            survey,
            status=SurveyStatus.SENT,
            message_id=message_id,
            sent_at=sent_at,
            expires_at=expires_at,
            reminder=ReminderStatus.SCHEDULED if reminder_at is not None else None,
            reminder_at=reminder_at,
        )

    def mark_reminder_scheduled(self, survey_id: str) -> None:
        self.surveys[survey_id] = dataclasses.replace(self.surveys[survey_id], reminder_scheduled=True)

    def has_answer(self, survey_id: str) -> bool:
        return survey_id in self.answered

    def claim_reminder(self, survey_id: str, now: datetime) -> None:
        if not self._reminder_transition(survey_id, ReminderStatus.SCHEDULED, ReminderStatus.SENDING):
            raise ReminderNotClaimableError(survey_id)

    def release_reminder(self, survey_id: str, now: datetime) -> None:
        self._reminder_transition(survey_id, ReminderStatus.SENDING, ReminderStatus.SCHEDULED)

    def mark_reminder_sent(self, survey_id: str, message_id: str, now: datetime) -> None:
        if self.surveys[survey_id].reminder is not ReminderStatus.SENDING:
            raise RuntimeError(f"the reminder of survey {survey_id} is not being sent")
        self.message_ids[message_id] = survey_id
        self.surveys[survey_id] = dataclasses.replace(
            self.surveys[survey_id], reminder=ReminderStatus.SENT, reminder_sent_at=now
        )

    def skip_reminder(self, survey_id: str, reason: ReminderSkipReason, now: datetime) -> bool:
        if not self._reminder_transition(survey_id, ReminderStatus.SCHEDULED, ReminderStatus.SKIPPED):
            return False
        self.surveys[survey_id] = dataclasses.replace(self.surveys[survey_id], reminder_skip_reason=reason)
        return True

    def waiting_reminders(self, ticket_key: str) -> list[Survey]:
        surveys = (self.surveys[survey_id] for survey_id in self.by_ticket.get(ticket_key, ()))
        return [survey for survey in surveys if survey.reminder is ReminderStatus.SCHEDULED]

    def _reminder_transition(self, survey_id: str, source: ReminderStatus, target: ReminderStatus) -> bool:
        survey = self.surveys.get(survey_id)
        if survey is None or survey.reminder is not source:
            return False
        self.surveys[survey_id] = dataclasses.replace(survey, reminder=target)
        return True

    def _transition(self, survey_id: str, source: SurveyStatus, target: SurveyStatus) -> bool:
        survey = self.surveys.get(survey_id)
        if survey is None or survey.status is not source:
            return False
        self.surveys[survey_id] = survey.with_status(target)
        return True


class RecordingScheduler:
    """``SendScheduler`` and ``LaterSends`` that remember what they were asked to schedule.

    ``failures`` are raised by the next calls to ``schedule_reminder``, in order (each schedules nothing).
    """

    def __init__(self) -> None:
        self.scheduled: dict[str, datetime] = {}
        self.reminders: dict[str, datetime] = {}
        # Requests handed back until the end of quiet hours: (survey id, reminder?) -> until.
        self.held: dict[tuple[str, bool], datetime] = {}
        self.failures: list[Exception] = []

    def schedule_send(self, survey: Survey, now: datetime) -> None:
        self.scheduled[survey.survey_id] = survey.send_at

    def cancel_send(self, survey_id: str) -> None:
        self.scheduled.pop(survey_id, None)

    def schedule_reminder(self, survey_id: str, at: datetime, now: datetime) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.reminders[survey_id] = at

    def cancel_reminder(self, survey_id: str) -> None:
        self.reminders.pop(survey_id, None)

    def hold(self, survey_id: str, *, reminder: bool, until: datetime, now: datetime) -> None:
        self.held[(survey_id, reminder)] = until


class RecordingPublisher:
    """``EventPublisher`` that keeps every published event, in order; event ids count from 1."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def publish(self, detail_type: str, detail: Mapping[str, Any], source: str = "closeloop") -> str:
        self.events.append((detail_type, dict(detail)))
        return f"event-{len(self.events)}"

    def of(self, detail_type: str) -> list[dict[str, Any]]:
        """The details of every event of this type, in order."""
        return [detail for kind, detail in self.events if kind == detail_type]


class MimeBuildingMailer:
    """``Mailer`` that builds the raw MIME message SES would receive, and keeps each email and its size.

    ``failures`` are what the mail service answers to the next attempts, in order (``MailRetryableError``,
    ``MailRejectedError``, ``MailOutcomeUnknownError``...): each is raised by one call, which sends nothing.
    Message ids count from 1, as ``message-1``.
    """

    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []
        self.sent_bytes: list[int] = []
        self.attempts = 0
        self.failures: list[Exception] = []

    def send(self, email: OutgoingEmail, now: datetime) -> str:
        from closeloop.adapters.mail import build_mime

        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent_bytes.append(len(build_mime(email, now)))
        self.sent.append(email)
        return f"message-{len(self.sent)}"


@dataclass
class InMemoryDomain:
    """The planner and sender over the in-memory adapters, with the settings they were built from."""

    settings: Settings
    store: InMemorySurveyStore
    scheduler: RecordingScheduler
    publisher: RecordingPublisher
    mailer: MimeBuildingMailer
    renderer: EmailRenderer
    planner: FollowUpPlanner
    sender: SurveySender


def in_memory_domain(
    templates: Path = TEMPLATES,
    *,
    store: InMemorySurveyStore | None = None,
    rules: RulesSource | None = None,
    **settings: Any,
) -> InMemoryDomain:
    """The planner and sender as ``closeloop.wiring`` builds them, over in-memory adapters.

    The settings are the production defaults (the template parameters' defaults), with the sender, the
    public base URL and the templates set, and any ``settings`` given (``Settings`` field names). Both
    share ``store`` (a new ``InMemorySurveyStore`` unless given); the planner reads ``rules`` (no rules
    unless given).
    """
    from closeloop.adapters.rendering import EmailRenderer
    from closeloop.config import Settings
    from closeloop.domain.links import LinkSigner
    from closeloop.domain.planning import FollowUpPlanner
    from closeloop.domain.sending import SurveySender
    from closeloop.wiring import planning_policy, sending_policy

    config = Settings(
        **{
            "templates_path": str(templates),
            "sender_address": SENDER,
            "public_base_url": PUBLIC_BASE_URL,
            **settings,
        }
    )
    store = store if store is not None else InMemorySurveyStore()
    scheduler, publisher, mailer = RecordingScheduler(), RecordingPublisher(), MimeBuildingMailer()
    renderer = EmailRenderer(templates, config.default_locale, config.supported_locales)
    planner = FollowUpPlanner(store, scheduler, publisher, planning_policy(config), rules=rules)
    sender = SurveySender(
        store,
        renderer,
        mailer,
        lambda: LinkSigner.from_secret(SIGNING_SECRET),  # as wiring does: built per use from the secret
        publisher,
        sending_policy(config),
        later=lambda: scheduler,
    )
    return InMemoryDomain(config, store, scheduler, publisher, mailer, renderer, planner, sender)
