"""Reopening a Freshdesk ticket: status Open (2) and a private note with the customer's answer.

Freshdesk API v2, basic auth with the API key as the user name and ``X`` as the password. The status
is set first and the note added second: a retry after a failed note repeats the (idempotent) status
change instead of adding a second note. A note's body is HTML, so the plain-text note is escaped and its
line breaks kept. When an earlier attempt's outcome is unknown (``verify_first``), the ticket's
conversations are read first, and nothing is written when the note's marker is already there.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from closeloop.adapters.helpdesks.http import HelpdeskHttp
from closeloop.domain.credentials import SecretNotConfiguredError
from closeloop.domain.helpdesk_errors import HelpdeskRefusedError
from closeloop.domain.reopening import HelpdeskReopen, ReopenAction, TicketNote, TicketReopen

if TYPE_CHECKING:
    import urllib3

# Freshdesk's ticket statuses (2 Open, 3 Pending, 4 Resolved, 5 Closed).
STATUS_OPEN = 2


@dataclass(frozen=True)
class FreshdeskCredentials:
    """An agent's API key (Profile settings → View API key)."""

    api_key: str

    def authorization(self) -> str:
        return "Basic " + base64.b64encode(f"{self.api_key}:X".encode()).decode("ascii")


def freshdesk_credentials(secret: Mapping[str, Any]) -> FreshdeskCredentials:
    """API credentials from the Freshdesk secret ``{"webhook_secret", "api_key"}``."""
    api_key = str(secret.get("api_key") or "").strip()
    if not api_key:
        raise SecretNotConfiguredError("freshdesk secret lacks api_key")
    return FreshdeskCredentials(api_key=api_key)


def note_html(text: str) -> str:
    """Plain text as the HTML a Freshdesk note body takes: escaped, one ``<br>`` per line break."""
    return "<br>\n".join(html.escape(line) for line in text.splitlines())


class FreshdeskClient:
    """Reopens Freshdesk tickets. ``credentials`` may be a callable (a rotated key is picked up);
    ``pool`` is the process's connection pool (``http.connection_pool``).

    Every request is tried once (``HelpdeskHttp.request_once``): the reopen queue retries with backoff.
    """

    def __init__(
        self,
        base_url: str,
        credentials: FreshdeskCredentials | Callable[[], FreshdeskCredentials],
        pool: urllib3.PoolManager | None = None,
    ) -> None:
        self._http = HelpdeskHttp("freshdesk", base_url.rstrip("/"), pool)
        self._credentials = credentials

    def reopen(self, request: TicketReopen, verify_first: bool = False) -> HelpdeskReopen:
        """Set the ticket to Open, then add the private note (unless ``verify_first`` finds it there)."""
        ticket_id = request.survey.ticket_id
        if not ticket_id.isdigit():
            raise HelpdeskRefusedError(f"freshdesk ticket ids are numeric, got {ticket_id!r}")
        if verify_first and self.has_note(ticket_id, request.marker):
            # The note is added after the status: an earlier attempt that added it did both.
            return HelpdeskReopen(ReopenAction.REOPENED, ticket_id)
        self._call("PUT", f"/api/v2/tickets/{ticket_id}", {"status": STATUS_OPEN})
        note = {"body": note_html(request.note), "private": True}
        self._call("POST", f"/api/v2/tickets/{ticket_id}/notes", note)
        return HelpdeskReopen(ReopenAction.REOPENED, ticket_id)

    def add_note(self, request: TicketNote) -> bool:
        """A private note with an email reply's text, leaving the status alone, unless the ticket's
        conversations already hold ``request.marker``."""
        ticket_id = request.survey.ticket_id
        if not ticket_id.isdigit():
            raise HelpdeskRefusedError(f"freshdesk ticket ids are numeric, got {ticket_id!r}")
        if self.has_note(ticket_id, request.marker):
            return False
        self._call(
            "POST", f"/api/v2/tickets/{ticket_id}/notes", {"body": note_html(request.note), "private": True}
        )
        return True

    def has_note(self, ticket_id: str, marker: str) -> bool:
        """Whether a conversation of the ticket (its notes and replies, first page) contains ``marker``."""
        conversations = self._call("GET", f"/api/v2/tickets/{ticket_id}/conversations?per_page=100", None)
        entries = conversations.get("items")
        if not isinstance(entries, list):
            return False
        return any(
            isinstance(entry, dict)
            and any(marker in str(entry.get(name) or "") for name in ("body_text", "body"))
            for entry in entries
        )

    def _call(self, method: str, path: str, payload: Mapping[str, Any] | None) -> dict[str, Any]:
        try:
            credentials = self._credentials() if callable(self._credentials) else self._credentials
        except SecretNotConfiguredError as error:
            raise HelpdeskRefusedError(f"freshdesk credentials: {error}") from error
        return self._http.request_once(method, path, {"Authorization": credentials.authorization()}, payload)
