"""The HTTP API Lambda: one Powertools resolver, created at cold start, holding every public route.

Routes are thin: read the request, call one function, shape the answer. Webhook logic lives in
``closeloop.ingest`` and ``closeloop.domain.webhooks``. Logs carry the provider, ticket id, outcome and
reason, never an email address, a name or the request body.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from closeloop import wiring
from closeloop.domain.webhooks import (
    UnknownProviderError,
    WebhookAuthenticationError,
    WebhookError,
    WebhookPayloadError,
    WebhookUnavailableError,
)
from closeloop.ingest import receive_webhook
from closeloop.observability import logger

# Zendesk retries a 503 only when Retry-After is under 60 seconds.
RETRY_AFTER_SECONDS = "30"

_STATUS_BY_ERROR: dict[type[WebhookError], int] = {
    UnknownProviderError: 404,
    WebhookAuthenticationError: 401,
    WebhookPayloadError: 400,
    WebhookUnavailableError: 503,
}

app = APIGatewayHttpResolver()


def _raw_body() -> bytes:
    """The body exactly as sent: signatures are computed over these bytes."""
    event = app.current_event
    body: str = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as error:
        raise WebhookPayloadError("body is not valid base64") from error


@app.post("/webhooks/<provider>")
def post_webhook(provider: str) -> Response[dict[str, Any]]:
    receipt = receive_webhook(
        provider, app.current_event.headers, _raw_body(), datetime.now(UTC), wiring.webhook_dependencies()
    )
    logger.info(
        "webhook received",
        extra={
            "provider": receipt.provider,
            "ticket_id": receipt.ticket_id,
            "outcome": receipt.outcome,
            "reason": receipt.reason,
            "detail_type": receipt.detail_type,
            "event_id": receipt.event_id,
        },
    )
    if receipt.outcome == "accepted":
        return Response(
            202, content_types.APPLICATION_JSON, {"status": "accepted", "event": receipt.detail_type}
        )
    return Response(200, content_types.APPLICATION_JSON, {"status": "ignored", "reason": receipt.reason})


def reject_webhook(error: WebhookError) -> Response[dict[str, Any]]:
    status = next((code for kind, code in _STATUS_BY_ERROR.items() if isinstance(error, kind)), 400)
    provider = (app.current_event.path_parameters or {}).get("provider", "")
    logger.warning(
        "webhook rejected",
        extra={
            "provider": provider[:32],
            "outcome": "rejected",
            "status": status,
            "reason": error.reason,
            "error": type(error).__name__,
        },
    )
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else None
    return Response(
        status, content_types.APPLICATION_JSON, {"status": "rejected", "reason": error.reason}, headers
    )


# Registered without decorator syntax: Powertools' exception_handler decorator is untyped.
app.exception_handler(WebhookError)(reject_webhook)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
