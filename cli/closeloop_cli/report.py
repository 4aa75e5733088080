"""``closeloop report``: how the surveys sent in a period did, per agent, team, week, ... (docs/reports.md).

    closeloop report --since 2026-11-01 --until 2026-11-30 --by team --by week     # the local sandbox
    closeloop report --stack-name closeloop-prod --region eu-west-1 --format html --out november.html
    closeloop report --bucket my-archive --format csv                               # an archive bucket
    closeloop report --stack-name closeloop-prod --engine athena --format json

The figures come from the event archive (``events/dt=YYYY-MM-DD/*.parquet``): with ``--engine duckdb``
(the default) the day partitions are downloaded and read here; with ``--engine athena`` the same SQL runs
in the stack's Athena workgroup. The surveys table is never scanned: only the comments of the negative
answers the HTML report lists are read from it, by key.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from closeloop.adapters.archive_reader import (
    ArchiveFiles,
    ArchiveReport,
    AthenaQueryError,
    AthenaReport,
    ReportQueries,
)
from closeloop.domain.reports import (
    FIGURE_NAMES,
    GROUPINGS,
    Figures,
    InvalidReportError,
    NegativeAnswer,
    ReopenedTicket,
    ReportPeriod,
    ScoreCount,
    check_groupings,
)
from closeloop_cli.doctor import StackUnavailableError
from closeloop_cli.stack_access import StackAccess, StackNotGivenError, add_stack_arguments, locate_stack

FORMATS = ("table", "csv", "json", "html")
ENGINES = ("duckdb", "athena")
DEFAULT_DAYS = 28
DEFAULT_PREFIX = "events/"
MAX_GROUPINGS = 4
NEGATIVE_LIMIT = 50
TEMPLATES = Path(__file__).parent / "templates"
# A comment is shown in the report, not read there: long ones are cut.
MAX_COMMENT_CHARS = 1000


class ReportUsageError(Exception):
    """The command line asks for a report that cannot be made; the message says what to change."""


@dataclass
class ReportData:
    """Everything one report shows: the grouped figures every format prints, and the HTML's extras."""

    period: ReportPeriod
    by: tuple[str, ...]
    origin: str
    engine: str
    groups: list[Figures]
    total: Figures
    weeks: list[Figures] = field(default_factory=list)
    agents: list[Figures] = field(default_factory=list)
    scores: list[ScoreCount] = field(default_factory=list)
    reasons: list[tuple[str, int]] = field(default_factory=list)
    negative: list[NegativeAnswer] = field(default_factory=list)
    comments: dict[str, str] = field(default_factory=dict)  # by response_id
    reopened: list[ReopenedTicket] = field(default_factory=list)
    comments_note: str = ""


# ---- arguments ----------------------------------------------------------------------------------------


