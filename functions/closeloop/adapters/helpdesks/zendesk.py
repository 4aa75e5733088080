"""A small Zendesk Support API client: the users and groups closeloop needs to describe a ticket, and
reopening a ticket after a negative answer.

Authentication is an API token: basic auth with ``{email}/token`` as the user name and the token as the
password. Requests go through ``closeloop.adapters.helpdesks.http``, which holds the retry policy: the
webhook route's lookups (users, groups) are retried a bounded number of times within a time budget that
stays under the 10-12 seconds Zendesk waits for a webhook answer; reopening (``reopen``) is tried once per
delivery, and the reopen queue retries it with exponential backoff, so an outage is waited out rather than
hammered. Failures are ``HelpdeskUnavailableError`` (retry later) or ``HelpdeskRefusedError`` (never).
When an earlier attempt's outcome is unknown (``verify_first``), the ticket's comments are read first, and
nothing is written when the note's marker is already there.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from closeloop.adapters.helpdesks.http import HelpdeskHttp
from closeloop.domain.credentials import SecretNotConfiguredError
from closeloop.domain.helpdesk_errors import HelpdeskRefusedError
from closeloop.domain.reopening import HelpdeskReopen, ReopenAction, TicketNote, TicketReopen
from closeloop.domain.webhooks import HelpdeskGroup, HelpdeskUser

if TYPE_CHECKING:
    import urllib3


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


class ZendeskClient:
    """Reads Zendesk users and groups, and reopens tickets.

    ``credentials`` may be a callable, so a cached client picks up a rotated API token from the secret
    store without being rebuilt. ``pool`` is the process's connection pool (``http.connection_pool``).
    """

    def __init__(
        self,
        base_url: str,
        credentials: ZendeskCredentials | Callable[[], ZendeskCredentials],
        pool: urllib3.PoolManager | None = None,
    ) -> None:
        self._http = HelpdeskHttp("zendesk", base_url.rstrip("/"), pool)
        self._credentials = credentials

    def get_user(self, user_id: str) -> HelpdeskUser:
        """A user by id: email, name, locale, time zone (IANA when Zendesk knows it) and role."""
        body = self._lookup(f"/api/v2/users/{_path_id(user_id)}.json")
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
            role=_optional_text(user.get("role")),
        )

    def get_group(self, group_id: str) -> HelpdeskGroup:
        """A group by id."""
        body = self._lookup(f"/api/v2/groups/{_path_id(group_id)}.json")
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
            body = self._request_once(
                "PUT", f"/api/v2/tickets/{ticket_id}.json", {"ticket": {"status": "open", "comment": comment}}
            )
        except HelpdeskRefusedError as error:
            if error.status != 422:
                raise
            ticket = self._request_once("GET", f"/api/v2/tickets/{ticket_id}.json", None).get("ticket")
            if not isinstance(ticket, dict) or ticket.get("status") != "closed":
                raise
            return self._create_follow_up(ticket_id, ticket, request)
        updated = body.get("ticket")
        reopened_id = updated.get("id") if isinstance(updated, dict) else None
        return HelpdeskReopen(ReopenAction.REOPENED, str(reopened_id or ticket_id))

    def add_note(self, request: TicketNote) -> bool:
        """A private comment with an email reply's text, leaving the status alone, unless the ticket's
        comments already hold ``request.marker``. A Closed ticket takes no comment (422): a refusal."""
        ticket_id = _ticket_id(request.survey.ticket_id)
        if self.has_comment(ticket_id, request.marker):
            return False
        comment = {"body": request.note, "public": False}
        self._request_once("PUT", f"/api/v2/tickets/{ticket_id}.json", {"ticket": {"comment": comment}})
        return True

    def has_comment(self, ticket_id: str, marker: str) -> bool:
        """Whether a comment of the ticket (newest first, one page of 100) contains ``marker``."""
        body = self._request_once(
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
        body = self._request_once(
            "POST",
            "/api/v2/tickets.json",
            {"ticket": ticket},
            extra_headers={"Idempotency-Key": f"closeloop-follow-up-{survey.survey_id}"},
        )
        created = body.get("ticket")
        if not isinstance(created, dict) or not created.get("id"):
            raise HelpdeskRefusedError("zendesk created a follow-up ticket but returned no id")
        return HelpdeskReopen(ReopenAction.FOLLOW_UP_CREATED, str(created["id"]))

    def _request_once(
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
        return self._http.request_once(method, path, headers, payload)

    def _lookup(self, path: str) -> dict[str, Any]:
        credentials = self._credentials() if callable(self._credentials) else self._credentials
        return self._http.read_with_retries(path, {"Authorization": credentials.authorization()})


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
