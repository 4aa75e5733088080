"""``closeloop seed``'s made-up surveys: reproducible, valid by closeloop's own event schemas, plausible, and
put only on the local sandbox."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from closeloop.adapters.archive import archive_row
from closeloop_cli.seed import AGENTS, LOCALES, NotTheSandboxError, SeedEvent, generate, sandbox_access
from tests.conftest import EVENTS
from tests.fakes import SHIPPED_LOCALES

UNTIL = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


@cache
def seeded(surveys: int = 600, weeks: int = 8, seed: int = 7) -> list[SeedEvent]:
    return generate(surveys, weeks, seed, UNTIL)


def schema(detail_type: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (EVENTS / "schemas" / (detail_type.lower().replace(" ", "_") + ".json")).read_text(encoding="utf-8")
    )
    return loaded


def test_the_same_seed_and_day_give_the_same_events() -> None:
    first = [(event.time, event.detail_type, event.detail()) for event in generate(200, 4, 11, UNTIL)]
    again = [(event.time, event.detail_type, event.detail()) for event in generate(200, 4, 11, UNTIL)]
    other = [(event.time, event.detail_type, event.detail()) for event in generate(200, 4, 12, UNTIL)]
    assert first == again
    assert first != other


def test_every_event_satisfies_its_published_schema() -> None:
    for detail_type in {event.detail_type for event in seeded()}:
        validator = jsonschema.Draft202012Validator(schema(detail_type))
        for event in (event for event in seeded() if event.detail_type == detail_type):
            errors = [error.message for error in validator.iter_errors(event.detail())]
            assert errors == [], (detail_type, errors)


def test_every_event_is_an_archive_row_with_its_time_in_the_period() -> None:
    for event in seeded():
        bus_event = {
            "id": "x",
            "time": event.time.isoformat(),
            "detail-type": event.detail_type,
            "detail": event.detail(),
        }
        row = archive_row(bus_event)
        assert UNTIL - timedelta(weeks=8) <= event.time <= UNTIL
        assert row.values["survey_id"] == event.detail()["survey_id"]


def test_each_survey_is_planned_once_and_its_events_follow_in_order() -> None:
    # GIVEN the events of each survey, oldest first
    by_survey: dict[str, list[SeedEvent]] = defaultdict(list)
    for event in seeded():
        by_survey[event.detail()["survey_id"]].append(event)
    # THEN there is one survey per ticket asked for, each planned first, sent once at most, and answered or
    # reopened only after it was sent
    assert len(by_survey) == 600
    for events in by_survey.values():
        kinds = [event.detail_type for event in events]
        assert kinds[0] == "Survey Planned"
        assert kinds.count("Survey Planned") == 1
        assert kinds.count("Survey Sent") <= 1
        if len(kinds) > 1:
            assert kinds[1] == "Survey Sent"
        assert kinds.count("Reminder Sent") <= 1
        assert [event.time for event in events] == sorted(event.time for event in events)


def test_a_reopen_follows_a_negative_answer_asking_for_one() -> None:
    answers = {
        event.detail()["response_id"]: event.detail()
        for event in seeded()
        if event.detail_type == "Survey Response Received"
    }
    reopens = [event.detail() for event in seeded() if event.detail_type == "Case Reopened"]
    assert reopens
    for reopen in reopens:
        answer = answers[reopen["response_id"]]
        assert (answer["negative"], answer["action"]) == (True, "reopen")


def test_the_mix_is_plausible_across_types_locales_agents_and_outcomes() -> None:
    events = seeded(3000)
    counts = Counter(event.detail_type for event in events)
    # GIVEN 3,000 surveys over 8 weeks: nearly all sent (the last day's are still planned)
    assert counts["Survey Planned"] == 3000
    assert 2800 <= counts["Survey Sent"] < 3000
    # THEN some are answered, some answers changed, some reopened, bounced, complained about, unsubscribed
    answered = {e.detail()["survey_id"] for e in events if e.detail_type == "Survey Response Received"}
    assert 0.25 <= len(answered) / counts["Survey Sent"] <= 0.6
    assert counts["Survey Response Received"] > len(answered)  # changed answers
    for kind in ("Reminder Sent", "Case Reopened", "Reopen Skipped", "Customer Unsubscribed"):
        assert counts[kind] > 0, kind
    reasons = Counter(e.detail()["reason"] for e in events if e.detail_type == "Customer Suppressed")
    assert reasons["bounce"] > reasons["complaint"] > 0
    # AND every shipped locale, survey type, team and agent appears
    sent = [event.detail() for event in events if event.detail_type == "Survey Sent"]
    assert {detail["locale"] for detail in sent} == set(SHIPPED_LOCALES) == set(LOCALES)
    assert {detail["survey_type"] for detail in sent} == {"csat", "nps", "ces"}
    assert {detail["agent_name"] for detail in sent} == {agent.name for agent in AGENTS}


def test_agents_differ_in_how_satisfied_their_customers_are() -> None:
    # GIVEN each agent's CSAT: the share of 4s and 5s among their surveys' answers
    agent_of = {
        e.detail()["survey_id"]: e.detail()["agent_name"]
        for e in seeded(3000)
        if e.detail_type == "Survey Sent"
    }
    scores: dict[str, list[int]] = defaultdict(list)
    for event in seeded(3000):
        detail = event.detail()
        if event.detail_type == "Survey Response Received" and detail["survey_type"] == "csat":
            scores[agent_of[detail["survey_id"]]].append(detail["score"])
    csat = {agent: sum(score >= 4 for score in found) / len(found) for agent, found in scores.items()}
    # THEN the best and the worst agent are clearly apart
    assert csat["Emily Carter"] - csat["Ivan Horvat"] > 0.15


def test_seed_refuses_a_stack_that_is_not_the_local_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"EventBusName": "closeloop"}), encoding="utf-8")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://events.eu-west-1.amazonaws.com")
    with pytest.raises(NotTheSandboxError, match="not on this machine"):
        sandbox_access(outputs)


def test_seed_accepts_the_sandbox_on_this_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"EventBusName": "closeloop"}), encoding="utf-8")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    assert sandbox_access(outputs).output("EventBusName") == "closeloop"
