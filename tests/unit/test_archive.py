"""The event archive's rows and files: how an event becomes a row, which events are refused and why, where
a batch's file goes, what a Parquet file holds when read back, and the Glue table's columns."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from closeloop.adapters.archive import (
    ARCHIVE_COLUMNS,
    COLUMN_NAMES,
    InvalidArchiveEventError,
    archive_row,
    archive_row_of_message,
    day_prefix,
    parquet_bytes,
    partition_key,
)
from closeloop.adapters.archive_writer import day_files
from closeloop.domain.published import SurveyResponseReceived, SurveySent, published_detail
from tests.unit.test_template import RESOURCES, with_mappings

SENT = SurveySent(
    helpdesk="zendesk",
    ticket_id="4711",
    survey_id="s-1",
    survey_type="csat",
    locale="pt-BR",
    sent_at=datetime(2026, 11, 30, 23, 59, 30, tzinfo=UTC),
    expires_at=datetime(2026, 12, 28, 23, 59, 30, tzinfo=UTC),
    agent_id="a-7",
    agent_name="Marta Puig",
    team_id="t-2",
    team_name="Billing",
    brand="Acme",
    channel="email",
    rule="vip",
    negative_answer="reopen",
)
ANSWER = SurveyResponseReceived(
    helpdesk="zendesk",
    ticket_id="4711",
    survey_id="s-1",
    response_id="r-1",
    survey_type="csat",
    score=2,
    resolved=False,
    reasons=["slow", "rude"],
    negative=True,
    verdict=["score", "not_resolved"],
    action="reopen",
    has_comment=True,
    agent_id="a-7",
    team_id="t-2",
    received_at=datetime(2026, 12, 1, 8, 15, tzinfo=UTC),
)


def bus_event(detail: dict[str, Any], detail_type: str, event_id: str, time: str) -> dict[str, Any]:
    """An event as EventBridge delivers it to the archive queue."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": "closeloop",
        "account": "123456789012",
        "time": time,
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


def sent_event(event_id: str = "e-1", time: str = "2026-11-30T23:59:31Z") -> dict[str, Any]:
    return bus_event(published_detail(SENT), "Survey Sent", event_id, time)


def answer_event(event_id: str = "e-2", time: str = "2026-12-01T08:15:01Z") -> dict[str, Any]:
    return bus_event(published_detail(ANSWER), "Survey Response Received", event_id, time)


# --- flattening --------------------------------------------------------------------------------------


def test_an_event_becomes_one_row_with_the_envelope_and_its_detail_fields() -> None:
    # WHEN a Survey Sent event is made a row
    row = archive_row(sent_event())
    # THEN the envelope and the planning snapshot are columns, moments as naive UTC
    assert row.values["id"] == "e-1"
    assert row.values["detail_type"] == "Survey Sent"
    assert row.values["time"] == datetime(2026, 11, 30, 23, 59, 31)
    assert row.values["sent_at"] == datetime(2026, 11, 30, 23, 59, 30)
    assert {name: row.values[name] for name in ("agent_name", "team_name", "brand", "locale", "rule")} == {
        "agent_name": "Marta Puig",
        "team_name": "Billing",
        "brand": "Acme",
        "locale": "pt-BR",
        "rule": "vip",
    }
    # AND fields this event does not have are empty columns
    assert row.values["score"] is None
    assert row.values["received_at"] is None
    # AND every column is there, and the whole detail is kept as JSON
    assert set(row.values) == set(COLUMN_NAMES)
    assert json.loads(row.values["detail"]) == published_detail(SENT)


def test_the_row_belongs_to_the_utc_day_of_the_events_time() -> None:
    # GIVEN an event published at 00:30 in Madrid, which is still the previous day in UTC
    row = archive_row(sent_event(time="2026-12-01T00:30:00+01:00"))
    # THEN its partition is the UTC day
    assert row.day == date(2026, 11, 30)
    assert row.values["time"] == datetime(2026, 11, 30, 23, 30)


