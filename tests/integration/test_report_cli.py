"""``closeloop report`` against an archive in S3 (moto): every format prints the same numbers; the comments
of negative answers come from the surveys table by key; the Athena engine's API handling (moto's Athena
runs no SQL: its results are injected)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer

from closeloop.adapters.archive_reader import COUNT_NAMES, ArchiveFiles, AthenaReport
from closeloop.domain.reports import NegativeAnswer, ReportPeriod
from closeloop_cli import report
from closeloop_cli.main import build_parser, main
from closeloop_cli.stack_access import StackAccess
from tests.archives import answered, put_archive, reopened, sent

REGION = "eu-west-1"
BUCKET = "acme-closeloop-archive"
TABLE = "acme-closeloop-surveys"
TODAY = datetime.now(UTC).date()
# Two weeks ago, at 09:00 UTC: the default period (the last 28 days) holds it and its answers.
SENT = datetime.combine(TODAY - timedelta(days=14), datetime.min.time()) + timedelta(hours=9)


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        clients = {name: boto3.client(name, region_name=REGION) for name in ("s3", "dynamodb", "athena")}
        clients["s3"].create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        clients["dynamodb"].create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield clients


def a_month_of_surveys() -> list[dict[str, Any]]:
    """Billing: 3 CSAT surveys (5, then 2 changed to 4, and a negative 1 with a comment, reopened);
    Shipping: 2 NPS surveys (10, unanswered); one survey without a team."""
    later = SENT + timedelta(hours=2)
    return [
        sent("b1", SENT, team="Billing"),
        answered("b1", later, 5),
        sent("b2", SENT, team="Billing", agent="Joan Roca"),
        answered("b2", later, 2, reasons=["slow"]),
        answered("b2", later + timedelta(days=1), 4),
        sent("b3", SENT + timedelta(days=1), team="Billing", ticket_id="4711"),
        answered(
            "b3",
            later + timedelta(days=1),
            1,
            reasons=["not_solved", "slow"],
            has_comment=True,
            response_id="r-b3",
        ),
        reopened("b3", later + timedelta(days=1, minutes=10)),
        sent("s1", SENT, team="Shipping", survey_type="nps"),
        answered("s1", later, 10, survey_type="nps"),
        sent("s2", SENT, team="Shipping", survey_type="nps"),
        sent("x1", SENT, team=None, agent=None),
    ]


class FiguresTable(HTMLParser):
    """The cells of the HTML report's ``figures-table``, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._inside = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", "figures-table") in attrs:
            self._inside = True
        elif self._inside and tag == "tr":
            self.rows.append([])
        elif self._inside and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._inside = False
        elif self._inside and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def number(text: str) -> float | None:
    return None if text in ("", "-", "(none)") else float(text)


def test_every_format_prints_the_same_numbers(aws: dict[str, Any], tmp_path: Path) -> None:
    # GIVEN a month of surveys in the archive bucket
    put_archive(aws["s3"], BUCKET, a_month_of_surveys())
    outputs = {form: tmp_path / f"report.{form}" for form in report.FORMATS}
    # WHEN the report by team is written in every format
    for form, path in outputs.items():
        code = main(["report", "--bucket", BUCKET, "--by", "team", "--format", form, "--out", str(path)])
        assert code == 0
    # THEN the JSON has the figures known by hand
    groups = {group["team"]: group for group in json.loads(outputs["json"].read_text())}
    assert set(groups) == {"Billing", "Shipping", None}
    billing = groups["Billing"]
    assert (billing["surveys_sent"], billing["answers"], billing["csat"], billing["csat_answers"]) == (
        3,
        3,
        66.7,
        3,
    )
    assert (billing["negative_answers"], billing["reopens"], billing["reopen_rate"]) == (1, 1, 0.3333)
    shipping = groups["Shipping"]
    assert (shipping["nps"], shipping["nps_answers"], shipping["response_rate"]) == (100.0, 1, 0.5)
    assert groups[None]["csat"] is None
    # AND CSV, table and HTML print the same numbers
    expected = [
        [group[name] for name in report.FIGURE_NAMES] for group in json.loads(outputs["json"].read_text())
    ]
    as_numbers = [[None if value is None else float(value) for value in row] for row in expected]
    csv_rows = list(csv.DictReader(io.StringIO(outputs["csv"].read_text())))
    assert [[number(row[name]) for name in report.FIGURE_NAMES] for row in csv_rows] == as_numbers
    blocks = outputs["table"].read_text().split("\n== ")[1:]
    table_rows = [
        [
            number(re.search(rf"^  {name} +(\S*)$", block, re.MULTILINE).group(1))
            for name in report.FIGURE_NAMES
        ]  # type: ignore[union-attr]
        for block in blocks
    ]
    assert table_rows == as_numbers
    parser = FiguresTable()
    parser.feed(outputs["html"].read_text())
    html_rows = [[number(cell) for cell in row[1:]] for row in parser.rows[1:]]
    assert html_rows == as_numbers


