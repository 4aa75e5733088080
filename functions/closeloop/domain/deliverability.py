"""Bounces and complaints: what SES reports about a survey email after accepting it.

SES publishes the events of closeloop's configuration set to the account's default EventBridge bus
(``source: aws.ses``). A permanent bounce or a spam complaint about a survey suppresses the address for
good (planning and sending skip suppressed addresses) and marks the survey undeliverable. A transient or
undetermined bounce changes nothing: SES reports those only after its own retries, and the mailbox may
work again next month. Events about other mail (the lead alert, other applications in the account) are
recognised by their tags and left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from closeloop.domain.messages import SURVEY_ID_TAG_NAME, SURVEY_TAG_NAME, SURVEY_TAG_VALUE
from closeloop.domain.published import CustomerSuppressed, EventPublisher, announce
from closeloop.domain.queue_messages import MalformedMessageError, json_object
from closeloop.domain.surveys import Survey
from closeloop.domain.validation import validation_problems

SES_SOURCE = "aws.ses"


# RFC 5965 feedback type of a report saying the message is NOT spam: no reason to stop writing.
NOT_SPAM_FEEDBACK = "not-spam"


class InvalidDeliveryEventError(MalformedMessageError):
    """The message is not an SES bounce or complaint event; the text says why (no addresses in it)."""


class UndeliverableReason(StrEnum):
    """Why an address is suppressed after SES delivered (or failed to deliver) a survey."""

    BOUNCE = "bounce"
    COMPLAINT = "complaint"

    @property
    def delivery(self) -> str:
        """The survey's ``delivery`` attribute for this reason."""
        return {"bounce": "bounced", "complaint": "complained"}[self.value]


class DeliveryResult(StrEnum):
    SUPPRESSED = "suppressed"  # the recipients are suppressed (and the survey marked, when known)
    SOFT_BOUNCE = "soft_bounce"  # transient or undetermined bounce: nothing to do
    NOT_SPAM = "not_spam"  # a feedback report saying the email was not spam
    NOT_A_SURVEY = "not_a_survey"  # mail closeloop did not tag as a survey (lead alerts, other senders)
    IGNORED = "ignored"  # an event type closeloop does not act on (delivery, open, ...)


class _Recipient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    email_address: str = Field(alias="emailAddress", min_length=3)


