"""``closeloop doctor`` against moto: a stack's outputs and parameters from CloudFormation, SES identities,
helpdesk secrets, and a local HTTP server standing in for the HTTP API."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from closeloop_cli import doctor
from closeloop_cli.doctor import Check, StackFacts, Status
from tests.conftest import REPO
from tests.integration.conftest import record_ses_sends
from tests.integration.journeys import sent_messages

REGION = "eu-west-1"
STACK_NAME = "closeloop-staging"
SENDER = "support@acme.example"
DOMAIN = "acme.example"
SIMULATOR = "success@simulator.amazonses.com"
EMPTY_ZENDESK = {"webhook_secret": "", "api_token": "", "email": ""}
FILLED_ZENDESK = {
    "webhook_secret": "zd-signing-7f3a",
    "api_token": "zd-token-91c2",
    "email": "agent@acme.example",
}
# The parameters doctor reads, as the stack declares them (all strings, empty by default).
PARAMETERS = (
    "SenderAddress",
    "SenderName",
    "SurveyType",
    "DefaultLocale",
    "PublicBaseUrl",
    "ZendeskBaseUrl",
    "FreshdeskBaseUrl",
)


@dataclass
class FakeApi:
    """A local HTTP server answering every request with ``status``, after ``delay`` seconds."""

    url: str = ""
    status: int = 404
    delay: float = 0.0
    paths: list[str] = field(default_factory=list)


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.paths.append(self.path)
            time.sleep(fake.delay)
            body = b"<!doctype html><title>Not found</title>"
            self.send_response(fake.status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        yield {
            name: boto3.client(name, region_name=REGION)
            for name in ("cloudformation", "sesv2", "secretsmanager")
        }


def verify_domain_with_dkim(aws: dict[str, Any], domain: str = DOMAIN) -> None:
    """A domain verified with DKIM (moto reports a domain identity given signing keys as DKIM SUCCESS)."""
    aws["sesv2"].create_email_identity(
        EmailIdentity=domain,
        DkimSigningAttributes={
            "DomainSigningSelector": "closeloop",
            "DomainSigningPrivateKey": "MIIEcG9ydA==",
        },
    )


def deploy(
    aws: dict[str, Any],
    api_url: str,
    *,
    zendesk: dict[str, str] | None = None,
    freshdesk: dict[str, str] | None = None,
    **parameters: str,
) -> StackFacts:
    """A CloudFormation stack in moto with closeloop's outputs and the given parameters; read back as doctor
    reads it."""
    secrets = aws["secretsmanager"]
    # As the stack creates them: no value until the operator writes one.
    zendesk_arn = secrets.create_secret(
        Name="ZendeskSecret", **({"SecretString": json.dumps(zendesk)} if zendesk else {})
    )["ARN"]
    freshdesk_arn = secrets.create_secret(
        Name="FreshdeskSecret", **({"SecretString": json.dumps(freshdesk)} if freshdesk else {})
    )["ARN"]
    aws["sesv2"].create_configuration_set(ConfigurationSetName=STACK_NAME)
    template = {
        "Parameters": {name: {"Type": "String", "Default": ""} for name in PARAMETERS},
        "Resources": {"LeadAlertTopic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "ApiUrl": {"Value": api_url},
            "ZendeskSecretArn": {"Value": zendesk_arn},
            "FreshdeskSecretArn": {"Value": freshdesk_arn},
            "SesConfigurationSetName": {"Value": STACK_NAME},
        },
    }
    given = {"SenderAddress": SENDER, "SenderName": "Acme Support", **parameters}
    aws["cloudformation"].create_stack(
        StackName=STACK_NAME,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": name, "ParameterValue": value} for name, value in given.items()],
    )
    return doctor.stack_from_cloudformation(aws["cloudformation"], STACK_NAME, REGION)


def run(aws: dict[str, Any], stack: StackFacts, *, send_test: bool = False) -> dict[str, Check]:
    checks = doctor.run_checks(
        stack, sesv2=aws["sesv2"], secretsmanager=aws["secretsmanager"], send_test=send_test
    )
    return {check.name: check for check in checks}


def statuses(checks: dict[str, Check]) -> dict[str, Status]:
    return {name: check.status for name, check in checks.items()}


# ---------------------------------------------------------------- the stack


def test_outputs_and_parameters_are_read_from_the_cloudformation_stack(aws: dict[str, Any]) -> None:
    # GIVEN a deployed stack
    deploy(
        aws,
        "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
        ZendeskBaseUrl="https://acme.zendesk.com",
    )

    # WHEN doctor reads it
    stack = doctor.stack_from_cloudformation(aws["cloudformation"], STACK_NAME, REGION)

    # THEN it has the stack's outputs and parameter values
    assert stack.outputs["ApiUrl"] == "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
    assert stack.outputs["SesConfigurationSetName"] == STACK_NAME
    assert stack.parameters["SenderAddress"] == SENDER
    assert stack.parameters["ZendeskBaseUrl"] == "https://acme.zendesk.com"


def test_a_stack_that_does_not_exist_exits_1_with_its_name(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    status = doctor.main(["--stack-name", "closeloop-missing", "--region", REGION])

    assert status == 1
    assert "closeloop-missing" in capsys.readouterr().err


# ---------------------------------------------------------------- the whole command


def test_a_healthy_stack_exits_0_with_one_line_per_check(
    aws: dict[str, Any], api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a stack whose sender's domain is verified with DKIM and whose API answers
    verify_domain_with_dkim(aws)
    deploy(aws, api.url)

    # WHEN the deployer runs doctor
    status = doctor.main(["--stack-name", STACK_NAME, "--region", REGION])

    # THEN nothing failed (moto cannot tell production access: a warning), one line per check
    lines = capsys.readouterr().out.splitlines()
    reported = [line.split()[:2] for line in lines if line.split()[0] in {"ok", "warn", "fail"}]
    assert status == 0
    assert reported == [
        ["ok", "sender-identity"],
        ["ok", "dkim"],
        ["warn", "ses-production-access"],
        ["ok", "api"],
    ]
    assert lines[-1] == "3 ok, 1 warning(s), 0 failure(s)"


def test_json_format_prints_each_check_with_status_and_action(
    aws: dict[str, Any], api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    verify_domain_with_dkim(aws)
    deploy(aws, api.url)

    doctor.main(["--stack-name", STACK_NAME, "--region", REGION, "--format", "json"])

    checks = json.loads(capsys.readouterr().out)
    assert [(check["name"], check["status"]) for check in checks] == [
        ("sender-identity", "ok"),
        ("dkim", "ok"),
        ("ses-production-access", "warn"),
        ("api", "ok"),
    ]
    assert all(set(check) == {"name", "status", "summary", "action"} for check in checks)


def test_a_failed_check_makes_the_exit_code_1(
    aws: dict[str, Any], api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a stack whose sender is no SES identity at all
    deploy(aws, api.url)

    status = doctor.main(["--stack-name", STACK_NAME, "--region", REGION, "--format", "json"])

    assert status == 1
    assert {"name": "sender-identity", "status": "fail"}.items() <= json.loads(capsys.readouterr().out)[
        0
    ].items()


# ---------------------------------------------------------------- SES


def test_a_sender_covered_by_its_verified_domain_passes(aws: dict[str, Any], api: FakeApi) -> None:
    verify_domain_with_dkim(aws)

    checks = run(aws, deploy(aws, api.url))

    assert checks["sender-identity"].status is Status.OK
    assert DOMAIN in checks["sender-identity"].summary


def test_a_sender_without_any_ses_identity_fails_and_says_how_to_verify_it(
    aws: dict[str, Any], api: FakeApi
) -> None:
    checks = run(aws, deploy(aws, api.url))

    assert checks["sender-identity"].status is Status.FAIL
    assert f"verify the domain {DOMAIN}" in checks["sender-identity"].action
    assert "CreateSenderIdentity=true" in checks["sender-identity"].action


def test_an_identity_still_pending_verification_fails(aws: dict[str, Any], api: FakeApi) -> None:
    # GIVEN the domain identity exists, its DNS records not yet seen by SES (moto verifies at once: undo it)
    from moto.backends import get_backend

    aws["sesv2"].create_email_identity(EmailIdentity=DOMAIN)
    get_backend("ses")["123456789012"][REGION].email_identities[DOMAIN].verification_status = "PENDING"

    checks = run(aws, deploy(aws, api.url))

    assert checks["sender-identity"].status is Status.FAIL
    assert "PENDING" in checks["sender-identity"].summary


def test_a_verified_address_without_its_domain_warns_that_dkim_cannot_align(
    aws: dict[str, Any], api: FakeApi
) -> None:
    # GIVEN only the address is verified (as CreateSenderIdentity=true does)
    aws["sesv2"].create_email_identity(EmailIdentity=SENDER)

    checks = run(aws, deploy(aws, api.url))

    assert statuses(checks).items() >= {"sender-identity": Status.OK, "dkim": Status.WARN}.items()
    assert "DMARC" in checks["dkim"].summary


def test_a_domain_whose_dkim_records_are_missing_warns_with_the_records_to_publish(
    aws: dict[str, Any], api: FakeApi
) -> None:
    aws["sesv2"].create_email_identity(EmailIdentity=DOMAIN)  # no signing keys: DKIM NOT_STARTED in moto

    checks = run(aws, deploy(aws, api.url))

    assert checks["dkim"].status is Status.WARN
    assert "NOT_STARTED" in checks["dkim"].summary
    assert f"--email-identity {DOMAIN}" in checks["dkim"].action


def test_production_access_that_ses_does_not_report_is_a_warning_not_a_crash(
    aws: dict[str, Any],
) -> None:
    # GIVEN moto, which does not implement GetAccount

    check = doctor.check_production_access(aws["sesv2"], REGION)

    assert check.status is Status.WARN
    assert check.summary.startswith("unknown")


class FakeSesAccount:
    """An SES v2 client answering GetAccount with ``account``, as a real account would."""

    def __init__(self, **account: Any) -> None:
        self.account = account

    def get_account(self) -> dict[str, Any]:
        return self.account


QUOTA = {"Max24HourSend": 200.0, "MaxSendRate": 1.0, "SentLast24Hours": 3.0}


def test_an_account_in_the_ses_sandbox_warns_that_only_verified_recipients_receive_surveys() -> None:
    sesv2 = FakeSesAccount(ProductionAccessEnabled=False, SendingEnabled=True, SendQuota=QUOTA)

    check = doctor.check_production_access(sesv2, REGION)

    assert check.status is Status.WARN
    assert "only verified recipients" in check.summary
    assert "Request production access" in check.action


def test_an_account_with_production_access_passes_and_shows_its_quota() -> None:
    sesv2 = FakeSesAccount(
        ProductionAccessEnabled=True,
        SendingEnabled=True,
        SendQuota={"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 0.0},
    )

    check = doctor.check_production_access(sesv2, REGION)

    assert check.status is Status.OK
    assert "14 messages/s, 50000 a day" in check.summary


def test_an_account_whose_sending_is_paused_fails() -> None:
    sesv2 = FakeSesAccount(ProductionAccessEnabled=True, SendingEnabled=False, EnforcementStatus="SHUTDOWN")

    assert doctor.check_production_access(sesv2, REGION).status is Status.FAIL


# ---------------------------------------------------------------- helpdesk secrets


def test_a_zendesk_secret_never_written_fails_saying_how_to_write_it(
    aws: dict[str, Any], api: FakeApi
) -> None:
    # GIVEN a fresh stack: the Zendesk secret exists without a value
    stack = deploy(aws, api.url, ZendeskBaseUrl="https://acme.zendesk.com")

    check = run(aws, stack)["zendesk-secret"]

    assert check.status is Status.FAIL
    assert "not written yet" in check.summary
    assert '"webhook_secret", "api_token", "email"' in check.action
    assert f"put-secret-value --secret-id {stack.outputs['ZendeskSecretArn']}" in check.action


def test_a_zendesk_secret_written_empty_fails_naming_the_missing_keys(
    aws: dict[str, Any], api: FakeApi
) -> None:
    stack = deploy(aws, api.url, zendesk=EMPTY_ZENDESK, ZendeskBaseUrl="https://acme.zendesk.com")

    check = run(aws, stack)["zendesk-secret"]

    assert check.status is Status.FAIL
    assert "webhook_secret, api_token, email" in check.summary


def test_a_secret_that_is_not_json_fails_without_printing_it(aws: dict[str, Any], api: FakeApi) -> None:
    # GIVEN a Zendesk secret written as a bare string, not the documented JSON object
    stack = deploy(aws, api.url, ZendeskBaseUrl="https://acme.zendesk.com")
    aws["secretsmanager"].put_secret_value(
        SecretId=stack.outputs["ZendeskSecretArn"], SecretString="U%Ri46iw?/FD*}s_~or-uS.75IYX)2?"
    )

    check = run(aws, stack)["zendesk-secret"]

    assert check.status is Status.FAIL
    assert "not written yet" in check.summary
    assert "U%Ri46iw" not in check.summary + check.action


def test_a_partly_filled_secret_is_reported_without_printing_any_of_its_values(
    aws: dict[str, Any], api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a Zendesk secret with its signing secret and agent email, but no API token
    deploy(
        aws, api.url, zendesk=FILLED_ZENDESK | {"api_token": ""}, ZendeskBaseUrl="https://acme.zendesk.com"
    )

    # WHEN doctor reports, as text and as JSON
    doctor.main(["--stack-name", STACK_NAME, "--region", REGION])
    doctor.main(["--stack-name", STACK_NAME, "--region", REGION, "--format", "json"])

    # THEN the missing key is named, and no value of the secret appears anywhere
    output = capsys.readouterr()
    printed = output.out + output.err
    assert "has no api_token" in printed
    assert "zd-signing-7f3a" not in printed
    assert "agent@acme.example" not in printed


def test_a_filled_zendesk_secret_passes(aws: dict[str, Any], api: FakeApi) -> None:
    stack = deploy(aws, api.url, zendesk=FILLED_ZENDESK, ZendeskBaseUrl="https://acme.zendesk.com")

    assert run(aws, stack)["zendesk-secret"].status is Status.OK


def test_a_helpdesk_without_a_base_url_is_not_checked(aws: dict[str, Any], api: FakeApi) -> None:
    # GIVEN Zendesk in use, Freshdesk not (its secret still empty)
    stack = deploy(aws, api.url, zendesk=FILLED_ZENDESK, ZendeskBaseUrl="https://acme.zendesk.com")

    checks = run(aws, stack)

    assert "zendesk-secret" in checks
    assert "freshdesk-secret" not in checks


# ---------------------------------------------------------------- the HTTP API


def test_an_api_answering_a_bad_survey_link_404_passes(aws: dict[str, Any], api: FakeApi) -> None:
    checks = run(aws, deploy(aws, api.url))

    assert checks["api"].status is Status.OK
    assert api.paths == ["/s/not-a-token"]


def test_an_api_answering_500_fails_pointing_at_the_function_logs(aws: dict[str, Any], api: FakeApi) -> None:
    api.status = 500

    check = run(aws, deploy(aws, api.url))["api"]

    assert check.status is Status.FAIL
    assert "answered 500" in check.summary
    assert f"sam logs -n ApiFunction --stack-name {STACK_NAME}" in check.action


def test_an_unreachable_api_fails(aws: dict[str, Any]) -> None:
    # GIVEN a URL nothing listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    check = run(aws, deploy(aws, f"http://127.0.0.1:{port}"))["api"]

    assert check.status is Status.FAIL
    assert "failed" in check.summary


def test_a_slow_api_is_a_warning(aws: dict[str, Any], api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "SLOW_RESPONSE_SECONDS", 0.05)
    api.delay = 0.2

    assert run(aws, deploy(aws, api.url))["api"].status is Status.WARN


def test_the_public_base_url_is_probed_too_when_set(aws: dict[str, Any], api: FakeApi) -> None:
    # GIVEN survey links pointing at a custom domain (here the same fake server, under a base path)
    stack = deploy(aws, api.url, PublicBaseUrl=f"{api.url}/surveys")

    checks = run(aws, stack)

    assert checks["public-base-url"].status is Status.OK
    assert api.paths == ["/s/not-a-token", "/surveys/s/not-a-token"]


# ---------------------------------------------------------------- --send-test


def test_send_test_sends_one_rendered_survey_to_the_mailbox_simulator_with_the_configuration_set(
    aws: dict[str, Any], api: FakeApi
) -> None:
    # GIVEN a verified sender
    verify_domain_with_dkim(aws)
    stack = deploy(aws, api.url, SurveyType="nps", DefaultLocale="it")
    requests = record_ses_sends(aws["sesv2"])

    # WHEN doctor runs with --send-test
    check = run(aws, stack, send_test=True)["send-test"]

    # THEN SES received one raw survey email from the sender to the simulator, with the stack's set
    assert check.status is Status.OK
    [message] = sent_messages()
    assert message["From"].addresses[0].addr_spec == SENDER
    assert message["To"].addresses[0].addr_spec == SIMULATOR
    assert message["Subject"].startswith("[closeloop doctor]")
    assert message["Content-Language"] == "it"
    assert "10" in message.get_body(preferencelist=("plain",)).get_content()  # the NPS scale, 0 to 10
    [request] = requests
    assert request["ConfigurationSetName"] == STACK_NAME
    assert {"Name": "closeloop", "Value": "survey"} not in request["EmailTags"]


def test_send_test_from_an_unverified_sender_fails(aws: dict[str, Any], api: FakeApi) -> None:
    checks = run(aws, deploy(aws, api.url), send_test=True)

    assert checks["send-test"].status is Status.FAIL
    assert sent_messages() == []


# ---------------------------------------------------------------- the local sandbox


@pytest.fixture
def moto_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_against_the_sandbox_outputs_come_from_its_outputs_file(
    moto_server: str,
    api: FakeApi,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a running sandbox: AWS_ENDPOINT_URL set, its outputs written, its sender verified in moto
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    boto3.client("ses", region_name=REGION).verify_domain_identity(Domain=DOMAIN)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps({"ApiUrl": api.url, "SesConfigurationSetName": "closeloop"}), encoding="utf-8"
    )

    # WHEN doctor runs without a stack name, given the sender the sandbox was started with
    status = doctor.main(
        [
            "--outputs",
            str(outputs),
            "--template",
            str(REPO / "template.yaml"),
            "--param",
            f"SenderAddress={SENDER}",
            "--format",
            "json",
        ]
    )

    # THEN the checks ran against the sandbox: the sender found in its SES, its API probed
    checks = {check["name"]: check["status"] for check in json.loads(capsys.readouterr().out)}
    assert status == 0
    assert checks["sender-identity"] == "ok"
    assert checks["api"] == "ok"
    assert api.paths == ["/s/not-a-token"]
