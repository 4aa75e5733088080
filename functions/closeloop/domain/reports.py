"""Reports: how the surveys sent in a period did, per agent, team, week and so on.

The archive's events are read as a cohort: the surveys SENT in the period (``Survey Sent``'s ``sent_at``,
UTC days, both ends inclusive), grouped by the planning snapshot that event carries (the agent and team
who solved the ticket then, not now), and everything that later happened to those surveys, whenever it
happened: answers that come after the period still count for it. Every event counts once by its ``id``
(a redelivered event can be archived twice), every survey once by its ``survey_id``, and of a survey's
answers the LATEST (by ``received_at``) gives its score: a customer may change their answer.

The definitions, for a group of surveys (docs/reports.md repeats them for readers):

- ``surveys_sent``: surveys sent; ``reminders_sent``: those that were also reminded.
- ``answers``: surveys with at least one answer; ``response_rate`` = answers / surveys_sent (0-1).
- ``csat``: percent (0-100) of the CSAT answers (1-5) that score 4 or 5; ``csat_answers`` their count.
- ``nps``: percent of promoters (9-10) minus percent of detractors (0-6) among the NPS answers (0-10),
  -100..100; ``nps_answers``, ``promoters``, ``detractors`` the counts.
- ``ces_average``: the mean CES score (1 very easy .. 7 very difficult: lower is better).
- ``resolved_rate``: percent of the answers that said whether the problem was solved which said yes.
- ``negative_answers``: answers judged negative; ``reopens``: surveys whose ticket was reopened (or a
  follow-up created); ``reopen_rate`` = reopens / answers (0-1).
- ``median_minutes_to_answer``: median of (first answer's ``received_at`` - ``sent_at``), in minutes.
- ``bounces``, ``complaints``: surveys whose email bounced for good or drew a spam complaint;
  ``unsubscribes``: surveys through which the customer unsubscribed.

Every rate is None when its count is 0, never 0 %: no answers is not a bad score. This module is pure:
the adapters (closeloop.adapters.archive_reader) compute the counts with SQL and build ``Figures`` here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

# What a report can be grouped (and filtered) by: the survey's planning snapshot, and when it was sent.
GROUPINGS: tuple[str, ...] = (
    "agent",
    "team",
    "helpdesk",
    "locale",
    "brand",
    "channel",
    "survey_type",
    "rule",
    "negative_answer",
    "day",
    "week",
    "month",
)
# Answers arrive after the send: the archive is read this many days past the period (never past today).
ANSWER_WINDOW_DAYS = 60
# A report spans at most this many days: beyond it a question is better asked of Athena in pieces.
MAX_PERIOD_DAYS = 731
MAX_FILTER_CHARS = 200

CSAT_SATISFIED = 4  # CSAT 1-5: 4 and 5 are satisfied
NPS_PROMOTER = 9  # NPS 0-10: 9 and 10 promote
NPS_DETRACTOR = 6  # 0-6 detract; 7 and 8 are passive


class InvalidReportError(ValueError):
    """A report that cannot be asked for (a period backwards or too long, an unknown grouping); the
    message says what to change."""


@dataclass(frozen=True)
class ReportPeriod:
    """The surveys SENT from ``since`` to ``until``, both UTC days and inclusive."""

    since: date
    until: date

    def __post_init__(self) -> None:
        if self.until < self.since:
            raise InvalidReportError(f"the period ends ({self.until}) before it starts ({self.since})")
        if (self.until - self.since).days + 1 > MAX_PERIOD_DAYS:
            raise InvalidReportError(f"a report spans at most {MAX_PERIOD_DAYS} days")

    def archive_days(self, today: date) -> list[date]:
        """The archive's day partitions that can hold this cohort's events: from ``since`` to
        ``ANSWER_WINDOW_DAYS`` after ``until`` (answers come later), never past ``today``."""
        last = min(self.until + timedelta(days=ANSWER_WINDOW_DAYS), max(today, self.until))
        return [self.since + timedelta(days=offset) for offset in range((last - self.since).days + 1)]


def check_groupings(by: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The groupings, each known and named once, or ``InvalidReportError``."""
    unknown = [name for name in by if name not in GROUPINGS]
    if unknown:
        raise InvalidReportError(f"unknown grouping {unknown[0]!r}: choose from {', '.join(GROUPINGS)}")
    if len(set(by)) != len(by):
        raise InvalidReportError("a grouping is given twice")
    return tuple(by)


def check_filters(where: Mapping[str, str] | None) -> dict[str, str]:
    """Filters by grouping name, matched case-insensitively (their values trimmed and case-folded)."""
    checked: dict[str, str] = {}
    for name, value in (where or {}).items():
        check_groupings([name])
        if not value.strip() or len(value) > MAX_FILTER_CHARS:
            raise InvalidReportError(f"the {name} filter must be 1-{MAX_FILTER_CHARS} characters")
        checked[name] = filter_key(value)
    return checked


