"""The HTML report's charts as plain shapes (horizontal bars with their positions; a trend reads top to
bottom, one week a row), drawn as inline SVG by
``templates/report.html.j2``: no charting library, no script. Every bar carries its value AND the count
it stands on as text, so neither colour nor length alone says anything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from closeloop.domain.reports import Figures
from closeloop.domain.surveys import SCORE_RANGES

if TYPE_CHECKING:
    from closeloop_cli.report import ReportData

# (figure, its count, title, unit, lowest, highest): the scores charted, when the period has any.
METRICS: tuple[tuple[str, str, str, str, float, float], ...] = (
    ("response_rate", "surveys_sent", "Response rate", "%", 0, 100),
    ("csat", "csat_answers", "CSAT: satisfied (4-5 of 5)", "%", 0, 100),
    ("nps", "nps_answers", "NPS", "", -100, 100),
    ("ces_average", "ces_answers", "CES average (1 very easy .. 7 very difficult)", "", 0, 7),
    ("resolved_rate", "resolved_answers", "Resolved", "%", 0, 100),
)
MAX_AGENTS = 40
BAR = 26  # px per bar (its thickness and the gap)
PLOT = 320  # px of the value axis
LABEL = 170  # px left of horizontal bars, for their labels


@dataclass(frozen=True)
class Bar:
    label: str
    text: str  # the value and its count, always printed
    start: float  # px along the value axis where the bar begins (the zero line for negative values)
    length: float  # px (0 for no value)
    offset: float  # px across: where this bar sits
    empty: bool  # no value (no answers): drawn as a hatched stub


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    bars: tuple[Bar, ...]
    zero: float  # px of the zero line along the value axis
    width: int
    height: int
    description: str


def _value_text(value: float | None, unit: str, count: int, count_name: str) -> str:
    if value is None:
        return f"no {count_name.replace('_', ' ')} (n=0)"
    shown = round(value * 100, 1) if unit == "%" and count_name == "surveys_sent" else value
    return f"{shown}{' %' if unit == '%' else ''} (n={count})"


def _bars(
    labelled: list[tuple[str, float | None, int, str]], lowest: float, highest: float
) -> tuple[tuple[Bar, ...], float]:
    scale = PLOT / (highest - lowest)
    zero = (0 - lowest) * scale
    bars = []
    for index, (label, value, _count, text) in enumerate(labelled):
        if value is None:
            bars.append(Bar(label, text, zero, 0, index * BAR, True))
            continue
        clipped = max(lowest, min(highest, value))
        end = (clipped - lowest) * scale
        bars.append(Bar(label, text, min(zero, end), abs(end - zero), index * BAR, False))
    return tuple(bars), zero


def metric_chart(
    key: str, groups: list[Figures], label_of: str, metric: tuple[str, str, str, str, float, float]
) -> Chart:
    name, count_name, title, unit, lowest, highest = metric
    labelled: list[tuple[str, float | None, int, str]] = []
    for figures in groups:
        values = figures.as_dict()
        value, count = values[name], int(values[count_name])
        plotted = value * 100 if (value is not None and name == "response_rate") else value
        label = values.get(label_of) or "(none)"
        labelled.append((str(label), plotted, count, _value_text(value, unit, count, count_name)))
    bars, zero = _bars(labelled, lowest, highest)
    description = "; ".join(f"{bar.label}: {bar.text}" for bar in bars)
    return Chart(key, title, bars, zero, LABEL + PLOT + 170, max(1, len(bars)) * BAR + 40, description)


def _counts_chart(key: str, title: str, labelled: list[tuple[str, int]], total: int) -> Chart:
    highest = max([count for _, count in labelled] + [1])
    entries: list[tuple[str, float | None, int, str]] = [
        (label, float(count), count, f"{count} ({round(100 * count / total, 1) if total else 0} %)")
        for label, count in labelled
    ]
    bars, zero = _bars(entries, 0, highest)
    description = "; ".join(f"{bar.label}: {bar.text}" for bar in bars)
    return Chart(key, title, bars, zero, LABEL + PLOT + 170, max(1, len(bars)) * BAR + 40, description)


def charts(data: ReportData) -> dict[str, list[Chart]]:
    """The trend per week, the bars per agent, the score distribution and the top reasons."""
    totals = data.total.as_dict()
    present = [metric for metric in METRICS if int(totals[metric[1]])]
    agents = sorted(data.agents, key=lambda figures: -figures.surveys_sent)[:MAX_AGENTS]
    distribution = []
    for survey_type, (low, high) in SCORE_RANGES.items():
        counted = {entry.score: entry.answers for entry in data.scores if entry.survey_type == survey_type}
        if counted:
            labelled = [
                (f"{survey_type.upper()} {score}", counted.get(score, 0)) for score in range(low, high + 1)
            ]
            distribution.append(
                _counts_chart(
                    f"scores-{survey_type}", f"{survey_type.upper()} scores", labelled, sum(counted.values())
                )
            )
    answers = sum(count for _, count in data.reasons) or 1
    reasons = (
        [_counts_chart("reasons", "Top reasons given", list(data.reasons), data.total.answers or answers)]
        if data.reasons
        else []
    )
    return {
        "weeks": [metric_chart(f"week-{m[0]}", data.weeks, "week", m) for m in present],
        "agents": [metric_chart(f"agent-{m[0]}", agents, "agent", m) for m in present],
        "scores": distribution,
        "reasons": reasons,
    }