def test_an_answers_lists_and_booleans_are_columns() -> None:
    row = archive_row(answer_event())
    assert row.values["score"] == 2
    assert row.values["resolved"] is False
    assert row.values["negative"] is True
    assert row.values["reasons"] == ["slow", "rude"]
    assert row.values["verdict"] == ["score", "not_resolved"]
    assert row.values["received_at"] == datetime(2026, 12, 1, 8, 15)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("score", "2"),  # a string where an integer belongs
        ("score", True),  # a boolean is no score
        ("score", 2**40),  # beyond the column's INTEGER
        ("resolved", "no"),
        ("reasons", "slow"),  # a string where a list belongs
        ("received_at", "yesterday"),
        ("agent_id", 7),
    ],
)
def test_a_field_of_the_wrong_type_is_left_out_of_its_column_but_kept_in_the_detail(
    field: str, value: Any
) -> None:
    # GIVEN an answer whose field has a type its column cannot hold
    event = answer_event()
    event["detail"][field] = value
    # WHEN it is made a row
    row = archive_row(event)
    # THEN the column is empty, the event is not refused, and the detail keeps what was sent
    assert row.values[field] is None
    assert json.loads(row.values["detail"])[field] == value


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": None}, "the event has no id"),
        ({"id": ""}, "the event has no id"),
        ({"id": "x" * 129}, "the event has no id"),
        ({"detail-type": None}, "the event has no detail-type"),
        ({"detail": "a string"}, "the event's detail is not an object"),
        ({"detail": None}, "the event's detail is not an object"),
        ({"time": None}, "the event's time is not an ISO 8601 moment"),
        ({"time": "1 December"}, "the event's time is not an ISO 8601 moment"),
        ({"time": 1764547200}, "the event's time is not an ISO 8601 moment"),
    ],
)
def test_an_event_without_a_usable_envelope_is_refused_with_the_reason(
    change: dict[str, Any], reason: str
) -> None:
    event = {**sent_event(), **change}
    with pytest.raises(InvalidArchiveEventError) as refused:
        archive_row(event)
    assert str(refused.value) == reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "the message is not JSON (Expecting value at character 0)"),
        ("[1, 2]", "the message is a JSON list, not an event object"),
        ('"Survey Sent"', "the message is a JSON str, not an event object"),
        ("[" * 100_000, "the message is JSON closeloop cannot read (RecursionError)"),
    ],
)
def test_a_message_that_is_no_json_object_is_refused_without_repeating_it(body: str, reason: str) -> None:
    with pytest.raises(InvalidArchiveEventError) as refused:
        archive_row_of_message(body)
    assert str(refused.value) == reason


def test_a_message_holding_an_event_is_read_like_the_event() -> None:
    assert archive_row_of_message(json.dumps(answer_event())) == archive_row(answer_event())


# --- files and their keys ------------------------------------------------------------------------------


def test_a_retried_batch_writes_the_same_key_whatever_the_order_of_its_events() -> None:
    first = partition_key("events/", date(2026, 12, 1), ["e-1", "e-2", "e-3"])
    retried = partition_key("events/", date(2026, 12, 1), ["e-3", "e-1", "e-2"])
    assert first == retried
    assert first.startswith(day_prefix("events/", date(2026, 12, 1)))
    assert first.startswith("events/dt=2026-12-01/")
    assert first.endswith(".parquet")


def test_another_batch_of_the_same_day_gets_its_own_key() -> None:
    assert partition_key("events/", date(2026, 12, 1), ["e-1"]) != partition_key(
        "events/", date(2026, 12, 1), ["e-1", "e-2"]
    )


