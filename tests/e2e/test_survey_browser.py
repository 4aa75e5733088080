"""The survey page in a real browser: headless Chromium (Debian's package) driven by Playwright.

A ticket event goes on the sandbox's bus; the real plan and send handlers mail the survey; the test
opens the link from the outbox's ``.eml``, answers, comments, submits, checks what was stored, runs
axe-core on the page and takes the screenshot the README shows (``make screenshots`` saves it as
docs/img/survey-page.png).

Needs ``make browser-deps`` (Chromium at /usr/bin/chromium, axe-core under .tools/axe); skips with the
reason when they are missing (the ``browser_deps`` fixture, tests/e2e/conftest.py).
"""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from closeloop_cli.mail_clients import CHROMIUM, LAUNCH_ARGS
from tests.e2e.sandbox_process import REPO, RunningSandbox, eventually, put_ticket_event, start_sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path, REPO / "template.yaml", "FollowUpDelayMinutes=0", "QuietHours=off")
    try:
        yield running
    finally:
        running.stop()


def send_survey(sandbox: RunningSandbox) -> email.message.EmailMessage:
    """A solved ticket on the bus; the real handlers plan and send its survey; the .eml it became."""
    detail = json.loads((REPO / "events" / "canonical" / "ticket_closed.json").read_text(encoding="utf-8"))[
        "detail"
    ]
    detail["closed_at"] = datetime.now(UTC).isoformat()
    detail["customer"] |= {"email": "sam.taylor@example.com", "name": "Sam Taylor", "locale": "en-GB"}
    detail["subject"] = "Charged twice for the October invoice"
    put_ticket_event(sandbox, detail)
    [eml] = eventually(lambda: sorted(sandbox.outbox.glob("*.eml")), timeout=45)
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def stored_responses(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    items = sandbox.client("dynamodb").scan(TableName=sandbox.outputs()["SurveysTableName"])["Items"]
    return [item for item in items if item["SK"]["S"].startswith("RESPONSE#")]


def test_a_customer_answers_the_survey_in_a_real_browser(
    sandbox: RunningSandbox, browser_deps: str, screenshots: Path
) -> None:
    from playwright.sync_api import sync_playwright

    # GIVEN a survey email that really went out
    message = send_survey(sandbox)
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    [link] = [url for url in re.findall(r"https?://\S+/s/\S+", text) if url.endswith("score=2")]
    assert link.startswith(sandbox.api_url)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(LAUNCH_ARGS))
        try:
            # bypass_csp: the pages forbid every script (as they should); axe-core is injected by the test.
            page = browser.new_page(viewport={"width": 800, "height": 1400}, bypass_csp=True)
            # WHEN the customer clicks "2" in the email
            page.goto(link)
            # THEN the page asks in English with 2 selected, and asks what went wrong
            assert page.locator("html").get_attribute("lang") == "en"
            assert page.get_by_label("2 – Dissatisfied").is_checked()  # noqa: RUF001 (the label's dash)
            assert page.get_by_role("group", name="What could we have done better?").is_visible()
            # AND nothing is stored by opening it
            assert stored_responses(sandbox) == []

            # WHEN they change to 4 with the keyboard-reachable radio, pick a reason, comment
            page.get_by_label("4 – Satisfied").check()  # noqa: RUF001 (the label's dash)
            page.get_by_label("Yes, it’s solved").check()  # noqa: RUF001 (the label's apostrophe)
            page.get_by_label("Anything you would like to add?").fill(
                "Marta sorted out the double charge quickly. Thank you!"
            )
            # THEN axe-core finds no serious or critical violation
            page.add_script_tag(content=browser_deps)
            results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            serious = [
                f"{violation['id']}: {violation['help']} ({len(violation['nodes'])} nodes)"
                for violation in results["violations"]
                if violation["impact"] in ("serious", "critical")
            ]
            assert serious == []
            height = page.evaluate("document.documentElement.scrollHeight")
            page.screenshot(
                path=str(screenshots / "survey-page.png"),
                clip={"x": 0, "y": 0, "width": 800, "height": height},
            )

            # WHEN they submit
            page.get_by_role("button", name="Send my answer").click()
            # THEN they are thanked
            page.wait_for_load_state()
            assert page.get_by_role("heading", name="Thank you for your answer").is_visible()
        finally:
            browser.close()

    # AND the answer is stored as they gave it
    [stored] = stored_responses(sandbox)
    assert stored["score"]["N"] == "4"
    assert stored["resolved"]["BOOL"] is True
    assert stored["comment"]["S"] == "Marta sorted out the double charge quickly. Thank you!"
    assert stored["locale"]["S"] == "en"
