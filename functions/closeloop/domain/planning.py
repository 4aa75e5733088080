"""Planning a follow-up when a ticket is solved, and cancelling it when the ticket is reopened."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from closeloop.domain.eligibility import EligibilityRules, find_skip_reason
from closeloop.domain.messages import header_display_name, mailbox_problem
from closeloop.domain.policies import (
    AppliedPolicy,
    FixedRules,
    PolicyDefaults,
    RulesSource,
    apply_rules,
    in_sample,
)
from closeloop.domain.published import (
    EventPublisher,
    ReminderSkipped,
    SurveyCancelled,
    SurveyPlanned,
    SurveySkipped,
    announce,
)
from closeloop.domain.surveys import CustomerThrottledError as CustomerThrottledError  # re-exported
from closeloop.domain.surveys import DuplicateCloseError as DuplicateCloseError  # re-exported
from closeloop.domain.surveys import (
    NegativeAnswerPolicy,
    ReminderSkipReason,
    SkipReason,
    Survey,
    SurveyType,
    ticket_key,
)
from closeloop.domain.tickets import Agent, Team, TicketClosed, TicketReopened
from closeloop.domain.timing import QuietHours, customer_zone, send_time


class PlanningStore(Protocol):
    def find_close(self, ticket_key: str, closed_at: datetime) -> Survey | SkipReason | None: ...
    def is_suppressed(self, email: str) -> bool: ...
    def ticket_was_surveyed(self, ticket_key: str) -> bool: ...
    def create_survey(self, survey: Survey, throttle_until: datetime | None) -> None: ...
    def record_skip(self, ticket: TicketClosed, reason: SkipReason, now: datetime) -> None: ...
    def mark_scheduled(self, survey_id: str) -> None: ...
    def pending_surveys(self, ticket_key: str) -> list[Survey]: ...
    def cancel_survey(self, survey: Survey, now: datetime) -> bool: ...
    def waiting_reminders(self, ticket_key: str) -> list[Survey]: ...
    def skip_reminder(self, survey_id: str, reason: ReminderSkipReason, now: datetime) -> bool: ...


class SendScheduler(Protocol):
    def schedule_send(self, survey: Survey, now: datetime) -> None: ...
    def cancel_send(self, survey_id: str) -> None: ...
    def cancel_reminder(self, survey_id: str) -> None: ...


class PlanResult(StrEnum):
    PLANNED = "planned"
    SKIPPED = "skipped"
    DUPLICATE = "duplicate"
    RESUMED = "resumed"  # a crash left a stored survey unscheduled; this delivery finished the job


@dataclass(frozen=True)
class PlanOutcome:
    """What planning a ticket came to: a planned survey (with its send time) or a skip with its reason."""

    result: PlanResult
    survey_id: str | None = None
    reason: SkipReason | None = None
    send_at: datetime | None = None
    rule: str | None = None  # the rules document's rule that applied (None: none matched, or not reached)

    def log_fields(self) -> dict[str, Any]:
        """What the logs say about it: ids, codes and a time, nothing personal."""
        return {
            "result": self.result.value,
            "survey_id": self.survey_id,
            "reason": self.reason.value if self.reason else None,
            "send_at": self.send_at.isoformat() if self.send_at else None,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class PlanningPolicy:
    """The deployment's planning rules (``closeloop.wiring`` takes them from its settings)."""

    rules: EligibilityRules
    delay: timedelta
    quiet_hours: QuietHours
    default_timezone: str
    survey_type: SurveyType
    expiry: timedelta
    throttle: timedelta
    negative_answer: NegativeAnswerPolicy = "reopen"
    sample: float = 1.0

    @property
    def defaults(self) -> PolicyDefaults:
        """What applies where the rules document sets nothing."""
        return PolicyDefaults(
            survey_type=self.survey_type,
            delay=self.delay,
            negative_answer=self.negative_answer,
            sample=self.sample,
        )


def _new_survey_id() -> str:
    return uuid.uuid4().hex


