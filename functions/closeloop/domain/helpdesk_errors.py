"""How a call to a helpdesk's API fails: one hierarchy for the webhook lookups and for reopening.

The helpdesk adapters translate every transport failure into one of these (the domain never sees an HTTP
library's errors); they live apart from the reopen rules so the webhook route can catch them without
loading those. Two kinds, because callers act on two: ask again later, or never.
"""

from __future__ import annotations


class HelpdeskError(Exception):
    """A helpdesk API call failed.

    ``reason`` is short and safe to show a caller or to log: the service and the status it answered, or
    the type of the failure (never a URL, a credential or a body). ``status`` is the HTTP status when the
    helpdesk answered. ``detail`` is the helpdesk's own error text, shortened; ``str()`` of the error adds
    it, so a dead-letter reason says what the helpdesk objected to.
    """

    def __init__(self, reason: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.status = status
        self.detail = detail

    @property
    def not_found(self) -> bool:
        return self.status == 404


class HelpdeskUnavailableError(HelpdeskError):
    """A later attempt may succeed: 5xx, 429, no connection, no answer in time, or a read answered with
    something other than JSON (a proxy's error page).

    After a write that went out (a read timeout, a connection dropped, a 5xx), the write's outcome is
    unknown: a reopen checks the ticket for its note before writing again (see docs/reopening.md).
    """


class HelpdeskRefusedError(HelpdeskError):
    """It never will: a 4xx other than 429, a redirect, an answer too large or lacking what was asked
    for, missing configuration or credentials."""
