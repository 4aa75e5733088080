"""The HTML report's bars: positions from values, the count always printed, no value never drawn as 0."""

from __future__ import annotations

from closeloop.domain.reports import GroupCounts, figures
from closeloop_cli.report_charts import METRICS, PLOT, metric_chart

NPS = next(metric for metric in METRICS if metric[0] == "nps")


def test_a_negative_nps_is_drawn_left_of_the_zero_line_and_a_group_without_answers_is_hatched() -> None:
    # GIVEN three weeks: NPS -50 of 4 answers, +100 of 2 answers, and no NPS answer
    weeks = [
        figures({"week": "2026-W45"}, GroupCounts(surveys_sent=4, answers=4, nps_answers=4, detractors=2)),
        figures({"week": "2026-W46"}, GroupCounts(surveys_sent=2, answers=2, nps_answers=2, promoters=2)),
        figures({"week": "2026-W47"}, GroupCounts(surveys_sent=3)),
    ]
    # WHEN the NPS chart is laid out
    chart = metric_chart("week-nps", weeks, "week", NPS)
    negative, full, empty = chart.bars
    # THEN the zero line is in the middle of the -100..100 axis
    assert chart.zero == PLOT / 2
    # AND -50 runs from a quarter of the axis to the zero line, 100 from the zero line to the end
    assert (negative.start, negative.length) == (PLOT / 4, PLOT / 4)
    assert (full.start, full.length) == (PLOT / 2, PLOT / 2)
    # AND each prints its value with its count; the week without answers says so instead of showing 0
    assert (negative.text, full.text) == ("-50.0 (n=4)", "100.0 (n=2)")
    assert empty.empty
    assert empty.text == "no nps answers (n=0)"
    assert "2026-W47: no nps answers (n=0)" in chart.description
