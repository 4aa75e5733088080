"""What a Freshdesk webhook means: the body of closeloop's automation rules, read as a close or a reopen.

Freshdesk sends what the rule's body template renders (docs/helpdesks.md), so everything closeloop needs
is in the payload and no API call is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from closeloop.domain.tickets import TicketClosed, TicketReopened
from closeloop.domain.webhook_errors import WebhookPayloadError
from closeloop.domain.webhooks.canonical import Ignored, ticket_closed, ticket_reopened
from closeloop.domain.webhooks.payloads import FRESHDESK, id_of, role_of, tags_of, text_of, time_of
from closeloop.domain.webhooks.timezones import iana_time_zone

# Freshdesk's built-in statuses: {{ticket.status}} renders the name, the REST API uses the number.
_FRESHDESK_STATUS_NAMES = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
_FRESHDESK_CLOSING = {"resolved": "solved", "closed": "closed"}
FRESHDESK_EVENT_STATUS_CHANGED = "status_changed"
FRESHDESK_EVENT_REOPENED = "reopened"


def _freshdesk_status(value: Any) -> str | None:
    """The status name; a number only for Freshdesk's built-in statuses (other values pass as text)."""
    text = text_of(value)
    if text is None:
        return None
    # Only ASCII digits ("²" is a digit to str.isdigit but not to int), and few of them: Freshdesk's
    # numbers are small, and int() refuses more than 4300 digits.
    number = text.lstrip("0") or "0"
    if text.isascii() and text.isdigit() and len(number) <= 3:
        return _FRESHDESK_STATUS_NAMES.get(int(number), text)
    return text.lower()


def normalize_freshdesk(
    payload: Mapping[str, Any], now: datetime, base_url: str = ""
) -> TicketClosed | TicketReopened | Ignored:
    """Turn the JSON body of closeloop's Freshdesk automation rules (docs/helpdesks.md) into an event.

    ``event`` is ``status_changed`` (status became Resolved or Closed) or ``reopened`` (sent by a second
    rule: Freshdesk placeholders do not expose the previous status).
    """
    ticket_id = id_of(payload.get("ticket_id"))
    if ticket_id is None:
        raise WebhookPayloadError("missing ticket_id")
    event = (text_of(payload.get("event")) or FRESHDESK_EVENT_STATUS_CHANGED).lower()
    occurred_at = payload.get("occurred_at")
    happened_at = time_of(occurred_at, "occurred_at") if text_of(occurred_at) else now
    if event == FRESHDESK_EVENT_REOPENED:
        return ticket_reopened(ticket_id, FRESHDESK, happened_at)
    if event != FRESHDESK_EVENT_STATUS_CHANGED:
        return Ignored(f"event {event[:40]} is not one closeloop acts on", ticket_id)
    status = _freshdesk_status(payload.get("status"))
    if status is None:
        raise WebhookPayloadError("missing status")
    canonical_status = _FRESHDESK_CLOSING.get(status)
    if canonical_status is None:
        return Ignored(f"status {status[:40]} is not resolved or closed", ticket_id)
    email = text_of(payload.get("requester_email"))
    if email is None:
        raise WebhookPayloadError("missing requester_email")
    agent_name, agent_email = text_of(payload.get("agent_name")), text_of(payload.get("agent_email"))
    group_name = text_of(payload.get("group_name"))
    default_url = f"{base_url.rstrip('/')}/a/tickets/{ticket_id}" if base_url else None
    url = text_of(payload.get("url")) or default_url
    return ticket_closed(
        {
            "ticket_id": ticket_id,
            "helpdesk": FRESHDESK,
            "closed_at": happened_at,
            "status": canonical_status,
            "customer": {
                "email": email,
                "name": text_of(payload.get("requester_name")),
                "locale": text_of(payload.get("requester_locale")),
                "timezone": iana_time_zone(text_of(payload.get("requester_time_zone"))),
                "role": role_of(payload.get("requester_role")),
            },
            "agent": {"id": id_of(payload.get("agent_id")), "name": agent_name, "email": agent_email}
            if agent_name or agent_email
            else None,
            "team": {"id": id_of(payload.get("group_id")), "name": group_name} if group_name else None,
            "subject": text_of(payload.get("subject")),
            "channel": (text_of(payload.get("source")) or "").lower() or None,
            "tags": tags_of(payload.get("tags")),
            "brand": text_of(payload.get("brand")),
            "url": url,
        }
    )
