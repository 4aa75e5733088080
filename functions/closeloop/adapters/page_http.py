"""What a survey page exchanges over HTTP: the request it reads, the page it answers, the headers it carries.

Kept apart from the pages themselves (``closeloop.adapters.pages``), so the API handler can declare its
routes without loading the page renderer: a webhook never needs it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

# Every page is a document of its own: no scripts, no external assets, no framing, no referrer leak of
# the token in the URL to other sites; forms post only to this origin.
PAGE_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    # Pages are only served over HTTPS (API Gateway has no plain-http endpoint); browsers ignore it on http.
    "Strict-Transport-Security": "max-age=31536000",
}
HTML_CONTENT_TYPE = "text/html; charset=utf-8"

# The query parameters each page reads (any other is ignored, as the links closeloop writes carry no
# other), and the longest value a page accepts: an answer is at most "yes" or "10", a language tag at most
# 35 characters (BCP 47's practical maximum). Longer values are refused with 400 before any other work.
SURVEY_QUERY: tuple[str, ...] = ("score", "answer", "lang")
UNSUBSCRIBE_QUERY: tuple[str, ...] = ("lang",)
MAX_QUERY_VALUE_CHARS = 64
QUERY_DESCRIPTIONS: Mapping[str, str] = {
    "score": "The answer clicked in the email (csat 1-5, nps 0-10, ces 1-7), pre-selected on the page",
    "answer": "The answer clicked in a resolved survey's email (yes or no), pre-selected on the page",
    "lang": "The page's language (a BCP 47 tag); by default the survey's, then Accept-Language",
}


@dataclass(frozen=True)
class Page:
    """One HTML answer: its status and document."""

    status: int
    html: str


@dataclass(frozen=True)
class PageRequest:
    """What the pages read from an HTTP request (header names lower case).

    ``request_domain`` is the domain the request reached, as API Gateway reports it in the request
    context (``requestContext.domainName``): the API's own origin, whatever the headers claim.
    """

    token: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""
    request_domain: str | None = None


def page_query(parameters: Mapping[str, str], names: Sequence[str]) -> dict[str, str]:
    """The query parameters a page reads (``names``), as sent; their length is checked by the page."""
    return {name: parameters[name] for name in names if name in parameters}


def overlong_query(query: Mapping[str, str]) -> str | None:
    """The name of the first query parameter longer than ``MAX_QUERY_VALUE_CHARS``, if any."""
    return next((name for name, value in query.items() if len(value) > MAX_QUERY_VALUE_CHARS), None)


def requested_hosts(request: PageRequest, public_base_url: str) -> Sequence[str]:
    """The hosts a same-site form comes from, as an ``Origin`` header would name them.

    The request's own domain, and the configured public URL's host when there is one (``PublicBaseUrl``:
    a custom domain). Nothing else: without a public URL, only the domain the request reached is trusted.
    """
    hosts = [request.request_domain or "", urlsplit(public_base_url).netloc if public_base_url else ""]
    return [host for host in hosts if host]
