"""``closeloop status``: what is scheduled, sent, answered, reopened, suppressed and dead-lettered now.

    closeloop status                                    # the local sandbox
    closeloop status --stack-name closeloop-prod --region eu-west-1 --format json

Where each count comes from:

- **scheduled**: the follow-ups waiting in the stack's EventBridge Scheduler group (each one-time schedule
  deletes itself once it has fired), listed page by page;
- **queues**: messages waiting (and in flight) in each work queue and each dead-letter queue, from SQS;
- **surveys, answers, reopens, suppressions, skipped solves**: the surveys table. Its only index (GSI1)
  lists surveys by customer, so counting by status reads the table with a scan, projected to the few
  attributes counted and stopped after ``--max-items`` items (100,000 by default; the output says when
  it stopped early). A scan is charged by the size of the items read, not the attributes returned:
  about one read request unit per 8 KB, so 100,000 surveys cost about a cent on demand.

Nothing printed names a customer: counts only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from closeloop_cli.doctor import StackUnavailableError
from closeloop_cli.redrive import QUEUES
from closeloop_cli.stack_access import StackAccess, StackNotGivenError, add_stack_arguments, locate_stack

DEFAULT_MAX_ITEMS = 100_000
# The attributes the counts read: the record's type and what each type is counted by.
PROJECTION = "#type, #status, delivery, #state, outcome, reason, #until, survey_id"
PROJECTION_NAMES = {"#type": "type", "#status": "status", "#state": "state", "#until": "until"}


@dataclass
class TableCounts:
    """What the surveys table holds now, by record type (docs/data.md)."""

    surveys: Counter[str] = field(default_factory=Counter)  # by status
    delivery: Counter[str] = field(default_factory=Counter)  # bounced, complained
    answers: int = 0
    answered_surveys: int = 0
    reopens: Counter[str] = field(default_factory=Counter)  # by state: done, claimed, capped
    alerts: int = 0
    suppressions: Counter[str] = field(default_factory=Counter)  # by reason
    skipped_solves: Counter[str] = field(default_factory=Counter)  # by reason
    active_throttles: int = 0
    erased_surveys: int = 0
    items_read: int = 0
    complete: bool = True


def count_table(dynamodb: Any, table: str, max_items: int, now: datetime) -> TableCounts:
    """Count the table's records with one bounded, projected scan."""
    counts = TableCounts()
    answered: set[str] = set()
    request: dict[str, Any] = {
        "TableName": table,
        "ProjectionExpression": PROJECTION,
        "ExpressionAttributeNames": PROJECTION_NAMES,
    }
    while True:
        page = dynamodb.scan(**request, Limit=min(1000, max_items - counts.items_read))
        for item in page.get("Items", []):
            _count(counts, answered, item, now)
        counts.items_read += page.get("ScannedCount", len(page.get("Items", [])))
        request["ExclusiveStartKey"] = page.get("LastEvaluatedKey")
        if not request["ExclusiveStartKey"]:
            break
        if counts.items_read >= max_items:
            counts.complete = False
            break
    counts.answered_surveys = len(answered)
    return counts


def _text(item: dict[str, Any], name: str) -> str:
    return str(item.get(name, {}).get("S", ""))


def _count(counts: TableCounts, answered: set[str], item: dict[str, Any], now: datetime) -> None:
    kind = _text(item, "type")
    if kind == "survey":
        counts.surveys[_text(item, "status")] += 1
        if _text(item, "delivery"):
            counts.delivery[_text(item, "delivery")] += 1
    elif kind == "response":
        counts.answers += 1
        answered.add(_text(item, "survey_id"))
    elif kind == "reopen":
        counts.reopens[_text(item, "state")] += 1
    elif kind == "alert":
        counts.alerts += 1
    elif kind == "suppression":
        counts.suppressions[_text(item, "reason") or "unknown"] += 1
    elif kind == "close" and _text(item, "outcome") == "skipped":
        counts.skipped_solves[_text(item, "reason")] += 1
    elif kind == "throttle" and _text(item, "until") > now.isoformat():
        counts.active_throttles += 1
    elif kind == "erased_survey":
        counts.erased_surveys += 1


def count_schedules(scheduler: Any, group: str) -> int:
    """Follow-ups scheduled and not yet fired (a fired one-time schedule deletes itself)."""
    total = 0
    for page in scheduler.get_paginator("list_schedules").paginate(GroupName=group):
        total += len(page.get("Schedules", []))
    return total


