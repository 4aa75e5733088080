"""A helpdesk webhook as it arrives: which helpdesk it names, its body's bounds and JSON, and its values.

Helpdesks render their payloads from templates, so a value may come as a number, a string, an empty
placeholder or nothing at all; the readers here take each of those and give ``None`` for what is empty.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from closeloop.domain.webhook_errors import UnknownProviderError, WebhookPayloadError, WebhookTooLargeError

ZENDESK = "zendesk"
FRESHDESK = "freshdesk"
PROVIDERS = frozenset({ZENDESK, FRESHDESK})

# Bounds on a webhook, checked before any work on it (one definition each). A ticket event is a few KB;
# EventBridge refuses an entry over 256 KB, so a larger body could never become one event.
MAX_WEBHOOK_BODY_BYTES = 256 * 1024


def provider_of(name: str) -> str:
    """The canonical provider name for a path segment; raises ``UnknownProviderError``."""
    provider = name.strip().lower()
    if provider not in PROVIDERS:
        raise UnknownProviderError("unknown helpdesk provider")
    return provider


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


def text_of(value: Any) -> str | None:
    """A helpdesk value as text; empty strings and placeholders that rendered empty are None."""
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


def id_of(value: Any) -> str | None:
    """A helpdesk id as text; ``0`` (no assignee, no group) is None."""
    text = text_of(value)
    return None if text in (None, "0") else text


def tags_of(value: Any) -> list[str]:
    """Tags from a list or a comma-separated string; anything else is no tags."""
    if isinstance(value, str):
        return [tag.strip() for tag in value.split(",") if tag.strip()]
    if isinstance(value, list):
        return [text for text in (text_of(tag) for tag in value) if text]
    return []


def time_of(value: Any, what: str) -> datetime:
    """An ISO 8601 time with its zone; raises ``WebhookPayloadError`` naming ``what`` otherwise."""
    text = text_of(value)
    if text is None:
        raise WebhookPayloadError(f"missing {what}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise WebhookPayloadError(f"{what} is not an ISO 8601 time") from error
    if moment.tzinfo is None:
        raise WebhookPayloadError(f"{what} has no time zone")
    return moment


# What helpdesks call their users' roles, as the canonical event's ``customer.role`` names them.
_ROLES = {
    "end-user": "end-user",
    "end_user": "end-user",
    "enduser": "end-user",
    "contact": "end-user",
    "customer": "end-user",
    "agent": "agent",
    "admin": "admin",
    "administrator": "admin",
}


def role_of(value: Any) -> str | None:
    """A requester's role (``end-user``, ``agent`` or ``admin``), or None when absent or not one of them:
    an unknown role neither refuses the ticket nor makes its requester internal."""
    text = text_of(value)
    return _ROLES.get(text.strip().lower()) if text else None
