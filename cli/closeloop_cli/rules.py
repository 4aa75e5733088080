"""``closeloop rules``: check the rules document, and put it where the plan function reads it.

    closeloop rules validate rules.json          # every problem listed; exit 2 when there is one
    closeloop rules put rules.json --parameter closeloop-prod-RulesParameter-AB12 --region eu-west-1
    closeloop rules put rules.json               # the local sandbox's RulesParameterName
    closeloop rules get                          # what is stored now

The rules document (docs/configuration.md, "Policies") chooses per brand, channel, team or tag the survey
type, the delay, whether to survey, the sender name, the negative-answer policy and the share of tickets
surveyed. ``put`` validates before it writes, so a broken document never reaches the stack; the plan
function picks the new one up within a minute, without a redeploy.

``--parameter`` is the stack's ``RulesParameterName`` output, reached with your own AWS credentials
(profile, ``--region``). Without it, the local sandbox's parameter is used: ``RulesParameterName`` from
``.sandbox/outputs.json``, at the endpoint in ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from closeloop.domain.policies import RulesDocument, RulesDocumentError, parse_rules_document
from closeloop_cli.stack_access import sandbox_output

SANDBOX_OUTPUTS = Path(".sandbox/outputs.json")
SANDBOX_REGION = "eu-west-1"
PARAMETER_OUTPUT = "RulesParameterName"


class ParameterNotFoundError(Exception):
    """Neither ``--parameter`` nor the sandbox's outputs name the rules parameter."""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``rules`` subcommand (``validate``, ``put``, ``get``) to the ``closeloop`` command."""
    parser = subparsers.add_parser(
        "rules",
        help="validate the rules document, or put it on the stack (or the sandbox)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(title="actions", required=True, metavar="ACTION")

    validate_parser = actions.add_parser("validate", help="check a rules document; list every problem")
    validate_parser.add_argument("file", metavar="FILE", type=Path, help="the rules document (JSON)")
    validate_parser.set_defaults(run=validate)

    put_parser = actions.add_parser("put", help="validate a rules document, then store it on the stack")
    put_parser.add_argument("file", metavar="FILE", type=Path, help="the rules document (JSON)")
    put_parser.set_defaults(run=_with_parameter, action=put_rules)

    get_parser = actions.add_parser("get", help="print the rules document stored on the stack")
    get_parser.set_defaults(run=_with_parameter, action=get_rules)

    for action in (put_parser, get_parser):
        action.add_argument(
            "--parameter", help=f"the stack's {PARAMETER_OUTPUT} output (default: the sandbox's)"
        )
        action.add_argument("--region", help="the stack's region (default: your profile's)")
        action.add_argument(
            "--outputs",
            type=Path,
            default=SANDBOX_OUTPUTS,
            help="the sandbox's outputs file, read without --parameter (.sandbox/outputs.json)",
        )


def read_rules_file(path: Path) -> tuple[str, RulesDocument]:
    """The file's text and the document it holds; ``RulesDocumentError`` or ``OSError`` when it cannot be."""
    text = path.read_text(encoding="utf-8")
    return text, parse_rules_document(text)


def describe(document: RulesDocument) -> str:
    """One line per rule: its name, what it matches and what it sets."""
    if not document.rules:
        return "no rules: every ticket gets the deployment's parameters"
    lines = []
    for number, rule in enumerate(document.rules, start=1):
        match = (
            " and ".join(f"{key} in {sorted(values)}" for key, values in rule.match.items()) or "every ticket"
        )
        settings = {
            name: value
            for name, value in (
                ("survey", rule.survey),
                ("survey_type", rule.survey_type),
                ("delay_minutes", rule.delay_minutes),
                ("sender_name", rule.sender_name),
                ("negative_answer", rule.negative_answer),
                ("sample", rule.sample),
            )
            if value is not None
        }
        shown = ", ".join(f"{name}={value}" for name, value in settings.items()) or "the defaults"
        lines.append(f"{number}. {rule.name}: when {match} -> {shown}")
    return "\n".join(lines)


def validate(arguments: argparse.Namespace) -> int:
    try:
        _, document = read_rules_file(arguments.file)
    except OSError as error:
        print(f"closeloop rules: {error}", file=sys.stderr)
        return 1
    except RulesDocumentError as error:
        _print_problems(arguments.file, error)
        return 2
    print(f"{arguments.file}: valid, {len(document.rules)} rule(s)")
    print(describe(document))
    return 0


def put_rules(arguments: argparse.Namespace, ssm: Any, parameter: str) -> int:
    try:
        text, document = read_rules_file(arguments.file)
    except RulesDocumentError as error:
        _print_problems(arguments.file, error)
        print("closeloop rules: nothing was stored", file=sys.stderr)
        return 2
    # Intelligent-Tiering: Standard (free, 4 KB) unless the document needs Advanced (8 KB).
    ssm.put_parameter(Name=parameter, Value=text, Type="String", Overwrite=True, Tier="Intelligent-Tiering")
    print(
        f"stored {len(document.rules)} rule(s) in {parameter}; the plan function reads them within a minute"
    )
    print(describe(document))
    return 0


def get_rules(arguments: argparse.Namespace, ssm: Any, parameter: str) -> int:
    text = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    print(text)
    try:
        parse_rules_document(text)
    except RulesDocumentError as error:
        _print_problems(Path(parameter), error)
        print("closeloop rules: the plan function keeps the last good document it read", file=sys.stderr)
        return 2
    return 0


def rules_parameter(parameter: str | None, outputs: Path) -> str:
    """The parameter named by ``--parameter``, else the sandbox's, from its outputs file."""
    return parameter or sandbox_output(outputs, PARAMETER_OUTPUT, "--parameter", ParameterNotFoundError)


def stored_rules(parameter: str | None, region: str | None = None) -> tuple[str, str]:
    """The rules document stored in ``parameter`` (else the sandbox's parameter) and that parameter's name.

    Raises ``ParameterNotFoundError``, ``ClientError`` or ``BotoCoreError``.
    """
    name = rules_parameter(parameter, SANDBOX_OUTPUTS)
    text: str = _ssm_client(parameter, region).get_parameter(Name=name)["Parameter"]["Value"]
    return name, text


def _ssm_client(parameter: str | None, region: str | None) -> Any:
    # A deployed stack is reached in the deployer's region; the sandbox always runs in its own.
    region = region or _default_region() or (None if parameter else SANDBOX_REGION)
    return boto3.session.Session(region_name=region).client(
        "ssm", config=Config(retries={"mode": "standard", "total_max_attempts": 3})
    )


def _with_parameter(arguments: argparse.Namespace) -> int:
    try:
        parameter = rules_parameter(arguments.parameter, arguments.outputs)
        client = _ssm_client(arguments.parameter, arguments.region)
        status: int = arguments.action(arguments, client, parameter)
    except OSError as error:
        print(f"closeloop rules: {error}", file=sys.stderr)
        return 1
    except (ParameterNotFoundError, ClientError, BotoCoreError) as error:
        print(f"closeloop rules: {error}", file=sys.stderr)
        return 1
    return status


def _print_problems(source: Path, error: RulesDocumentError) -> None:
    print(f"{source}: invalid rules document, {len(error.problems)} problem(s):", file=sys.stderr)
    for problem in error.problems:
        print(f"  - {problem}", file=sys.stderr)


def _default_region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