def test_a_batch_is_grouped_into_one_file_per_utc_day_each_event_once() -> None:
    # GIVEN a batch with a send on 30 November, an answer on 1 December, and the answer delivered twice
    rows = [
        ("m-1", archive_row(sent_event())),
        ("m-2", archive_row(answer_event())),
        ("m-3", archive_row(answer_event())),
    ]
    # WHEN it is grouped
    files = day_files(rows)
    # THEN each day has its file, holding each event once, and both copies' messages belong to it
    assert [(f.day, [r.event_id for r in f.rows], f.message_ids) for f in files] == [
        (date(2026, 11, 30), ["e-1"], ("m-1",)),
        (date(2026, 12, 1), ["e-2"], ("m-2", "m-3")),
    ]


def test_a_parquet_file_reads_back_with_duckdb_as_the_rows_it_was_written_from(tmp_path: Path) -> None:
    # GIVEN a file of a send and an answer
    path = tmp_path / "file.parquet"
    path.write_bytes(parquet_bytes([archive_row(sent_event()), archive_row(answer_event())]))
    # WHEN DuckDB reads it
    with duckdb.connect() as connection:
        file = connection.read_parquet(str(path))
        schema = list(zip(file.columns, [str(kind) for kind in file.types], strict=True))
        found = (
            file.order("id")
            .project("id, detail_type, time, agent_name, score, resolved, reasons, received_at, detail")
            .fetchall()
        )
    # THEN the columns are ARCHIVE_COLUMNS, in order, with their DuckDB types
    assert schema == [(name, kind) for name, kind, _ in ARCHIVE_COLUMNS]
    # AND the values are the rows'
    assert found[0][:8] == (
        "e-1",
        "Survey Sent",
        datetime(2026, 11, 30, 23, 59, 31),
        "Marta Puig",
        None,
        None,
        None,
        None,
    )
    assert found[1][:8] == (
        "e-2",
        "Survey Response Received",
        datetime(2026, 12, 1, 8, 15, 1),
        None,
        2,
        False,
        ["slow", "rude"],
        datetime(2026, 12, 1, 8, 15),
    )
    assert json.loads(found[1][8]) == published_detail(ANSWER)


def test_text_outside_ascii_survives_the_round_trip(tmp_path: Path) -> None:
    event = sent_event()
    event["detail"]["agent_name"] = "Nguyễn Thị Hoa"
    event["detail"]["team_name"] = "Atenció al client"
    path = tmp_path / "file.parquet"
    path.write_bytes(parquet_bytes([archive_row(event)]))
    with duckdb.connect() as connection:
        [found] = connection.read_parquet(str(path)).project("agent_name, team_name").fetchall()
    assert found == ("Nguyễn Thị Hoa", "Atenció al client")


# --- the Glue table --------------------------------------------------------------------------------------


def test_the_glue_tables_columns_are_the_archives_columns_with_their_glue_types() -> None:
    table = RESOURCES["ArchiveTable"]["Properties"]["TableInput"]
    columns = [(column["Name"], column["Type"]) for column in table["StorageDescriptor"]["Columns"]]
    assert columns == [(name, glue_type) for name, _, glue_type in ARCHIVE_COLUMNS]
    # AND the day is the partition key, in the path only
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]


