"""What a survey page route receives and answers, and the bounds on what it reads from the query.

Plain values, kept apart from the page flow (``closeloop.domain.survey_pages``) so the API handler can
build requests without loading the answer rules: a webhook never needs them. The HTTP side of the pages
(security headers, content type, the query names each route declares) is ``closeloop.adapters.page_http``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

# The longest query value a page accepts: an answer is at most "yes" or "10", a language tag at most
# 35 characters (BCP 47's practical maximum). Longer values are refused with 400 before any other work.
MAX_QUERY_VALUE_CHARS = 64


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
