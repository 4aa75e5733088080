"""The HTTP API Lambda: one Powertools resolver, created at cold start, holding every public route.

Routes are thin: read the request, call one function, shape the answer. Webhook logic lives in
``closeloop.domain.webhook_intake`` and ``closeloop.domain.webhooks``; the survey and unsubscribe pages'
in ``closeloop.domain.survey_pages`` and ``closeloop.domain.answers``, their HTML in
``closeloop.adapters.pages``. Each route gets its service from ``closeloop.wiring`` on first use, so a
cold start loads only what its first request needs: a webhook never loads the page renderer, a survey
page never loads the helpdesk adapters. The OpenAPI document
(``docs/openapi.json``, ``closeloop openapi``) is generated from this resolver. Logs carry the provider,
ticket id, outcome and reason, never an email address, a name or the request body. Its metrics count
webhooks by outcome (with the provider, or the status they were refused with), answers recorded,
unsubscribes, and error pages by status: dimensions from small fixed sets, never from the request.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from closeloop import wiring
from closeloop.adapters.page_http import (
    HTML_CONTENT_TYPE,
    PAGE_HEADERS,
    SURVEY_QUERY,
    UNSUBSCRIBE_QUERY,
    page_query,
)
from closeloop.domain.page_requests import Page, PageRequest
from closeloop.domain.surveys import MAX_COMMENT_CHARS, REASON_CODES
from closeloop.domain.webhook_errors import (
    UnknownProviderError,
    WebhookAuthenticationError,
    WebhookError,
    WebhookPayloadError,
    WebhookTooLargeError,
    WebhookUnavailableError,
)
from closeloop.observability import count, logger, metrics

# What this function needs from its environment, checked before the first request is served: the
# webhooks' and the pages', whichever comes first.
REQUIRED_SETTINGS = (
    "event_bus_name",
    "surveys_table",
    "zendesk_secret_arn",
    "freshdesk_secret_arn",
    "signing_keys_secret_arn",
    "reopen_queue_url",
    "templates_path",
)

# Zendesk retries a 503 only when Retry-After is under 60 seconds.
RETRY_AFTER_SECONDS = "30"

_STATUS_BY_ERROR: dict[type[WebhookError], int] = {
    UnknownProviderError: 404,
    WebhookAuthenticationError: 401,
    WebhookPayloadError: 400,
    WebhookTooLargeError: 413,
    # The only status that asks the helpdesk to retry: for conditions a later delivery gets past.
    WebhookUnavailableError: 503,
}

# No request validation by the resolver: it would load pydantic and Powertools' OpenAPI machinery on every
# cold start (about a third of this function's start-up) for three optional query strings, which the pages
# bound and check themselves (``closeloop.adapters.page_http.page_query``). ``closeloop openapi`` still
# generates the document from these routes.
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


_JSON: Any = {"content": {"application/json": {"schema": {"type": "object"}}}}
_WEBHOOK_RESPONSES: Any = {
    202: {"description": "Accepted: the ticket event was put on the bus", **_JSON},
    200: {"description": "Ignored, with the reason (e.g. a status that is not solved)", **_JSON},
    400: {"description": "The body is not a webhook closeloop understands; the reason says why", **_JSON},
    401: {"description": "Missing, forged or stale signature", **_JSON},
    404: {"description": "Unknown provider", **_JSON},
    413: {"description": "The body is larger than any webhook closeloop accepts", **_JSON},
    503: {"description": "Temporarily unavailable (Retry-After): the helpdesk retries", **_JSON},
}


@app.post(
    "/webhooks/<provider>",
    summary="A helpdesk's ticket webhook (zendesk, freshdesk, generic), signed",
    responses=_WEBHOOK_RESPONSES,
    tags=["Webhooks"],
)
def post_webhook(provider: str) -> Response[dict[str, Any]]:
    receipt = wiring.webhook_receiver().receive(
        provider, app.current_event.headers, _raw_body(), datetime.now(UTC)
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
    # The provider's canonical name: an unknown one was refused before this point.
    metrics.add_dimension(name="provider", value=receipt.provider)
    if receipt.outcome == "accepted":
        count("WebhooksAccepted")
        return Response(
            202, content_types.APPLICATION_JSON, {"status": "accepted", "event": receipt.detail_type}
        )
    count("WebhooksIgnored")
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
    # By status, not provider: a refused request may name any provider at all.
    metrics.add_dimension(name="status", value=str(status))
    count("WebhooksRejected")
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else None
    return Response(
        status, content_types.APPLICATION_JSON, {"status": "rejected", "reason": error.reason}, headers
    )


# ---- survey and unsubscribe pages (HTML; a GET never writes: mail scanners open every link) ----------

_HTML: Any = {"content": {"text/html": {"schema": {"type": "string"}}}}
_PAGE_RESPONSES: Any = {
    200: {"description": "The page", **_HTML},
    404: {"description": "The link was altered or names no survey", **_HTML},
    410: {"description": "The survey has expired, or no longer takes answers", **_HTML},
}
_TOO_LARGE: Any = {413: {"description": "The body is larger than any form the page sends", **_HTML}}
_SURVEY_POST_RESPONSES: Any = {
    **_PAGE_RESPONSES,
    400: {"description": "The form is incomplete or invalid, or has too many fields", **_HTML},
    403: {"description": "Cross-site post, unusable Origin, or no valid form token", **_HTML},
    **_TOO_LARGE,
}
_UNSUBSCRIBE_POST_RESPONSES: Any = {
    **_PAGE_RESPONSES,
    400: {"description": "No List-Unsubscribe=One-Click in the body, or too many fields", **_HTML},
    **_TOO_LARGE,
}
_FORM_POST = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "score": {"type": "string", "description": "csat 1-5, nps 0-10, ces 1-7"},
                        "answer": {
                            "type": "string",
                            "enum": ["yes", "no"],
                            "description": "resolved surveys",
                        },
                        "resolved": {"type": "string", "enum": ["yes", "no", ""]},
                        "comment": {"type": "string", "maxLength": MAX_COMMENT_CHARS},
                        "reasons": {
                            "type": "array",
                            "items": {
                                "type": "string",
                                "enum": list(REASON_CODES),
                            },
                        },
                        "lang": {"type": "string"},
                        "form_token": {"type": "string", "description": "issued by the GET page"},
                    },
                    "required": ["form_token"],
                }
            }
        },
    }
}
_ONE_CLICK_POST = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {"List-Unsubscribe": {"type": "string", "enum": ["One-Click"]}},
                    "required": ["List-Unsubscribe"],
                }
            }
        },
    }
}


def _page_request(token: str, names: tuple[str, ...] = ()) -> PageRequest:
    """The request as the pages read it: only the query parameters the route declares, as sent."""
    event = app.current_event
    return PageRequest(
        token=token,
        query=page_query(event.query_string_parameters or {}, names),
        headers={name.lower(): value for name, value in (event.headers or {}).items()},
        body=_page_body(),
        request_domain=event.request_context.domain_name,
    )


def _page_body() -> bytes:
    try:
        return _raw_body()
    except WebhookPayloadError:
        return b""  # an unreadable body is an empty form: the pages then refuse it with their own 4xx


def _html(page: Page, recorded: str | None = None) -> Response[str]:
    """The page as the answer, counted: an error page by its status, a page that recorded something (an
    answer, an unsubscribe) under the metric ``recorded`` names. Pages that only show count nothing."""
    if page.status >= 400:
        metrics.add_dimension(name="status", value=str(page.status))
        count("PageErrors")
    elif recorded:
        count(recorded)
    return Response(page.status, HTML_CONTENT_TYPE, page.html, dict(PAGE_HEADERS))


def _headers_only(response: Response[str]) -> Response[str]:
    """A HEAD answer: the GET's status and headers, no body (mail scanners probe links this way)."""
    return Response(response.status_code, HTML_CONTENT_TYPE, "", dict(PAGE_HEADERS))