def parse_day(text: str) -> date:
    """A UTC day ``YYYY-MM-DD`` (argparse shows the error)."""
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day written YYYY-MM-DD") from None


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``report`` subcommand to the ``closeloop`` command."""
    parser = subparsers.add_parser(
        "report",
        help="figures per agent, team, week, ... from the event archive (table, csv, json, html)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--since", type=parse_day, help=f"first day, UTC (default: {DEFAULT_DAYS} days ago)")
    parser.add_argument("--until", type=parse_day, help="last day, UTC, inclusive (default: today)")
    parser.add_argument(
        "--by",
        action="append",
        default=[],
        choices=GROUPINGS,
        metavar="KEY",
        help=f"group by (repeatable, at most {MAX_GROUPINGS}): {', '.join(GROUPINGS)}",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="output (table)")
    parser.add_argument("--out", type=Path, help="write to this file instead of standard output")
    parser.add_argument("--engine", choices=ENGINES, default="duckdb", help="who runs the SQL (duckdb)")
    parser.add_argument("--bucket", help="the archive bucket (default: the stack's ArchiveBucketName)")
    parser.add_argument(
        "--prefix", help=f"the archive's key prefix (default: the stack's, or {DEFAULT_PREFIX})"
    )
    parser.add_argument(
        "--archive-dir",
        type=Path,
        help="read archive files already on this machine (…/dt=YYYY-MM-DD/*.parquet) instead of S3",
    )
    parser.add_argument(
        "--download-dir",
        type=Path,
        help="keep the downloaded partitions here (reused by the next report); default: a temporary folder",
    )
    add_stack_arguments(parser)
    parser.set_defaults(run=run)


def _period(arguments: argparse.Namespace, today: date) -> ReportPeriod:
    until = arguments.until or today
    since = arguments.since or until - timedelta(days=DEFAULT_DAYS - 1)
    return ReportPeriod(since, until)


# ---- running ------------------------------------------------------------------------------------------


def run(arguments: argparse.Namespace, stack: StackAccess | None = None) -> int:
    """Exit code: 0 written, 1 the stack, AWS or Athena failed, 2 a usage error."""
    today = datetime.now(UTC).date()
    try:
        period = _period(arguments, today)
        by = check_groupings(list(arguments.by))
        if len(by) > MAX_GROUPINGS:
            raise ReportUsageError(f"group by at most {MAX_GROUPINGS} keys")
        if arguments.archive_dir is not None and arguments.engine == "athena":
            raise ReportUsageError("--archive-dir reads local files: it needs --engine duckdb")
        with tempfile.TemporaryDirectory(prefix="closeloop-report-") as scratch:
            data = collect(arguments, period, by, today, Path(scratch), stack)
    except (InvalidReportError, ReportUsageError, StackNotGivenError) as error:
        print(f"closeloop report: {error}", file=sys.stderr)
        return 2
    except (StackUnavailableError, AthenaQueryError, ClientError, BotoCoreError, OSError) as error:
        print(f"closeloop report: {error}", file=sys.stderr)
        return 1
    text = render(data, arguments.format)
    if arguments.out is not None:
        try:
            arguments.out.write_text(text, encoding="utf-8")
        except OSError as error:
            print(f"closeloop report: cannot write {arguments.out}: {error}", file=sys.stderr)
            return 1
        print(f"closeloop report: {len(data.groups)} group(s) written to {arguments.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def collect(
    arguments: argparse.Namespace,
    period: ReportPeriod,
    by: tuple[str, ...],
    today: date,
    scratch: Path,
    stack: StackAccess | None = None,
) -> ReportData:
    """Ask the chosen engine every question the report's format needs."""
    queries, origin, stack = _queries(arguments, period, today, scratch, stack)
    groups = queries.figures(period, by)
    # Without --by the one group is the total (one query fewer).
    total = groups[0] if not by else queries.figures(period)[0]
    data = ReportData(period, by, origin, arguments.engine, groups, total)
    if arguments.format == "html":
        data.weeks = queries.figures(period, ("week",))
        data.agents = queries.figures(period, ("agent",))
        data.scores = queries.score_distribution(period)
        data.reasons = queries.top_reasons(period)
        data.negative = queries.negative_answers(period, limit=NEGATIVE_LIMIT)
        data.reopened = queries.reopened(period)
        data.comments, data.comments_note = _comments(stack, data.negative)
    return data


def _queries(
    arguments: argparse.Namespace,
    period: ReportPeriod,
    today: date,
    scratch: Path,
    stack: StackAccess | None,
) -> tuple[ReportQueries, str, StackAccess | None]:
    if arguments.archive_dir is not None:
        folder: Path = arguments.archive_dir
        if not folder.is_dir():
            raise ReportUsageError(f"{folder} is not a folder")
        files = sorted(folder.rglob("dt=*/*.parquet"))
        return ArchiveReport(files, today=today), f"the archive files in {folder}", stack
    if stack is None and not (arguments.bucket and arguments.engine == "duckdb"):
        stack = locate_stack(arguments)
    if arguments.engine == "athena":
        assert stack is not None
        if stack.endpoint:
            raise ReportUsageError(
                "the sandbox's Athena is moto's, which runs no SQL: use --engine duckdb on the sandbox"
            )
        report = AthenaReport(
            stack.client("athena"),
            workgroup=stack.output("AthenaWorkGroupName"),
            database=stack.output("AnalyticsDatabaseName"),
            table=stack.output("ArchiveTableName"),
            today=today,
        )
        return report, f"Athena over {stack.origin}", stack
    if arguments.bucket:
        bucket, prefix = arguments.bucket, arguments.prefix or DEFAULT_PREFIX
        s3 = stack.client("s3") if stack is not None else _s3_client(arguments)
        origin = f"s3://{bucket}/{prefix}"
    else:
        assert stack is not None
        bucket = stack.output("ArchiveBucketName")
        prefix = arguments.prefix or stack.outputs.get("ArchivePrefix") or DEFAULT_PREFIX
        s3 = stack.client("s3")
        origin = f"{stack.origin}, s3://{bucket}/{prefix}"
    into = arguments.download_dir or scratch
    files = ArchiveFiles(s3, bucket, prefix).download(period.archive_days(today), into)
    return ArchiveReport(files, today=today), origin, stack


def _s3_client(arguments: argparse.Namespace) -> Any:
    import os

    import boto3

    from closeloop_cli.stack_access import CLIENT_CONFIG

    region = arguments.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return boto3.session.Session(region_name=region).client(
        "s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None, config=CLIENT_CONFIG
    )


# ---- comments of the negative answers, by key ---------------------------------------------------------


