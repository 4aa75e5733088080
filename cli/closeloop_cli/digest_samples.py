"""Sample figures for the weekly digest: what ``closeloop preview --all`` shows reviewers, and what the
tests feed the digest when no archive is at hand.

``SampleReports`` answers the report API's questions (``closeloop.domain.digest.TeamReports``) from rows
given in advance, by period, grouping and team, the way the archive reader answers them from Parquet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from closeloop.domain.digest import DigestPeriod, DigestRecipient, DigestWeeks, digest_weeks
from closeloop.domain.leads import team_key

UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class SampleFigures:
    """The report API's ``Figures`` as far as the digest reads them."""

    group: Mapping[str, str | None]
    surveys_sent: int
    answers: int
    response_rate: float | None
    csat: float | None
    csat_answers: int
    nps: float | None = None
    nps_answers: int = 0
    resolved_rate: float | None = None
    negative_answers: int = 0
    reopens: int = 0


@dataclass(frozen=True)
class SampleReopened:
    helpdesk: str
    ticket_id: str
    helpdesk_ticket_id: str | None
    agent: str | None
    team: str | None
    reopened_at: datetime


@dataclass(frozen=True)
class SampleNegative:
    helpdesk: str
    ticket_id: str
    score: int | None
    resolved: bool | None
    reasons: Sequence[str]
    agent: str | None
    team: str | None
    received_at: datetime


@dataclass
class SampleReports:
    """``TeamReports`` over rows given per (period start, grouping); ``where={"team": …}`` keeps the rows
    of that team (matched like ``team_key``), and the calls made are recorded."""

    figures_rows: dict[tuple[date, tuple[str, ...]], list[SampleFigures]] = field(default_factory=dict)
    reopened_rows: list[SampleReopened] = field(default_factory=list)
    negative_rows: list[SampleNegative] = field(default_factory=list)
    downloaded: list[list[date]] = field(default_factory=list)

    def reports_for(self, days: Sequence[date]) -> SampleReports:
        self.downloaded.append(list(days))
        return self

    def figures(
        self, period: DigestPeriod, by: Sequence[str] = (), where: Mapping[str, str] | None = None
    ) -> list[SampleFigures]:
        rows = self.figures_rows.get((period.since, tuple(by)), [])
        return [row for row in rows if _matches(row.group.get("team"), where)]

    def negative_answers(
        self, period: DigestPeriod, where: Mapping[str, str] | None = None, limit: int = 50
    ) -> list[SampleNegative]:
        return [
            row for row in self.negative_rows if _in(row.received_at, period) and _matches(row.team, where)
        ][:limit]

    def reopened(self, period: DigestPeriod, where: Mapping[str, str] | None = None) -> list[SampleReopened]:
        return [
            row for row in self.reopened_rows if _in(row.reopened_at, period) and _matches(row.team, where)
        ]


def _matches(team: str | None, where: Mapping[str, str] | None) -> bool:
    if not where or "team" not in where:
        return True
    return team is not None and team_key(team) == team_key(where["team"])


def _in(moment: datetime, period: DigestPeriod) -> bool:
    return period.since <= moment.astimezone(UTC).date() <= period.until


def sample_week(local_day: date = date(2026, 11, 30)) -> DigestWeeks:
    """The weeks of a digest sent on Monday 30 November 2026."""
    return digest_weeks(local_day)


def sample_reports(weeks: DigestWeeks, team: str = "Billing") -> SampleReports:
    """A team of three agents: one better than the week before, one worse, one new; two policies (a rule
    whose negative answers alert the lead, the rest reopening); two reopened tickets and three negative
    answers (one without reasons)."""

    def at(day: date, hour: int) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=UTC)

    now, before = weeks.current.since, weeks.previous.since
    return SampleReports(
        figures_rows={
            (now, ()): [SampleFigures({"team": team}, 120, 54, 0.45, 81.5, 50, 32.0, 4, 77.0, 6, 2)],
            (before, ()): [SampleFigures({"team": team}, 98, 40, 0.408, 85.0, 40, None, 0, 80.0, 3, 1)],
            (now, ("agent",)): [
                SampleFigures(
                    {"agent": "Marta Puig", "team": team}, 60, 30, 0.5, 90.0, 30, None, 0, 85.0, 1, 0
                ),
                SampleFigures(
                    {"agent": "Nguyễn Văn An", "team": team}, 45, 18, 0.4, 66.7, 15, None, 0, 70.0, 4, 2
                ),
                SampleFigures(
                    {"agent": "Luis Pérez", "team": team}, 15, 6, 0.4, 100.0, 5, None, 0, 60.0, 1, 0
                ),
            ],
            (now, ("rule", "negative_answer")): [
                SampleFigures(
                    {"rule": None, "negative_answer": "reopen", "team": team},
                    *(90, 39, 0.433, 79.7, 35, 32.0, 4, 75.0, 4, 2),
                ),
                SampleFigures(
                    {"rule": "VIP customers", "negative_answer": "alert", "team": team},
                    *(30, 15, 0.5, 86.7, 15, None, 0, 81.0, 2, 0),
                ),
            ],
            (before, ("agent",)): [
                SampleFigures(
                    {"agent": "Marta Puig", "team": team}, 50, 20, 0.4, 80.0, 20, None, 0, 80.0, 1, 0
                ),
                SampleFigures(
                    {"agent": "Nguyễn Văn An", "team": team}, 48, 20, 0.417, 90.0, 20, None, 0, 80.0, 2, 1
                ),
            ],
        },
        reopened_rows=[
            SampleReopened("zendesk", "4521", None, "Nguyễn Văn An", team, at(now + timedelta(days=1), 10)),
            SampleReopened("freshdesk", "88", "91", "Nguyễn Văn An", team, at(now + timedelta(days=3), 15)),
        ],
        negative_rows=[
            SampleNegative(
                "zendesk", "4521", 1, False, ("not_resolved", "slow"), "Nguyễn Văn An", team, at(now, 9)
            ),
            SampleNegative("freshdesk", "88", 2, None, ("unfriendly",), "Nguyễn Văn An", team, at(now, 12)),
            SampleNegative(
                "generic", "T-7", None, False, (), "Marta Puig", team, at(now + timedelta(days=5), 8)
            ),
        ],
    )


def sample_recipient(locale: str, team: str | None = "Billing") -> DigestRecipient:
    key = team_key(team) if team is not None else "@default"
    return DigestRecipient(
        key=key, email="lead@acme.example", locale=locale, timezone="Europe/Madrid", team=team
    )
