"""``closeloop doctor``: check a deployed stack with the deployer's credentials, one line per check.

    closeloop doctor --stack-name closeloop-prod --region eu-west-1
    closeloop doctor --stack-name closeloop-staging --send-test
    closeloop doctor --format json                     # against the sandbox (see below)

It reads the stack's outputs and parameters (CloudFormation ``DescribeStacks``), then checks what a
deployment cannot check by itself: the SES identity of the sender and its DKIM, SES production access,
the helpdesk secrets the operator must fill in, and that the HTTP API answers. ``--send-test`` also sends
one survey-like email to the SES mailbox simulator through the stack's configuration set. Each check is
``ok``, ``warn`` or ``fail`` with what to do; the exit code is 1 when a check failed, else 0.

Against the local sandbox (``AWS_ENDPOINT_URL`` set and ``.sandbox/outputs.json`` present) the outputs
come from that file and the parameters from the template's defaults plus ``--param NAME=VALUE``, the same
overrides the sandbox was started with.

Nothing printed contains a secret's value or an email address other than the sender's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from closeloop_cli.cfn import ParameterError, TemplateError, load_template, parse_parameter_overrides

SANDBOX_OUTPUTS = Path(".sandbox/outputs.json")
SANDBOX_REGION = "eu-west-1"
SANDBOX_STACK = "sandbox"
# SES's mailbox simulator: accepts the message and reports a delivery, without reaching anyone or
# counting against the sandbox's verified-recipients rule.
SIMULATOR_SUCCESS = "success@simulator.amazonses.com"
# The probe path is a survey link with a token that cannot be valid: the API must answer 404.
PROBE_PATH = "/s/not-a-token"
HTTP_TIMEOUT_SECONDS = 10.0
# A cold start of the API function takes about a second; much more than this is worth a look.
SLOW_RESPONSE_SECONDS = 3.0
# Tagged so the stack's bounce and complaint rule (``closeloop: survey``) never takes it for a survey.
TEST_EMAIL_TAG = {"Name": "closeloop", "Value": "doctor"}


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, how it went and, unless ok, what to do."""

    name: str
    status: Status
    summary: str
    action: str = ""


@dataclass(frozen=True)
class StackFacts:
    """What the checks read from a stack: its outputs and parameters, and where they came from."""

    name: str
    region: str
    outputs: Mapping[str, str]
    parameters: Mapping[str, str]
    origin: str


@dataclass(frozen=True)
class Helpdesk:
    """A helpdesk whose secret the operator writes: used when its base URL parameter is set."""

    label: str
    base_url_parameter: str
    secret_output: str
    keys: tuple[str, ...]


HELPDESKS = (
    Helpdesk("Zendesk", "ZendeskBaseUrl", "ZendeskSecretArn", ("webhook_secret", "api_token", "email")),
    Helpdesk("Freshdesk", "FreshdeskBaseUrl", "FreshdeskSecretArn", ("webhook_secret", "api_key")),
)


class StackUnavailableError(Exception):
    """The stack (or the sandbox's outputs) cannot be read: missing, no access, or no network."""


# ---------------------------------------------------------------------------------------- the stack


def stack_from_cloudformation(client: Any, stack_name: str, region: str) -> StackFacts:
    """The stack's outputs and parameters as CloudFormation reports them."""
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as error:
        raise StackUnavailableError(
            f"stack {stack_name} cannot be read in {region}: {_error_text(error)}"
        ) from error
    if not stacks:
        raise StackUnavailableError(f"stack {stack_name} does not exist in {region}")
    stack = stacks[0]
    return StackFacts(
        name=stack_name,
        region=region,
        outputs={item["OutputKey"]: item.get("OutputValue", "") for item in stack.get("Outputs", [])},
        parameters={
            item["ParameterKey"]: item.get("ResolvedValue", item.get("ParameterValue", ""))
            for item in stack.get("Parameters", [])
        },
        origin=f"CloudFormation stack {stack_name} ({stack.get('StackStatus', 'unknown status')})",
    )


