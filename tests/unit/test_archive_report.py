"""The report's SQL over hand-built archives (DuckDB on local Parquet files) gives the figures known by hand.

Each archive is built from the events closeloop publishes, stored as the archive stores them
(tests/archives.py). The Athena rendering of the same SQL is checked for its dialect only: nothing here
executes it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from closeloop.adapters.archive_reader import (
    ATHENA,
    DUCKDB,
    FIGURES_SQL,
    NEGATIVE_ANSWERS_SQL,
    REOPENED_SQL,
    SCORES_SQL,
    TOP_REASONS_SQL,
    ArchiveReport,
    build_query,
)
from closeloop.domain.reports import GROUPINGS, InvalidReportError, ReportPeriod
from tests.archives import answered, reminded, reopened, sent, suppressed, unsubscribed, write_archive

NOVEMBER = ReportPeriod(date(2026, 11, 1), date(2026, 11, 30))
TODAY = date(2026, 12, 2)
MONDAY = datetime(2026, 11, 2, 9, 0)  # ISO week 2026-W45


def report(tmp_path: Path, events: list[dict[str, Any]]) -> ArchiveReport:
    return ArchiveReport(write_archive(events, tmp_path), today=TODAY)


def test_a_survey_counts_once_however_often_its_events_were_archived(tmp_path: Path) -> None:
    # GIVEN a survey sent and answered, whose events were each delivered and archived twice
    events = [sent("s1", MONDAY), answered("s1", MONDAY + timedelta(hours=1), 5)]
    archive = write_archive(events, tmp_path / "first") + write_archive(events, tmp_path / "again")
    # WHEN the month is reported
    [total] = ArchiveReport(archive, today=TODAY).figures(NOVEMBER)
    # THEN one survey, one answer
    assert (total.surveys_sent, total.answers, total.csat_answers) == (1, 1, 1)


def test_the_latest_answer_gives_the_score_and_the_first_gives_the_time_to_answer(tmp_path: Path) -> None:
    # GIVEN a customer who answered 1 after 2 hours, then changed to 5 a day later
    archive = report(
        tmp_path,
        [
            sent("s1", MONDAY),
            answered("s1", MONDAY + timedelta(hours=2), 1, reasons=["slow"]),
            answered("s1", MONDAY + timedelta(days=1), 5),
        ],
    )
    [total] = archive.figures(NOVEMBER)
    # THEN the survey is one satisfied answer, not negative, answered after 120 minutes
    assert (total.answers, total.csat, total.csat_answers) == (1, 100.0, 1)
    assert total.negative_answers == 0
    assert total.median_minutes_to_answer == 120.0
    assert archive.negative_answers(NOVEMBER) == []
    assert archive.top_reasons(NOVEMBER) == []


def test_surveys_belong_to_the_period_they_were_sent_in_with_answers_that_came_later(tmp_path: Path) -> None:
    # GIVEN a survey sent on 30 November answered on 3 December, and one sent on 31 October answered on
    # 2 November
    events = [
        sent("late", datetime(2026, 11, 30, 22, 0)),
        answered("late", datetime(2026, 12, 3, 8, 0), 2),
        sent("before", datetime(2026, 10, 31, 12, 0)),
        answered("before", datetime(2026, 11, 2, 8, 0), 5),
    ]
    # WHEN November is reported on 10 December
    archive = ArchiveReport(write_archive(events, tmp_path), today=date(2026, 12, 10))
    [total] = archive.figures(NOVEMBER)
    # THEN November has the late-answered survey only, with its answer
    assert (total.surveys_sent, total.answers, total.csat) == (1, 1, 0.0)
    # AND October has the other, with its November answer
    october = archive.figures(ReportPeriod(date(2026, 10, 1), date(2026, 10, 31)))[0]
    assert (october.surveys_sent, october.answers, october.csat) == (1, 1, 100.0)


def test_csat_nps_ces_and_resolved_follow_their_scales(tmp_path: Path) -> None:
    # GIVEN CSAT answers 5, 4, 3, 1; NPS answers 10, 9, 8, 6, 0; CES answers 2 and 5; a resolved survey
    # answered yes, no and (third survey) not at all
    events: list[dict[str, Any]] = []
    for number, score in enumerate((5, 4, 3, 1)):
        events += [sent(f"c{number}", MONDAY), answered(f"c{number}", MONDAY + timedelta(hours=1), score)]
    for number, score in enumerate((10, 9, 8, 6, 0)):
        events += [
            sent(f"n{number}", MONDAY, survey_type="nps"),
            answered(f"n{number}", MONDAY + timedelta(hours=1), score, survey_type="nps"),
        ]
    for number, score in enumerate((2, 5)):
        events += [
            sent(f"e{number}", MONDAY, survey_type="ces"),
            answered(f"e{number}", MONDAY + timedelta(hours=1), score, survey_type="ces"),
        ]
    for number, resolved in enumerate((True, False)):
        events += [
            sent(f"r{number}", MONDAY, survey_type="resolved"),
            answered(
                f"r{number}", MONDAY + timedelta(hours=1), None, survey_type="resolved", resolved=resolved
            ),
        ]
    events.append(sent("r-unanswered", MONDAY, survey_type="resolved"))
    archive = report(tmp_path, events)
    by_type = {
        figures.group["survey_type"]: figures for figures in archive.figures(NOVEMBER, ["survey_type"])
    }
    # THEN CSAT = 2 of 4 satisfied, NPS = 40 % - 40 % = 0, CES = 3.5, resolved = 1 of 2
    assert (by_type["csat"].csat, by_type["csat"].csat_answers) == (50.0, 4)
    nps = by_type["nps"]
    assert (nps.nps, nps.nps_answers, nps.promoters, nps.detractors) == (0.0, 5, 2, 2)
    assert (by_type["ces"].ces_average, by_type["ces"].ces_answers) == (3.5, 2)
    resolved = by_type["resolved"]
    assert (resolved.resolved_rate, resolved.resolved_answers, resolved.surveys_sent) == (50.0, 2, 3)
    assert resolved.response_rate == round(2 / 3, 4)
    # AND the score distribution counts each latest score per type
    distribution = {
        (entry.survey_type, entry.score): entry.answers for entry in archive.score_distribution(NOVEMBER)
    }
    assert distribution[("csat", 5)] == 1
    assert distribution[("nps", 0)] == 1
    assert ("resolved", 0) not in distribution


def test_groups_use_the_snapshot_and_keep_surveys_without_a_team(tmp_path: Path) -> None:
    # GIVEN Marta's two surveys in two weeks (one answered), Joan's unanswered one, and one with no team
    archive = report(
        tmp_path,
        [
            sent("m1", MONDAY),
            answered("m1", MONDAY + timedelta(hours=3), 4),
            sent("m2", MONDAY + timedelta(days=7)),
            sent("j1", MONDAY, agent="Joan Roca"),
            sent("x1", MONDAY, agent=None, team=None),
        ],
    )
    # WHEN grouped by agent and week
    groups = {
        (figures.group["agent"], figures.group["week"]): figures
        for figures in archive.figures(NOVEMBER, ["agent", "week"])
    }
    # THEN each group counts its own surveys; a group without answers has no rates
    assert set(groups) == {
        ("Marta Puig", "2026-W45"),
        ("Marta Puig", "2026-W46"),
        ("Joan Roca", "2026-W45"),
        (None, "2026-W45"),
    }
    assert groups[("Marta Puig", "2026-W45")].csat == 100.0
    unanswered = groups[("Joan Roca", "2026-W45")]
    assert (unanswered.surveys_sent, unanswered.answers, unanswered.response_rate) == (1, 0, 0.0)
    assert unanswered.csat is None
    assert groups[(None, "2026-W45")].surveys_sent == 1
    # AND every grouping gives a report
    for grouping in GROUPINGS:
        assert sum(figures.surveys_sent for figures in archive.figures(NOVEMBER, [grouping])) == 4


def test_a_period_without_surveys_has_one_empty_total_and_no_groups(tmp_path: Path) -> None:
    archive = ArchiveReport([], today=TODAY)
    [total] = archive.figures(NOVEMBER)
    assert (total.surveys_sent, total.answers, total.response_rate) == (0, 0, None)
    assert archive.figures(NOVEMBER, ["team"]) == []


def test_reopens_reminders_bounces_complaints_and_unsubscribes_count_per_survey(tmp_path: Path) -> None:
    # GIVEN a survey answered 1 and reopened (the Case Reopened archived twice under two ids), a reminded
    # survey, a bounced one, a complained one and one whose customer unsubscribed
    events = [
        sent("bad", MONDAY, ticket_id="4711"),
        answered("bad", MONDAY + timedelta(hours=1), 1, reasons=["slow", "rude"], has_comment=True),
        reopened("bad", MONDAY + timedelta(hours=2), helpdesk_ticket_id="4711"),
        reopened("bad", MONDAY + timedelta(hours=3), helpdesk_ticket_id="4800"),
        sent("reminded", MONDAY),
        reminded("reminded", MONDAY + timedelta(days=3)),
        answered("reminded", MONDAY + timedelta(days=3, hours=1), 2, reasons=["slow"]),
        sent("bounced", MONDAY),
        suppressed("bounced", MONDAY + timedelta(minutes=1), "bounce"),
        sent("complained", MONDAY),
        suppressed("complained", MONDAY + timedelta(minutes=5), "complaint"),
        sent("unsubscribed", MONDAY),
        unsubscribed("unsubscribed", MONDAY + timedelta(minutes=9)),
    ]
    archive = report(tmp_path, events)
    [total] = archive.figures(NOVEMBER)
    assert (total.surveys_sent, total.reminders_sent, total.answers) == (5, 1, 2)
    assert (total.reopens, total.reopen_rate, total.negative_answers) == (1, 0.5, 2)
    assert (total.bounces, total.complaints, total.unsubscribes) == (1, 1, 1)
    # AND the negative answers are listed with their tickets, the latest first
    negative = archive.negative_answers(NOVEMBER)
    assert [answer.survey_id for answer in negative] == ["reminded", "bad"]
    assert negative[1].ticket_id == "4711"
    assert negative[1].reasons == ("slow", "rude")
    assert negative[1].has_comment is True
    # AND the reopened ticket once, at its first reopen
    [ticket] = archive.reopened(NOVEMBER)
    assert (ticket.survey_id, ticket.helpdesk_ticket_id) == ("bad", "4711")
    # AND the reasons by how many answers gave them
    assert archive.top_reasons(NOVEMBER) == [("slow", 2), ("rude", 1)]


def test_a_filter_matches_a_team_by_id_or_name_whatever_its_case(tmp_path: Path) -> None:
    archive = report(
        tmp_path,
        [
            sent("b1", MONDAY, team="Billing"),
            sent("s1", MONDAY, team="Shipping"),
            sent("n1", MONDAY, team=None),
        ],
    )
    assert archive.figures(NOVEMBER, where={"team": " billing"})[0].surveys_sent == 1
    assert archive.figures(NOVEMBER, where={"team": "TEAM-SHIPPING"})[0].surveys_sent == 1
    assert archive.figures(NOVEMBER, where={"team": "x' OR '1'='1"})[0].surveys_sent == 0
    with pytest.raises(InvalidReportError):
        archive.figures(NOVEMBER, where={"colour": "blue"})


@pytest.mark.parametrize(
    "template", [FIGURES_SQL, NEGATIVE_ANSWERS_SQL, REOPENED_SQL, TOP_REASONS_SQL, SCORES_SQL]
)
def test_the_athena_sql_is_the_duckdb_sql_with_trinos_spelling_of_three_functions(template: str) -> None:
    # Athena's SQL is never executed here (moto runs none): this checks it differs from the SQL DuckDB runs
    # only where the dialects differ.
    days = NOVEMBER.archive_days(TODAY)
    duckdb = build_query(template, NOVEMBER, days, DUCKDB, ["week", "team"], {"team": "billing"})
    athena = build_query(template, NOVEMBER, days, ATHENA, ["week", "team"], {"team": "billing"})
    assert duckdb.parameters == athena.parameters
    for marker in ("ISO_WEEK(", "MEDIAN(", "JOINED(", "strftime", "median(", "array_to_string"):
        assert marker not in athena.sql
    assert "a.dt BETWEEN '2026-11-01' AND '2026-12-02'" in athena.sql
    neutral = (
        athena.sql.replace(ATHENA.iso_week.format(x="s.sent_at"), "W")
        .replace(ATHENA.median.format(x="f.minutes_to_answer"), "M")
        .replace(ATHENA.joined.format(x="l.reasons"), "J")
    )
    assert neutral == (
        duckdb.sql.replace(DUCKDB.iso_week.format(x="s.sent_at"), "W")
        .replace(DUCKDB.median.format(x="f.minutes_to_answer"), "M")
        .replace(DUCKDB.joined.format(x="l.reasons"), "J")
    )
