"""``closeloop status`` against the stack in moto: counts from the table, the schedules and the queues."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from closeloop import wiring
from closeloop_cli.main import main
from closeloop_cli.status import collect, render_text
from tests.integration.conftest import Stack
from tests.integration.journeys import answer, deliver, sent_survey, solved_ticket
from tests.integration.test_redrive import access, park


def test_status_counts_what_is_scheduled_sent_answered_suppressed_and_dead_lettered(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two sent surveys, one answered twice (a changed answer), and a third ticket of another customer
    # planned an hour ahead (its send is scheduled)
    first = sent_survey(stack, ticket_id="1")
    sent_survey(stack, ticket_id="2", customer={"email": "marc@example.com", "name": "Marc"})
    answer(first, 5)
    answer(first, 4, minutes=1)
    monkeypatch.setenv("FOLLOW_UP_DELAY_MINUTES", "60")
    wiring.reset()
    deliver(stack, solved_ticket(ticket_id="3", customer={"email": "ana@example.com", "name": "Ana"}))
    # AND a fourth solve skipped for an excluded tag, an unsubscribed address, a parked send request
    deliver(stack, solved_ticket(ticket_id="4", tags=["no_survey"]))
    wiring.deliverability_store().suppress("gone@example.com", "unsubscribed", datetime.now(UTC))
    park(stack, stack.send_dlq, json.dumps({"survey_id": "s-9"}), "UnknownSurveyError: s-9")
    # WHEN the status is collected
    status = collect(access(stack), max_items=1000, now=datetime.now(UTC))
    # THEN each count is what happened
    assert status["scheduled"] == 1
    assert status["surveys"] == {"planned": 1, "sent": 2}
    assert (status["answers"], status["answered_surveys"]) == (2, 1)
    assert status["suppressed_addresses"] == {"unsubscribed": 1}
    assert status["skipped_solves"] == {"excluded_tag": 1}
    assert status["dead_lettered"]["send"] == 1
    assert status["dead_lettered"]["plan"] == 0
    assert status["table_complete"] is True
    # AND the text names no customer
    text = render_text(status, "the test stack")
    assert "sent 2" in text
    assert "@" not in text


def test_a_scan_stopped_by_max_items_says_its_counts_are_partial(stack: Stack) -> None:
    for ticket in ("1", "2", "3"):
        sent_survey(stack, ticket_id=ticket, customer={"email": f"c{ticket}@example.com", "name": "C"})
    status = collect(access(stack), max_items=2, now=datetime.now(UTC))
    assert status["table_complete"] is False
    assert status["table_items_read"] == 2
    assert "raise --max-items" in render_text(status, "the test stack")


def test_status_without_a_stack_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert main(["status"]) == 2
    assert "pass --stack-name" in capsys.readouterr().err
    assert main(["status", "--max-items", "0"]) == 2
