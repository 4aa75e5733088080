"""`closeloop rules validate` and `closeloop preview --ticket`: what an operator sees first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from closeloop_cli.main import main

EVENTS = Path(__file__).resolve().parents[2] / "events"
RULES = EVENTS / "rules" / "rules.json"


def test_a_valid_document_is_described_rule_by_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "validate", str(RULES)]) == 0
    output = capsys.readouterr().out
    assert "valid, 5 rule(s)" in output
    assert "2. pilot-billing: when team in ['billing'] -> negative_answer=alert, sample=0.3" in output


def test_an_invalid_document_lists_every_problem_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "validate", str(EVENTS / "rules" / "rules_invalid.json")]) == 2
    error = capsys.readouterr().err
    assert "6 problem(s)" in error
    assert "  - document.colour: unknown key (allowed: version, rules)" in error


def plan(capsys: pytest.CaptureFixture[str], *arguments: str) -> dict[str, object]:
    assert main(["preview", *arguments]) == 0
    shown: dict[str, object] = json.loads(capsys.readouterr().out)
    return shown


def test_preview_shows_the_matched_rule_and_the_plan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN a rule for the Billing team (the example ticket's) asking NPS two hours after the solve
    rules = tmp_path / "rules.json"
    rules.write_text(
        '{"version": 1, "rules": [{"name": "billing", "match": {"team": "Billing"}, "survey_type": "nps",'
        ' "delay_minutes": 120}]}',
        encoding="utf-8",
    )
    # WHEN the example ticket is previewed against it
    shown = plan(capsys, "--ticket", str(EVENTS / "canonical" / "ticket_closed.json"), "--rules", str(rules))
    # THEN the rule, its policy and the planned survey are shown
    assert shown["policy"] == {
        "rule": "billing",
        "survey": True,
        "survey_type": "nps",
        "delay_minutes": 120,
        "sender_name": "Support team",
        "negative_answer": "reopen",
        "sample": 1.0,
    }
    assert shown["outcome"] == {
        "result": "planned",
        "survey_type": "nps",
        "send_at": "2026-11-20T17:42:07+00:00",
    }


def test_preview_of_an_agents_own_ticket_shows_the_skip(capsys: pytest.CaptureFixture[str]) -> None:
    shown = plan(capsys, "--ticket", str(EVENTS / "canonical" / "ticket_closed_by_agent.json"))
    assert shown["outcome"] == {"result": "skipped", "reason": "internal_requester"}


def test_preview_refuses_a_broken_rules_document(capsys: pytest.CaptureFixture[str]) -> None:
    ticket = str(EVENTS / "canonical" / "ticket_closed.json")
    assert main(["preview", "--ticket", ticket, "--rules", str(EVENTS / "rules" / "rules_invalid.json")]) == 2
    assert "unknown key" in capsys.readouterr().err
