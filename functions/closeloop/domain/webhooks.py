"""Helpdesk webhooks: who may call, and what their payloads mean in closeloop's canonical terms.

Pure rules, no AWS and no HTTP: the caller passes the raw request, the secrets, the clock and the helpdesk
data it has already fetched. Every error carries a ``reason`` that is safe to return to the caller and to
log: it never contains an email address, a name or any part of the body.

Zendesk signs its webhooks (``base64(HMAC-SHA256(secret, timestamp + body))``, headers
``X-Zendesk-Webhook-Signature`` and ``X-Zendesk-Webhook-Signature-Timestamp``). Freshdesk does not sign,
so its automation rule sends a shared secret (header ``X-Closeloop-Webhook-Secret``, or basic auth whose
password is the secret). See docs/helpdesks.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from closeloop.domain.tickets import TicketClosed, TicketReopened
from closeloop.domain.validation import validation_problems
from closeloop.domain.webhook_errors import (
    UnknownProviderError,
    WebhookAuthenticationError,
    WebhookPayloadError,
    WebhookTooLargeError,
    WebhookUnavailableError,
)

ZENDESK = "zendesk"
FRESHDESK = "freshdesk"
PROVIDERS = frozenset({ZENDESK, FRESHDESK})

ZENDESK_SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
ZENDESK_TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
FRESHDESK_SECRET_HEADER = "X-Closeloop-Webhook-Secret"  # noqa: S105 - a header name
FRESHDESK_BASIC_AUTH_USER = "closeloop"
SIGNATURE_TOLERANCE = timedelta(minutes=5)

# Bounds on a webhook, checked before any work on it (one definition each). A ticket event is a few KB;
# EventBridge refuses an entry over 256 KB, so a larger body could never become one event.
MAX_WEBHOOK_BODY_BYTES = 256 * 1024
# The event's detail as put on the bus, leaving room within EventBridge's 256 KB for source and type.
MAX_EVENT_DETAIL_BYTES = 250 * 1024
# An ISO 8601 timestamp (or epoch seconds) is about 30 characters.
MAX_TIMESTAMP_CHARS = 64
# Zendesk ids are 64-bit integers: at most 20 digits. They go into API paths, so they must be ids.
MAX_ZENDESK_ID_DIGITS = 20

ZENDESK_STATUS_CHANGED = "zen:event-type:ticket.status_changed"
_ZENDESK_CLOSING = frozenset({"solved", "closed"})
_ZENDESK_OPEN = frozenset({"new", "open", "pending", "hold"})

# Freshdesk's built-in statuses: {{ticket.status}} renders the name, the REST API uses the number.
_FRESHDESK_STATUS_NAMES = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
_FRESHDESK_CLOSING = {"resolved": "solved", "closed": "closed"}
FRESHDESK_EVENT_STATUS_CHANGED = "status_changed"
FRESHDESK_EVENT_REOPENED = "reopened"

# Zendesk and Freshdesk store Rails zone names ("Eastern Time (US & Canada)"). Zendesk users also carry
# ``iana_time_zone``, which wins; this table covers the common Rails names for payloads that lack it.
RAILS_TO_IANA: Mapping[str, str] = {
    "UTC": "Etc/UTC",
    "London": "Europe/London",
    "Dublin": "Europe/Dublin",
    "Lisbon": "Europe/Lisbon",
    "Madrid": "Europe/Madrid",
    "Paris": "Europe/Paris",
    "Amsterdam": "Europe/Amsterdam",
    "Brussels": "Europe/Brussels",
    "Berlin": "Europe/Berlin",
    "Rome": "Europe/Rome",
    "Vienna": "Europe/Vienna",
    "Zagreb": "Europe/Zagreb",
    "Stockholm": "Europe/Stockholm",
    "Warsaw": "Europe/Warsaw",
    "Athens": "Europe/Athens",
    "Helsinki": "Europe/Helsinki",
    "Istanbul": "Europe/Istanbul",
    "Moscow": "Europe/Moscow",
    "Eastern Time (US & Canada)": "America/New_York",
    "Central Time (US & Canada)": "America/Chicago",
    "Mountain Time (US & Canada)": "America/Denver",
    "Arizona": "America/Phoenix",
    "Pacific Time (US & Canada)": "America/Los_Angeles",
    "Alaska": "America/Juneau",
    "Hawaii": "Pacific/Honolulu",
    "Mexico City": "America/Mexico_City",
    "Bogota": "America/Bogota",
    "Brasilia": "America/Sao_Paulo",
    "Buenos Aires": "America/Argentina/Buenos_Aires",
    "Hanoi": "Asia/Bangkok",
    "Bangkok": "Asia/Bangkok",
    "Singapore": "Asia/Singapore",
    "Hong Kong": "Asia/Hong_Kong",
    "Beijing": "Asia/Shanghai",
    "Tokyo": "Asia/Tokyo",
    "Seoul": "Asia/Seoul",
    "Mumbai": "Asia/Kolkata",
    "New Delhi": "Asia/Kolkata",
    "Chennai": "Asia/Kolkata",
    "Kolkata": "Asia/Kolkata",
    "Abu Dhabi": "Asia/Muscat",
    "Dubai": "Asia/Dubai",
    "Sydney": "Australia/Sydney",
    "Melbourne": "Australia/Melbourne",
    "Auckland": "Pacific/Auckland",
    "Johannesburg": "Africa/Johannesburg",
    "Cairo": "Africa/Cairo",
}


@dataclass(frozen=True)
class HelpdeskUser:
    """A helpdesk user as closeloop needs it (requester or agent)."""

    id: str
    email: str | None = None
    name: str | None = None
    locale: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True)
class HelpdeskGroup:
    """A helpdesk group (closeloop's team)."""

    id: str
    name: str | None = None


@dataclass(frozen=True)
class Ignored:
    """An authentic event closeloop does not act on, and why."""

    reason: str
    ticket_id: str | None = None


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


def provider_of(name: str) -> str:
    """The canonical provider name for a path segment; raises ``UnknownProviderError``."""
    provider = name.strip().lower()
    if provider not in PROVIDERS:
        raise UnknownProviderError("unknown helpdesk provider")
    return provider


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def zendesk_signature(secret: str, timestamp: str, raw_body: bytes) -> str:
    """``base64(HMAC-SHA256(secret, timestamp + raw_body))``, as Zendesk computes it."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("utf-8") + raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _parse_signature_timestamp(value: str) -> datetime:
    text = value.strip()
    if len(text) > MAX_TIMESTAMP_CHARS:
        raise WebhookAuthenticationError("signature timestamp is not a valid time")
    try:
        if text.isascii() and text.isdigit():  # tolerated: epoch seconds
            return datetime.fromtimestamp(int(text), tz=UTC)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError) as error:
        raise WebhookAuthenticationError("signature timestamp is not a valid time") from error
    if moment.tzinfo is None:
        raise WebhookAuthenticationError("signature timestamp has no time zone")
    return moment


def verify_zendesk_signature(
    headers: Mapping[str, str],
    raw_body: bytes,
    secret: str,
    now: datetime,
    tolerance: timedelta = SIGNATURE_TOLERANCE,
) -> None:
    """Accept only a request Zendesk signed with ``secret`` within ``tolerance`` of ``now``.

    Zendesk sends the timestamp as ISO 8601 (``2021-07-25T10:00:00Z``); the signature covers the
    timestamp text exactly as sent, followed by the raw body. A timestamp too far in the past or the
    future is rejected so that a captured request cannot be replayed later.
    """
    if not secret:
        raise WebhookUnavailableError("zendesk webhook secret is not configured")
    signature = _header(headers, ZENDESK_SIGNATURE_HEADER)
    timestamp = _header(headers, ZENDESK_TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise WebhookAuthenticationError("missing signature headers")
    sent_at = _parse_signature_timestamp(timestamp)
    if abs(now - sent_at) > tolerance:
        raise WebhookAuthenticationError("signature timestamp is outside the accepted window")
    expected = zendesk_signature(secret, timestamp, raw_body)
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8", "replace")):
        raise WebhookAuthenticationError("signature does not match")


def verify_freshdesk_secret(headers: Mapping[str, str], secret: str) -> None:
    """Accept a request carrying the shared secret, in ``X-Closeloop-Webhook-Secret`` or basic auth.

    With basic auth the password must be the secret; the user name is not checked (docs/helpdesks.md
    says to use ``closeloop``), because Freshdesk's rule editor always asks for one.
    """
    if not secret:
        raise WebhookUnavailableError("freshdesk webhook secret is not configured")
    expected = secret.encode("utf-8")
    sent = _header(headers, FRESHDESK_SECRET_HEADER)
    if sent is not None:
        if hmac.compare_digest(expected, sent.strip().encode("utf-8")):
            return
        raise WebhookAuthenticationError("webhook secret does not match")
    authorization = _header(headers, "Authorization")
    if authorization is None:
        raise WebhookAuthenticationError("missing webhook secret")
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise WebhookAuthenticationError("authorization must be basic auth")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise WebhookAuthenticationError("malformed basic auth") from error
    _, separator, password = decoded.partition(b":")
    if not separator or not hmac.compare_digest(expected, password):
        raise WebhookAuthenticationError("webhook secret does not match")


def check_body_size(raw_body: bytes) -> None:
    """Raises ``WebhookTooLargeError`` over ``MAX_WEBHOOK_BODY_BYTES``: checked before any other work."""
    if len(raw_body) > MAX_WEBHOOK_BODY_BYTES:
        raise WebhookTooLargeError(f"body is over {MAX_WEBHOOK_BODY_BYTES} bytes")


def _refuse_constant(name: str) -> Any:
    raise WebhookPayloadError(f"body holds {name[:16]}, which is not a JSON number")


def parse_json_object(raw_body: bytes) -> dict[str, Any]:
    """The body as a JSON object; raises ``WebhookPayloadError`` otherwise.

    Hostile but well-signed bodies are refused here too: nesting too deep for the parser, NaN and
    Infinity (not JSON, though Python's parser accepts them), integers over Python's digit limit.
    """
    check_body_size(raw_body)
    try:
        payload = json.loads(raw_body, parse_constant=_refuse_constant)
    except RecursionError as error:
        raise WebhookPayloadError("body is nested too deeply") from error
    except (ValueError, UnicodeDecodeError) as error:
        raise WebhookPayloadError("body is not valid JSON") from error
    if not isinstance(payload, dict):
        raise WebhookPayloadError("body is not a JSON object")
    return payload


def _text(value: Any) -> str | None:
    """A helpdesk value as text; empty strings, ``"0"`` ids and placeholders that rendered empty are None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)  # never through float: an integer over 10**308 would overflow it
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = str(int(value)) if value.is_integer() else str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text or None


def _id(value: Any) -> str | None:
    text = _text(value)
    return None if text in (None, "0") else text


def _zendesk_id(value: Any, what: str) -> str | None:
    """A Zendesk user or group id: digits only, as the API paths they go into need."""
    text = _id(value)
    if text is not None and not (text.isascii() and text.isdigit() and len(text) <= MAX_ZENDESK_ID_DIGITS):
        raise WebhookPayloadError(f"{what} is not a zendesk id")
    return text


def _tags(value: Any) -> list[str]:
    if isinstance(value, str):
        return [tag.strip() for tag in value.split(",") if tag.strip()]
    if isinstance(value, list):
        return [text for text in (_text(tag) for tag in value) if text]
    return []


def _time(value: Any, what: str) -> datetime:
    text = _text(value)
    if text is None:
        raise WebhookPayloadError(f"missing {what}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise WebhookPayloadError(f"{what} is not an ISO 8601 time") from error
    if moment.tzinfo is None:
        raise WebhookPayloadError(f"{what} has no time zone")
    return moment


def iana_time_zone(value: str | None) -> str | None:
    """An IANA zone for a helpdesk zone name: IANA names pass through, common Rails names are mapped."""
    if not value:
        return None
    if "/" in value:
        return value
    return RAILS_TO_IANA.get(value)


def _validation_reason(error: ValidationError) -> str:
    """Field paths and messages only: pydantic's default text would echo the offending value."""
    return "invalid ticket: " + validation_problems(error, whole="payload")


# Zendesk ------------------------------------------------------------------------------------------


def _zendesk_subject_ticket_id(subject: Any) -> str | None:
    """``zen:ticket:123`` → ``123``: the event's subject names the ticket too."""
    text = _text(subject) or ""
    prefix = "zen:ticket:"
    return _id(text.removeprefix(prefix)) if text.startswith(prefix) else None


def interpret_zendesk_event(payload: Mapping[str, Any]) -> ZendeskStatusChange | Ignored:
    """Decide what a Zendesk event means: a close, a reopen, or nothing closeloop acts on.

    Zendesk's status values are upper case (``SOLVED``); ``event.previous`` and ``event.current`` hold the
    transition. Solved → closed is Zendesk archiving a ticket that was already solved (and surveyed):
    it is ignored rather than announced twice.
    """
    event_type = _text(payload.get("type"))
    if event_type is None:
        raise WebhookPayloadError("missing event type")
    detail = payload.get("detail")
    if not isinstance(detail, Mapping):
        raise WebhookPayloadError("missing detail object")
    ticket_id = _id(detail.get("id")) or _zendesk_subject_ticket_id(payload.get("subject"))
    if event_type != ZENDESK_STATUS_CHANGED:
        return Ignored("event type is not a ticket status change", ticket_id)
    if ticket_id is None:
        raise WebhookPayloadError("missing ticket id")
    change = payload.get("event")
    if not isinstance(change, Mapping):
        raise WebhookPayloadError("missing event object")
    current = (_text(change.get("current")) or _text(detail.get("status")) or "").lower()
    previous = (_text(change.get("previous")) or "").lower()
    if not current:
        raise WebhookPayloadError("missing new status")
    occurred_at = _time(payload.get("time"), "event time")

    if current in _ZENDESK_CLOSING:
        if previous in _ZENDESK_CLOSING:
            return Ignored(f"status changed from {previous} to {current}", ticket_id)
        action: Literal["closed", "reopened"] = "closed"
    elif current in _ZENDESK_OPEN and previous in _ZENDESK_CLOSING:
        action = "reopened"
    else:
        return Ignored(f"status changed from {previous or 'unknown'} to {current}", ticket_id)

    via = detail.get("via")
    channel = _text(via.get("channel")) if isinstance(via, Mapping) else None
    return ZendeskStatusChange(
        action=action,
        ticket_id=ticket_id,
        status=current,
        occurred_at=occurred_at,
        requester_id=_zendesk_id(detail.get("requester_id"), "requester_id"),
        assignee_id=_zendesk_id(detail.get("assignee_id"), "assignee_id"),
        group_id=_zendesk_id(detail.get("group_id"), "group_id"),
        subject=_text(detail.get("subject")),
        tags=_tags(detail.get("tags")),
        brand_id=_id(detail.get("brand_id")),
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
    return _ticket_closed(
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


def _ticket_closed(fields: dict[str, Any]) -> TicketClosed:
    """Validate the canonical event; nested models are passed as dicts so errors name the full path."""
    try:
        return TicketClosed.model_validate(fields)
    except ValidationError as error:
        raise WebhookPayloadError(_validation_reason(error)) from error


def _ticket_reopened(ticket_id: str, helpdesk: str, reopened_at: datetime) -> TicketReopened:
    """Validate the canonical event, so a hostile id or moment is a 400 with a reason, as for closes."""
    try:
        return TicketReopened.model_validate(
            {"ticket_id": ticket_id, "helpdesk": helpdesk, "reopened_at": reopened_at}
        )
    except ValidationError as error:
        raise WebhookPayloadError(_validation_reason(error)) from error


def zendesk_ticket_reopened(change: ZendeskStatusChange) -> TicketReopened:
    """The canonical ``Ticket Reopened`` detail for a Zendesk ticket moved back out of solved/closed."""
    return _ticket_reopened(change.ticket_id, ZENDESK, change.occurred_at)


# Freshdesk ----------------------------------------------------------------------------------------


def _freshdesk_status(value: Any) -> str | None:
    """The status name; a number only for Freshdesk's built-in statuses (other values pass as text)."""
    text = _text(value)
    if text is None:
        return None
    # Only ASCII digits ("²" is a digit to str.isdigit but not to int), and few of them: Freshdesk's
    # numbers are small, and int() refuses more than 4300 digits.
    number = text.lstrip("0") or "0"
    if text.isascii() and text.isdigit() and len(number) <= 3:
        return _FRESHDESK_STATUS_NAMES.get(int(number), text)
    return text.lower()


def event_detail(event: TicketClosed | TicketReopened) -> dict[str, Any]:
    """The event's detail as put on the bus; raises ``WebhookTooLargeError`` when EventBridge would
    refuse it for its size (a permanent condition: the same webhook would always be refused)."""
    detail = event.model_dump(mode="json", exclude_none=True)
    if len(json.dumps(detail).encode("utf-8")) > MAX_EVENT_DETAIL_BYTES:
        raise WebhookTooLargeError(f"the ticket event is over {MAX_EVENT_DETAIL_BYTES} bytes")
    return detail


def normalize_freshdesk(
    payload: Mapping[str, Any], now: datetime, base_url: str = ""
) -> TicketClosed | TicketReopened | Ignored:
    """Turn the JSON body of closeloop's Freshdesk automation rules (docs/helpdesks.md) into an event.

    Freshdesk sends what the rule's body template renders, so everything closeloop needs is in the
    payload and no API call is made. ``event`` is ``status_changed`` (status became Resolved or Closed)
    or ``reopened`` (sent by a second rule: Freshdesk placeholders do not expose the previous status).
    """
    ticket_id = _id(payload.get("ticket_id"))
    if ticket_id is None:
        raise WebhookPayloadError("missing ticket_id")
    event = (_text(payload.get("event")) or FRESHDESK_EVENT_STATUS_CHANGED).lower()
    happened_at = _time(payload["occurred_at"], "occurred_at") if _text(payload.get("occurred_at")) else now
    if event == FRESHDESK_EVENT_REOPENED:
        return _ticket_reopened(ticket_id, FRESHDESK, happened_at)
    if event != FRESHDESK_EVENT_STATUS_CHANGED:
        return Ignored(f"event {event[:40]} is not one closeloop acts on", ticket_id)
    status = _freshdesk_status(payload.get("status"))
    if status is None:
        raise WebhookPayloadError("missing status")
    canonical_status = _FRESHDESK_CLOSING.get(status)
    if canonical_status is None:
        return Ignored(f"status {status[:40]} is not resolved or closed", ticket_id)
    email = _text(payload.get("requester_email"))
    if email is None:
        raise WebhookPayloadError("missing requester_email")
    agent_name, agent_email = _text(payload.get("agent_name")), _text(payload.get("agent_email"))
    group_name = _text(payload.get("group_name"))
    url = _text(payload.get("url")) or (f"{base_url.rstrip('/')}/a/tickets/{ticket_id}" if base_url else None)
    return _ticket_closed(
        {
            "ticket_id": ticket_id,
            "helpdesk": FRESHDESK,
            "closed_at": happened_at,
            "status": canonical_status,
            "customer": {
                "email": email,
                "name": _text(payload.get("requester_name")),
                "locale": _text(payload.get("requester_locale")),
                "timezone": iana_time_zone(_text(payload.get("requester_time_zone"))),
            },
            "agent": {"id": _id(payload.get("agent_id")), "name": agent_name, "email": agent_email}
            if agent_name or agent_email
            else None,
            "team": {"id": _id(payload.get("group_id")), "name": group_name} if group_name else None,
            "subject": _text(payload.get("subject")),
            "channel": (_text(payload.get("source")) or "").lower() or None,
            "tags": _tags(payload.get("tags")),
            "brand": _text(payload.get("brand")),
            "url": url,
        }
    )