def test_the_html_report_shows_the_comment_of_a_negative_answer_read_by_key(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    # GIVEN the archive and, in the surveys table, the negative answer with its comment
    put_archive(aws["s3"], BUCKET, a_month_of_surveys())
    received = (SENT + timedelta(hours=2, days=1)).replace(tzinfo=UTC).isoformat()
    aws["dynamodb"].put_item(
        TableName=TABLE,
        Item={
            "PK": {"S": "SURVEY#b3"},
            "SK": {"S": f"RESPONSE#{received}#r-b3"},
            "type": {"S": "response"},
            "response_id": {"S": "r-b3"},
            "comment": {"S": "Still <b>broken</b> after the update"},
        },
    )
    stack = StackAccess(
        {"ArchiveBucketName": BUCKET, "ArchivePrefix": "events/", "SurveysTableName": TABLE},
        boto3.session.Session(region_name=REGION),
        None,
        "the test stack",
    )
    out = tmp_path / "report.html"
    arguments = build_parser().parse_args(["report", "--format", "html", "--out", str(out)])
    # WHEN the HTML report is made for the stack
    assert report.run(arguments, stack=stack) == 0
    html = out.read_text()
    # THEN the negative answer is listed with its ticket and its comment, escaped
    assert "4711" in html
    assert "Still &lt;b&gt;broken&lt;/b&gt; after the update" in html
    # AND it is one self-contained file
    assert not re.search(r"<script|<link|<img|@import|url\(http", html)


def test_without_the_surveys_table_the_html_report_says_where_the_comments_are(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    put_archive(aws["s3"], BUCKET, a_month_of_surveys())
    out = tmp_path / "report.html"
    assert main(["report", "--bucket", BUCKET, "--format", "html", "--out", str(out)]) == 0
    html = out.read_text()
    assert "which this report could not reach" in html
    assert "(comment not read)" in html


def test_a_stack_without_an_archive_is_a_clear_failure(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    stack = StackAccess({}, boto3.session.Session(region_name=REGION), None, "the test stack")
    arguments = build_parser().parse_args(["report", "--format", "json"])
    assert report.run(arguments, stack=stack) == 1
    assert "the test stack has no ArchiveBucketName output" in capsys.readouterr().err


def athena_result(columns: list[tuple[str, str]], rows: list[list[str | None]]) -> QueryResults:
    """A result as Athena returns it: every value as text, the first row the column names."""
    header = {"Data": [{"VarCharValue": name} for name, _ in columns]}
    data = [{"Data": [{"VarCharValue": value} if value is not None else {} for value in row]} for row in rows]
    info = [{"Name": name, "Label": name, "Type": kind} for name, kind in columns]
    return QueryResults(rows=[header, *data], column_info=info)


def test_the_athena_engine_runs_the_query_in_the_stacks_workgroup_and_reads_typed_results(
    aws: dict[str, Any],
) -> None:
    # GIVEN the stack's workgroup, and the result Athena would give for the figures by team (moto runs no
    # SQL: the result is injected)
    aws["athena"].create_work_group(
        Name="closeloop-reports",
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{BUCKET}/athena/"}},
    )
    counts = ["3", "0", "3", "3", "2", "0", "0", "0", "0", "0", "0", "0", "1", "1"]
    columns = [("g_team", "varchar")] + [(name, "bigint") for name in COUNT_NAMES[:14]]
    columns += [("median_minutes_to_answer", "double"), ("bounces", "bigint"), ("complaints", "bigint")]
    columns += [("unsubscribes", "bigint")]
    backend = athena_backends[DEFAULT_ACCOUNT_ID][REGION]
    backend.query_results_queue.append(athena_result(columns, [["Billing", *counts, "120.5", "0", "0", "1"]]))
    athena = AthenaReport(
        aws["athena"], "closeloop-reports", "closeloop_analytics", "events", sleep=lambda _: None
    )
    # WHEN the figures of a period are asked for, for one team
    period = ReportPeriod(TODAY - timedelta(days=27), TODAY)
    [billing] = athena.figures(period, ["team"], where={"team": "O'Brien's team"})
    # THEN they are the result's, typed
    assert billing.group == {"team": "Billing"}
    assert (billing.surveys_sent, billing.csat, billing.csat_answers, billing.reopens) == (3, 66.7, 3, 1)
    assert billing.median_minutes_to_answer == 120.5
    assert billing.unsubscribes == 1
    # AND the query ran in the workgroup, on the database, with the filter as a quoted parameter
    [execution] = backend.executions.values()
    assert execution.workgroup is not None
    assert execution.workgroup.name == "closeloop-reports"
    assert execution.context == {"Database": "closeloop_analytics"}
    assert execution.execution_parameters == ["'o''brien''s team'", "'o''brien''s team'"]
    assert 'FROM "closeloop_analytics"."events" a' in execution.query
    assert "approx_percentile(f.minutes_to_answer, 0.5)" in execution.query


@pytest.fixture
def moto_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_against_the_sandbox_the_archive_is_found_through_its_outputs_file(
    moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a running sandbox: AWS_ENDPOINT_URL set, its outputs written, its archive bucket filled
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    put_archive(s3, BUCKET, a_month_of_surveys())
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps({"ArchiveBucketName": BUCKET, "ArchivePrefix": "events/"}), encoding="utf-8"
    )
    # WHEN the report is asked for without a stack name
    code = main(["report", "--outputs", str(outputs), "--format", "json"])
    # THEN it reads the sandbox's archive
    assert code == 0
    [total] = json.loads(capsys.readouterr().out)
    assert (total["surveys_sent"], total["answers"], total["reopens"]) == (6, 4, 1)


def test_without_a_stack_or_a_sandbox_the_report_says_what_to_pass(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["report", "--outputs", "/nonexistent/outputs.json"]) == 2
    assert "pass --stack-name" in capsys.readouterr().err


def test_the_athena_engine_is_refused_on_the_sandbox_whose_athena_runs_no_sql(
    moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"AthenaWorkGroupName": "closeloop-analytics"}), encoding="utf-8")
    assert main(["report", "--outputs", str(outputs), "--engine", "athena"]) == 2
    assert "runs no SQL: use --engine duckdb" in capsys.readouterr().err


def test_downloaded_partitions_keep_their_layout_and_are_not_fetched_twice(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    # GIVEN the archive in S3, downloaded once
    keys = put_archive(aws["s3"], BUCKET, a_month_of_surveys())
    files = ArchiveFiles(aws["s3"], BUCKET, "events/")
    days = ReportPeriod(SENT.date(), SENT.date() + timedelta(days=1)).archive_days(TODAY)
    first = files.download(days, tmp_path)
    assert sorted(str(path.relative_to(tmp_path)) for path in first) == sorted(
        key.removeprefix("events/") for key in keys
    )
    # WHEN a local copy is replaced by bytes of the same size and time, and the days are downloaded again
    kept = first[0].stat()
    first[0].write_bytes(b"x" * kept.st_size)
    os.utime(first[0], (kept.st_mtime, kept.st_mtime))
    again = files.download(days, tmp_path)
    # THEN the same files are listed and the local copy was not fetched again
    assert again == first
    assert set(first[0].read_bytes()) == {ord("x")}
    # AND a copy older than its object (closeloop erase rewrote the file under its key) is fetched again
    os.utime(first[0], (0, 0))
    files.download(days, tmp_path)
    assert set(first[0].read_bytes()) != {ord("x")}


def test_a_comment_whose_moment_athena_rounded_is_found_in_its_own_surveys_answers(
    aws: dict[str, Any],
) -> None:
    # GIVEN an answer stored at a moment with microseconds, which Athena returns to the millisecond
    stored = datetime(2026, 11, 3, 10, 0, 0, 123456, tzinfo=UTC)
    aws["dynamodb"].put_item(
        TableName=TABLE,
        Item={
            "PK": {"S": "SURVEY#s-9"},
            "SK": {"S": f"RESPONSE#{stored.isoformat()}#r-9"},
            "response_id": {"S": "r-9"},
            "comment": {"S": "Nobody called me back"},
        },
    )
    rounded = NegativeAnswer(
        survey_id="s-9",
        response_id="r-9",
        helpdesk="zendesk",
        ticket_id="9",
        survey_type="csat",
        score=1,
        resolved=None,
        reasons=(),
        agent=None,
        team=None,
        received_at=datetime(2026, 11, 3, 10, 0, 0, 123000),
        source="page",
        has_comment=True,
    )
    # WHEN its comment is read
    comments = report.read_comments(aws["dynamodb"], TABLE, [rounded])
    # THEN it is found by its response id among its survey's answers
    assert comments == {"r-9": "Nobody called me back"}
