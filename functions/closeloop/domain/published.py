"""The events closeloop publishes (source ``closeloop``), one model per detail-type.

A business subscribes its own consumers to these; ``events/schemas/`` holds their JSON Schemas,
generated from these models. They carry ids and outcomes, never a customer's address or words.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict


class PublishedEvent(BaseModel):
    # Each function publishes a few of these events: a schema is built when its event is first published.
    model_config = ConfigDict(frozen=True, defer_build=True)
    detail_type: ClassVar[str]

    version: Literal[1] = 1
    helpdesk: str
    ticket_id: str


class SurveyPlanned(PublishedEvent):
    detail_type: ClassVar[str] = "Survey Planned"
    survey_id: str
    survey_type: str
    send_at: datetime
    agent_id: str | None = None
    team_id: str | None = None


class SurveySkipped(PublishedEvent):
    detail_type: ClassVar[str] = "Survey Skipped"
    reason: str


class SurveyCancelled(PublishedEvent):
    detail_type: ClassVar[str] = "Survey Cancelled"
    survey_id: str
    reason: Literal["ticket_reopened"] = "ticket_reopened"


class SurveySent(PublishedEvent):
    detail_type: ClassVar[str] = "Survey Sent"
    survey_id: str
    survey_type: str
    locale: str
    sent_at: datetime
    expires_at: datetime


class SurveySuppressed(PublishedEvent):
    detail_type: ClassVar[str] = "Survey Suppressed"
    survey_id: str
    reason: str


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
    has_comment: bool
    agent_id: str | None = None
    team_id: str | None = None
    received_at: datetime


class CaseReopened(PublishedEvent):
    detail_type: ClassVar[str] = "Case Reopened"
    survey_id: str
    response_id: str
    action: Literal["reopened", "follow_up_created", "webhook_delivered"]
    helpdesk_ticket_id: str
    verdict: list[str]
    reopened_at: datetime


class ReopenSkipped(PublishedEvent):
    detail_type: ClassVar[str] = "Reopen Skipped"
    survey_id: str
    response_id: str
    reason: Literal["answer_changed", "already_reopened", "cap_reached"]


class CustomerUnsubscribed(PublishedEvent):
    detail_type: ClassVar[str] = "Customer Unsubscribed"
    survey_id: str
    unsubscribed_at: datetime


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
    SurveyResponseReceived,
    CaseReopened,
    ReopenSkipped,
    CustomerUnsubscribed,
    CustomerSuppressed,
)


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: Mapping[str, Any], source: str = ...) -> str: ...


def announce(publisher: EventPublisher, event: PublishedEvent) -> None:
    """Put one of closeloop's events on the bus, as its JSON contract says."""
    publisher.publish(event.detail_type, event.model_dump(mode="json"))