def test_the_glue_table_projects_one_partition_per_day_where_the_function_writes_them() -> None:
    parameters = RESOURCES["ArchiveTable"]["Properties"]["TableInput"]["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert (parameters["projection.dt.type"], parameters["projection.dt.format"]) == ("date", "yyyy-MM-dd")
    template, variables = parameters["storage.location.template"]["Fn::Sub"]
    prefix = with_mappings(variables["Prefix"])
    # The function's ARCHIVE_PREFIX and the location are the same mapping: the path the projection builds
    # for a day is day_prefix(), where the function writes that day's files.
    function_prefix = RESOURCES["ArchiveFunction"]["Properties"]["Environment"]["Variables"]["ARCHIVE_PREFIX"]
    assert with_mappings(function_prefix) == prefix == "events/"
    located = template.replace("${Prefix}", prefix).replace("${!dt}", "2026-12-01")
    assert located == "s3://${ArchiveBucket}/" + day_prefix(prefix, date(2026, 12, 1))


# --- the saved Athena queries ------------------------------------------------------------------------------

NAMED_QUERIES = sorted(name for name, res in RESOURCES.items() if res["Type"] == "AWS::Athena::NamedQuery")


def on_duckdb(query: str, files: Path) -> str:
    """An Athena (Trino) query of the saved ones as DuckDB runs it: the table is the archive's files, and
    Trino's ``date_format`` is DuckDB's ``strftime``; nothing else is changed."""
    source = f"read_parquet('{files}/**/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})"
    return query.replace("FROM events", f"FROM {source}").replace("date_format(", "strftime(")


@pytest.fixture(scope="module")
def seeded_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight weeks of ``closeloop seed``'s surveys up to now, as ArchiveFunction writes them (each event
    once, plus a redelivered copy of the first hundred in files of their own)."""
    from closeloop_cli.seed import generate

    folder = tmp_path_factory.mktemp("archive")
    events = generate(400, 8, 5, datetime.now(UTC))
    rows = [
        archive_row(
            {"id": f"e-{n}", "time": e.time.isoformat(), "detail-type": e.detail_type, "detail": e.detail()}
        )
        for n, e in enumerate(events)
    ]
    for copy, batch in ((0, rows), (1, rows[:100])):
        for day_file in day_files([(row.event_id, row) for row in batch]):
            path = folder / partition_key(
                "events/", day_file.day, [f"{copy}"] + [r.event_id for r in day_file.rows]
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(parquet_bytes(day_file.rows))
    return folder


def test_the_template_saves_three_queries_for_the_analytics_workgroup() -> None:
    assert len(NAMED_QUERIES) == 3
    for name in NAMED_QUERIES:
        properties = RESOURCES[name]["Properties"]
        assert properties["Database"] == {"Ref": "AnalyticsDatabase"}
        assert properties["WorkGroup"] == {"Ref": "AnalyticsWorkGroup"}
        assert "dt >=" in properties["QueryString"]  # every query reads only the days it needs


def test_the_csat_query_gives_each_agents_share_of_good_latest_answers(seeded_archive: Path) -> None:
    query = on_duckdb(RESOURCES["CsatPerAgentQuery"]["Properties"]["QueryString"], seeded_archive)
    with duckdb.connect() as connection:
        rows = connection.execute(query).fetchall()
    assert rows
    for _agent, team, answers, csat in rows:
        assert team
        assert answers > 0
        assert 0 <= csat <= 100


def test_the_team_weeks_query_counts_each_survey_once_despite_redelivered_events(
    seeded_archive: Path,
) -> None:
    query = on_duckdb(RESOURCES["TeamWeeksQuery"]["Properties"]["QueryString"], seeded_archive)
    with duckdb.connect() as connection:
        rows = connection.execute(query).fetchall()
        sent = connection.execute(
            on_duckdb(
                "SELECT count(DISTINCT survey_id) FROM events WHERE detail_type = 'Survey Sent' "
                "AND sent_at >= CAST(current_date - INTERVAL '84' DAY AS timestamp)",
                seeded_archive,
            )
        ).fetchall()
    assert sum(row[2] for row in rows) == sent[0][0]
    for _week, _team, surveys, answered, rate, negative, reopened in rows:
        assert answered <= surveys
        assert 0 <= rate <= 100
        assert negative <= answered
        assert reopened <= answered  # a reopen follows an answer (perhaps one changed since)


def test_the_events_per_day_query_counts_copies_beyond_the_first(seeded_archive: Path) -> None:
    query = on_duckdb(RESOURCES["ArchivedEventsQuery"]["Properties"]["QueryString"], seeded_archive)
    with duckdb.connect() as connection:
        rows = connection.execute(query).fetchall()
    assert rows
    assert all(extra >= 0 for *_, extra in rows)
