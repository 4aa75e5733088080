"""The events closeloop publishes (source ``closeloop``), one model per detail-type.

A business subscribes its own consumers to these; ``events/schemas/`` holds their JSON Schemas,
generated from these models. They carry ids and outcomes, never a customer's address or words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol

# Plain dataclasses: closeloop builds these itself (nothing to validate), and every function publishes
# some, so a validation library here would be on every cold start. ``closeloop schemas`` derives their
# JSON Schemas with pydantic, outside the functions.


ReopenSkipReason = Literal[
    "answer_changed",
    "already_reopened",
    "cap_reached",
    "please_look",
    "policy_alert",
    "policy_note",
    "note_refused",
]
# Why a reminder was not sent (closeloop.domain.surveys.ReminderSkipReason).
ReminderSkipReasonCode = Literal[
    "answered", "suppressed", "bounced", "complained", "reopened", "expired", "turned_off"
]
# What a judged answer asks for (closeloop.domain.surveys.VerdictAction).
AnswerAction = Literal["reopen", "alert", "none"]


@dataclass(frozen=True, kw_only=True)
class PublishedEvent:
    """What every event closeloop publishes carries: the contract version and the ticket it concerns."""

    detail_type: ClassVar[str]

    version: Literal[1] = 1
    helpdesk: str
    ticket_id: str


@dataclass(frozen=True, kw_only=True)
class SurveyPlanned(PublishedEvent):
    """A survey was planned for a solved ticket; it is sent at ``send_at``."""

    detail_type: ClassVar[str] = "Survey Planned"
    survey_id: str
    survey_type: str
    send_at: datetime
    agent_id: str | None = None
    team_id: str | None = None
    # The rules document's rule that applied (None: no rule matched) and what a negative answer will do.
    rule: str | None = None
    negative_answer: Literal["reopen", "alert", "note"] | None = None
    # The snapshot reports group by: the agent and team who solved the ticket (names as the helpdesk sent
    # them: the support team's own, never the customer's), the brand and channel.
    agent_name: str | None = None
    team_name: str | None = None
    brand: str | None = None
    channel: str | None = None


@dataclass(frozen=True, kw_only=True)
class SurveySkipped(PublishedEvent):
    """A solved ticket gets no survey; ``reason`` says why (an excluded tag, a recent survey, a rule,
    sampling, ...); ``rule`` names the rules document's rule that applied, if one matched."""

    detail_type: ClassVar[str] = "Survey Skipped"
    reason: str
    rule: str | None = None


@dataclass(frozen=True, kw_only=True)
class SurveyCancelled(PublishedEvent):
    """A planned survey was cancelled before it was sent: the ticket was reopened."""

    detail_type: ClassVar[str] = "Survey Cancelled"
    survey_id: str
    reason: Literal["ticket_reopened"] = "ticket_reopened"


@dataclass(frozen=True, kw_only=True)
class SurveySent(PublishedEvent):
    """The survey email was accepted by SES; answers are taken until ``expires_at``."""

    detail_type: ClassVar[str] = "Survey Sent"
    survey_id: str
    survey_type: str
    locale: str
    sent_at: datetime
    expires_at: datetime
    # The planning snapshot again (see SurveyPlanned), so a report of the surveys sent in a period needs
    # no event from before it.
    agent_id: str | None = None
    agent_name: str | None = None
    team_id: str | None = None
    team_name: str | None = None
    brand: str | None = None
    channel: str | None = None
    rule: str | None = None
    negative_answer: Literal["reopen", "alert", "note"] | None = None


@dataclass(frozen=True, kw_only=True)
class ReminderSent(PublishedEvent):
    """The survey's one reminder was accepted by SES: the customer had not answered after ReminderDays.

    It carries the first email's links, so answers still count toward the survey until ``expires_at``.
    """

    detail_type: ClassVar[str] = "Reminder Sent"
    survey_id: str
    survey_type: str
    locale: str
    sent_at: datetime
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class ReminderSkipped(PublishedEvent):
    """The survey's reminder was not sent, and never will be; ``reason`` says why."""

    detail_type: ClassVar[str] = "Reminder Skipped"
    survey_id: str
    reason: ReminderSkipReasonCode


