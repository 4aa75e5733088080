"""Who may call ``POST /webhooks/{provider}``: Zendesk's signature, Freshdesk's shared secret.

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
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from closeloop.domain.webhook_errors import WebhookAuthenticationError, WebhookUnavailableError

ZENDESK_SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
ZENDESK_TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
FRESHDESK_SECRET_HEADER = "X-Closeloop-Webhook-Secret"  # noqa: S105 - a header name
FRESHDESK_BASIC_AUTH_USER = "closeloop"
SIGNATURE_TOLERANCE = timedelta(minutes=5)

# An ISO 8601 timestamp (or epoch seconds) is about 30 characters.
MAX_TIMESTAMP_CHARS = 64


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