@app.get(
    "/s/<token>",
    summary="Survey page: the clicked answer pre-selected, a comment, reasons; records nothing",
    responses=_PAGE_RESPONSES,
    tags=["Survey pages"],
)
def get_survey_page(token: str) -> Response[str]:
    request = _page_request(token, SURVEY_QUERY)
    return _html(wiring.survey_page_flow().show_survey(request, datetime.now(UTC)))


# HEAD mirrors GET (same status and headers, no body), so it stays out of the OpenAPI document, which
# lists each route once (docs/survey-pages.md documents it).
@app.head("/s/<token>", include_in_schema=False)
def head_survey_page(token: str) -> Response[str]:
    return _headers_only(get_survey_page(token))


@app.post(
    "/s/<token>",
    summary="Record (or change) the answer to a survey",
    responses=_SURVEY_POST_RESPONSES,
    tags=["Survey pages"],
    openapi_extensions=_FORM_POST,
)
def post_survey_page(token: str) -> Response[str]:
    page = wiring.survey_page_flow().submit_survey(_page_request(token), datetime.now(UTC))
    return _html(page, recorded="SurveyAnswersRecorded")


@app.get(
    "/u/<token>",
    summary="Unsubscribe confirmation page; records nothing",
    responses=_PAGE_RESPONSES,
    tags=["Unsubscribe"],
)
def get_unsubscribe_page(token: str) -> Response[str]:
    request = _page_request(token, UNSUBSCRIBE_QUERY)
    return _html(wiring.survey_page_flow().show_unsubscribe(request, datetime.now(UTC)))


