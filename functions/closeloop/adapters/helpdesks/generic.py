"""Reopening through a signed webhook, for any helpdesk closeloop has no adapter for.

closeloop POSTs a JSON document (``reopen_payload``) to ``GenericReopenUrl``. Two headers let the
receiver check that closeloop sent it and that it is fresh:

- ``X-Closeloop-Timestamp``: Unix time in seconds when the request was signed;
- ``X-Closeloop-Signature``: ``sha256=`` + the hex HMAC-SHA256, keyed with the ``webhook_secret`` of the
  generic secret, of ``timestamp + "." + raw body``.

A receiver recomputes the HMAC over the raw bytes it received (before parsing the JSON), compares it in
constant time, and rejects timestamps older than five minutes (``verify_signature`` is that recipe).
``X-Closeloop-Delivery`` is stable across retries of the same reopen, so a receiver can ignore
duplicates. Any 2xx answer means delivered; 5xx, 429 and timeouts are retried by the reopen queue with
backoff; any other answer (another 4xx, or a redirect: never followed) is a refusal. The receiver may
answer ``{"ticket_id": "..."}`` to name the ticket it reopened or created.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from closeloop.adapters.helpdesks.http import HelpdeskHttp
from closeloop.domain.credentials import SecretNotConfiguredError
from closeloop.domain.helpdesk_errors import HelpdeskRefusedError
from closeloop.domain.reopening import HelpdeskReopen, ReopenAction, TicketNote, TicketReopen

if TYPE_CHECKING:
    import urllib3

TIMESTAMP_HEADER = "X-Closeloop-Timestamp"
SIGNATURE_HEADER = "X-Closeloop-Signature"
DELIVERY_HEADER = "X-Closeloop-Delivery"
SIGNATURE_PREFIX = "sha256="
# How old a signed request a receiver should still accept (and how far in the future).
DEFAULT_TOLERANCE_SECONDS = 300


def webhook_secret(secret: Mapping[str, Any]) -> str:
    """The signing key from the generic secret ``{"webhook_secret": "..."}``."""
    value = str(secret.get("webhook_secret") or "").strip()
    if not value:
        raise SecretNotConfiguredError("generic secret lacks webhook_secret")
    return value


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Closeloop-Signature`` value for a body sent at ``timestamp`` (Unix seconds, as text)."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: a well-formed, fresh timestamp and a matching signature, compared in
    constant time. ``body`` is the raw request body, exactly as received."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature.strip())


def reopen_payload(request: TicketReopen) -> dict[str, Any]:
    """The webhook's JSON document: the ticket, the survey, the answer and the note.

    The customer's address is included: the receiver is the business's own system, and it may have to
    create a follow-up ticket for that customer, as the Zendesk adapter does.
    """
    survey, response = request.survey, request.response
    return {
        "version": 1,
        "type": "closeloop.reopen",
        "ticket": {
            "helpdesk": survey.helpdesk,
            "id": survey.ticket_id,
            "url": survey.url,
            "subject": survey.subject,
            "follow_up_subject": request.follow_up_subject,
        },
        "customer": {"email": survey.customer_email, "name": survey.customer_name, "locale": survey.locale},
        "agent": dict(survey.agent),
        "team": dict(survey.team),
        "survey": {"id": survey.survey_id, "type": survey.survey_type, "sent_at": _iso(survey.sent_at)},
        "answer": {
            "response_id": response.response_id,
            "received_at": _iso(response.received_at),
            "score": response.score,
            "resolved": response.resolved,
            "comment": response.comment,
            "reasons": list(response.reasons),
            "negative": response.negative,
            "verdict": list(response.verdict_reasons),
            "locale": response.locale,
        },
        "note": request.note,
    }


def note_payload(request: TicketNote) -> dict[str, Any]:
    """The webhook's JSON document for an email reply's note (``type: closeloop.note``): the ticket, the
    survey, the reply and the note; the receiver adds the note without reopening the ticket."""
    survey, response = request.survey, request.response
    return {
        "version": 1,
        "type": "closeloop.note",
        "ticket": {"helpdesk": survey.helpdesk, "id": survey.ticket_id, "url": survey.url},
        "survey": {"id": survey.survey_id, "type": survey.survey_type, "sent_at": _iso(survey.sent_at)},
        "answer": {
            "response_id": response.response_id,
            "received_at": _iso(response.received_at),
            "source": response.source.value,
            "comment": response.comment,
            "negative": response.negative,
            "verdict": list(response.verdict_reasons),
            "locale": response.locale,
        },
        "note": request.note,
    }


class GenericWebhookReopener:
    """POSTs a signed reopen request, once per delivery (``HelpdeskHttp.request_once``). ``secret`` may be
    a callable (a rotated secret is picked up); ``pool`` is the process's connection pool."""

    def __init__(
        self,
        url: str,
        secret: str | Callable[[], str],
        clock: Callable[[], float] = time.time,
        pool: urllib3.PoolManager | None = None,
    ) -> None:
        self._http = HelpdeskHttp("generic webhook", url, pool)
        self._secret = secret
        self._clock = clock

    def reopen(self, request: TicketReopen, verify_first: bool = False) -> HelpdeskReopen:
        """POST the signed request. A receiver cannot be asked what it took, so ``verify_first`` changes
        nothing: the ``X-Closeloop-Delivery`` header, the same on every retry, lets it ignore a duplicate."""
        answer = self._post(reopen_payload(request), request.reference)
        ticket_id = answer.get("ticket_id")
        return HelpdeskReopen(
            ReopenAction.WEBHOOK_DELIVERED, str(ticket_id) if ticket_id else request.survey.ticket_id
        )

    def add_note(self, request: TicketNote) -> bool:
        """POST the signed note (``note_payload``). Its ``X-Closeloop-Delivery`` (``reply-<response id>``)
        is the same on every retry, so the receiver adds it once; always True (it cannot be asked)."""
        self._post(note_payload(request), request.reference)
        return True

    def _post(self, payload: dict[str, Any], reference: str) -> dict[str, Any]:
        try:
            secret = self._secret() if callable(self._secret) else self._secret
        except SecretNotConfiguredError as error:
            raise HelpdeskRefusedError(f"generic webhook secret: {error}") from error
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp = str(int(self._clock()))
        return self._http.request_once(
            "POST",
            "",
            {
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(secret, timestamp, body),
                DELIVERY_HEADER: reference,
            },
            body,
        )


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None
