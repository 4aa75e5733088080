"""The HTML report in a real browser: headless Chromium (Debian's package) driven by Playwright.

A hand-built archive of six weeks, three agents and every survey type becomes ``closeloop report --format
html``; the file is opened from disk, with every request to anywhere else refused (it must be
self-contained), and checked: the charts render, nothing is logged to the console, axe-core finds no
serious violation. ``make screenshots`` saves its screenshot as docs/img/report.png (docs/reports.md
shows it).

Needs ``make browser-deps``; skips with the reason when it is missing (tests/e2e/conftest.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from closeloop_cli.mail_clients import CHROMIUM, LAUNCH_ARGS
from closeloop_cli.main import main
from tests.archives import answered, reopened, sent, write_archive

START = datetime(2026, 10, 5, 9, 0)  # a Monday

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def six_weeks() -> list[dict[str, Any]]:
    """Ten surveys a week for six weeks from three agents, most answered, scores drifting."""
    events: list[dict[str, Any]] = []
    agents = (("Marta Puig", "Billing"), ("Joan Roca", "Billing"), ("Ana Lima", "Shipping"))
    kinds = ("csat", "csat", "nps", "ces", "resolved")
    for week in range(6):
        for number in range(10):
            survey = f"w{week}-{number}"
            agent, team = agents[number % 3]
            kind = kinds[number % 5]
            moment = START + timedelta(days=7 * week, hours=number)
            events.append(sent(survey, moment, survey_type=kind, agent=agent, team=team))
            if number == 9:
                continue
            later = moment + timedelta(hours=3 + number)
            score = {"csat": 1 + (week + number) % 5, "nps": (week * 3 + number) % 11, "ces": 1 + number % 7}
            resolved = None if kind != "resolved" else number % 2 == 0
            bad = (kind == "csat" and score["csat"] <= 2) or resolved is False
            events.append(
                answered(
                    survey,
                    later,
                    score.get(kind),
                    survey_type=kind,
                    resolved=resolved,
                    negative=bad,
                    reasons=["slow", "not_solved"][: 1 + number % 2] if bad else [],
                    has_comment=bad,
                )
            )
            if bad:
                events.append(reopened(survey, later + timedelta(minutes=10)))
    return events


def test_the_html_report_renders_its_charts_in_chromium_without_errors(
    browser_deps: str, tmp_path: Path, screenshots: Path
) -> None:
    from playwright.sync_api import sync_playwright

    # GIVEN six weeks of surveys in archive files, and their HTML report
    write_archive(six_weeks(), tmp_path / "archive")
    out = tmp_path / "report.html"
    code = main(
        [
            "report",
            "--archive-dir",
            str(tmp_path / "archive"),
            "--since",
            "2026-10-05",
            "--until",
            "2026-11-15",
            "--by",
            "agent",
            "--format",
            "html",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert date(2026, 11, 15) < date.today()  # the answers' days are in the past: the report reads them

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(LAUNCH_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900}, bypass_csp=True)
            messages: list[str] = []
            page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
            outside: list[str] = []
            page.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.startswith("file://")
                    else (outside.append(route.request.url), route.abort())
                ),
            )
            # WHEN the lead opens the file
            page.goto(out.as_uri())
            # THEN it is in English, with its sections as headings
            assert page.locator("html").get_attribute("lang") == "en"
            for heading in (
                "Trend per week",
                "Per agent",
                "Score distribution",
                "Top reasons",
                "Negative answers",
            ):
                assert page.get_by_role("heading", name=heading).first.is_visible()
            # AND every chart draws one bar per week, agent or score, each with its count as text
            trend = page.locator("#week-csat svg")
            assert trend.locator("g.bar").count() == 6
            drawn = trend.bounding_box()
            assert drawn is not None
            assert drawn["height"] > 100
            bar = trend.locator("g.bar rect").first.bounding_box()
            assert bar is not None
            assert bar["width"] > 0
            assert "(n=" in (trend.locator("g.bar text.value").first.text_content() or "")
            assert page.locator("#agent-csat g.bar").count() == 3
            assert page.locator("#scores-csat g.bar").count() == 5
            assert page.locator("#scores-nps g.bar").count() == 11
            assert page.locator("#reasons g.bar").count() == 2
            # AND the negative answers are listed with their tickets
            assert page.locator("section[aria-labelledby=negative] tbody tr").count() > 0
            # AND nothing was logged, and nothing outside the file was asked for
            assert messages == []
            assert outside == []
            # AND axe-core finds no serious or critical violation
            page.add_script_tag(content=browser_deps)
            results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            serious = [
                f"{violation['id']}: {violation['help']} ({len(violation['nodes'])} nodes)"
                for violation in results["violations"]
                if violation["impact"] in ("serious", "critical")
            ]
            assert serious == []
            page.screenshot(path=str(screenshots / "report.png"), full_page=True)
        finally:
            browser.close()