class _Bounce(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    bounce_type: str = Field(alias="bounceType")
    bounce_sub_type: str | None = Field(default=None, alias="bounceSubType")
    bounced_recipients: list[_Recipient] = Field(alias="bouncedRecipients", min_length=1)


class _Complaint(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    complained_recipients: list[_Recipient] = Field(alias="complainedRecipients", min_length=1)
    complaint_feedback_type: str | None = Field(default=None, alias="complaintFeedbackType")
    complaint_sub_type: str | None = Field(default=None, alias="complaintSubType")


class _Mail(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: str = Field(alias="messageId")
    tags: dict[str, list[str]] = Field(default_factory=dict)


class _Detail(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: str = Field(alias="eventType")
    mail: _Mail
    bounce: _Bounce | None = None
    complaint: _Complaint | None = None


@dataclass(frozen=True)
class DeliveryEvent:
    """The parts of an SES event that matter here. ``recipients`` are addresses: never log them."""

    event_type: str  # SES's eventType: Bounce, Complaint, Delivery, ...
    message_id: str
    tags: Mapping[str, tuple[str, ...]]
    recipients: tuple[str, ...] = ()
    bounce_type: str | None = None  # Permanent, Transient, Undetermined
    bounce_sub_type: str | None = None
    feedback_type: str | None = None  # abuse, fraud, not-spam, ... (often absent)

    @property
    def is_survey(self) -> bool:
        return SURVEY_TAG_VALUE in self.tags.get(SURVEY_TAG_NAME, ())

    @property
    def survey_id(self) -> str | None:
        values = self.tags.get(SURVEY_ID_TAG_NAME, ())
        return values[0] if values else None

    def log_fields(self) -> dict[str, Any]:
        """What the logs say about it: SES's ids and types, never the recipients."""
        return {
            "ses_message_id": self.message_id,
            "event_type": self.event_type,
            "bounce_type": self.bounce_type,
            "bounce_sub_type": self.bounce_sub_type,
            "feedback_type": self.feedback_type,
        }


def parse_delivery_event(event: object) -> DeliveryEvent:
    """Validate an SES event as EventBridge delivers it: ``source: aws.ses``, SES's record in ``detail``."""
    if not isinstance(event, Mapping) or event.get("source") != SES_SOURCE:
        source = event.get("source") if isinstance(event, Mapping) else type(event).__name__
        raise InvalidDeliveryEventError(f"not an SES event: source {source!r}")
    detail_type = event.get("detail-type")
    try:
        detail = _Detail.model_validate(event.get("detail"))
        if detail.event_type == "Bounce" and detail.bounce is None:
            raise InvalidDeliveryEventError(f"invalid {detail_type}: bounce: Field required")
        if detail.event_type == "Complaint" and detail.complaint is None:
            raise InvalidDeliveryEventError(f"invalid {detail_type}: complaint: Field required")
    except ValidationError as error:
        # Where and what, never the offending values: they are email addresses.
        raise InvalidDeliveryEventError(f"invalid {detail_type}: {validation_problems(error)}") from error
    tags = {name: tuple(values) for name, values in detail.mail.tags.items()}
    if detail.bounce is not None and detail.event_type == "Bounce":
        return DeliveryEvent(
            event_type=detail.event_type,
            message_id=detail.mail.message_id,
            tags=tags,
            recipients=tuple(r.email_address for r in detail.bounce.bounced_recipients),
            bounce_type=detail.bounce.bounce_type,
            bounce_sub_type=detail.bounce.bounce_sub_type,
        )
    if detail.complaint is not None and detail.event_type == "Complaint":
        return DeliveryEvent(
            event_type=detail.event_type,
            message_id=detail.mail.message_id,
            tags=tags,
            recipients=tuple(r.email_address for r in detail.complaint.complained_recipients),
            feedback_type=detail.complaint.complaint_feedback_type,
        )
    return DeliveryEvent(event_type=detail.event_type, message_id=detail.mail.message_id, tags=tags)


def parse_delivery_event_message(body: str) -> DeliveryEvent:
    """A delivery queue message: the SES event exactly as the EventBridge rule puts it on the queue."""
    return parse_delivery_event(json_object(body, InvalidDeliveryEventError, "an SES event from EventBridge"))


@dataclass(frozen=True)
class DeliveryDecision:
    """What an SES event asks of closeloop: suppress these recipients for this reason, or nothing."""

    result: DeliveryResult
    reason: UndeliverableReason | None = None
    recipients: tuple[str, ...] = ()


def decide(event: DeliveryEvent) -> DeliveryDecision:
    """The rules: a permanent bounce or a complaint about a survey suppresses; nothing else does."""
    if not event.is_survey:
        return DeliveryDecision(DeliveryResult.NOT_A_SURVEY)
    if event.event_type == "Bounce":
        if event.bounce_type != "Permanent":
            return DeliveryDecision(DeliveryResult.SOFT_BOUNCE)
        return DeliveryDecision(DeliveryResult.SUPPRESSED, UndeliverableReason.BOUNCE, event.recipients)
    if event.event_type == "Complaint":
        if (event.feedback_type or "").lower() == NOT_SPAM_FEEDBACK:
            return DeliveryDecision(DeliveryResult.NOT_SPAM)
        return DeliveryDecision(DeliveryResult.SUPPRESSED, UndeliverableReason.COMPLAINT, event.recipients)
    return DeliveryDecision(DeliveryResult.IGNORED)


class DeliverabilityStore(Protocol):
    def get_survey(self, survey_id: str) -> Survey | None: ...
    def is_suppressed(self, email: str) -> bool: ...
    def suppress(self, email: str, reason: str, now: datetime) -> None: ...
    def mark_undeliverable(self, survey_id: str, reason: UndeliverableReason, now: datetime) -> bool: ...


@dataclass(frozen=True)
class DeliveryOutcome:
    """What recording one SES event did. Counts and ids only: safe to log."""

    result: DeliveryResult
    reason: UndeliverableReason | None = None
    survey_id: str | None = None
    newly_suppressed: int = 0
    survey_marked: bool = False
    announced: bool = False

    def log_fields(self) -> dict[str, Any]:
        """What the logs say about it: the survey, the result and its reason, how many were suppressed."""
        return {
            "survey_id": self.survey_id,
            "result": self.result.value,
            "reason": self.reason.value if self.reason else None,
            "newly_suppressed": self.newly_suppressed,
        }


class DeliverabilityRecorder:
    """Turns SES bounce and complaint events into suppressions, survey marks and ``Customer Suppressed``."""

    def __init__(self, store: DeliverabilityStore, publisher: EventPublisher) -> None:
        self._store = store
        self._publisher = publisher

    def record_delivery_event(self, event: DeliveryEvent, now: datetime) -> DeliveryOutcome:
        """Apply one SES event. Safe to repeat: EventBridge and SQS deliver at least once.

        The address is suppressed even when the survey is unknown (an email sent before surveys carried
        their id, or a survey already expired from the table). An address that was already suppressed
        keeps its first reason (an unsubscription stays an unsubscription). ``Customer Suppressed`` is
        published before the survey is marked, and only while it is not marked yet, so a crash in between
        repeats the event rather than losing it.
        """
        decision = decide(event)
        if decision.reason is None:
            return DeliveryOutcome(decision.result, survey_id=event.survey_id)
        reason = decision.reason
        newly = 0
        for address in dict.fromkeys(address.strip().lower() for address in decision.recipients):
            if not self._store.is_suppressed(address):
                self._store.suppress(address, reason.value, now)
                newly += 1
        survey = self._store.get_survey(event.survey_id) if event.survey_id else None
        if survey is None:
            return DeliveryOutcome(decision.result, reason, event.survey_id, newly)
        if survey.delivery == reason.delivery:
            return DeliveryOutcome(decision.result, reason, survey.survey_id, newly, survey_marked=True)
        announce(
            self._publisher,
            CustomerSuppressed(
                helpdesk=survey.helpdesk,
                ticket_id=survey.ticket_id,
                survey_id=survey.survey_id,
                reason="bounce" if reason is UndeliverableReason.BOUNCE else "complaint",
                suppressed_at=now,
            ),
        )
        marked = self._store.mark_undeliverable(survey.survey_id, reason, now)
        return DeliveryOutcome(decision.result, reason, survey.survey_id, newly, marked, announced=True)