def filter_key(value: str) -> str:
    """How a filter value is compared: trimmed and case-insensitive, like a team lead's team."""
    return value.strip().casefold()


def iso_week(moment: date | datetime) -> str:
    """The ISO week ``YYYY-Www`` a moment belongs to (2027-01-01 is in 2026-W53)."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class GroupCounts:
    """What the archive's query counts for one group: the figures' inputs, all plain counts and sums."""

    surveys_sent: int = 0
    reminders_sent: int = 0
    answers: int = 0
    csat_answers: int = 0
    csat_satisfied: int = 0
    nps_answers: int = 0
    promoters: int = 0
    detractors: int = 0
    ces_answers: int = 0
    ces_total: int = 0
    resolved_answers: int = 0
    resolved_yes: int = 0
    negative_answers: int = 0
    reopens: int = 0
    median_minutes_to_answer: float | None = None
    bounces: int = 0
    complaints: int = 0
    unsubscribes: int = 0


@dataclass(frozen=True)
class Figures:
    """One group's figures; every rate comes with the count it is computed from (module docstring)."""

    group: dict[str, str | None]
    surveys_sent: int
    reminders_sent: int
    answers: int
    response_rate: float | None
    csat: float | None
    csat_answers: int
    nps: float | None
    nps_answers: int
    promoters: int
    detractors: int
    ces_average: float | None
    ces_answers: int
    resolved_rate: float | None
    resolved_answers: int
    negative_answers: int
    reopens: int
    reopen_rate: float | None
    median_minutes_to_answer: float | None
    bounces: int
    complaints: int
    unsubscribes: int

    def as_dict(self) -> dict[str, Any]:
        """The group's keys, then the figures under their stable names (the JSON report's object)."""
        values: dict[str, Any] = dict(self.group)
        values.update({f.name: getattr(self, f.name) for f in fields(self) if f.name != "group"})
        return values


# The figures' names, in the order every format prints them.
FIGURE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Figures) if f.name != "group")


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def figures(group: Mapping[str, str | None], counts: GroupCounts) -> Figures:
    """A group's figures from its counts, by the definitions in this module's docstring."""
    nps = (
        round(100 * (counts.promoters - counts.detractors) / counts.nps_answers, 1)
        if counts.nps_answers
        else None
    )
    minutes = counts.median_minutes_to_answer
    return Figures(
        group=dict(group),
        surveys_sent=counts.surveys_sent,
        reminders_sent=counts.reminders_sent,
        answers=counts.answers,
        response_rate=_ratio(counts.answers, counts.surveys_sent),
        csat=_percent(counts.csat_satisfied, counts.csat_answers),
        csat_answers=counts.csat_answers,
        nps=nps,
        nps_answers=counts.nps_answers,
        promoters=counts.promoters,
        detractors=counts.detractors,
        ces_average=round(counts.ces_total / counts.ces_answers, 2) if counts.ces_answers else None,
        ces_answers=counts.ces_answers,
        resolved_rate=_percent(counts.resolved_yes, counts.resolved_answers),
        resolved_answers=counts.resolved_answers,
        negative_answers=counts.negative_answers,
        reopens=counts.reopens,
        reopen_rate=_ratio(counts.reopens, counts.answers),
        median_minutes_to_answer=round(minutes, 1) if minutes is not None else None,
        bounces=counts.bounces,
        complaints=counts.complaints,
        unsubscribes=counts.unsubscribes,
    )


@dataclass(frozen=True)
class NegativeAnswer:
    """A survey of the period whose latest answer was judged negative, with its ticket. The customer's
    comment is not in the archive (``has_comment`` says whether there is one in the surveys table)."""

    survey_id: str
    response_id: str
    helpdesk: str | None
    ticket_id: str | None
    survey_type: str | None
    score: int | None
    resolved: bool | None
    reasons: tuple[str, ...]
    agent: str | None
    team: str | None
    received_at: datetime
    source: str | None
    has_comment: bool


@dataclass(frozen=True)
class ReopenedTicket:
    """A survey of the period whose ticket was reopened (first reopen), with the agent and team."""

    survey_id: str
    helpdesk: str | None
    ticket_id: str | None
    helpdesk_ticket_id: str | None
    agent: str | None
    team: str | None
    reopened_at: datetime


@dataclass(frozen=True)
class ScoreCount:
    """How many latest answers of one survey type gave one score (the score distribution)."""

    survey_type: str
    score: int
    answers: int
