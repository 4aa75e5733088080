"""Reading the event archive: the report's SQL, run by DuckDB on local files or by Athena in the account.

The SQL is written once, in the subset DuckDB and Athena engine v3 (Trino) share; the three places where
they differ are named in ``Dialect`` (the ISO week's text, the median, a list joined to text) and filled in
for each engine. DuckDB runs it here, over the day partitions ``ArchiveFiles`` downloaded (hive
partitioning, ``dt`` read as text as Glue declares it). Athena runs it in the stack's workgroup; no test
here executes it there (moto's Athena runs no SQL), so the Athena text is checked by its rendering only.

What the SQL counts is defined in closeloop.domain.reports; filters reach it as query parameters, never
as text formatted into it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from closeloop.adapters.archive import ARCHIVE_COLUMNS, day_prefix
from closeloop.domain.reports import (
    Figures,
    GroupCounts,
    NegativeAnswer,
    ReopenedTicket,
    ReportPeriod,
    ScoreCount,
    check_filters,
    check_groupings,
    figures,
)


@dataclass(frozen=True)
class Dialect:
    """The few expressions the two engines spell differently (``{x}`` is the argument)."""

    name: str
    iso_week: str
    median: str
    joined: str

    def render(self, sql: str, source: str) -> str:
        def week(match: re.Match[str]) -> str:
            return self.iso_week.format(x=match.group(1))

        def median(match: re.Match[str]) -> str:
            return self.median.format(x=match.group(1))

        def joined(match: re.Match[str]) -> str:
            return self.joined.format(x=match.group(1))

        sql = re.sub(r"ISO_WEEK\(([^()]*)\)", week, sql)
        sql = re.sub(r"MEDIAN\(([^()]*)\)", median, sql)
        sql = re.sub(r"JOINED\(([^()]*)\)", joined, sql)
        sql = sql.replace("REPORT_COLUMNS", ", ".join(f"a.{name}" for name in REPORT_COLUMNS))
        return sql.replace("ARCHIVE_SOURCE", source)


DUCKDB = Dialect(
    name="duckdb",
    iso_week="strftime({x}, '%G-W%V')",
    median="median({x})",
    joined="array_to_string({x}, '|')",
)
ATHENA = Dialect(
    name="athena",
    iso_week=("concat(cast(year_of_week({x}) as varchar), '-W', lpad(cast(week({x}) as varchar), 2, '0'))"),
    median="approx_percentile({x}, 0.5)",
    joined="array_join({x}, '|')",
)

# How each grouping is computed from a survey of the cohort (table alias ``s``, the Survey Sent row).
GROUP_EXPRESSIONS: dict[str, str] = {
    "agent": "coalesce(s.agent_name, s.agent_id)",
    "team": "coalesce(s.team_name, s.team_id)",
    "helpdesk": "s.helpdesk",
    "locale": "s.locale",
    "brand": "s.brand",
    "channel": "s.channel",
    "survey_type": "s.survey_type",
    "rule": "s.rule",
    "negative_answer": "s.negative_answer",
    "day": "cast(cast(s.sent_at as date) as varchar)",
    "week": "ISO_WEEK(s.sent_at)",
    "month": "substr(cast(s.sent_at as varchar), 1, 7)",
}
# How a filter is matched: agent and team by id or name, everything else by its value, all trimmed and
# case-insensitive; the value is a query parameter (one ``?`` per use).
FILTER_EXPRESSIONS: dict[str, str] = {
    name: f"lower(trim({expression})) = ?" for name, expression in GROUP_EXPRESSIONS.items()
} | {
    "agent": "(lower(trim(s.agent_id)) = ? OR lower(trim(s.agent_name)) = ?)",
    "team": "(lower(trim(s.team_id)) = ? OR lower(trim(s.team_name)) = ?)",
}

# The cohort: every event once by id; the surveys sent in the period, once each, with their snapshot; of
# each survey's answers the latest, and when the first came; and what else happened to it.
# The columns the report reads: every column but ``detail`` (the whole event as JSON, by far the widest),
# so a columnar engine never reads it; Athena bills the bytes it scans.
REPORT_COLUMNS = tuple(name for name, _, _ in ARCHIVE_COLUMNS if name != "detail")

COHORT_SQL = """
WITH events AS (
  SELECT * FROM (
    SELECT REPORT_COLUMNS, row_number() OVER (PARTITION BY a.id ORDER BY a.time) AS copy_number
    FROM ARCHIVE_SOURCE a
    WHERE a.dt BETWEEN '{first_day}' AND '{last_day}'
  ) deduplicated WHERE copy_number = 1
),
sent AS (
  SELECT * FROM (
    SELECT e.*, row_number() OVER (PARTITION BY e.survey_id ORDER BY e.sent_at, e.id) AS send_number
    FROM events e
    WHERE e.detail_type = 'Survey Sent' AND e.survey_id IS NOT NULL
      AND cast(e.sent_at as date) BETWEEN DATE '{since}' AND DATE '{until}'
  ) first_sends WHERE send_number = 1
),
responses AS (
  SELECT e.* FROM events e
  WHERE e.detail_type = 'Survey Response Received' AND e.survey_id IN (SELECT survey_id FROM sent)
),
latest AS (
  SELECT * FROM (
    SELECT r.*, row_number() OVER (
      PARTITION BY r.survey_id ORDER BY r.received_at DESC, r.response_id DESC
    ) AS answer_rank
    FROM responses r
  ) ranked WHERE answer_rank = 1
),
first_answers AS (
  SELECT r.survey_id, min(date_diff('second', s.sent_at, r.received_at)) / 60e0 AS minutes_to_answer
  FROM responses r JOIN sent s ON s.survey_id = r.survey_id
  GROUP BY r.survey_id
),
happened AS (
  SELECT
    survey_id,
    max(CASE WHEN detail_type = 'Reminder Sent' THEN 1 ELSE 0 END) AS reminded,
    max(CASE WHEN detail_type = 'Case Reopened' THEN 1 ELSE 0 END) AS reopened,
    max(CASE WHEN detail_type = 'Customer Suppressed' AND reason = 'bounce' THEN 1 ELSE 0 END)
      AS bounced,
    max(CASE WHEN detail_type = 'Customer Suppressed' AND reason = 'complaint' THEN 1 ELSE 0 END)
      AS complained,
    max(CASE WHEN detail_type = 'Customer Unsubscribed' THEN 1 ELSE 0 END) AS unsubscribed
  FROM events
  WHERE survey_id IN (SELECT survey_id FROM sent)
  GROUP BY survey_id
)
"""

FIGURES_SQL = """
SELECT
  {group_columns}
  count(*) AS surveys_sent,
  coalesce(sum(h.reminded), 0) AS reminders_sent,
  count(l.survey_id) AS answers,
  sum(CASE WHEN s.survey_type = 'csat' AND l.score IS NOT NULL THEN 1 ELSE 0 END) AS csat_answers,
  sum(CASE WHEN s.survey_type = 'csat' AND l.score >= 4 THEN 1 ELSE 0 END) AS csat_satisfied,
  sum(CASE WHEN s.survey_type = 'nps' AND l.score IS NOT NULL THEN 1 ELSE 0 END) AS nps_answers,
  sum(CASE WHEN s.survey_type = 'nps' AND l.score >= 9 THEN 1 ELSE 0 END) AS promoters,
  sum(CASE WHEN s.survey_type = 'nps' AND l.score <= 6 THEN 1 ELSE 0 END) AS detractors,
  sum(CASE WHEN s.survey_type = 'ces' AND l.score IS NOT NULL THEN 1 ELSE 0 END) AS ces_answers,
  sum(CASE WHEN s.survey_type = 'ces' THEN l.score ELSE 0 END) AS ces_total,
  sum(CASE WHEN l.resolved IS NOT NULL THEN 1 ELSE 0 END) AS resolved_answers,
  sum(CASE WHEN l.resolved THEN 1 ELSE 0 END) AS resolved_yes,
  sum(CASE WHEN l.negative THEN 1 ELSE 0 END) AS negative_answers,
  coalesce(sum(h.reopened), 0) AS reopens,
  MEDIAN(f.minutes_to_answer) AS median_minutes_to_answer,
  coalesce(sum(h.bounced), 0) AS bounces,
  coalesce(sum(h.complained), 0) AS complaints,
  coalesce(sum(h.unsubscribed), 0) AS unsubscribes
