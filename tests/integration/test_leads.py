"""``closeloop leads`` against the surveys table in moto: each team's lead, set, listed, found, removed."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from closeloop import wiring
from closeloop.domain.leads import TeamLead, team_key, team_lead
from closeloop_cli.main import main
from tests.integration.conftest import Stack
from tests.integration.journeys import sent_survey


def leads(*arguments: str) -> int:
    """``closeloop leads`` on the stack's surveys table (the one the functions are given)."""
    return main(["leads", *arguments, "--table", os.environ["SURVEYS_TABLE"]])


def listed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, str | None]]:
    capsys.readouterr()
    assert leads("list", "--format", "json") == 0
    rows: list[dict[str, str | None]] = json.loads(capsys.readouterr().out)
    return rows


def test_a_lead_set_for_a_team_is_what_the_reopen_function_finds(stack: Stack) -> None:
    # WHEN an operator sets Billing's lead
    assert leads("set", "Billing", "ana@acme.example", "--locale", "es") == 0
    # THEN the reopen function's lookup finds it under the team, whatever its case
    found = wiring.team_lead_repository().team_lead(team_key("BILLING"))
    assert found == TeamLead(team="Billing", email="ana@acme.example", locale="es")


def test_leads_are_listed_with_the_team_as_written(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert leads("set", "Billing", "ana@acme.example", "--locale", "es") == 0
    assert leads("set", "20455932", "marc@acme.example") == 0
    assert listed(capsys) == [
        {"team": "20455932", "email": "marc@acme.example", "locale": None, "timezone": None},
        {"team": "Billing", "email": "ana@acme.example", "locale": "es", "timezone": None},
    ]
    capsys.readouterr()
    assert leads("list") == 0
    assert capsys.readouterr().out.splitlines() == [
        "20455932: marc@acme.example (LeadLocale, DefaultTimezone)",
        "Billing: ana@acme.example (es, DefaultTimezone)",
    ]


def test_setting_a_lead_again_replaces_it(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert leads("set", "Billing", "ana@acme.example", "--locale", "es") == 0
    assert leads("set", "billing", "luis@acme.example") == 0
    assert listed(capsys) == [
        {"team": "billing", "email": "luis@acme.example", "locale": None, "timezone": None}
    ]


def test_a_lead_keeps_the_time_zone_their_digest_is_sent_by(stack: Stack) -> None:
    # WHEN an operator sets Billing's lead with a time zone
    assert leads("set", "Billing", "ana@acme.example", "--timezone", "Europe/Madrid") == 0
    # THEN the lead is stored with it
    found = wiring.team_lead_repository().team_lead("billing")
    assert found is not None
    assert found.timezone == "Europe/Madrid"


def test_a_lead_item_written_before_time_zones_reads_without_one(stack: Stack) -> None:
    # GIVEN a lead item as the previous release wrote it: no timezone attribute
    wiring.dynamodb_client().put_item(
        TableName=stack.table,
        Item={
            "PK": {"S": "LEAD#billing"},
            "SK": {"S": "LEAD"},
            "type": {"S": "lead"},
            "team": {"S": "Billing"},
            "email": {"S": "ana@acme.example"},
            "GSI1PK": {"S": "LEADS"},
            "GSI1SK": {"S": "LEAD#billing"},
        },
    )
    # THEN it still reads, as a lead without a time zone
    assert wiring.team_lead_repository().all() == [TeamLead(team="Billing", email="ana@acme.example")]


def test_removing_a_lead_forgets_it(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert leads("set", "Billing", "ana@acme.example") == 0
    assert leads("remove", " BILLING ") == 0
    assert listed(capsys) == []
    assert wiring.team_lead_repository().team_lead("billing") is None


def test_removing_a_team_without_a_lead_is_an_error(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert leads("remove", "Billing") == 1
    assert "has no lead" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("Billing", "ana.acme.example"), "is not an email address"),
        (("Billing", "ana@acme.example", "--locale", "Spanish"), "is not a locale"),
        (("  ", "ana@acme.example"), "the team is empty"),
        (("Billing", "ana@acme.example", "--timezone", "Europe/Gotham"), "is not an IANA time zone"),
        (("Billing", "ana@acme.example", "--timezone", "../../etc/passwd"), "is not an IANA time zone"),
    ],
)
def test_an_invalid_lead_is_refused_and_nothing_is_stored(
    stack: Stack, capsys: pytest.CaptureFixture[str], arguments: tuple[str, ...], message: str
) -> None:
    assert leads("set", *arguments) == 2
    assert message in capsys.readouterr().err
    assert listed(capsys) == []


def test_leads_live_beside_the_surveys_without_touching_them(stack: Stack) -> None:
    # GIVEN a sent survey, and a lead for its team
    survey = sent_survey(stack)
    wiring.team_lead_repository().put(team_lead("Billing", "ana@acme.example"), datetime.now(UTC))
    # THEN the customer's surveys are still exactly their surveys
    assert [s.survey_id for s in wiring.reopen_store().customer_surveys(survey.customer_email)] == [
        survey.survey_id
    ]


def test_without_table_the_sandbox_table_is_used(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the sandbox's outputs in the working directory
    (tmp_path / ".sandbox").mkdir()
    (tmp_path / ".sandbox" / "outputs.json").write_text(json.dumps({"SurveysTableName": stack.table}))
    monkeypatch.chdir(tmp_path)
    # WHEN a lead is set without --table
    assert main(["leads", "set", "Billing", "ana@acme.example"]) == 0
    # THEN it is in the sandbox's table
    assert wiring.team_lead_repository().team_lead("billing") is not None


def test_without_table_or_sandbox_the_command_says_what_to_give(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["leads", "list"]) == 1
    error = capsys.readouterr().err
    assert "--table" in error
    assert "SurveysTableName" in error