def queue_depths(sqs: Any, outputs: dict[str, str]) -> dict[str, dict[str, int]]:
    """Messages waiting and in flight in each queue the stack has, work and dead-letter, by short name."""
    depths: dict[str, dict[str, int]] = {}
    for queue in QUEUES:
        for label, output in (
            (queue.name, queue.source_output),
            (f"{queue.name}-dlq", queue.dead_letter_output),
        ):
            url = outputs.get(output)
            if not url:
                continue
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            depths[label] = {
                "waiting": int(attributes["ApproximateNumberOfMessages"]),
                "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
            }
    return depths


def collect(stack: StackAccess, max_items: int, now: datetime) -> dict[str, Any]:
    """Every count, as the JSON output shows them."""
    counts = count_table(stack.client("dynamodb"), stack.output("SurveysTableName"), max_items, now)
    depths = queue_depths(stack.client("sqs"), dict(stack.outputs))
    return {
        "scheduled": count_schedules(stack.client("scheduler"), stack.output("ScheduleGroupName")),
        "surveys": dict(sorted(counts.surveys.items())),
        "delivery_problems": dict(sorted(counts.delivery.items())),
        "answers": counts.answers,
        "answered_surveys": counts.answered_surveys,
        "reopens": dict(sorted(counts.reopens.items())),
        "lead_alerts": counts.alerts,
        "suppressed_addresses": dict(sorted(counts.suppressions.items())),
        "skipped_solves": dict(sorted(counts.skipped_solves.items())),
        "throttled_customers": counts.active_throttles,
        "erased_surveys": counts.erased_surveys,
        "dead_lettered": {
            name.removesuffix("-dlq"): depth["waiting"] + depth["in_flight"]
            for name, depth in depths.items()
            if name.endswith("-dlq")
        },
        "queues": {name: depth for name, depth in depths.items() if not name.endswith("-dlq")},
        "table_items_read": counts.items_read,
        "table_complete": counts.complete,
    }


def render_text(status: dict[str, Any], origin: str) -> str:
    def listing(values: dict[str, int]) -> str:
        return ", ".join(f"{name} {count}" for name, count in values.items()) or "none"

    surveys = status["surveys"]
    lines = [
        f"closeloop status of {origin}",
        f"scheduled      {status['scheduled']} follow-ups waiting for their send time",
        f"surveys        {sum(surveys.values())}: {listing(surveys)}",
        f"  delivery     {listing(status['delivery_problems'])}",
        f"answered       {status['answered_surveys']} surveys"
        f" ({status['answers']} answers, changed answers included)",
        f"reopened       {status['reopens'].get('done', 0)} tickets"
        f" (in progress {status['reopens'].get('claimed', 0)}, capped {status['reopens'].get('capped', 0)});"
        f" lead alerts {status['lead_alerts']}",
        f"suppressed     {sum(status['suppressed_addresses'].values())} addresses:"
        f" {listing(status['suppressed_addresses'])}",
        f"skipped solves {listing(status['skipped_solves'])}",
        f"throttled      {status['throttled_customers']} customers;"
        f" erased surveys {status['erased_surveys']}",
        f"dead-lettered  {listing(status['dead_lettered'])}",
        "queues         "
        + (
            ", ".join(
                f"{name} {depth['waiting']} waiting/{depth['in_flight']} in flight"
                for name, depth in status["queues"].items()
            )
            or "none"
        ),
    ]
    if not status["table_complete"]:
        lines.append(
            f"(table counts cover the first {status['table_items_read']} items only: raise --max-items)"
        )
    return "\n".join(lines) + "\n"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``status`` subcommand to the ``closeloop`` command."""
    parser = subparsers.add_parser(
        "status",
        help="what is scheduled, sent, answered, reopened, suppressed and dead-lettered now",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--max-items",
        type=int,
        default=DEFAULT_MAX_ITEMS,
        help=f"table items read at most by the scan ({DEFAULT_MAX_ITEMS})",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output (text)")
    add_stack_arguments(parser)
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace, stack: StackAccess | None = None) -> int:
    """Exit code: 0 shown, 1 the stack or AWS failed, 2 a usage error."""
    if arguments.max_items < 1:
        print("closeloop status: --max-items must be at least 1", file=sys.stderr)
        return 2
    try:
        stack = stack or locate_stack(arguments)
        status = collect(stack, arguments.max_items, datetime.now(UTC))
    except StackNotGivenError as error:
        print(f"closeloop status: {error}", file=sys.stderr)
        return 2
    except (StackUnavailableError, ClientError, BotoCoreError) as error:
        print(f"closeloop status: {error}", file=sys.stderr)
        return 1
    if arguments.format == "json":
        sys.stdout.write(json.dumps(status, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(status, stack.origin))
    return 0
