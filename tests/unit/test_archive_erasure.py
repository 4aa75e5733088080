"""Anonymising an erased customer's rows in one archive file: which days are read, which rows change and
how, and that everything else in the file stays as it was."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb

from closeloop.adapters.archive import ArchiveRow, archive_row, parquet_bytes
from closeloop.adapters.archive_erasure import (
    AFTER_EXPIRY_DAYS,
    ErasedSurvey,
    anonymised_copy,
    partition_days,
)

TODAY = date(2026, 12, 2)


def row(event_id: str, detail_type: str, survey_id: str | None, ticket_id: str, **detail: Any) -> ArchiveRow:
    body = {"version": 1, "helpdesk": "zendesk", "ticket_id": ticket_id} | detail
    if survey_id is not None:
        body["survey_id"] = survey_id
    return archive_row(
        {"id": event_id, "time": "2026-11-30T10:00:00Z", "detail-type": detail_type, "detail": body}
    )


def read(path: Path) -> tuple[list[Any], list[tuple[Any, ...]]]:
    with duckdb.connect() as connection:
        schema = connection.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        rows = connection.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    return schema, rows


def test_the_days_read_run_from_the_first_moment_to_the_expiry_and_a_margin_never_past_today() -> None:
    # GIVEN a survey solved at 00:30 on Oct 1 in Rome (still Sep 30 in UTC, the partitions' days), expiring
    # on Oct 2
    rome = timezone(timedelta(hours=1))
    survey = ErasedSurvey("s", first_moment=datetime(2026, 10, 1, 0, 30, tzinfo=rome),
                          expires_at=datetime(2026, 10, 2, 9, 0, tzinfo=UTC))  # fmt: skip
    # WHEN its days are asked for THEN they run from Sep 30 to Oct 2 plus the margin, every day once
    days = partition_days([survey], TODAY)
    last = date(2026, 10, 2) + timedelta(days=AFTER_EXPIRY_DAYS)
    assert days == [date(2026, 9, 30) + timedelta(days=n) for n in range((last - date(2026, 9, 30)).days + 1)]
    # AND a survey expiring later is read up to today only
    recent = ErasedSurvey("r", first_moment=datetime(2026, 11, 30, tzinfo=UTC),
                          expires_at=datetime(2026, 12, 28, tzinfo=UTC))  # fmt: skip
    assert partition_days([recent], TODAY) == [date(2026, 11, 30), date(2026, 12, 1), TODAY]


def test_a_survey_without_dates_means_every_partition_is_read() -> None:
    assert partition_days([ErasedSurvey("s")], TODAY) is None


def test_only_the_erased_rows_lose_their_tickets_and_the_rest_of_the_file_is_unchanged(
    tmp_path: Path,
) -> None:
    # GIVEN a file with her reopen, her ticket's skip (no survey), and another customer's answer
    rows = [
        row("e1", "Case Reopened", "hers", "4521", helpdesk_ticket_id="9001", action="reopened"),
        row("e2", "Survey Skipped", None, "4521", reason="recent_survey"),
        row("e3", "Survey Response Received", "other", "4600", score=5, reasons=["fast"]),
    ]
    source, target = tmp_path / "in.parquet", tmp_path / "out.parquet"
    source.write_bytes(parquet_bytes(rows))
    # WHEN her survey and ticket are anonymised
    changed = anonymised_copy(source, target, ["hers"], ["zendesk#4521"], str(tmp_path))
    # THEN her two rows changed, and the file keeps its columns and types
    assert changed == 2
    (schema_before, before), (schema_after, after) = read(source), read(target)
    assert schema_after == schema_before
    names = [column[0] for column in schema_before]
    hers, skip, other = (dict(zip(names, values, strict=True)) for values in after)
    # AND her rows have no ticket in any column or in the detail, which keeps the rest as the archive wrote it
    assert (hers["ticket_id"], hers["helpdesk_ticket_id"], skip["ticket_id"]) == (None, None, None)
    expected = {
        k: v
        for k, v in json.loads(rows[0].values["detail"]).items()
        if k not in ("ticket_id", "helpdesk_ticket_id")
    }
    assert hers["detail"] == json.dumps(expected, separators=(",", ":"), ensure_ascii=False)
    assert (hers["survey_id"], hers["action"], skip["reason"]) == ("hers", "reopened", "recent_survey")
    # AND the other customer's row is as it was
    assert after[2] == before[2]
    assert other["ticket_id"] == "4600"


def test_a_file_without_her_rows_or_already_anonymised_is_not_rewritten(tmp_path: Path) -> None:
    # GIVEN a file of another customer's only
    source, target = tmp_path / "in.parquet", tmp_path / "out.parquet"
    source.write_bytes(parquet_bytes([row("e3", "Survey Sent", "other", "4600")]))
    # WHEN her survey is anonymised THEN nothing is written
    assert anonymised_copy(source, target, ["hers"], ["zendesk#4521"], str(tmp_path)) == 0
    assert not target.exists()
    # GIVEN a file of hers, anonymised once
    source.write_bytes(parquet_bytes([row("e1", "Survey Sent", "hers", "4521")]))
    assert anonymised_copy(source, target, ["hers"], ["zendesk#4521"], str(tmp_path)) == 1
    # WHEN the anonymised file is anonymised again THEN nothing is left to change
    again = tmp_path / "again.parquet"
    assert anonymised_copy(target, again, ["hers"], ["zendesk#4521"], str(tmp_path)) == 0
    assert not again.exists()
