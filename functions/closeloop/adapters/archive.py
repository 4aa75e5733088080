"""The event archive: closeloop's published events as Parquet files in S3, partitioned by day.

Every event on the bus (source ``closeloop``) becomes one row of one wide table: the envelope (``id``,
``time``, ``detail_type``), the columns below taken from its detail, and the whole detail as JSON, so a
field added later is never lost. Files live under ``<prefix>dt=YYYY-MM-DD/`` (the event's UTC day), the
layout Glue's partition projection and DuckDB's hive partitioning both read. The rows hold ids, scores
and outcomes, never a customer's address or words (the events carry none).

One batch of events makes one file per day, named by a digest of its event ids, so a retried batch
overwrites its own file; a redelivered event can still land in two files, which is why every reader
counts an event once by ``id``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

# (column, DuckDB type, Glue/Athena type), in file order. The partition column ``dt`` is in the path only.
ARCHIVE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("id", "VARCHAR", "string"),
    ("time", "TIMESTAMP", "timestamp"),
    ("detail_type", "VARCHAR", "string"),
    ("version", "INTEGER", "int"),
    ("helpdesk", "VARCHAR", "string"),
    ("ticket_id", "VARCHAR", "string"),
    ("survey_id", "VARCHAR", "string"),
    ("response_id", "VARCHAR", "string"),
    ("survey_type", "VARCHAR", "string"),
    ("locale", "VARCHAR", "string"),
    ("agent_id", "VARCHAR", "string"),
    ("agent_name", "VARCHAR", "string"),
    ("team_id", "VARCHAR", "string"),
    ("team_name", "VARCHAR", "string"),
    ("brand", "VARCHAR", "string"),
    ("channel", "VARCHAR", "string"),
    ("rule", "VARCHAR", "string"),
    ("negative_answer", "VARCHAR", "string"),
    ("reason", "VARCHAR", "string"),
    ("score", "INTEGER", "int"),
    ("resolved", "BOOLEAN", "boolean"),
    ("negative", "BOOLEAN", "boolean"),
    ("action", "VARCHAR", "string"),
    ("has_comment", "BOOLEAN", "boolean"),
    ("source", "VARCHAR", "string"),
    ("reasons", "VARCHAR[]", "array<string>"),
    ("verdict", "VARCHAR[]", "array<string>"),
    ("helpdesk_ticket_id", "VARCHAR", "string"),
    ("send_at", "TIMESTAMP", "timestamp"),
    ("sent_at", "TIMESTAMP", "timestamp"),
    ("expires_at", "TIMESTAMP", "timestamp"),
    ("received_at", "TIMESTAMP", "timestamp"),
    ("reopened_at", "TIMESTAMP", "timestamp"),
    ("unsubscribed_at", "TIMESTAMP", "timestamp"),
    ("suppressed_at", "TIMESTAMP", "timestamp"),
    ("detail", "VARCHAR", "string"),
)
COLUMN_NAMES = tuple(name for name, _, _ in ARCHIVE_COLUMNS)
_ENVELOPE = frozenset({"id", "time", "detail_type", "detail"})
_TIMESTAMPS = frozenset(name for name, kind, _ in ARCHIVE_COLUMNS if kind == "TIMESTAMP")
_LISTS = frozenset(name for name, kind, _ in ARCHIVE_COLUMNS if kind.endswith("[]"))
_INTEGERS = frozenset(name for name, kind, _ in ARCHIVE_COLUMNS if kind == "INTEGER")
_BOOLEANS = frozenset(name for name, kind, _ in ARCHIVE_COLUMNS if kind == "BOOLEAN")


class InvalidArchiveEventError(ValueError):
    """Not an event closeloop can archive (no id, no time, no detail object); the message says which."""


@dataclass(frozen=True)
class ArchiveRow:
    """One event as a row of the archive, and the UTC day whose partition holds it."""

    day: date
    values: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.values["id"])


def archive_row(event: Mapping[str, Any]) -> ArchiveRow:
    """An EventBridge event (``id``, ``time``, ``detail-type``, ``detail``) as an archive row.

    Raises ``InvalidArchiveEventError`` when the envelope is not one EventBridge delivers; a detail field
    of an unexpected type is left out of its column (the ``detail`` JSON keeps it) rather than refused.
    """
    event_id, moment, detail_type, detail = (
        event.get("id"),
        event.get("time"),
        event.get("detail-type"),
        event.get("detail"),
    )
    if not isinstance(event_id, str) or not event_id or len(event_id) > 128:
        raise InvalidArchiveEventError("the event has no id")
    if not isinstance(detail_type, str) or not detail_type or len(detail_type) > 128:
        raise InvalidArchiveEventError("the event has no detail-type")
    if not isinstance(detail, Mapping):
        raise InvalidArchiveEventError("the event's detail is not an object")
    when = _moment(moment)
    if when is None:
        raise InvalidArchiveEventError("the event's time is not an ISO 8601 moment")
    values: dict[str, Any] = {
        "id": event_id,
        "time": when,
        "detail_type": detail_type,
        "detail": json.dumps(detail, separators=(",", ":"), ensure_ascii=False, default=str),
    }
    for name in COLUMN_NAMES:
        if name not in _ENVELOPE:
            values[name] = _column_value(name, detail.get(name))
    return ArchiveRow(day=when.date(), values=values)


def archive_row_of_message(body: str) -> ArchiveRow:
    """The archive row of an SQS message's body: the EventBridge event an ``ArchiveRule`` target delivers.

    Raises ``InvalidArchiveEventError`` for a body that is not a JSON object or not an archivable event; its
    text names what is wrong, never the body's content.
    """
    try:
        event = json.loads(body)
    except json.JSONDecodeError as error:
        reason = f"the message is not JSON ({error.msg} at character {error.pos})"
        raise InvalidArchiveEventError(reason) from error
    except (ValueError, RecursionError) as error:
        reason = f"the message is JSON closeloop cannot read ({type(error).__name__})"
        raise InvalidArchiveEventError(reason) from error
    if not isinstance(event, dict):
        raise InvalidArchiveEventError(f"the message is a JSON {type(event).__name__}, not an event object")
    return archive_row(event)


def _column_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _TIMESTAMPS:
        return _moment(value)
    if name in _LISTS:
        return [str(item) for item in value] if isinstance(value, list) else None
    if name in _BOOLEANS:
        return value if isinstance(value, bool) else None
    if name in _INTEGERS:
        is_integer = isinstance(value, int) and not isinstance(value, bool)
        return value if is_integer and abs(value) < 2**31 else None
    return value if isinstance(value, str) else None


def _moment(value: Any) -> datetime | None:
    """A moment as a naive UTC datetime (the archive's TIMESTAMP columns are UTC without a zone)."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def partition_key(prefix: str, day: date, event_ids: Iterable[str]) -> str:
    """Where one batch's events of one day are written: a retried batch gets the same key."""
    digest = hashlib.sha256("\n".join(sorted(event_ids)).encode()).hexdigest()[:32]
    return f"{prefix}dt={day.isoformat()}/{digest}.parquet"


def day_prefix(prefix: str, day: date) -> str:
    """The key prefix of one day's partition."""
    return f"{prefix}dt={day.isoformat()}/"


def parquet_bytes(rows: Sequence[ArchiveRow]) -> bytes:
    """The rows as one zstd-compressed Parquet file, columns in ``ARCHIVE_COLUMNS`` order."""
    import duckdb  # only the functions that archive or read the archive load it

    with tempfile.TemporaryDirectory() as scratch:
        source, target = Path(scratch, "rows.jsonl"), Path(scratch, "rows.parquet")
        with source.open("w", encoding="utf-8") as lines:
            for row in rows:
                lines.write(json.dumps(row.values, default=_json_default, ensure_ascii=False))
                lines.write("\n")
        columns = ", ".join(f"'{name}': '{kind}'" for name, kind, _ in ARCHIVE_COLUMNS)
        with duckdb.connect(config=_duckdb_config(scratch)) as connection:
            # Only our own scratch paths and the constant column list are formatted in: no input reaches SQL.
            copy = (
                f"COPY (SELECT * FROM read_json('{source}', format = 'newline_delimited', "  # noqa: S608
                f"columns = {{{columns}}})) TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
            )
            connection.execute(copy)
        return target.read_bytes()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _duckdb_config(scratch: str) -> dict[str, str | bool | int | float | list[str]]:
    """DuckDB settings for Lambda: its home (extensions, secrets) and spill files go to writable /tmp, and
    it never downloads an extension."""
    return {
        "home_directory": scratch,
        "temp_directory": os.path.join(scratch, "spill"),
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }
