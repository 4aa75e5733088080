"""``closeloop report``'s command line over archive files on this machine, and the Athena runner's handling
of what Athena answers (a stand-in client: the states and pages its API documents)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from closeloop.adapters.archive_reader import AthenaQueryError, AthenaRunner, Query
from closeloop.domain.reports import GROUPINGS
from closeloop_cli.main import main
from tests import strategies
from tests.archives import answered, sent, write_archive

PROPERTY = strategies.property_settings(60, None, fixtures=True)
SENT = datetime(2026, 11, 2, 9, 0)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("archive")
    write_archive([sent("s1", SENT), answered("s1", SENT + timedelta(hours=1), 5)], folder)
    return folder


def days() -> st.SearchStrategy[str]:
    real = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)).map(date.isoformat)
    return st.one_of(real, st.text(max_size=12), st.sampled_from(["2026-02-30", "2026-11-1", "20261101", ""]))


@PROPERTY
@given(
    since=st.one_of(st.none(), days()),
    until=st.one_of(st.none(), days()),
    by=st.lists(st.one_of(st.sampled_from(GROUPINGS), st.text(max_size=10)), max_size=6),
)
def test_any_period_and_grouping_gives_a_report_or_a_clear_usage_error(
    archive: Path,
    capsys: pytest.CaptureFixture[str],
    since: str | None,
    until: str | None,
    by: list[str],
) -> None:
    arguments = ["report", "--archive-dir", str(archive), "--format", "json"]
    arguments += ["--since", since] if since is not None else []
    arguments += ["--until", until] if until is not None else []
    for key in by:
        arguments += ["--by", key]
    capsys.readouterr()
    # WHEN the command runs with whatever was typed
    try:
        code = main(arguments)
    except SystemExit as stopped:  # argparse refuses a malformed day or an unknown key
        code = stopped.code  # type: ignore[assignment]
    output = capsys.readouterr()
    # THEN it either prints the report's groups, or refuses with exit code 2 and says why
    if code == 0:
        groups = json.loads(output.out)
        assert isinstance(groups, list)
        assert all(set(by) <= set(group) for group in groups)
    else:
        assert code == 2
        assert output.out == ""
        assert "closeloop report: " in output.err or "error: " in output.err


def test_an_unknown_grouping_is_refused_with_the_known_ones(
    capsys: pytest.CaptureFixture[str], archive: Path
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["report", "--archive-dir", str(archive), "--by", "colour"])
    assert stopped.value.code == 2
    assert "invalid choice: 'colour'" in capsys.readouterr().err


def test_a_period_backwards_is_a_usage_error(capsys: pytest.CaptureFixture[str], archive: Path) -> None:
    code = main(["report", "--archive-dir", str(archive), "--since", "2026-11-30", "--until", "2026-11-01"])
    assert code == 2
    assert "the period ends (2026-11-01) before it starts (2026-11-30)" in capsys.readouterr().err


class StandInAthena:
    """Answers as Athena's API does: the execution's states in turn, then the result in pages."""

    def __init__(self, states: list[dict[str, str]], pages: list[dict[str, Any]]) -> None:
        self.states, self.pages = states, pages
        self.started: list[dict[str, Any]] = []
        self.result_requests: list[dict[str, Any]] = []

    def start_query_execution(self, **request: Any) -> dict[str, str]:
        self.started.append(request)
        return {"QueryExecutionId": "q-1"}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        return {"QueryExecution": {"Status": self.states.pop(0)}}

    def get_query_results(self, **request: Any) -> dict[str, Any]:
        self.result_requests.append(request)
        return self.pages.pop(0)


def page(rows: list[list[str]], token: str | None, header: bool) -> dict[str, Any]:
    columns = [{"Name": "reason_code", "Type": "varchar"}, {"Name": "answers", "Type": "bigint"}]
    listed = ([["reason_code", "answers"]] if header else []) + rows
    result: dict[str, Any] = {
        "ResultSet": {
            "Rows": [{"Data": [{"VarCharValue": value} for value in row]} for row in listed],
            "ResultSetMetadata": {"ColumnInfo": columns},
        }
    }
    return result | ({"NextToken": token} if token else {})


def test_the_athena_runner_waits_for_the_query_and_reads_every_page() -> None:
    athena = StandInAthena(
        [{"State": "QUEUED"}, {"State": "RUNNING"}, {"State": "SUCCEEDED"}],
        [page([["slow", "7"]], "next", header=True), page([["rude", "2"]], None, header=False)],
    )
    runner = AthenaRunner(athena, "wg", "db", "events", sleep=lambda _: None)
    rows = runner.rows(Query("SELECT 1 FROM ARCHIVE_SOURCE", ()))
    assert rows == [{"reason_code": "slow", "answers": 7}, {"reason_code": "rude", "answers": 2}]
    assert athena.result_requests[1]["NextToken"] == "next"
    assert "ExecutionParameters" not in athena.started[0]


def test_a_failed_athena_query_is_an_error_with_athenas_reason() -> None:
    athena = StandInAthena([{"State": "FAILED", "StateChangeReason": "TABLE_NOT_FOUND: events"}], [])
    runner = AthenaRunner(athena, "wg", "db", "events", sleep=lambda _: None)
    with pytest.raises(AthenaQueryError, match="failed: TABLE_NOT_FOUND"):
        runner.rows(Query("SELECT 1", ()))


def test_an_athena_query_still_running_after_the_last_poll_is_an_error() -> None:
    athena = StandInAthena([{"State": "RUNNING"}] * 3, [])
    runner = AthenaRunner(athena, "wg", "db", "events", max_polls=3, sleep=lambda _: None)
    with pytest.raises(AthenaQueryError, match="still running after 3 polls"):
        runner.rows(Query("SELECT 1", ()))


def test_a_table_name_that_is_not_glues_is_refused_before_any_query() -> None:
    with pytest.raises(AthenaQueryError, match="is not a Glue"):
        AthenaRunner(StandInAthena([], []), "wg", "db", 'events"; DROP', sleep=lambda _: None)
