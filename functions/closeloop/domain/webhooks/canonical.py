"""What a helpdesk webhook becomes: a canonical ticket event for the bus, or a reason to ignore it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from closeloop.domain.tickets import TicketClosed, TicketReopened
from closeloop.domain.validation import validation_problems
from closeloop.domain.webhook_errors import WebhookPayloadError, WebhookTooLargeError

# The event's detail as put on the bus, leaving room within EventBridge's 256 KB for source and type.
MAX_EVENT_DETAIL_BYTES = 250 * 1024


@dataclass(frozen=True)
class Ignored:
    """An authentic event closeloop does not act on, and why."""

    reason: str
    ticket_id: str | None = None


def ticket_closed(fields: dict[str, Any]) -> TicketClosed:
    """Validate the canonical event; nested models are passed as dicts so errors name the full path."""
    try:
        return TicketClosed.model_validate(fields)
    except ValidationError as error:
        raise WebhookPayloadError(_validation_reason(error)) from error


def ticket_reopened(ticket_id: str, helpdesk: str, reopened_at: datetime) -> TicketReopened:
    """Validate the canonical event, so a hostile id or moment is a 400 with a reason, as for closes."""
    try:
        return TicketReopened.model_validate(
            {"ticket_id": ticket_id, "helpdesk": helpdesk, "reopened_at": reopened_at}
        )
    except ValidationError as error:
        raise WebhookPayloadError(_validation_reason(error)) from error


def event_detail(event: TicketClosed | TicketReopened) -> dict[str, Any]:
    """The event's detail as put on the bus; raises ``WebhookTooLargeError`` when EventBridge would
    refuse it for its size (a permanent condition: the same webhook would always be refused)."""
    detail = event.model_dump(mode="json", exclude_none=True)
    if len(json.dumps(detail).encode("utf-8")) > MAX_EVENT_DETAIL_BYTES:
        raise WebhookTooLargeError(f"the ticket event is over {MAX_EVENT_DETAIL_BYTES} bytes")
    return detail


def _validation_reason(error: ValidationError) -> str:
    """Field paths and messages only: pydantic's default text would echo the offending value."""
    return "invalid ticket: " + validation_problems(error, whole="payload")
