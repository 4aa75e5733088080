"""The survey pages' HTTP side: the headers every page carries and the query parameters each route reads.

Kept apart from the pages themselves (``closeloop.adapters.pages``), so the API handler can declare its
routes without loading the page renderer: a webhook never needs it. The request and answer values, and
the bound on a query value, are the domain's (``closeloop.domain.page_requests``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
# other); the page flow bounds their values (``closeloop.domain.page_requests.MAX_QUERY_VALUE_CHARS``).
SURVEY_QUERY: tuple[str, ...] = ("score", "answer", "lang")
UNSUBSCRIBE_QUERY: tuple[str, ...] = ("lang",)
QUERY_DESCRIPTIONS: Mapping[str, str] = {
    "score": "The answer clicked in the email (csat 1-5, nps 0-10, ces 1-7), pre-selected on the page",
    "answer": "The answer clicked in a resolved survey's email (yes or no), pre-selected on the page",
    "lang": "The page's language (a BCP 47 tag); by default the survey's, then Accept-Language",
}


def page_query(parameters: Mapping[str, str], names: Sequence[str]) -> dict[str, str]:
    """The query parameters a page reads (``names``), as sent; their length is checked by the page."""
    return {name: parameters[name] for name in names if name in parameters}
