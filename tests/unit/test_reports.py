"""The report's figures and period as closeloop.domain.reports defines them (counts in, figures out)."""

from __future__ import annotations

from datetime import date

import pytest

from closeloop.domain.reports import (
    ANSWER_WINDOW_DAYS,
    FIGURE_NAMES,
    GroupCounts,
    InvalidReportError,
    ReportPeriod,
    check_filters,
    check_groupings,
    figures,
    iso_week,
)


def test_every_rate_is_computed_from_the_count_printed_beside_it() -> None:
    # GIVEN 10 surveys sent, 4 answered: 2 CSAT answers (one satisfied), 2 NPS answers (a promoter, a
    # detractor), the resolved question answered twice (once yes), one reopen, answers after 30 minutes
    counts = GroupCounts(
        surveys_sent=10,
        answers=4,
        csat_answers=2,
        csat_satisfied=1,
        nps_answers=2,
        promoters=1,
        detractors=1,
        resolved_answers=2,
        resolved_yes=1,
        reopens=1,
        median_minutes_to_answer=30.0,
    )
    # WHEN its figures are computed
    result = figures({"team": "Billing"}, counts)
    # THEN each rate is its share of its own count
    assert result.response_rate == 0.4
    assert (result.csat, result.csat_answers) == (50.0, 2)
    assert (result.nps, result.nps_answers) == (0.0, 2)
    assert (result.resolved_rate, result.resolved_answers) == (50.0, 2)
    assert result.reopen_rate == 0.25
    assert result.median_minutes_to_answer == 30.0
    assert result.as_dict()["team"] == "Billing"


def test_a_group_without_answers_has_no_rates_rather_than_zero_percent() -> None:
    result = figures({}, GroupCounts(surveys_sent=3))
    assert result.response_rate == 0.0
    assert None is result.csat is result.nps is result.ces_average is result.resolved_rate
    assert result.reopen_rate is None
    assert result.median_minutes_to_answer is None


def test_nps_is_promoters_minus_detractors_in_percent_of_the_nps_answers() -> None:
    # GIVEN 7 NPS answers: 4 promoters, 2 passives, 1 detractor
    result = figures({}, GroupCounts(surveys_sent=7, answers=7, nps_answers=7, promoters=4, detractors=1))
    # THEN NPS = 57.1 % - 14.3 % = 42.9
    assert result.nps == 42.9


def test_ces_average_is_the_mean_score() -> None:
    assert figures({}, GroupCounts(ces_answers=3, ces_total=10)).ces_average == 3.33


def test_the_json_names_are_stable() -> None:
    # The JSON report's keys are a public contract (docs/reports.md lists them): renaming one breaks users.
    assert FIGURE_NAMES == (
        "surveys_sent",
        "reminders_sent",
        "answers",
        "response_rate",
        "csat",
        "csat_answers",
        "nps",
        "nps_answers",
        "promoters",
        "detractors",
        "ces_average",
        "ces_answers",
        "resolved_rate",
        "resolved_answers",
        "negative_answers",
        "reopens",
        "reopen_rate",
        "median_minutes_to_answer",
        "bounces",
        "complaints",
        "unsubscribes",
    )


def test_a_period_reads_the_archive_until_answers_stop_coming_but_never_past_today() -> None:
    period = ReportPeriod(date(2026, 11, 1), date(2026, 11, 30))
    assert period.archive_days(date(2026, 12, 2))[-1] == date(2026, 12, 2)
    days = period.archive_days(date(2027, 6, 1))
    assert (days[0], days[-1]) == (date(2026, 11, 1), date(2027, 1, 29))
    assert len(days) == 30 + ANSWER_WINDOW_DAYS == 90


def test_a_period_ending_before_it_starts_is_refused_with_both_days() -> None:
    with pytest.raises(InvalidReportError, match="2026-11-01"):
        ReportPeriod(date(2026, 11, 2), date(2026, 11, 1))


def test_a_period_longer_than_two_years_is_refused() -> None:
    with pytest.raises(InvalidReportError, match="at most"):
        ReportPeriod(date(2024, 1, 1), date(2026, 1, 2))


def test_groupings_must_be_known_and_given_once() -> None:
    assert check_groupings(["team", "week"]) == ("team", "week")
    with pytest.raises(InvalidReportError, match="unknown grouping 'colour'"):
        check_groupings(["colour"])
    with pytest.raises(InvalidReportError, match="twice"):
        check_groupings(["team", "team"])


def test_filters_are_trimmed_and_case_insensitive() -> None:
    assert check_filters({"team": "  Billing "}) == {"team": "billing"}
    with pytest.raises(InvalidReportError):
        check_filters({"team": " "})


def test_the_iso_week_of_new_years_day_can_belong_to_the_previous_year() -> None:
    assert iso_week(date(2027, 1, 1)) == "2026-W53"
    assert iso_week(date(2026, 11, 30)) == "2026-W49"