class FollowUpPlanner:
    """Turns ticket events into stored, scheduled surveys (or recorded skips).

    ``rules`` is the business's rules document (``closeloop.domain.policies``), read for every ticket: a
    changed document applies to the next ticket, without a redeploy.
    """

    def __init__(
        self,
        store: PlanningStore,
        scheduler: SendScheduler,
        publisher: EventPublisher,
        policy: PlanningPolicy,
        new_id: Callable[[], str] = _new_survey_id,
        rules: RulesSource | None = None,
    ) -> None:
        self._store = store
        self._scheduler = scheduler
        self._publisher = publisher
        self._policy = policy
        self._new_id = new_id
        self._rules = rules or FixedRules()

    def policy_for(self, ticket: TicketClosed) -> AppliedPolicy:
        """The policy a ticket gets: the first matching rule over the deployment's parameters.

        Raises ``RulesUnavailableError`` when no valid rules document has been read yet.
        """
        return apply_rules(ticket, self._rules.current(), self._policy.defaults)

    def plan_followup(self, ticket: TicketClosed, now: datetime) -> PlanOutcome:
        """Plan one survey for one solve of a ticket, at most once however often the event arrives."""
        key = ticket_key(ticket.helpdesk, ticket.ticket_id)
        earlier = self._store.find_close(key, ticket.closed_at)
        if isinstance(earlier, Survey):
            return self._resume(earlier, now)
        if earlier is not None:
            return PlanOutcome(PlanResult.DUPLICATE, reason=earlier)

        applied = self.policy_for(ticket)
        if mailbox_problem(ticket.customer.email) is not None:
            # Checked here, not only before sending: a survey that can never be mailed is a skip with a
            # reason, not a planned survey that fails at its send.
            return self._skip(ticket, SkipReason.INVALID_ADDRESS, now, applied.rule)
        reason = find_skip_reason(
            ticket,
            self._policy.rules,
            now,
            address_suppressed=self._store.is_suppressed(ticket.customer.email),
            ticket_already_surveyed=self._store.ticket_was_surveyed(key),
        )
        if reason is None and not applied.survey:
            reason = SkipReason.RULE_NO_SURVEY
        if reason is None and not in_sample(ticket.helpdesk, ticket.ticket_id, applied.sample):
            # Decided last, so the share is of the tickets that could have been surveyed.
            reason = SkipReason.SAMPLED_OUT
        if reason is not None:
            return self._skip(ticket, reason, now, applied.rule)

        survey = self._new_survey(ticket, applied, now)
        throttle_until = now + self._policy.throttle if self._policy.throttle else None
        try:
            self._store.create_survey(survey, throttle_until)
        except DuplicateCloseError:
            return PlanOutcome(PlanResult.DUPLICATE)
        except CustomerThrottledError:
            return self._skip(ticket, SkipReason.THROTTLED, now, applied.rule)
        self._schedule_and_announce(survey, now)
        return PlanOutcome(
            PlanResult.PLANNED, survey_id=survey.survey_id, send_at=survey.send_at, rule=applied.rule
        )

    def cancel_followup(self, reopened: TicketReopened, now: datetime) -> list[str]:
        """Cancel every survey of the ticket that has not been sent yet, and the reminder of every one
        sent; returns the ids of the cancelled surveys."""
        self._skip_reminders(reopened, now)
        cancelled = []
        for survey in self._store.pending_surveys(ticket_key(reopened.helpdesk, reopened.ticket_id)):
            if self._store.cancel_survey(survey, now):
                self._scheduler.cancel_send(survey.survey_id)
                announce(
                    self._publisher,
                    SurveyCancelled(
                        helpdesk=survey.helpdesk, ticket_id=survey.ticket_id, survey_id=survey.survey_id
                    ),
                )
                cancelled.append(survey.survey_id)
        return cancelled

    def _skip_reminders(self, reopened: TicketReopened, now: datetime) -> None:
        """The reopened ticket's sent surveys send no reminder. The skip recorded on each survey is what
        stops it (the send checks it); deleting its schedule only saves a wasted delivery."""
        for survey in self._store.waiting_reminders(ticket_key(reopened.helpdesk, reopened.ticket_id)):
            if self._store.skip_reminder(survey.survey_id, ReminderSkipReason.REOPENED, now):
                announce(
                    self._publisher,
                    ReminderSkipped(
                        helpdesk=survey.helpdesk,
                        ticket_id=survey.ticket_id,
                        survey_id=survey.survey_id,
                        reason=ReminderSkipReason.REOPENED.value,
                    ),
                )
                self._scheduler.cancel_reminder(survey.survey_id)

    def _new_survey(self, ticket: TicketClosed, applied: AppliedPolicy, now: datetime) -> Survey:
        zone = customer_zone(ticket.customer.timezone, self._policy.default_timezone)
        send_at = send_time(ticket.closed_at, applied.delay, self._policy.quiet_hours, zone, now)
        return Survey(
            survey_id=self._new_id(),
            helpdesk=ticket.helpdesk,
            ticket_id=ticket.ticket_id,
            closed_at=ticket.closed_at,
            customer_email=ticket.customer.email,
            customer_name=header_display_name(ticket.customer.email, ticket.customer.name),
            locale=ticket.customer.locale,
            timezone=zone.key,
            survey_type=applied.survey_type,
            planned_at=now,
            send_at=send_at,
            expires_at=send_at + self._policy.expiry,
            subject=ticket.subject,
            brand=ticket.brand,
            channel=ticket.channel,
            url=ticket.url,
            tags=tuple(ticket.tags),
            agent=_snapshot(ticket.agent),
            team=_snapshot(ticket.team),
            rule=applied.rule,
            negative_answer=applied.negative_answer,
            sender_name=applied.sender_name,
        )

    def _resume(self, survey: Survey, now: datetime) -> PlanOutcome:
        if survey.scheduled:
            return PlanOutcome(PlanResult.DUPLICATE, survey_id=survey.survey_id)
        # The interrupted delivery stopped before its announcement (which follows the schedule's mark).
        self._schedule_and_announce(survey, now)
        return PlanOutcome(PlanResult.RESUMED, survey_id=survey.survey_id, send_at=survey.send_at)

    def _schedule_and_announce(self, survey: Survey, now: datetime) -> None:
        self._scheduler.schedule_send(survey, now)
        self._store.mark_scheduled(survey.survey_id)
        announce(
            self._publisher,
            SurveyPlanned(
                helpdesk=survey.helpdesk,
                ticket_id=survey.ticket_id,
                survey_id=survey.survey_id,
                survey_type=survey.survey_type,
                send_at=survey.send_at,
                agent_id=survey.agent.get("id"),
                team_id=survey.team.get("id"),
                rule=survey.rule,
                negative_answer=survey.negative_answer,
                agent_name=survey.agent.get("name"),
                team_name=survey.team.get("name"),
                brand=survey.brand,
                channel=survey.channel,
            ),
        )

    def _skip(
        self, ticket: TicketClosed, reason: SkipReason, now: datetime, rule: str | None = None
    ) -> PlanOutcome:
        try:
            self._store.record_skip(ticket, reason, now)
        except DuplicateCloseError:
            return PlanOutcome(PlanResult.DUPLICATE)
        announce(
            self._publisher,
            SurveySkipped(
                helpdesk=ticket.helpdesk, ticket_id=ticket.ticket_id, reason=reason.value, rule=rule
            ),
        )
        return PlanOutcome(PlanResult.SKIPPED, reason=reason, rule=rule)


def _snapshot(part: Agent | Team | None) -> dict[str, Any]:
    """The documented fields of the ticket's agent or team, as stored with the survey for reports.

    Unknown fields stay in the event but are not stored: they may hold anything a sender chose, such as
    a number DynamoDB cannot represent (found by the fuzzing campaign: a 300-digit integer crashed
    planning on every redelivery).
    """
    if part is None:
        return {}
    return part.model_dump(include=set(type(part).model_fields), exclude_none=True)