FROM sent s
LEFT JOIN latest l ON l.survey_id = s.survey_id
LEFT JOIN first_answers f ON f.survey_id = s.survey_id
LEFT JOIN happened h ON h.survey_id = s.survey_id
WHERE {where}
{group_by}
"""

NEGATIVE_ANSWERS_SQL = """
SELECT s.survey_id, l.response_id, s.helpdesk, s.ticket_id, s.survey_type, l.score, l.resolved,
  JOINED(l.reasons) AS reasons, coalesce(s.agent_name, s.agent_id) AS agent,
  coalesce(s.team_name, s.team_id) AS team, l.received_at, l.source, l.has_comment
FROM sent s
JOIN latest l ON l.survey_id = s.survey_id
WHERE l.negative AND {where}
ORDER BY l.received_at DESC, s.survey_id
LIMIT {limit}
"""

REOPENED_SQL = """
SELECT s.survey_id, s.helpdesk, s.ticket_id, r.helpdesk_ticket_id,
  coalesce(s.agent_name, s.agent_id) AS agent, coalesce(s.team_name, s.team_id) AS team, r.reopened_at
FROM sent s
JOIN (
  SELECT e.*, row_number() OVER (PARTITION BY e.survey_id ORDER BY e.reopened_at, e.id) AS reopen_number
  FROM events e WHERE e.detail_type = 'Case Reopened'
) r ON r.survey_id = s.survey_id AND r.reopen_number = 1
WHERE {where}
ORDER BY r.reopened_at DESC, s.survey_id
LIMIT {limit}
"""

TOP_REASONS_SQL = """
SELECT reason_code, count(*) AS answers
FROM sent s
JOIN latest l ON l.survey_id = s.survey_id
CROSS JOIN UNNEST(l.reasons) AS listed(reason_code)
WHERE {where}
GROUP BY reason_code
ORDER BY answers DESC, reason_code
LIMIT {limit}
"""

SCORES_SQL = """
SELECT s.survey_type, l.score, count(*) AS answers
FROM sent s
JOIN latest l ON l.survey_id = s.survey_id
WHERE l.score IS NOT NULL AND s.survey_type IS NOT NULL AND {where}
GROUP BY s.survey_type, l.score
ORDER BY s.survey_type, l.score
"""


@dataclass(frozen=True)
class Query:
    """One report query: its SQL for an engine (``ARCHIVE_SOURCE`` still to be named) and its parameters."""

    sql: str
    parameters: tuple[str, ...]


def build_query(
    template: str,
    period: ReportPeriod,
    days: Sequence[date],
    dialect: Dialect,
    by: Sequence[str] = (),
    where: Mapping[str, str] | None = None,
    limit: int = 50,
) -> Query:
    """The SQL of one report query (the cohort's CTEs, then ``template``) for one engine. Only dates,
    known groupings and an int are formatted into it; filter values are parameters."""
    groupings = check_groupings(list(by))
    filters = check_filters(where)
    conditions, parameters = ["1 = 1"], []
    for name, value in filters.items():
        conditions.append(FILTER_EXPRESSIONS[name])
        parameters.extend([value] * FILTER_EXPRESSIONS[name].count("?"))
    group_columns = "".join(f"{GROUP_EXPRESSIONS[name]} AS g_{name},\n  " for name in groupings)
    group_by = (
        "GROUP BY "
        + ", ".join(GROUP_EXPRESSIONS[name] for name in groupings)
        + "\nORDER BY "
        + ", ".join(f"g_{name}" for name in groupings)
        if groupings
        else ""
    )
    first_day, last_day = (min(days), max(days)) if days else (period.since, period.until)
    sql = (COHORT_SQL + template).format(
        first_day=first_day.isoformat(),
        last_day=last_day.isoformat(),
        since=period.since.isoformat(),
        until=period.until.isoformat(),
        group_columns=group_columns,
        group_by=group_by,
        where=" AND ".join(conditions),
        limit=max(1, min(int(limit), 1000)),
    )
    return Query(sql=dialect.render(sql, "ARCHIVE_SOURCE"), parameters=tuple(parameters))


COUNT_NAMES = tuple(name for name in GroupCounts.__dataclass_fields__ if name != "median_minutes_to_answer")


class QueryRunner(Protocol):
    """Runs one report query and returns its rows by column name, each value typed (int, float, bool,
    str, datetime or None)."""

    dialect: Dialect

    def rows(self, query: Query) -> list[dict[str, Any]]: ...


class ReportQueries:
    """The report's questions, asked of one engine (``ArchiveReport``: DuckDB; ``AthenaReport``)."""

    def __init__(self, runner: QueryRunner, today: date | None = None) -> None:
        self._runner = runner
        self._today = today

    def _days(self, period: ReportPeriod) -> list[date]:
        return period.archive_days(self._today or datetime.now(UTC).date())

    def _rows(
        self,
        template: str,
        period: ReportPeriod,
        by: Sequence[str] = (),
        where: Mapping[str, str] | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        query = build_query(template, period, self._days(period), self._runner.dialect, by, where, limit)
        return self._runner.rows(query)

    def figures(
        self, period: ReportPeriod, by: Sequence[str] = (), where: Mapping[str, str] | None = None
    ) -> list[Figures]:
        """One ``Figures`` per group of surveys sent in the period (one in all without ``by``)."""
        groupings = check_groupings(list(by))
        result = []
        for row in self._rows(FIGURES_SQL, period, groupings, where):
            group = {name: _text_or_none(row[f"g_{name}"]) for name in groupings}
            median = row["median_minutes_to_answer"]
            counts = {name: int(row[name] or 0) for name in COUNT_NAMES}
            result.append(
                figures(
                    group,
                    GroupCounts(
                        **counts,
                        median_minutes_to_answer=float(median) if median is not None else None,
                    ),
                )
            )
        if not groupings and not result:
            # The SQL gives one row without GROUP BY; an engine that returns none has counted nothing.
            result.append(figures({}, GroupCounts()))
        return result

    def negative_answers(
        self, period: ReportPeriod, where: Mapping[str, str] | None = None, limit: int = 50
    ) -> list[NegativeAnswer]:
        """The period's surveys whose latest answer is negative, the most recent first."""
        return [
            NegativeAnswer(
                survey_id=str(row["survey_id"]),
                response_id=str(row["response_id"]),
                helpdesk=_text_or_none(row["helpdesk"]),
                ticket_id=_text_or_none(row["ticket_id"]),
                survey_type=_text_or_none(row["survey_type"]),
                score=int(row["score"]) if row["score"] is not None else None,
                resolved=row["resolved"],
                reasons=tuple(reason for reason in (row["reasons"] or "").split("|") if reason),
                agent=_text_or_none(row["agent"]),
                team=_text_or_none(row["team"]),
                received_at=row["received_at"],
                source=_text_or_none(row["source"]),
                has_comment=bool(row["has_comment"]),
            )
            for row in self._rows(NEGATIVE_ANSWERS_SQL, period, where=where, limit=limit)
        ]

    def reopened(
        self, period: ReportPeriod, where: Mapping[str, str] | None = None, limit: int = 200
    ) -> list[ReopenedTicket]:
        """The period's surveys whose ticket was reopened, at their first reopen, the most recent first."""
        return [
            ReopenedTicket(
                survey_id=str(row["survey_id"]),
                helpdesk=_text_or_none(row["helpdesk"]),
                ticket_id=_text_or_none(row["ticket_id"]),
                helpdesk_ticket_id=_text_or_none(row["helpdesk_ticket_id"]),
                agent=_text_or_none(row["agent"]),
                team=_text_or_none(row["team"]),
                reopened_at=row["reopened_at"],
            )
            for row in self._rows(REOPENED_SQL, period, where=where, limit=limit)
        ]

    def top_reasons(
        self, period: ReportPeriod, where: Mapping[str, str] | None = None, limit: int = 10
    ) -> list[tuple[str, int]]:
        """The reasons the latest answers gave most, with how many answers gave each."""
        rows = self._rows(TOP_REASONS_SQL, period, where=where, limit=limit)
        return [(str(row["reason_code"]), int(row["answers"])) for row in rows]

    def score_distribution(
        self, period: ReportPeriod, where: Mapping[str, str] | None = None
    ) -> list[ScoreCount]:
        """How many latest answers gave each score, per survey type."""
        rows = self._rows(SCORES_SQL, period, where=where)
        return [ScoreCount(str(row["survey_type"]), int(row["score"]), int(row["answers"])) for row in rows]


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


# ---- DuckDB over local files --------------------------------------------------------------------------


class DuckDBRunner:
    """Runs report queries with DuckDB over local day partitions (``…/dt=YYYY-MM-DD/*.parquet``).

    The files are read once, into an in-memory table of the columns the report uses, which every query
    of the report then reads: a report is several queries (figures, answers, reopens, reasons, scores).
    """

    dialect = DUCKDB

    def __init__(self, files: Sequence[Path]) -> None:
        self._files = [Path(path) for path in files]
        self._connection: Any = None

    def rows(self, query: Query) -> list[dict[str, Any]]:
        sql = query.sql.replace("ARCHIVE_SOURCE", "archive_events")
        cursor = self._loaded().execute(sql, list(query.parameters))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _loaded(self) -> Any:
        import duckdb  # only what reads the archive loads it

        if self._connection is not None:
            return self._connection
        connection = duckdb.connect(config=_duckdb_config())
        kinds = {name: kind for name, kind, _ in ARCHIVE_COLUMNS}
        if self._files:
            # Our own downloaded paths, quotes doubled: no report input reaches this text.
            listed = ", ".join("'" + str(path).replace("'", "''") + "'" for path in self._files)
            columns = ", ".join(REPORT_COLUMNS)
            connection.execute(
                f"CREATE TABLE archive_events AS SELECT {columns}, dt FROM read_parquet([{listed}], "  # noqa: S608
                "hive_partitioning = true, hive_types = {'dt': VARCHAR}, union_by_name = true)"
            )
        else:
            columns = ", ".join(f"{name} {kinds[name]}" for name in REPORT_COLUMNS)
            connection.execute(f"CREATE TABLE archive_events ({columns}, dt VARCHAR)")
        self._connection = connection
        return connection


def _duckdb_config() -> dict[str, str | bool | int | float | list[str]]:
    # Never download an extension (httpfs is not there: the files are fetched with boto3 first).
    return {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}


class ArchiveReport(ReportQueries):
    """The report over local Parquet files of the archive, with DuckDB (the default engine)."""

    def __init__(self, files: Sequence[Path], today: date | None = None) -> None:
        super().__init__(DuckDBRunner(files), today)


class ArchiveFiles:
    """Fetches the archive's day partitions from S3 into a local folder, keeping the ``dt=`` layout."""

    def __init__(self, s3_client: Any, bucket: str, prefix: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._prefix = prefix

    def download(self, days: Iterable[date], into: Path) -> list[Path]:
        """Every Parquet file of those days, under ``into/dt=YYYY-MM-DD/``; a file already there with the
        object's size and modification time is not fetched again (``closeloop erase`` rewrites a file under
        its key, which changes its modification time)."""
        files: list[Path] = []
        paginator = self._s3.get_paginator("list_objects_v2")
        for day in days:
            prefix = day_prefix(self._prefix, day)
            folder = into / f"dt={day.isoformat()}"
            for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    key, size = str(item["Key"]), int(item["Size"])
                    modified = item["LastModified"].timestamp()
                    name = key.rsplit("/", 1)[-1]
                    if not name.endswith(".parquet") or "/" in key[len(prefix) :]:
                        continue
                    target = folder / name
                    if not _same_file(target, size, modified):
                        folder.mkdir(parents=True, exist_ok=True)
                        self._s3.download_file(self._bucket, key, str(target))
                        os.utime(target, (modified, modified))
                    files.append(target)
        return files


def _same_file(path: Path, size: int, modified: float) -> bool:
    if not path.is_file():
        return False
    local = path.stat()
    return local.st_size == size and local.st_mtime == modified


# ---- Athena -------------------------------------------------------------------------------------------


class AthenaQueryError(Exception):
    """Athena did not run a report query to the end; the message has its state and reason."""


class AthenaRunner:
    """Runs report queries in the stack's Athena workgroup (its result location and limits apply)."""

    dialect = ATHENA

    def __init__(
        self,
        athena_client: Any,
        workgroup: str,
        database: str,
        table: str,
        poll_seconds: float = 1.0,
        max_polls: int = 600,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        for name in (database, table):
            if not re.fullmatch(r"[A-Za-z0-9_]{1,255}", name):
                raise AthenaQueryError(f"{name!r} is not a Glue database or table name")
        self._athena = athena_client
        self._workgroup = workgroup
        self._source = f'"{database}"."{table}"'
        self._database = database
        self._poll_seconds = poll_seconds
        self._max_polls = max_polls
        self._sleep = sleep

    def rows(self, query: Query) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "QueryString": query.sql.replace("ARCHIVE_SOURCE", self._source),
            "WorkGroup": self._workgroup,
            "QueryExecutionContext": {"Database": self._database},
        }
        if query.parameters:
            # Athena takes each parameter as a SQL literal: a quoted string, its quotes doubled.
            request["ExecutionParameters"] = [
                "'" + value.replace("'", "''") + "'" for value in query.parameters
            ]
        execution_id = self._athena.start_query_execution(**request)["QueryExecutionId"]
        self._wait(execution_id)
        return self._results(execution_id)

    def _wait(self, execution_id: str) -> None:
        for _ in range(self._max_polls):
            execution = self._athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
            status = execution.get("Status", {})
            state = status.get("State")
            if state == "SUCCEEDED":
                return
            if state in ("FAILED", "CANCELLED"):
                reason = status.get("StateChangeReason", "no reason given")
                raise AthenaQueryError(f"Athena query {execution_id} {state.lower()}: {reason}")
            self._sleep(self._poll_seconds)
        raise AthenaQueryError(
            f"Athena query {execution_id} still running after {self._max_polls} polls (not stopped)"
        )

    def _results(self, execution_id: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        request: dict[str, Any] = {"QueryExecutionId": execution_id, "MaxResults": 1000}
        columns: list[tuple[str, str]] = []
        first_page = True
        while True:
            page = self._athena.get_query_results(**request)
            result_set = page.get("ResultSet", {})
            if first_page:
                columns = [
                    (str(column["Name"]), str(column.get("Type", "varchar")))
                    for column in result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                ]
            page_rows = result_set.get("Rows", [])
            # The first row of the first page repeats the column names.
            for row in page_rows[1:] if first_page else page_rows:
                values = [cell.get("VarCharValue") for cell in row.get("Data", [])]
                rows.append(
                    {
                        name: _athena_value(value, kind)
                        for (name, kind), value in zip(columns, values, strict=False)
                    }
                )
            first_page = False
            token = page.get("NextToken")
            if not token:
                return rows
            request["NextToken"] = token


def _athena_value(value: str | None, kind: str) -> Any:
    """One Athena result cell (always text) as the type its column declares."""
    if value is None:
        return None
    kind = kind.lower()
    if kind in ("bigint", "integer", "int", "smallint", "tinyint"):
        return int(value)
    if kind in ("double", "float", "real") or kind.startswith("decimal"):
        return float(value)
    if kind == "boolean":
        return value.lower() == "true"
    if kind.startswith("timestamp"):
        return datetime.fromisoformat(value.replace(" UTC", ""))
    return value


class AthenaReport(ReportQueries):
    """The report run by Athena over the catalogued archive (``closeloop report --engine athena``)."""

    def __init__(
        self,
        athena_client: Any,
        workgroup: str,
        database: str,
        table: str,
        today: date | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(AthenaRunner(athena_client, workgroup, database, table, sleep=sleep), today)
