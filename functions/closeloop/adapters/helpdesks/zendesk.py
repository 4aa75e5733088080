"""A small Zendesk Support API client: the users and groups closeloop needs to describe a ticket, and
reopening a ticket after a negative answer.

Standard library only (``urllib.request``) to keep the Lambda package lean. Authentication is an API
token: basic auth with ``{email}/token`` as the user name and the token as the password. Each request
has a timeout; 429 and 5xx answers and network errors are retried a bounded number of times, honouring
``Retry-After`` when Zendesk sends it, and within a total time budget that stays under the 10-12 seconds
Zendesk waits for a webhook answer.

Reopening (``reopen``) is a write and is tried once per delivery: the reopen queue retries it with
exponential backoff, so an outage is waited out rather than hammered. Failures are typed:
``HelpdeskUnavailableError`` (5xx, 429, timeouts, connection errors: retry later) or
``HelpdeskRefusedError`` (any other 4xx: never retry). ``call_json`` is that single classified request,
shared by the other helpdesk adapters. When an earlier attempt's outcome is unknown (``verify_first``),
the ticket's comments are read first, and nothing is written when the note's marker is already there.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from closeloop.adapters.secrets import SecretNotConfiguredError
from closeloop.domain.helpdesk_errors import HelpdeskError, HelpdeskRefusedError, HelpdeskUnavailableError
from closeloop.domain.reopening import HelpdeskReopen, ReopenAction, TicketReopen
from closeloop.domain.webhooks import HelpdeskGroup, HelpdeskUser

_RETRYABLE = frozenset({429, 500, 502, 503, 504})

# A write may take Zendesk longer than a read; the reopen function is not racing a webhook's deadline.
WRITE_TIMEOUT_SECONDS = 10.0
# How much of a helpdesk's error answer is kept in a dead-letter reason.
_ERROR_DETAIL_CHARS = 300


@dataclass(frozen=True)
class ZendeskCredentials:
    """An agent's email and an API token (Admin Center → Apps and integrations → Zendesk API)."""

    email: str
    api_token: str

    def authorization(self) -> str:
        raw = f"{self.email}/token:{self.api_token}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def zendesk_credentials(secret: Mapping[str, Any]) -> ZendeskCredentials:
    """API credentials from the Zendesk secret ``{"webhook_secret", "api_token", "email"}``."""
    email, token = str(secret.get("email") or "").strip(), str(secret.get("api_token") or "").strip()
    if not email or not token:
        raise SecretNotConfiguredError("zendesk secret lacks email or api_token")
    return ZendeskCredentials(email=email, api_token=token)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts, backoff, the longest ``Retry-After`` honoured, and a total budget."""

    timeout_seconds: float = 3.0
    max_attempts: int = 3
    backoff_seconds: float = 0.3
    max_retry_after_seconds: float = 3.0
    budget_seconds: float = 8.0


class ZendeskClient:
    """Reads Zendesk users and groups.

    ``credentials`` may be a callable, so a cached client picks up a rotated API token from the secret
    store without being rebuilt.
    """

    def __init__(
        self,
        base_url: str,
        credentials: ZendeskCredentials | Callable[[], ZendeskCredentials],
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        scheme = urllib.parse.urlsplit(base_url).scheme
        if scheme not in ("http", "https"):
            raise HelpdeskRefusedError("zendesk base URL must be an http(s) URL")
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock

    def get_user(self, user_id: str) -> HelpdeskUser:
        """A user by id: email, name, locale and time zone (IANA when Zendesk knows it)."""
        body = self._get_json(f"/api/v2/users/{_path_id(user_id)}.json")
        user = body.get("user")
        if not isinstance(user, dict):
            raise HelpdeskRefusedError("zendesk user response has no user object")
        return HelpdeskUser(
            id=str(user.get("id", user_id)),
            email=_optional_text(user.get("email")),
            name=_optional_text(user.get("name")),
            locale=_optional_text(user.get("locale")),
            # Zendesk's time_zone is a Rails name ("Eastern Time (US & Canada)"); iana_time_zone is IANA.
            time_zone=_optional_text(user.get("iana_time_zone")) or _optional_text(user.get("time_zone")),
        )

    def get_group(self, group_id: str) -> HelpdeskGroup:
        """A group by id."""
        body = self._get_json(f"/api/v2/groups/{_path_id(group_id)}.json")
        group = body.get("group")
        if not isinstance(group, dict):
            raise HelpdeskRefusedError("zendesk group response has no group object")
        return HelpdeskGroup(id=str(group.get("id", group_id)), name=_optional_text(group.get("name")))

    def reopen(self, request: TicketReopen, verify_first: bool = False) -> HelpdeskReopen:
        """Reopen a solved ticket with a private comment; a closed one gets a follow-up ticket instead.

        Zendesk answers 422 to any update of a Closed ticket; closeloop then reads the ticket and, when it
        is indeed closed, creates a follow-up (``via_followup_source_id``) for the same requester and
        group, with the same private comment. Any other 422 is a refusal. With ``verify_first``, a ticket
        whose comments already hold ``request.marker`` is left alone (the earlier attempt reached it); a
        follow-up's comment is on the new ticket, and its creation is made safe by the idempotency key.
        """
        ticket_id = _ticket_id(request.survey.ticket_id)
        if verify_first and self.has_comment(ticket_id, request.marker):
            return HelpdeskReopen(ReopenAction.REOPENED, ticket_id)
        comment = {"body": request.note, "public": False}
        try:
            body = self._write(
                "PUT", f"/api/v2/tickets/{ticket_id}.json", {"ticket": {"status": "open", "comment": comment}}
            )
        except HelpdeskRefusedError as error:
            if error.status != 422:
                raise
            ticket = self._write("GET", f"/api/v2/tickets/{ticket_id}.json", None).get("ticket")
            if not isinstance(ticket, dict) or ticket.get("status") != "closed":
                raise
            return self._create_follow_up(ticket_id, ticket, request)
        updated = body.get("ticket")
        reopened_id = updated.get("id") if isinstance(updated, dict) else None
        return HelpdeskReopen(ReopenAction.REOPENED, str(reopened_id or ticket_id))

    def has_comment(self, ticket_id: str, marker: str) -> bool:
        """Whether a comment of the ticket (newest first, one page of 100) contains ``marker``."""
        body = self._write(
            "GET", f"/api/v2/tickets/{_ticket_id(ticket_id)}/comments.json?sort_order=desc&per_page=100", None
        )
        comments = body.get("comments")
        if not isinstance(comments, list):
            return False
        return any(
            isinstance(comment, dict)
            and any(marker in str(comment.get(name) or "") for name in ("body", "plain_body", "html_body"))
            for comment in comments
        )

    def _create_follow_up(
        self, source_id: str, source: dict[str, Any], request: TicketReopen
    ) -> HelpdeskReopen:
        survey = request.survey
        ticket: dict[str, Any] = {
            "via_followup_source_id": int(source_id),
            "subject": request.follow_up_subject,
            "comment": {"body": request.note, "public": False},
            "status": "open",
        }
        if source.get("requester_id"):
            ticket["requester_id"] = source["requester_id"]
        else:
            requester = {"email": survey.customer_email}
            if survey.customer_name:
                requester["name"] = survey.customer_name
            ticket["requester"] = requester
        for copied in ("group_id", "brand_id"):
            if source.get(copied):
                ticket[copied] = source[copied]
        # Zendesk keeps an idempotency key for a while: a retried creation returns the first ticket.
        body = self._write(
            "POST",
            "/api/v2/tickets.json",
            {"ticket": ticket},
            extra_headers={"Idempotency-Key": f"closeloop-follow-up-{survey.survey_id}"},
        )
        created = body.get("ticket")
        if not isinstance(created, dict) or not created.get("id"):
            raise HelpdeskRefusedError("zendesk created a follow-up ticket but returned no id")
        return HelpdeskReopen(ReopenAction.FOLLOW_UP_CREATED, str(created["id"]))

    def _write(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        try:
            credentials = self._credentials() if callable(self._credentials) else self._credentials
        except SecretNotConfiguredError as error:
            raise HelpdeskRefusedError(f"zendesk credentials: {error}") from error
        headers = {"Authorization": credentials.authorization(), **(extra_headers or {})}
        return call_json(
            "zendesk", method, self._base_url + path, headers, payload, timeout=WRITE_TIMEOUT_SECONDS
        )

    def _get_json(self, path: str) -> dict[str, Any]:
        credentials = self._credentials() if callable(self._credentials) else self._credentials
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self._base_url + path,
            headers={"Authorization": credentials.authorization(), "Accept": "application/json"},
            method="GET",
        )
        policy = self._policy
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                with urllib.request.urlopen(request, timeout=policy.timeout_seconds) as response:  # noqa: S310
                    loaded = json.loads(response.read())
                if not isinstance(loaded, dict):
                    raise HelpdeskUnavailableError("zendesk answered with something other than a JSON object")
                return loaded
            except urllib.error.HTTPError as error:
                status = error.code
                retry_after = _retry_after_seconds(error.headers.get("Retry-After"))
                error.close()
                failure: HelpdeskError = HelpdeskUnavailableError(f"zendesk answered {status}", status)
                if status not in _RETRYABLE:
                    if status < 500:
                        failure = HelpdeskRefusedError(f"zendesk answered {status}", status)
                    raise failure from None
            except (urllib.error.URLError, TimeoutError, OSError) as error:
                failure = HelpdeskUnavailableError(f"zendesk unreachable: {type(error).__name__}")
                retry_after = None
            except ValueError as error:
                raise HelpdeskUnavailableError("zendesk answered with invalid JSON") from error

            if retry_after is not None and retry_after > policy.max_retry_after_seconds:
                raise failure  # honouring a long Retry-After would outlive the webhook's timeout
            wait = retry_after if retry_after is not None else policy.backoff_seconds * 2 ** (attempt - 1)
            elapsed = self._clock() - started
            if (
                attempt >= policy.max_attempts
                or elapsed + wait + policy.timeout_seconds > policy.budget_seconds
            ):
                raise failure
            self._sleep(wait)


def call_json(
    service: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    payload: Mapping[str, Any] | bytes | None,
    timeout: float = WRITE_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """One JSON request to a helpdesk, once, with its failure classified.

    Returns the answer's JSON object (a JSON array as ``{"items": array}``; empty when the answer is empty
    or neither). Raises
    ``HelpdeskUnavailableError`` for 5xx, 429, timeouts and connection errors, and
    ``HelpdeskRefusedError`` for any other status outside 2xx (with the helpdesk's error text, shortened).
    ``payload`` may be bytes already encoded (a signed body must be sent exactly as signed).
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise HelpdeskRefusedError(f"{service} URL must be an http(s) URL")
    data = json.dumps(payload).encode("utf-8") if isinstance(payload, Mapping) else payload
    all_headers = {"Accept": "application/json", **headers}
    if data is not None:
        all_headers.setdefault("Content-Type", "application/json; charset=utf-8")
    request = urllib.request.Request(url, data=data, headers=all_headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
            raw = response.read()
    except urllib.error.HTTPError as error:
        status = error.code
        try:
            detail = error.read()[:_ERROR_DETAIL_CHARS].decode("utf-8", "replace")
        except OSError:
            detail = ""
        error.close()
        reason, detail = f"{service} answered {status}", " ".join(detail.split())
        if status in _RETRYABLE or status >= 500:
            raise HelpdeskUnavailableError(reason, status, detail) from None
        raise HelpdeskRefusedError(reason, status, detail) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise HelpdeskUnavailableError(f"{service} unreachable: {type(error).__name__}") from error
    try:
        loaded = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {}
    if isinstance(loaded, list):
        return {"items": loaded}  # Freshdesk lists (e.g. a ticket's conversations) are bare arrays
    return loaded if isinstance(loaded, dict) else {}


def _ticket_id(value: str) -> str:
    if not value.isdigit():
        raise HelpdeskRefusedError(f"zendesk ticket ids are numeric, got {value!r}")
    return value


def _path_id(value: str) -> str:
    if not value.isdigit():
        raise HelpdeskRefusedError("zendesk ids are numeric")
    return value


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