@dataclass(frozen=True, kw_only=True)
class SurveySuppressed(PublishedEvent):
    """A survey was not sent: its address is suppressed (an earlier bounce, complaint or unsubscribe)."""

    detail_type: ClassVar[str] = "Survey Suppressed"
    survey_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class SurveyResponseReceived(PublishedEvent):
    """A customer answered (or changed their answer). Their comment stays in closeloop's table."""

    detail_type: ClassVar[str] = "Survey Response Received"
    survey_id: str
    response_id: str
    survey_type: str
    score: int | None
    resolved: bool | None
    reasons: list[str]
    negative: bool
    verdict: list[str]
    # reopen: the ticket will be reopened after the grace period; alert: the lead is asked to look, the
    # ticket stays as it is (mixed signals); none: nothing happens.
    action: AnswerAction
    has_comment: bool
    agent_id: str | None = None
    team_id: str | None = None
    received_at: datetime
    # "page" (the survey form) or "email" (a reply to the survey email).
    source: Literal["page", "email"] = "page"


@dataclass(frozen=True, kw_only=True)
class CaseReopened(PublishedEvent):
    """A negative answer reopened the ticket (or created a follow-up, or called the generic webhook)."""

    detail_type: ClassVar[str] = "Case Reopened"
    survey_id: str
    response_id: str
    action: Literal["reopened", "follow_up_created", "webhook_delivered"]
    helpdesk_ticket_id: str
    verdict: list[str]
    reopened_at: datetime


@dataclass(frozen=True, kw_only=True)
class ReopenSkipped(PublishedEvent):
    """A negative answer reopened nothing; ``reason`` says why (``please_look``: mixed signals, the lead was
    alerted instead)."""

    detail_type: ClassVar[str] = "Reopen Skipped"
    survey_id: str
    response_id: str
    reason: ReopenSkipReason


@dataclass(frozen=True, kw_only=True)
class CustomerUnsubscribed(PublishedEvent):
    """A customer unsubscribed from surveys through a survey's link."""

    detail_type: ClassVar[str] = "Customer Unsubscribed"
    survey_id: str
    unsubscribed_at: datetime


@dataclass(frozen=True, kw_only=True)
class CustomerSuppressed(PublishedEvent):
    """A survey email bounced for good or drew a spam complaint: its address is never surveyed again.

    Published once per survey and outcome; the address itself stays in closeloop's table.
    """

    detail_type: ClassVar[str] = "Customer Suppressed"
    survey_id: str
    reason: Literal["bounce", "complaint"]
    suppressed_at: datetime


PUBLISHED_EVENTS: tuple[type[PublishedEvent], ...] = (
    SurveyPlanned,
    SurveySkipped,
    SurveyCancelled,
    SurveySent,
    SurveySuppressed,
    ReminderSent,
    ReminderSkipped,
    SurveyResponseReceived,
    CaseReopened,
    ReopenSkipped,
    CustomerUnsubscribed,
    CustomerSuppressed,
)


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: Mapping[str, Any], source: str = ...) -> str:
        """Put one event on the bus and return its id; raises ``PublishError`` when it was not put."""
        ...


class PublishError(Exception):
    """The bus did not take the event, or may not have: the caller must not treat it as delivered.

    ``not_taken`` is true when the bus certainly did not take it (it answered with an error, refused the
    entry, or was never reached), false when the outcome is unknown (no answer in time).
    """

    def __init__(self, reason: str, *, not_taken: bool) -> None:
        super().__init__(reason)
        self.not_taken = not_taken


class EventRefusedError(PublishError):
    """The bus refused the entry itself (its size or its shape): no retry gets past it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, not_taken=True)


def published_detail(event: PublishedEvent) -> dict[str, Any]:
    """The event as its JSON contract says: moments in ISO 8601, UTC written ``Z``."""
    return {name: _json_value(value) for name, value in asdict(event).items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        text = value.isoformat()
        return text.removesuffix("+00:00") + "Z" if value.utcoffset() == timedelta(0) else text
    if isinstance(value, tuple | list):
        return [_json_value(item) for item in value]
    return value


def announce(publisher: EventPublisher, event: PublishedEvent) -> None:
    """Put one of closeloop's events on the bus, as its JSON contract says."""
    publisher.publish(event.detail_type, published_detail(event))
