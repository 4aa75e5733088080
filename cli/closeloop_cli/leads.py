"""``closeloop leads``: who is alerted when a team's ticket is reopened, kept in the surveys table.

    closeloop leads set Billing ana@acme.example --locale es --table closeloop-prod-SurveysTable-1AB2
    closeloop leads set 20455932 marc@acme.example --table ...     # a team id works too
    closeloop leads set Billing ana@acme.example --locale es --timezone Europe/Madrid --table ...
    closeloop leads list --table ...
    closeloop leads remove Billing --table ...

``TEAM`` is the team's id or name as the helpdesk sends it (matched case-insensitively, id first); a
lead without ``--locale`` reads alerts in the stack's ``LeadLocale``. Teams without a lead alert
``LeadAlertAddress``. Changes apply to the next alert: nothing is redeployed.

``--timezone`` sets the clock the lead's weekly digest keeps (``DigestSchedule``, e.g. Monday 08:00 in
Europe/Madrid); without it, ``DefaultTimezone``. Setting a lead again also turns their digest back on
after they unsubscribed from it.

``--table`` is the stack's ``SurveysTableName`` output, reached with your own AWS credentials (profile,
``--region``). Without it, the local sandbox's table is used: ``SurveysTableName`` from
``.sandbox/outputs.json``, at the endpoint in ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from closeloop.adapters.dynamodb.leads import TeamLeadRepository
from closeloop.domain.leads import InvalidTeamLeadError, TeamLead, team_lead
from closeloop_cli.stack_access import sandbox_output

SANDBOX_OUTPUTS = Path(".sandbox/outputs.json")
SANDBOX_REGION = "eu-west-1"
TABLE_OUTPUT = "SurveysTableName"


class TableNotFoundError(Exception):
    """Neither ``--table`` nor the sandbox's outputs name the surveys table."""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``leads`` subcommand (``set``, ``list``, ``remove``) to the ``closeloop`` command."""
    parser = subparsers.add_parser(
        "leads",
        help="set, list or remove the lead alerted about each team's reopened tickets",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(title="actions", required=True, metavar="ACTION")

    set_parser = actions.add_parser("set", help="set (or replace) a team's lead")
    set_parser.add_argument("team", metavar="TEAM", help="the team's id or name, as the helpdesk sends it")
    set_parser.add_argument("email", metavar="EMAIL", help="the lead's email address")
    set_parser.add_argument("--locale", help="the language of the lead's alerts, e.g. es or pt-BR")
    set_parser.add_argument(
        "--timezone", help="the IANA time zone of the lead's weekly digest, e.g. Europe/Madrid"
    )
    set_parser.set_defaults(run=_run, action=set_lead)

    list_parser = actions.add_parser("list", help="list every team's lead")
    list_parser.add_argument("--format", choices=("text", "json"), default="text", help="output (text)")
    list_parser.set_defaults(run=_run, action=list_leads)

    remove_parser = actions.add_parser("remove", help="remove a team's lead")
    remove_parser.add_argument("team", metavar="TEAM", help="the team's id or name")
    remove_parser.set_defaults(run=_run, action=remove_lead)

    for action in (set_parser, list_parser, remove_parser):
        action.add_argument("--table", help=f"the stack's {TABLE_OUTPUT} output (default: the sandbox's)")
        action.add_argument("--region", help="the stack's region (default: your profile's)")
        action.add_argument(
            "--outputs",
            type=Path,
            default=SANDBOX_OUTPUTS,
            help="the sandbox's outputs file, read without --table (.sandbox/outputs.json)",
        )


def set_lead(arguments: argparse.Namespace, repository: TeamLeadRepository) -> int:
    lead = team_lead(arguments.team, arguments.email, arguments.locale, arguments.timezone)
    repository.put(lead, datetime.now(UTC))
    print(f"{lead.team}: {_describe(lead)}")
    return 0


def list_leads(arguments: argparse.Namespace, repository: TeamLeadRepository) -> int:
    leads = repository.all()
    if arguments.format == "json":
        rows = [
            {"team": lead.team, "email": lead.email, "locale": lead.locale, "timezone": lead.timezone}
            for lead in leads
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not leads:
        print("no team has a lead: every alert goes to LeadAlertAddress (and the SNS topic)")
    for lead in leads:
        print(f"{lead.team}: {_describe(lead)}")
    return 0


def remove_lead(arguments: argparse.Namespace, repository: TeamLeadRepository) -> int:
    removed = repository.remove(arguments.team)
    if removed is None:
        print(f"closeloop leads: team {arguments.team.strip()!r} has no lead", file=sys.stderr)
        return 1
    print(f"{removed.team}: removed ({_describe(removed)}); its alerts now go to LeadAlertAddress")
    return 0


def _describe(lead: TeamLead) -> str:
    return f"{lead.email} ({lead.locale or 'LeadLocale'}, {lead.timezone or 'DefaultTimezone'})"


def surveys_table(table: str | None, outputs: Path) -> str:
    """The table named by ``--table``, else the sandbox's, from its outputs file."""
    return table or sandbox_output(outputs, TABLE_OUTPUT, "--table", TableNotFoundError)


def _run(arguments: argparse.Namespace) -> int:
    try:
        table = surveys_table(arguments.table, arguments.outputs)
        region = arguments.region or _default_region() or (None if arguments.table else SANDBOX_REGION)
        client = boto3.session.Session(region_name=region).client(
            "dynamodb", config=Config(retries={"mode": "standard", "total_max_attempts": 3})
        )
        status: int = arguments.action(arguments, TeamLeadRepository(client, table))
    except InvalidTeamLeadError as error:
        print(f"closeloop leads: {error}", file=sys.stderr)
        return 2
    except (TableNotFoundError, ClientError, BotoCoreError) as error:
        print(f"closeloop leads: {error}", file=sys.stderr)
        return 1
    return status


def _default_region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