def _comments(stack: StackAccess | None, negative: Sequence[NegativeAnswer]) -> tuple[dict[str, str], str]:
    """The listed negative answers' comments, read by key from the surveys table (never a scan)."""
    wanted = [answer for answer in negative if answer.has_comment]
    if not wanted:
        return {}, ""
    table = stack.outputs.get("SurveysTableName") if stack is not None else None
    if stack is None or not table:
        return {}, "Comments are kept in the surveys table, which this report could not reach."
    try:
        return read_comments(stack.client("dynamodb"), table, wanted), ""
    except (ClientError, BotoCoreError) as error:
        return {}, f"The comments could not be read from the surveys table ({error})."


def read_comments(dynamodb: Any, table: str, answers: Sequence[NegativeAnswer]) -> dict[str, str]:
    """Each answer's comment by response id: BatchGetItem on its exact key; an answer whose moment the
    engine rounded (Athena keeps milliseconds) is found with a Query of its own survey's answers."""
    comments: dict[str, str] = {}
    keys = {
        answer.response_id: {
            "PK": {"S": f"SURVEY#{answer.survey_id}"},
            "SK": {
                "S": f"RESPONSE#{answer.received_at.replace(tzinfo=UTC).isoformat()}#{answer.response_id}"
            },
        }
        for answer in answers
    }
    pending = list(keys.values())
    while pending:
        batch, pending = pending[:100], pending[100:]
        request: dict[str, Any] = {
            table: {
                "Keys": batch,
                "ProjectionExpression": "response_id, #comment",
                "ExpressionAttributeNames": {"#comment": "comment"},
            }
        }
        while request:
            page = dynamodb.batch_get_item(RequestItems=request)
            for item in page.get("Responses", {}).get(table, []):
                _keep_comment(comments, item)
            request = page.get("UnprocessedKeys") or {}
    for answer in answers:
        if answer.response_id not in comments:
            page = dynamodb.query(
                TableName=table,
                KeyConditionExpression="PK = :pk AND begins_with(SK, :responses)",
                ExpressionAttributeValues={
                    ":pk": {"S": f"SURVEY#{answer.survey_id}"},
                    ":responses": {"S": "RESPONSE#"},
                },
                ProjectionExpression="response_id, #comment",
                ExpressionAttributeNames={"#comment": "comment"},
            )
            for item in page.get("Items", []):
                if item.get("response_id", {}).get("S") == answer.response_id:
                    _keep_comment(comments, item)
    return comments


def _keep_comment(comments: dict[str, str], item: dict[str, Any]) -> None:
    response_id = item.get("response_id", {}).get("S")
    comment = item.get("comment", {}).get("S")
    if response_id and comment:
        comments[response_id] = comment[:MAX_COMMENT_CHARS]


# ---- formats ------------------------------------------------------------------------------------------


def render(data: ReportData, form: str) -> str:
    if form == "json":
        return render_json(data)
    if form == "csv":
        return render_csv(data)
    if form == "html":
        return render_html(data)
    return render_table(data)


def rows(data: ReportData) -> list[dict[str, Any]]:
    """The report's groups as they are printed in every format: the ``--by`` keys, then the figures."""
    return [figures.as_dict() for figures in data.groups]


def render_json(data: ReportData) -> str:
    return json.dumps(rows(data), indent=2, ensure_ascii=False) + "\n"


def columns(data: ReportData) -> list[str]:
    return [*data.by, *FIGURE_NAMES]


def cell(value: Any) -> str:
    """One value as table, CSV and HTML print it: the JSON's number, an empty cell for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render_csv(data: ReportData) -> str:
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(columns(data))
    for row in rows(data):
        writer.writerow([cell(row[name]) for name in columns(data)])
    return output.getvalue()


def render_table(data: ReportData) -> str:
    """One block per group (the figures are too many for one line each), the figures' names aligned."""
    lines = [
        f"Surveys sent {data.period.since} .. {data.period.until} (UTC), from {data.origin}",
        "",
    ]
    width = max(len(name) for name in columns(data))
    for row in rows(data):
        title = ", ".join(f"{name}={cell(row[name]) or '(none)'}" for name in data.by) or "all surveys"
        lines.append(f"== {title}")
        for name in FIGURE_NAMES:
            lines.append(f"  {name.ljust(width)}  {cell(row[name]) or '-'}")
        lines.append("")
    if not data.groups:
        lines.append("No survey was sent in this period.")
    return "\n".join(lines) + "\n"


def render_html(data: ReportData) -> str:
    """One self-contained HTML file: no script, font or image from anywhere else; charts are inline SVG."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from closeloop_cli import report_charts

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["cell"] = cell
    template = environment.get_template("report.html.j2")
    return template.render(
        data=data,
        columns=columns(data),
        rows=rows(data),
        figure_names=FIGURE_NAMES,
        total=data.total.as_dict(),
        charts=report_charts.charts(data),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        negative=[asdict(answer) for answer in data.negative],
    )
