"""What a Zendesk webhook means: a ticket ``status_changed`` event, read as a close or a reopen.

A close needs the requester's address, which the event does not carry: the caller looks the requester
(and the assignee and group) up in Zendesk's API between ``interpret_zendesk_event`` and
``zendesk_ticket_closed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from closeloop.domain.tickets import TicketClosed, TicketReopened
from closeloop.domain.webhook_errors import WebhookPayloadError
from closeloop.domain.webhooks.canonical import Ignored, ticket_closed, ticket_reopened
from closeloop.domain.webhooks.payloads import ZENDESK, id_of, role_of, tags_of, text_of, time_of
from closeloop.domain.webhooks.timezones import iana_time_zone

# Zendesk ids are 64-bit integers: at most 20 digits. They go into API paths, so they must be ids.
MAX_ZENDESK_ID_DIGITS = 20

ZENDESK_STATUS_CHANGED = "zen:event-type:ticket.status_changed"
_ZENDESK_CLOSING = frozenset({"solved", "closed"})
_ZENDESK_OPEN = frozenset({"new", "open", "pending", "hold"})


@dataclass(frozen=True)
class HelpdeskUser:
    """A helpdesk user as closeloop needs it (requester or agent)."""

    id: str
    email: str | None = None
    name: str | None = None
    locale: str | None = None
    time_zone: str | None = None
    role: str | None = None  # Zendesk's role: end-user, agent or admin


@dataclass(frozen=True)
class HelpdeskGroup:
    """A helpdesk group (closeloop's team)."""

    id: str
    name: str | None = None


@dataclass(frozen=True)
class ZendeskStatusChange:
    """What a Zendesk ``ticket.status_changed`` event asks of closeloop, before any API lookup."""

    action: Literal["closed", "reopened"]
    ticket_id: str
    status: str
    occurred_at: datetime
    requester_id: str | None
    assignee_id: str | None
    group_id: str | None
    subject: str | None
    tags: list[str] = field(default_factory=list)
    brand_id: str | None = None
    channel: str | None = None


def _zendesk_id(value: Any, what: str) -> str | None:
    """A Zendesk user or group id: digits only, as the API paths they go into need."""
    text = id_of(value)
    if text is not None and not (text.isascii() and text.isdigit() and len(text) <= MAX_ZENDESK_ID_DIGITS):
        raise WebhookPayloadError(f"{what} is not a zendesk id")
    return text


def _zendesk_subject_ticket_id(subject: Any) -> str | None:
    """``zen:ticket:123`` → ``123``: the event's subject names the ticket too."""
    text = text_of(subject) or ""
    prefix = "zen:ticket:"
    return id_of(text.removeprefix(prefix)) if text.startswith(prefix) else None


def interpret_zendesk_event(payload: Mapping[str, Any]) -> ZendeskStatusChange | Ignored:
    """Decide what a Zendesk event means: a close, a reopen, or nothing closeloop acts on.

    Zendesk's status values are upper case (``SOLVED``); ``event.previous`` and ``event.current`` hold the
    transition. Solved → closed is Zendesk archiving a ticket that was already solved (and surveyed):
    it is ignored rather than announced twice.
    """
    event_type = text_of(payload.get("type"))
    if event_type is None:
        raise WebhookPayloadError("missing event type")
    detail = payload.get("detail")
    if not isinstance(detail, Mapping):
        raise WebhookPayloadError("missing detail object")
    ticket_id = id_of(detail.get("id")) or _zendesk_subject_ticket_id(payload.get("subject"))
    if event_type != ZENDESK_STATUS_CHANGED:
        return Ignored("event type is not a ticket status change", ticket_id)
    if ticket_id is None:
        raise WebhookPayloadError("missing ticket id")
    change = payload.get("event")
    if not isinstance(change, Mapping):
        raise WebhookPayloadError("missing event object")
    current = (text_of(change.get("current")) or text_of(detail.get("status")) or "").lower()
    previous = (text_of(change.get("previous")) or "").lower()
    if not current:
        raise WebhookPayloadError("missing new status")
    occurred_at = time_of(payload.get("time"), "event time")

    if current in _ZENDESK_CLOSING:
        if previous in _ZENDESK_CLOSING:
            return Ignored(f"status changed from {previous} to {current}", ticket_id)
        action: Literal["closed", "reopened"] = "closed"
    elif current in _ZENDESK_OPEN and previous in _ZENDESK_CLOSING:
        action = "reopened"
    else:
        return Ignored(f"status changed from {previous or 'unknown'} to {current}", ticket_id)

    via = detail.get("via")
    channel = text_of(via.get("channel")) if isinstance(via, Mapping) else None
    return ZendeskStatusChange(
        action=action,
        ticket_id=ticket_id,
        status=current,
        occurred_at=occurred_at,
        requester_id=_zendesk_id(detail.get("requester_id"), "requester_id"),
        assignee_id=_zendesk_id(detail.get("assignee_id"), "assignee_id"),
        group_id=_zendesk_id(detail.get("group_id"), "group_id"),
        subject=text_of(detail.get("subject")),
        tags=tags_of(detail.get("tags")),
        brand_id=id_of(detail.get("brand_id")),
        channel=channel.lower() if channel else None,
    )


def zendesk_ticket_closed(
    change: ZendeskStatusChange,
    requester: HelpdeskUser,
    assignee: HelpdeskUser | None,
    group: HelpdeskGroup | None,
    base_url: str,
) -> TicketClosed:
    """The canonical ``Ticket Closed`` detail for a Zendesk ticket solved or closed at ``occurred_at``."""
    if not requester.email:
        raise WebhookPayloadError("requester has no email address")
    return ticket_closed(
        {
            "ticket_id": change.ticket_id,
            "helpdesk": ZENDESK,
            "closed_at": change.occurred_at,
            "status": "closed" if change.status == "closed" else "solved",
            "customer": {
                "email": requester.email,
                "name": requester.name,
                "locale": requester.locale,
                "timezone": iana_time_zone(requester.time_zone),
                "role": role_of(requester.role),
            },
            "agent": {"id": assignee.id, "name": assignee.name, "email": assignee.email}
            if assignee
            else None,
            "team": {"id": group.id, "name": group.name} if group else None,
            "subject": change.subject,
            "channel": change.channel,
            "tags": change.tags,
            "brand": change.brand_id,
            "url": f"{base_url.rstrip('/')}/agent/tickets/{change.ticket_id}" if base_url else None,
        }
    )


def zendesk_ticket_reopened(change: ZendeskStatusChange) -> TicketReopened:
    """The canonical ``Ticket Reopened`` detail for a Zendesk ticket moved back out of solved/closed."""
    return ticket_reopened(change.ticket_id, ZENDESK, change.occurred_at)
