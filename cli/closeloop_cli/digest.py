"""``closeloop digest``: run the leads' weekly digest for a chosen moment in the sandbox, or turn a lead's
digest back on.

    closeloop digest --at 2026-11-30T07:00:00Z          # the sandbox's DigestFunction, as if it were then
    closeloop digest --resubscribe @default --table T   # LeadAlertAddress gets the digest again

In AWS, EventBridge Scheduler runs ``DigestFunction`` every hour. moto never fires recurring schedules and
the sandbox's scheduler pump fires one-time ``at()`` schedules only, so ``--at`` puts one such schedule in
the sandbox's schedule group, aimed at ``DigestFunction`` with ``{"at": MOMENT}``: the pump invokes the
function within a second, exactly as Scheduler would at that hour. The leads due at MOMENT (their local
``DigestSchedule`` hour) get their digest once: a second ``--at`` for the same week sends nothing. Mail
lands in the sandbox's outbox.

``--resubscribe KEY`` removes a lead's unsubscribe: KEY is the team (as ``closeloop leads`` matches it) or
``@default``. Setting a team's lead again with ``closeloop leads set`` does the same for that team.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from closeloop.adapters.dynamodb.items import digest_off_key
from closeloop.domain.digest import DEFAULT_LEAD_KEY
from closeloop.domain.leads import team_key
from closeloop_cli.leads import SANDBOX_OUTPUTS, SANDBOX_REGION, TableNotFoundError, surveys_table

# How long --at waits for the sandbox's pump to fire the schedule (it looks every second).
FIRE_WAIT_SECONDS = 30.0


class SandboxOutputsError(Exception):
    """The sandbox's outputs do not name what ``--at`` needs (is it running, with DigestSchedule on?)."""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "digest",
        help="run the leads' weekly digest for a moment (sandbox), or turn a lead's digest back on",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--at", metavar="ISO-MOMENT", help="e.g. 2026-11-30T07:00:00Z (with its UTC offset)")
    action.add_argument("--resubscribe", metavar="KEY", help="a team, or @default for LeadAlertAddress")
    parser.add_argument(
        "--table", help="the stack's SurveysTableName output (--resubscribe; default: sandbox's)"
    )
    parser.add_argument("--region", help="the stack's region (default: your profile's, or the sandbox's)")
    parser.add_argument(
        "--outputs", type=Path, default=SANDBOX_OUTPUTS, help="the sandbox's outputs (.sandbox/outputs.json)"
    )
    parser.set_defaults(run=run)


def moment(text: str) -> datetime:
    """An ISO 8601 moment with its offset, in UTC; ``ValueError`` otherwise."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        raise ValueError("give the moment's UTC offset, e.g. 2026-11-30T07:00:00Z or +01:00")
    return value.astimezone(UTC)


def fire_digest(
    scheduler: Any, outputs: dict[str, Any], at: datetime, wait: float = FIRE_WAIT_SECONDS
) -> bool:
    """Put a one-time schedule that invokes the sandbox's DigestFunction with ``{"at": …}`` now; True once
    the sandbox's pump has fired (and deleted) it."""
    group, function_arn = outputs.get("ScheduleGroupName"), outputs.get("DigestFunctionArn")
    if not group or not function_arn:
        raise SandboxOutputsError(
            "the sandbox's outputs have no ScheduleGroupName or DigestFunctionArn: start `closeloop sandbox` "
            "(DigestSchedule must not be off)"
        )
    name = f"digest-{at.strftime('%Y%m%dT%H%M%S')}-{int(time.time() * 1000)}"
    scheduler.create_schedule(
        Name=name,
        GroupName=group,
        # Due at once: the moment the digest runs for travels in the input, as Scheduler's does.
        ScheduleExpression=f"at({datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%S')})",
        ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={
            "Arn": function_arn,
            "RoleArn": f"arn:aws:iam::{function_arn.split(':')[4]}:role/sandbox-scheduler",
            "Input": json.dumps({"at": at.isoformat().replace("+00:00", "Z")}),
        },
    )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            scheduler.get_schedule(GroupName=group, Name=name)
        except scheduler.exceptions.ResourceNotFoundException:
            return True
        time.sleep(0.5)
    return False


def run(arguments: argparse.Namespace) -> int:
    region = arguments.region or (None if arguments.table else SANDBOX_REGION)
    session = boto3.session.Session(region_name=region)
    config = Config(retries={"mode": "standard", "total_max_attempts": 3})
    try:
        if arguments.at is not None:
            at = moment(arguments.at)
            outputs = json.loads(arguments.outputs.read_text(encoding="utf-8"))
            if not fire_digest(session.client("scheduler", config=config), outputs, at):
                print(
                    "closeloop digest: the sandbox did not fire the schedule; is it running?", file=sys.stderr
                )
                return 1
            print(f"digest run for {at.isoformat()}: the leads due then get their digest (see the outbox)")
            return 0
        key = arguments.resubscribe.strip()
        if not key:
            raise ValueError("--resubscribe needs a team, or @default")
        lead_key = DEFAULT_LEAD_KEY if key == DEFAULT_LEAD_KEY else team_key(key)
        table = surveys_table(arguments.table, arguments.outputs)
        session.client("dynamodb", config=config).delete_item(TableName=table, Key=digest_off_key(lead_key))
        print(f"{lead_key}: the weekly digest is on")
        return 0
    except (ValueError, OSError) as error:
        print(f"closeloop digest: {error}", file=sys.stderr)
        return 2
    except (SandboxOutputsError, TableNotFoundError, ClientError, BotoCoreError) as error:
        print(f"closeloop digest: {error}", file=sys.stderr)
        return 1
