"""Anonymising an erased customer's events in the event archive (``closeloop erase``).

The archive (closeloop.adapters.archive) holds no address, name or words, but its ``ticket_id`` and
``helpdesk_ticket_id`` (and the same keys in the ``detail`` JSON) tie a row to the customer through the
helpdesk. Erasing a customer rewrites each archive file holding rows of their surveys under the same key,
those rows' two ticket columns set to NULL and the two keys removed from their ``detail``; every other row
and column keeps its value, the columns their order and types. What stays is what the report counts
(survey ids, scores, groups), so its figures are the same after an erasure.

A row is the customer's when its ``survey_id`` is one of the erased surveys, or, for the events that carry
no survey (``Survey Skipped``), when its helpdesk and ticket are one of theirs. Rewriting is idempotent: a
row with neither ticket left is not counted nor written again.

Which day partitions are read: for a survey with known dates, from its first day (closed, planned, sent)
to its expiry plus ``AFTER_EXPIRY_DAYS`` (a reopen after the grace period, a late complaint), and never
after today; for one without, every partition under the prefix (the bucket's lifecycle bounds them to
RetentionDays). Files are small (one batch of events each): each is downloaded and read with DuckDB.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from closeloop.adapters.archive import day_prefix

# The columns (and ``detail`` keys) that name the customer's ticket; NULL (removed) in their rows.
TICKET_FIELDS = ("ticket_id", "helpdesk_ticket_id")
# Events of a survey after its expiry: a reopen after the grace period, a complaint, a skipped reminder.
AFTER_EXPIRY_DAYS = 30
_PARTITION = "dt="


@dataclass(frozen=True)
class ErasedSurvey:
    """What the archive needs of one erased survey: its id, its ticket (if known) and its dates."""

    survey_id: str
    helpdesk: str | None = None
    ticket_id: str | None = None
    first_moment: datetime | None = None
    expires_at: datetime | None = None

    @property
    def ticket_key(self) -> str | None:
        return f"{self.helpdesk}#{self.ticket_id}" if self.helpdesk and self.ticket_id else None


@dataclass(frozen=True)
class AnonymisedFile:
    """One archive file holding rows of the erased surveys: its key and how many rows were (or would be)
    anonymised in it."""

    key: str
    rows: int


@dataclass(frozen=True)
class ArchiveErasureResult:
    files: tuple[AnonymisedFile, ...]
    files_scanned: int

    @property
    def rows(self) -> int:
        return sum(changed.rows for changed in self.files)


def partition_days(surveys: Sequence[ErasedSurvey], today: date) -> list[date] | None:
    """The days whose partitions can hold the surveys' events, or None when a survey's dates are unknown
    (every partition must be read)."""
    days: set[date] = set()
    for survey in surveys:
        if survey.first_moment is None or survey.expires_at is None:
            return None
        first = _utc_day(survey.first_moment)
        last = min(_utc_day(survey.expires_at) + timedelta(days=AFTER_EXPIRY_DAYS), today)
        days.update(first + timedelta(days=n) for n in range((last - first).days + 1))
    return sorted(days)


def _utc_day(moment: datetime) -> date:
    # Partitions are UTC days; a naive moment is UTC already (the archive's convention).
    return (moment.astimezone(UTC) if moment.tzinfo is not None else moment).date()


class ArchiveErasure:
    """Finds and anonymises the erased surveys' rows in the archive bucket's Parquet files."""

    def __init__(self, s3_client: Any, bucket: str, prefix: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._prefix = prefix

    def anonymise(self, surveys: Sequence[ErasedSurvey], today: date, *, act: bool) -> ArchiveErasureResult:
        """Every file of the surveys' partitions holding their rows with a ticket left; rewritten under
        the same key when ``act`` (a dry run only counts)."""
        if not surveys:
            return ArchiveErasureResult(files=(), files_scanned=0)
        survey_ids = sorted({survey.survey_id for survey in surveys})
        tickets = sorted({key for survey in surveys if (key := survey.ticket_key) is not None})
        changed: list[AnonymisedFile] = []
        scanned = 0
        with tempfile.TemporaryDirectory() as scratch:
            for index, key in enumerate(self._keys(partition_days(surveys, today))):
                scanned += 1
                source, target = Path(scratch, f"{index}.parquet"), Path(scratch, f"{index}.new.parquet")
                self._s3.download_file(self._bucket, key, str(source))
                rows = anonymised_copy(source, target, survey_ids, tickets, scratch)
                if rows:
                    if act:
                        self._s3.put_object(Bucket=self._bucket, Key=key, Body=target.read_bytes())
                    changed.append(AnonymisedFile(key=key, rows=rows))
                source.unlink()
                target.unlink(missing_ok=True)
        return ArchiveErasureResult(files=tuple(changed), files_scanned=scanned)

    def _keys(self, days: Iterable[date] | None) -> Iterator[str]:
        prefixes = (
            [day_prefix(self._prefix, day) for day in days]
            if days is not None
            else list(self._partition_prefixes())
        )
        paginator = self._s3.get_paginator("list_objects_v2")
        for prefix in prefixes:
            for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                for entry in page.get("Contents", []):
                    key = str(entry["Key"])
                    if key.endswith(".parquet") and "/" not in key[len(prefix) :]:
                        yield key

    def _partition_prefixes(self) -> Iterator[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=self._prefix + _PARTITION, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                yield str(common["Prefix"])


def anonymised_copy(
    source: Path, target: Path, survey_ids: Sequence[str], tickets: Sequence[str], scratch: str
) -> int:
    """Writes ``target``: ``source`` with the erased surveys' rows anonymised; returns how many rows
    changed (0: ``target`` is not written, the file holds nothing of theirs)."""
    import duckdb  # only what reads or writes the archive loads it

    with duckdb.connect(config=_duckdb_config(scratch)) as connection:
        # Only our own scratch paths (quotes doubled) and the file's column names are formatted into SQL;
        # survey ids and tickets are parameters.
        connection.execute(
            "CREATE TABLE archived AS SELECT * FROM read_parquet(?, file_row_number = true)", [str(source)]
        )
        columns = [str(row[0]) for row in connection.execute("DESCRIBE archived").fetchall()]
        columns.remove("file_row_number")
        present = [name for name in TICKET_FIELDS if name in columns]
        matched: list[str] = []
        parameters: list[list[str]] = []
        if "survey_id" in columns:
            matched.append("list_contains(?::VARCHAR[], survey_id)")
            parameters.append(list(survey_ids))
        if {"helpdesk", "ticket_id"} <= set(columns):
            matched.append("list_contains(?::VARCHAR[], helpdesk || '#' || ticket_id)")
            parameters.append(list(tickets))
        if not matched:
            return 0
        has_detail = "detail" in columns
        selected = ["file_row_number", *present, "detail" if has_detail else "NULL"]
        rows = connection.execute(
            f"SELECT {', '.join(selected)} FROM archived WHERE {' OR '.join(matched)}",  # noqa: S608
            parameters,
        ).fetchall()
        changes: list[tuple[int, str | None]] = []
        for number, *tickets_left, detail in rows:
            scrubbed = _without_tickets(detail)
            if any(value is not None for value in tickets_left) or scrubbed != detail:
                changes.append((int(number), scrubbed))
        if not changes:
            return 0
        connection.execute("CREATE TABLE scrubbed (file_row_number BIGINT, detail VARCHAR)")
        connection.executemany("INSERT INTO scrubbed VALUES (?, ?)", changes)
        assignments = [f"{name} = NULL" for name in present]
        if has_detail:
            assignments.append("detail = scrubbed.detail")
        connection.execute(
            f"UPDATE archived SET {', '.join(assignments)} FROM scrubbed "  # noqa: S608
            "WHERE archived.file_row_number = scrubbed.file_row_number"
        )
        listed = ", ".join(f'"{name}"' for name in columns)
        quoted = str(target).replace("'", "''")
        connection.execute(
            f"COPY (SELECT {listed} FROM archived ORDER BY file_row_number) "  # noqa: S608
            f"TO '{quoted}' (FORMAT parquet, COMPRESSION zstd)"
        )
    return len(changes)


def _duckdb_config(scratch: str) -> dict[str, str | bool | int | float | list[str]]:
    # As the archive's writer: home and spill files in our scratch folder, never an extension download.
    return {
        "home_directory": scratch,
        "temp_directory": str(Path(scratch, "spill")),
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }


def _without_tickets(detail: str | None) -> str | None:
    """The detail JSON without the ticket keys, written as closeloop.adapters.archive writes it; a detail
    that holds none of them (or is not a JSON object) is returned as it is."""
    if detail is None:
        return None
    try:
        parsed = json.loads(detail)
    except ValueError:
        return detail
    if not isinstance(parsed, dict) or not any(name in parsed for name in TICKET_FIELDS):
        return detail
    kept = {name: value for name, value in parsed.items() if name not in TICKET_FIELDS}
    return json.dumps(kept, separators=(",", ":"), ensure_ascii=False)
