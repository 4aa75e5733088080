"""The weekly digest in a real browser, as mail clients lay it out: every shipped locale fits a 375 px
phone without sideways scrolling, its bars are painted as wide as their figures, and nothing is fetched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from closeloop.adapters.digest_email import DigestEmailComposer
from closeloop.adapters.rendering import EmailRenderer
from closeloop.domain.digest import build_digest
from closeloop.domain.links import LinkSigner
from closeloop_cli.digest_samples import sample_recipient, sample_reports, sample_week
from closeloop_cli.mail_clients import DESKTOP_WIDTH, PHONE_WIDTH, View, open_page, show
from tests.conftest import TEMPLATES
from tests.fakes import SHIPPED_LOCALES

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("email-browser")]

RENDERER = EmailRenderer(TEMPLATES, supported_locales=SHIPPED_LOCALES)
SIGNER = LinkSigner.from_secret({"active": "k1", "k1": "a-test-signing-key-of-enough-length"})
NOW = datetime(2026, 11, 30, 7, tzinfo=UTC)
VIEWS = (View(PHONE_WIDTH), View(PHONE_WIDTH, styled=False), View(DESKTOP_WIDTH))


def digest_html(locale: str, team: str | None) -> str:
    weeks = sample_week()
    digest = build_digest(sample_recipient(locale, team), weeks, sample_reports(weeks))
    composer = DigestEmailComposer(
        RENDERER, SIGNER, "https://surveys.example.com", {"zendesk": "https://acme.zendesk.com"}
    )
    return composer.compose(digest, NOW).html


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Any]:
    with open_page() as (_, page, devtools):
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        yield page, devtools, requests


@pytest.mark.parametrize("team", ["Billing", None], ids=["team", "all-teams"])
@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_the_digest_fits_a_phone_and_fetches_nothing(
    browser_page: Any, locale: str, team: str | None
) -> None:
    page, devtools, requests = browser_page
    html = digest_html(locale, team)
    for view in VIEWS:
        requests.clear()
        show(page, devtools, html, view)
        assert page.evaluate("document.documentElement.scrollWidth") <= view.width, (locale, view.name)
        assert [url for url in requests if not url.startswith(("about:", "data:"))] == []


def test_a_bar_is_painted_as_wide_as_its_figure(browser_page: Any) -> None:
    # GIVEN Marta Puig's CSAT bar (90 %) in the agents' table at desktop width
    page, devtools, _ = browser_page
    show(page, devtools, digest_html("en", "Billing"), View(DESKTOP_WIDTH))
    widths = page.evaluate(
        """() => {
          const cells = [...document.querySelectorAll('td[width="90%"], td[width="10%"]')];
          return cells.slice(0, 2).map((cell) => cell.getBoundingClientRect().width);
        }"""
    )
    filled, rest = widths
    # THEN the filled part is nine times the empty part, as 90 % is to 10 %
    assert filled / rest == pytest.approx(9, rel=0.15)