def stack_from_sandbox(
    outputs_path: Path, template_path: Path, overrides: Mapping[str, str], region: str
) -> StackFacts:
    """The sandbox's outputs file, with the template's parameter defaults under ``overrides``.

    Parameters without a default and without an override are left out; the checks that need one say so.
    """
    try:
        outputs = json.loads(outputs_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise StackUnavailableError(f"cannot read the sandbox's outputs {outputs_path}: {error}") from error
    declared: Mapping[str, Any] = load_template(template_path).get("Parameters") or {}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise ParameterError(f"unknown parameter(s) {', '.join(unknown)}")
    parameters = {
        name: str(spec["Default"])
        for name, spec in declared.items()
        if isinstance(spec, dict) and "Default" in spec
    }
    parameters.update(overrides)
    return StackFacts(
        name=SANDBOX_STACK,
        region=region,
        outputs={str(key): str(value) for key, value in outputs.items()},
        parameters=parameters,
        origin=f"local sandbox ({outputs_path})",
    )


# ---------------------------------------------------------------------------------------- the checks


def check_sender(stack: StackFacts, sesv2: Any) -> list[Check]:
    """The SES identity that lets the stack send as ``SenderAddress``, and the DKIM it signs with."""
    sender = stack.parameters.get("SenderAddress", "")
    if "@" not in sender:
        missing = Check(
            "sender-identity",
            Status.FAIL,
            "the stack has no SenderAddress parameter value",
            "against the sandbox, pass --param SenderAddress=ADDRESS (the value it was started with)",
        )
        return [missing, Check("dkim", Status.WARN, "not checked: no sender address")]
    domain = sender.rsplit("@", 1)[1].lower()
    try:
        by_address = _email_identity(sesv2, sender)
        by_domain = _email_identity(sesv2, domain)
    except (ClientError, BotoCoreError) as error:
        unreadable = Check(
            "sender-identity",
            Status.FAIL,
            f"SES identities cannot be read in {stack.region}: {_error_text(error)}",
            "run doctor with credentials allowed ses:GetEmailIdentity",
        )
        return [unreadable, Check("dkim", Status.WARN, "not checked: SES identities cannot be read")]
    return [
        _identity_check(sender, domain, by_address, by_domain, stack.region),
        _dkim_check(sender, domain, by_address, by_domain),
    ]


def _email_identity(sesv2: Any, identity: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = sesv2.get_email_identity(EmailIdentity=identity)
    except ClientError as error:
        if _error_code(error) == "NotFoundException":
            return None
        raise
    return found


def _verified(identity: Mapping[str, Any] | None) -> bool:
    return identity is not None and (
        identity.get("VerificationStatus") == "SUCCESS" or bool(identity.get("VerifiedForSendingStatus"))
    )


def _identity_check(
    sender: str,
    domain: str,
    by_address: Mapping[str, Any] | None,
    by_domain: Mapping[str, Any] | None,
    region: str,
) -> Check:
    name = "sender-identity"
    if _verified(by_domain):
        return Check(name, Status.OK, f"{sender} is covered by the verified SES domain identity {domain}")
    if _verified(by_address):
        return Check(name, Status.OK, f"{sender} is a verified SES email identity")
    pending = [
        (label, identity)
        for label, identity in ((domain, by_domain), (sender, by_address))
        if identity is not None
    ]
    if pending:
        label, identity = pending[0]
        status = identity.get("VerificationStatus") or "not verified"
        how = (
            f"publish the DKIM CNAME records of {domain} in DNS (docs/deploy.md, 'DNS records')"
            if label == domain
            else f"open the verification link SES mailed to {sender}"
        )
        return Check(
            name,
            Status.FAIL,
            f"the SES identity {label} exists in {region} but is {status}: nothing can be sent yet",
            how,
        )
    return Check(
        name,
        Status.FAIL,
        f"neither {sender} nor {domain} is an SES identity in {region}: every send will be refused",
        f"verify the domain {domain} in the SES console of {region} (docs/deploy.md), "
        "or redeploy with CreateSenderIdentity=true",
    )


def _dkim_check(
    sender: str,
    domain: str,
    by_address: Mapping[str, Any] | None,
    by_domain: Mapping[str, Any] | None,
) -> Check:
    name = "dkim"
    if by_domain is not None:
        dkim = by_domain.get("DkimAttributes") or {}
        status = dkim.get("Status", "NOT_STARTED")
        if status == "SUCCESS" and dkim.get("SigningEnabled", True):
            origin = dkim.get("SigningAttributesOrigin", "AWS_SES")
            return Check(name, Status.OK, f"mail from {domain} is DKIM-signed by its domain ({origin})")
        return Check(
            name,
            Status.WARN,
            f"DKIM for {domain} is {status}: mail is signed only by amazonses.com, so DMARC cannot align "
            "and more surveys land in spam",
            f"publish the three DKIM CNAME records of {domain} "
            f"(aws sesv2 get-email-identity --email-identity {domain} --query DkimAttributes.Tokens)",
        )
    if by_address is not None:
        return Check(
            name,
            Status.WARN,
            f"only the address {sender} is verified, not {domain}: mail is DKIM-signed by amazonses.com, "
            "so DMARC cannot align",
            f"verify the domain {domain} with Easy DKIM (docs/deploy.md, 'DNS records')",
        )
    return Check(name, Status.WARN, f"not checked: {domain} is not an SES identity")


def check_production_access(sesv2: Any, region: str) -> Check:
    """Whether SES lets the account send to anyone (production access) in this region."""
    name = "ses-production-access"
    try:
        account = sesv2.get_account()
    except (ClientError, BotoCoreError, NotImplementedError) as error:
        # moto does not implement GetAccount; a deployer may lack ses:GetAccount. Unknown is not a failure.
        return Check(
            name,
            Status.WARN,
            f"unknown: SES did not report the account's status in {region} ({_error_text(error)})",
            f"check 'Account dashboard' in the SES console of {region}",
        )
    if not account.get("SendingEnabled", True):
        return Check(
            name,
            Status.FAIL,
            f"sending is paused for this account in {region} (enforcement: "
            f"{account.get('EnforcementStatus', 'unknown')})",
            f"read the reason in the SES console's 'Reputation metrics' for {region} and resume sending",
        )
    quota = account.get("SendQuota") or {}
    limits = (
        f"{quota['MaxSendRate']:g} messages/s, {quota['Max24HourSend']:g} a day"
        if {"MaxSendRate", "Max24HourSend"} <= quota.keys()
        else "quota unknown"
    )
    if account.get("EnforcementStatus") == "PROBATION":
        return Check(
            name,
            Status.WARN,
            f"the account is on probation in {region} ({limits}): bounces or complaints are too high",
            "read the SES console's 'Reputation metrics' before sending more",
        )
    if account.get("ProductionAccessEnabled"):
        return Check(name, Status.OK, f"production access in {region} ({limits})")
    review = ((account.get("Details") or {}).get("ReviewDetails") or {}).get("Status")
    request = f"; your request is {review}" if review else ""
    return Check(
        name,
        Status.WARN,
        f"the account is in the SES sandbox in {region} ({limits}){request}: only verified recipients "
        "receive surveys, and sends to others are dead-lettered (reason MessageRejected)",
        f"request production access in the SES console of {region}: 'Account dashboard', "
        "'Request production access' (docs/deploy.md)",
    )


def check_helpdesk_secrets(stack: StackFacts, secretsmanager: Any) -> list[Check]:
    """Each used helpdesk's secret holds every credential (values are never read out, only checked)."""
    checks = []
    for helpdesk in HELPDESKS:
        if not stack.parameters.get(helpdesk.base_url_parameter):
            continue
        checks.append(_helpdesk_secret_check(stack, secretsmanager, helpdesk))
    return checks


def _helpdesk_secret_check(stack: StackFacts, secretsmanager: Any, helpdesk: Helpdesk) -> Check:
    name = f"{helpdesk.label.lower()}-secret"
    arn = stack.outputs.get(helpdesk.secret_output)
    if not arn:
        return Check(
            name, Status.FAIL, f"the stack has no {helpdesk.secret_output} output", "redeploy the stack"
        )
    # A file keeps the credentials out of the shell's history.
    keys = ", ".join(f'"{key}"' for key in helpdesk.keys)
    write_it = (
        f"write {{{keys}}} to {helpdesk.label.lower()}.json, then: aws secretsmanager put-secret-value "
        f"--secret-id {arn} --secret-string file://{helpdesk.label.lower()}.json"
    )
    try:
        raw = secretsmanager.get_secret_value(SecretId=arn).get("SecretString") or ""
    except (ClientError, BotoCoreError) as error:
        # The stack creates helpdesk secrets without a value: nothing to read until the operator writes one.
        if isinstance(error, ClientError) and _error_code(error) == "ResourceNotFoundException":
            return Check(
                name,
                Status.FAIL,
                f"the {helpdesk.label} secret is not written yet: "
                f"{helpdesk.label} webhooks are refused until it is",
                write_it,
            )
        return Check(
            name, Status.FAIL, f"the {helpdesk.label} secret cannot be read: {_error_text(error)}", write_it
        )
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        return Check(
            name,
            Status.FAIL,
            f"the {helpdesk.label} secret is not written yet (it holds no JSON object): "
            f"{helpdesk.label} webhooks are refused until it is",
            write_it,
        )
    empty = [key for key in helpdesk.keys if not isinstance(value.get(key), str) or not value[key].strip()]
    if empty:
        return Check(
            name,
            Status.FAIL,
            f"the {helpdesk.label} secret has no {', '.join(empty)}: {helpdesk.label} webhooks or "
            "reopens fail until it is complete",
            write_it,
        )
    return Check(name, Status.OK, f"the {helpdesk.label} secret holds {', '.join(helpdesk.keys)}")


def check_api(stack: StackFacts) -> list[Check]:
    """The HTTP API (and ``PublicBaseUrl``, where survey links point, when set) answers a bad link 404."""
    checks = []
    logs = (
        "read the sandbox's output"
        if stack.name == SANDBOX_STACK
        else f"read the API function's logs: sam logs -n ApiFunction --stack-name {stack.name}"
    )
    api_url = stack.outputs.get("ApiUrl", "")
    if not api_url:
        checks.append(Check("api", Status.FAIL, "the stack has no ApiUrl output", "redeploy the stack"))
    else:
        checks.append(_probe("api", api_url, logs))
    public = stack.parameters.get("PublicBaseUrl", "")
    if public:
        checks.append(_probe("public-base-url", public, logs))
    return checks


def _probe(name: str, base_url: str, logs: str) -> Check:
    url = base_url.rstrip("/") + PROBE_PATH
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        return Check(name, Status.FAIL, f"{base_url} is not an http(s) URL", "fix the parameter or output")
    request = urllib.request.Request(url, method="GET")  # noqa: S310 - scheme checked just above
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = error.code
        error.close()
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        return Check(
            name,
            Status.FAIL,
            f"GET {url} failed: {reason}",
            "check the URL, DNS and network; for a custom domain, its API mapping (docs/deploy.md)",
        )
    elapsed = time.monotonic() - started
    took = f"{elapsed * 1000:.0f} ms"
    if status != 404:
        action = (
            logs
            if status >= 500
            else "check that the URL maps to this stack's HTTP API ($default stage, no base path)"
        )
        return Check(name, Status.FAIL, f"GET {url} answered {status} (expected 404) in {took}", action)
    if elapsed > SLOW_RESPONSE_SECONDS:
        return Check(
            name,
            Status.WARN,
            f"GET {url} answered 404 but took {took}",
            f"run doctor again (a cold start is slower); if it stays slow, {logs}",
        )
    return Check(name, Status.OK, f"GET {url} answered 404 in {took}")


def send_test_email(stack: StackFacts, sesv2: Any, templates: Path | None = None) -> Check:
    """Send one rendered survey to SES's mailbox simulator, as the send function would (raw MIME)."""
    from email.headerregistry import Address

    from closeloop.adapters.mail import build_message
    from closeloop.adapters.rendering import EmailRenderer
    from closeloop_cli.preview import default_templates_path, sample_content

    name = "send-test"
    sender = stack.parameters.get("SenderAddress", "")
    configuration_set = stack.outputs.get("SesConfigurationSetName", "")
    if "@" not in sender or not configuration_set:
        return Check(
            name, Status.FAIL, "not sent: the stack has no SenderAddress or SesConfigurationSetName", ""
        )
    survey_type: Any = stack.parameters.get("SurveyType") or "csat"
    folder = templates or default_templates_path()
    try:
        rendered = EmailRenderer(folder).render_survey(
            sample_content(stack.parameters.get("DefaultLocale") or "en", survey_type)
        )
    except (OSError, ValueError) as error:
        return Check(
            name,
            Status.FAIL,
            f"not sent: the test survey cannot be rendered from {folder}: {error}",
            "run doctor from the repository, or set TEMPLATES_PATH to its templates/ folder",
        )
    local, _, domain = sender.partition("@")
    raw = build_message(
        sender=Address(display_name=stack.parameters.get("SenderName", ""), username=local, domain=domain),
        recipient=Address(addr_spec=SIMULATOR_SUCCESS),
        subject=f"[closeloop doctor] {rendered.subject}",
        text=rendered.text,
        html=rendered.html,
        locale=rendered.locale,
        now=datetime.now(UTC),
        headers={},
    )
    try:
        response = sesv2.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": [SIMULATOR_SUCCESS]},
            Content={"Raw": {"Data": raw}},
            ConfigurationSetName=configuration_set,
            EmailTags=[TEST_EMAIL_TAG],
        )
    except (ClientError, BotoCoreError) as error:
        return Check(
            name,
            Status.FAIL,
            f"SES refused the test survey from {sender} with configuration set {configuration_set}: "
            f"{_error_text(error)}",
            "fix the failing sender-identity or ses-production-access check first",
        )
    return Check(
        name,
        Status.OK,
        f"SES accepted a test survey from {sender} to its mailbox simulator with configuration set "
        f"{configuration_set} (message id {response.get('MessageId', '?')})",
    )


def run_checks(
    stack: StackFacts,
    *,
    sesv2: Any,
    secretsmanager: Any,
    send_test: bool = False,
) -> list[Check]:
    """Every check, in the order a deployer fixes them."""
    checks = check_sender(stack, sesv2)
    checks.append(check_production_access(sesv2, stack.region))
    checks += check_helpdesk_secrets(stack, secretsmanager)
    checks += check_api(stack)
    if send_test:
        checks.append(send_test_email(stack, sesv2))
    return checks


def failed(checks: Sequence[Check]) -> bool:
    return any(check.status is Status.FAIL for check in checks)


# ---------------------------------------------------------------------------------------- output


def render_text(stack: StackFacts, checks: Sequence[Check]) -> str:
    width = max((len(check.name) for check in checks), default=0)
    lines = [f"closeloop doctor: {stack.origin}, region {stack.region}"]
    for check in checks:
        lines.append(f"{check.status.value:<4}  {check.name:<{width}}  {check.summary}")
        if check.action and check.status is not Status.OK:
            lines.append(f"{'':<4}  {'':<{width}}  -> {check.action}")
    counts = {status: sum(1 for check in checks if check.status is status) for status in Status}
    lines.append(
        f"{counts[Status.OK]} ok, {counts[Status.WARN]} warning(s), {counts[Status.FAIL]} failure(s)"
    )
    return "\n".join(lines) + "\n"


def render_json(checks: Sequence[Check]) -> str:
    return json.dumps([asdict(check) for check in checks], indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------- command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack-name", help="the deployed stack (not needed against the local sandbox)")
    parser.add_argument("--region", help="the stack's region (default: AWS_REGION or your profile's)")
    parser.add_argument(
        "--send-test",
        action="store_true",
        help="also send one survey-like email to the SES mailbox simulator",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (text)")
    parser.add_argument(
        "--outputs",
        type=Path,
        default=SANDBOX_OUTPUTS,
        help="the sandbox's outputs file, read when AWS_ENDPOINT_URL is set (.sandbox/outputs.json)",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="sandbox only: a parameter the sandbox was started with, e.g. SenderAddress=... (repeatable)",
    )
    parser.add_argument("--template", type=Path, help="sandbox only: the template (default: ./template.yaml)")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``doctor`` subcommand to the ``closeloop`` command."""
    parser = subparsers.add_parser(
        "doctor",
        help="check a deployed stack: SES identity, DKIM, production access, secrets, API",
        description="Check a deployed stack with the deployer's credentials: one line per check, ok, warn "
        "or fail, with what to do. Exit code 1 when a check failed.",
    )
    add_arguments(parser)
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Run the checks and print them; returns the process exit code (0 ok, 1 a check failed, 2 usage)."""
    try:
        stack, session, endpoint = _locate_stack(arguments)
    except (StackUnavailableError, ParameterError, TemplateError, BotoCoreError) as error:
        print(f"closeloop doctor: {error}", file=sys.stderr)
        return 1 if isinstance(error, StackUnavailableError) else 2
    config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5, read_timeout=20)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint, config=config)  # type: ignore[call-overload]

    checks = run_checks(
        stack,
        sesv2=client("sesv2"),
        secretsmanager=client("secretsmanager"),
        send_test=bool(arguments.send_test),
    )
    sys.stdout.write(render_json(checks) if arguments.format == "json" else render_text(stack, checks))
    return 1 if failed(checks) else 0


def _locate_stack(arguments: argparse.Namespace) -> tuple[StackFacts, boto3.session.Session, str | None]:
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    outputs_path: Path = arguments.outputs
    if endpoint and outputs_path.is_file():
        session = boto3.session.Session(region_name=arguments.region or _default_region() or SANDBOX_REGION)
        template = arguments.template or Path("template.yaml")
        overrides = parse_parameter_overrides(list(arguments.param))
        stack = stack_from_sandbox(outputs_path, template, overrides, session.region_name or SANDBOX_REGION)
        return stack, session, endpoint
    if arguments.param:
        raise ParameterError(
            "--param is for the local sandbox; a deployed stack's parameters are read from it"
        )
    if not arguments.stack_name:
        raise ParameterError(
            "pass --stack-name (or, for the local sandbox, set AWS_ENDPOINT_URL and start the sandbox)"
        )
    session = boto3.session.Session(region_name=arguments.region)
    region = session.region_name
    if not region:
        raise ParameterError("no region: pass --region or set AWS_REGION")
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    return stack_from_cloudformation(cloudformation, arguments.stack_name, region), session, endpoint


def _default_region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _error_text(error: BaseException) -> str:
    if isinstance(error, ClientError):
        code = _error_code(error)
        message = str(error.response.get("Error", {}).get("Message", ""))
        # Some endpoints (a moto server without the action) answer with an HTML page: keep one short line.
        message = " ".join(message.split())[:160]
        return f"{code}: {message}" if message and "<" not in message else code or type(error).__name__
    return str(error) or type(error).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="closeloop doctor", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
