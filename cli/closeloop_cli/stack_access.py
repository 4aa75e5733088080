"""Where the operations commands (``erase``, ``redrive``, ``status``) find a stack's resources.

A deployed stack: ``--stack-name`` (and ``--region``), its outputs read from CloudFormation with the
deployer's credentials. The local sandbox: ``AWS_ENDPOINT_URL`` set and ``.sandbox/outputs.json`` (the same
output names), written by ``closeloop sandbox``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from closeloop_cli.doctor import (
    SANDBOX_OUTPUTS,
    SANDBOX_REGION,
    StackUnavailableError,
    stack_from_cloudformation,
)

# Operators' calls: a few attempts with standard backoff, and never an indefinite wait.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=20)


class StackNotGivenError(Exception):
    """Neither ``--stack-name`` nor a running sandbox says which stack to work on (a usage error)."""


@dataclass(frozen=True)
class StackAccess:
    """A stack's outputs, and clients for the account and region (or the sandbox's endpoint) it lives in."""

    outputs: Mapping[str, str]
    session: boto3.session.Session
    endpoint: str | None
    origin: str

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint, config=CLIENT_CONFIG)  # type: ignore[call-overload]

    def output(self, name: str) -> str:
        """The output ``name``, or an error naming it and the stack."""
        value = self.outputs.get(name)
        if not value:
            raise StackUnavailableError(
                f"{self.origin} has no {name} output (update the stack or the sandbox)"
            )
        return value


def sandbox_output(outputs: Path, name: str, option: str, error: type[Exception]) -> str:
    """The output ``name`` of the sandbox's outputs file, for a command whose ``option`` was not given;
    ``error`` (the command's own) says what to pass instead when the file or the output is missing."""
    try:
        value = json.loads(outputs.read_text(encoding="utf-8"))[name]
    except (OSError, ValueError, KeyError, TypeError) as cause:
        raise error(
            f"no {option} given and no {name} in {outputs}: pass the deployed stack's {name} output as "
            f"{option}, or start the sandbox (closeloop sandbox)"
        ) from cause
    if not isinstance(value, str) or not value:
        raise error(f"{outputs} has no usable {name}")
    return value


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack-name", help="the deployed stack (default: the local sandbox)")
    parser.add_argument("--region", help="the stack's region (default: your profile's)")
    parser.add_argument(
        "--outputs",
        type=Path,
        default=SANDBOX_OUTPUTS,
        help="the sandbox's outputs file, read when AWS_ENDPOINT_URL is set (.sandbox/outputs.json)",
    )


def locate_stack(arguments: argparse.Namespace) -> StackAccess:
    """The stack named by ``--stack-name``, else the sandbox's (``StackNotGivenError`` without either)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    region = arguments.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if arguments.stack_name:
        session = boto3.session.Session(region_name=region)
        if not session.region_name:
            raise StackNotGivenError("no region: pass --region or set AWS_REGION")
        cloudformation = session.client("cloudformation", endpoint_url=endpoint, config=CLIENT_CONFIG)
        stack = stack_from_cloudformation(cloudformation, arguments.stack_name, session.region_name)
        return StackAccess(stack.outputs, session, endpoint, stack.origin)
    outputs_path: Path = arguments.outputs
    if not endpoint or not outputs_path.is_file():
        raise StackNotGivenError(
            "pass --stack-name (a deployed stack), or set AWS_ENDPOINT_URL and start the sandbox "
            f"(closeloop sandbox writes {outputs_path})"
        )
    try:
        outputs = json.loads(outputs_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise StackUnavailableError(f"cannot read the sandbox's outputs {outputs_path}: {error}") from error
    session = boto3.session.Session(region_name=region or SANDBOX_REGION)
    return StackAccess(
        {str(key): str(value) for key, value in outputs.items()},
        session,
        endpoint,
        f"the local sandbox ({outputs_path})",
    )