@app.head("/u/<token>", include_in_schema=False)
def head_unsubscribe_page(token: str) -> Response[str]:
    return _headers_only(get_unsubscribe_page(token))


@app.post(
    "/u/<token>",
    summary="Unsubscribe (RFC 8058 one-click, or the confirmation page's button)",
    responses=_UNSUBSCRIBE_POST_RESPONSES,
    tags=["Unsubscribe"],
    openapi_extensions=_ONE_CLICK_POST,
)
def post_unsubscribe(token: str) -> Response[str]:
    page = wiring.survey_page_flow().submit_unsubscribe(_page_request(token), datetime.now(UTC))
    return _html(page, recorded="Unsubscribes")


@app.get(
    "/d/<token>",
    summary="A lead's weekly digest: unsubscribe confirmation page; records nothing",
    responses=_PAGE_RESPONSES,
    tags=["Unsubscribe"],
)
def get_digest_unsubscribe_page(token: str) -> Response[str]:
    return _html(wiring.digest_unsubscribe_flow().show(token, datetime.now(UTC)))


@app.head("/d/<token>", include_in_schema=False)
def head_digest_unsubscribe_page(token: str) -> Response[str]:
    return _headers_only(get_digest_unsubscribe_page(token))


@app.post(
    "/d/<token>",
    summary="Unsubscribe a lead from the weekly digest (RFC 8058 one-click, or the page's button)",
    responses=_UNSUBSCRIBE_POST_RESPONSES,
    tags=["Unsubscribe"],
    openapi_extensions=_ONE_CLICK_POST,
)
def post_digest_unsubscribe(token: str) -> Response[str]:
    page = wiring.digest_unsubscribe_flow().unsubscribe(token, _page_body(), datetime.now(UTC))
    return _html(page, recorded="DigestUnsubscribes")


# Registered without decorator syntax: Powertools' exception_handler decorator is untyped.
app.exception_handler(WebhookError)(reject_webhook)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wiring.settings().require(*REQUIRED_SETTINGS)
    return app.resolve(event, context)
