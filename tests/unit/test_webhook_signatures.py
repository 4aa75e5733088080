"""Who may call POST /webhooks/{provider}: Zendesk's HMAC signature and Freshdesk's shared secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from closeloop.domain.webhook_errors import WebhookAuthenticationError, WebhookUnavailableError
from closeloop.domain.webhooks import verify_freshdesk_secret, verify_zendesk_signature
from tests.conftest import load_event

SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
NOW = datetime(2025, 1, 8, 16, 45, 21, tzinfo=UTC)
BODY = b'{"type":"zen:event-type:ticket.status_changed","detail":{"id":"5158"}}'
EXAMPLE_SECRET = "closeloop-example-webhook-secret"  # what events/apigw/*.json were signed with


def zendesk_headers(body: bytes, sent_at: datetime, secret: str = SECRET) -> dict[str, str]:
    """Sign like Zendesk does: base64(HMAC-SHA256(secret, timestamp + body)), computed independently."""
    timestamp = sent_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return {
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
    }


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_zendesk_request_signed_with_the_secret_is_accepted() -> None:
    # GIVEN a request Zendesk signed a second ago
    headers = zendesk_headers(BODY, NOW - timedelta(seconds=1))
    # WHEN it is verified THEN no error is raised
    verify_zendesk_signature(headers, BODY, SECRET, NOW)


def test_zendesk_headers_are_matched_case_insensitively() -> None:
    # GIVEN the lower-case header names API Gateway HTTP APIs deliver
    headers = {name.lower(): value for name, value in zendesk_headers(BODY, NOW).items()}
    # WHEN / THEN it is accepted
    verify_zendesk_signature(headers, BODY, SECRET, NOW)


def test_shipped_api_gateway_example_is_signed_for_its_own_timestamp() -> None:
    # GIVEN the example request in events/apigw, signed with the documented example secret
    event = load_event("apigw/webhook_zendesk.json")
    sent_at = datetime.fromisoformat(event["headers"]["x-zendesk-webhook-signature-timestamp"])
    # WHEN it is verified at the moment it was sent THEN it is genuine
    verify_zendesk_signature(event["headers"], event["body"].encode(), EXAMPLE_SECRET, sent_at)


def test_zendesk_body_changed_after_signing_is_rejected() -> None:
    headers = zendesk_headers(BODY, NOW)
    tampered = BODY.replace(b"5158", b"5159")
    with pytest.raises(WebhookAuthenticationError, match="signature does not match"):
        verify_zendesk_signature(headers, tampered, SECRET, NOW)


def test_zendesk_request_signed_with_another_secret_is_rejected() -> None:
    headers = zendesk_headers(BODY, NOW, secret="someone-else")
    with pytest.raises(WebhookAuthenticationError, match="signature does not match"):
        verify_zendesk_signature(headers, BODY, SECRET, NOW)


def test_zendesk_timestamp_older_than_five_minutes_is_rejected() -> None:
    # GIVEN a genuine signature captured six minutes ago (a replay)
    headers = zendesk_headers(BODY, NOW - timedelta(minutes=6))
    with pytest.raises(WebhookAuthenticationError, match="outside the accepted window"):
        verify_zendesk_signature(headers, BODY, SECRET, NOW)


def test_zendesk_timestamp_four_minutes_old_is_still_accepted() -> None:
    headers = zendesk_headers(BODY, NOW - timedelta(minutes=4))
    verify_zendesk_signature(headers, BODY, SECRET, NOW)


def test_zendesk_timestamp_more_than_five_minutes_ahead_is_rejected() -> None:
    headers = zendesk_headers(BODY, NOW + timedelta(minutes=6))
    with pytest.raises(WebhookAuthenticationError, match="outside the accepted window"):
        verify_zendesk_signature(headers, BODY, SECRET, NOW)


@pytest.mark.parametrize("missing", ["X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"])
def test_zendesk_request_without_a_signature_header_is_rejected(missing: str) -> None:
    headers = zendesk_headers(BODY, NOW)
    del headers[missing]
    with pytest.raises(WebhookAuthenticationError, match="missing signature headers"):
        verify_zendesk_signature(headers, BODY, SECRET, NOW)


def test_zendesk_timestamp_that_is_not_a_time_is_rejected() -> None:
    headers = zendesk_headers(BODY, NOW) | {"X-Zendesk-Webhook-Signature-Timestamp": "yesterday"}
    with pytest.raises(WebhookAuthenticationError, match="not a valid time"):
        verify_zendesk_signature(headers, BODY, SECRET, NOW)


def test_zendesk_without_a_configured_secret_is_unavailable_not_open() -> None:
    # GIVEN no webhook secret in the Zendesk secret yet: nothing can be verified, so nothing is accepted
    with pytest.raises(WebhookUnavailableError):
        verify_zendesk_signature(zendesk_headers(BODY, NOW), BODY, "", NOW)


def test_freshdesk_secret_header_is_accepted() -> None:
    verify_freshdesk_secret({"X-Closeloop-Webhook-Secret": SECRET}, SECRET)


def test_freshdesk_wrong_secret_header_is_rejected() -> None:
    with pytest.raises(WebhookAuthenticationError, match="does not match") as raised:
        verify_freshdesk_secret({"x-closeloop-webhook-secret": "guess"}, SECRET)
    assert SECRET not in raised.value.reason


def test_freshdesk_basic_auth_with_the_secret_as_password_is_accepted() -> None:
    verify_freshdesk_secret(basic("closeloop", SECRET), SECRET)


def test_freshdesk_basic_auth_with_a_wrong_password_is_rejected() -> None:
    with pytest.raises(WebhookAuthenticationError, match="does not match"):
        verify_freshdesk_secret(basic("closeloop", "guess"), SECRET)


def test_freshdesk_request_without_credentials_is_rejected() -> None:
    with pytest.raises(WebhookAuthenticationError, match="missing webhook secret"):
        verify_freshdesk_secret({"Content-Type": "application/json"}, SECRET)


def test_freshdesk_bearer_token_is_not_basic_auth() -> None:
    with pytest.raises(WebhookAuthenticationError, match="basic auth"):
        verify_freshdesk_secret({"Authorization": f"Bearer {SECRET}"}, SECRET)
