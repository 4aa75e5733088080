"""The functions run here as Lambda runs them: only their CodeUri, the layers and the template's environment.

The gate: every function of template.yaml is started in a layer-only worker (the interpreter of
``make runtime``, isolated from .venv), imports its handler and handles its sample event from
``events/invoke/`` against a moto server holding the stack's resources. A dependency the layer lacks, a
variable the template does not give, a file read from outside the package: each fails here.

The other tests pin down the worker itself with the probe handlers of tests/fixtures/lambda_probe.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from closeloop_cli.cfn import load_template
from closeloop_cli.runtime import (
    FAKE_CREDENTIALS,
    FunctionError,
    FunctionInitError,
    FunctionRunner,
    FunctionTimeoutError,
    FunctionWorker,
    LambdaRuntime,
    lambda_environment,
)
from closeloop_cli.stack import FunctionSpec, Stack, provision
from tests.e2e.sandbox_process import REGION, REPO, free_port

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log: one line per AWS call

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("lambda-runtime")]

TEMPLATE = REPO / "template.yaml"
INVOKE_EVENTS = REPO / "events" / "invoke"
PROBE = REPO / "tests" / "fixtures" / "lambda_probe"
# Only the project's development environment has these; a deployed function must never need them.
DEVELOPMENT_ONLY = ("moto", "pytest", "closeloop_cli", "yaml", "jsonschema", "playwright", "mypy_boto3_sqs")
# What each HTTP sample asks for, and the answer that proves the handler ran (no AWS state is needed).
HTTP_STATUS = {"ApiFunction.json": 401, "ApiFunction_survey_page.json": 404}


@pytest.fixture(scope="module")
def runtime() -> LambdaRuntime:
    return LambdaRuntime.locate()


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def stack(moto_url: str) -> Stack:
    session = boto3.session.Session(
        region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    provisioned = provision(
        TEMPLATE,
        # With a reply domain, so the inbound function exists too.
        {
            "SenderAddress": "surveys@acme.example",
            "ZendeskBaseUrl": "http://127.0.0.1:9",
            "ReplyDomain": "replies.acme.example",
        },
        session=session,
        endpoint_url=moto_url,
        region=REGION,
        account_id="123456789012",
    )
    # The operator's step after a deploy: the helpdesk secrets are created empty.
    session.client("secretsmanager", endpoint_url=moto_url).put_secret_value(
        SecretId=provisioned.outputs["ZendeskSecretArn"],
        SecretString=json.dumps({"webhook_secret": "s3cret", "api_token": "t", "email": "ops@acme.example"}),
    )
    return provisioned


@pytest.fixture(scope="module")
def runner(stack: Stack, runtime: LambdaRuntime, moto_url: str) -> Iterator[FunctionRunner]:
    running = FunctionRunner(
        stack.functions,
        runtime,
        region=REGION,
        access_environment={**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": moto_url},
    )
    yield running
    running.close()


def _probe(handler: str, *, timeout: int = 10, environment: dict[str, str] | None = None) -> FunctionSpec:
    return FunctionSpec(
        logical_id="ProbeFunction",
        function_name="closeloop-ProbeFunction",
        arn=f"arn:aws:lambda:{REGION}:123456789012:function:closeloop-ProbeFunction",
        handler=handler,
        code_path=PROBE,
        environment=environment or {"GIVEN_BY_TEMPLATE": "yes"},
        timeout_seconds=timeout,
        memory_mb=256,
    )


def _sample_events() -> list[tuple[str, str]]:
    functions = [
        logical_id
        for logical_id, resource in load_template(TEMPLATE)["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    ]
    return [
        (logical_id, path.name)
        for logical_id in functions
        for path in sorted(INVOKE_EVENTS.glob(f"{logical_id}*.json"))
    ]


def test_every_function_of_the_template_has_a_sample_event() -> None:
    functions = {
        logical_id
        for logical_id, resource in load_template(TEMPLATE)["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }

    covered = {logical_id for logical_id, _ in _sample_events()}

    assert covered == functions


@pytest.mark.parametrize(("logical_id", "sample"), _sample_events())
def test_each_function_imports_and_handles_its_sample_event_in_the_layer_only_runtime(
    runner: FunctionRunner, logical_id: str, sample: str
) -> None:
    # GIVEN the function's sample event, as `sam local invoke -e` takes it
    event: dict[str, Any] = json.loads((INVOKE_EVENTS / sample).read_text(encoding="utf-8"))

    # WHEN the function handles it in its own layer-only worker, with the template's environment
    result = runner.invoke(logical_id, event)

    # THEN it answers as Lambda expects: an HTTP response, a batch with no failed record, or (a scheduled
    # run) the moment it ran for and each due lead's outcome
    if "Records" in event:
        assert result == {"batchItemFailures": []}
    elif "at" in event:
        assert datetime.fromisoformat(result["at"]) == datetime.fromisoformat(event["at"])
        assert isinstance(result["outcomes"], dict)
    else:
        assert result["statusCode"] == HTTP_STATUS[sample]


def test_a_worker_sees_only_the_standard_library_its_code_and_the_layers(runtime: LambdaRuntime) -> None:
    worker = FunctionWorker(_probe("probe.report"), runtime, {"GIVEN_BY_TEMPLATE": "yes"})
    try:
        report = worker.invoke({"modules": [*DEVELOPMENT_ONLY, "boto3", "jinja2", "aws_lambda_powertools"]})
    finally:
        worker.stop()

    assert report["sys_path"][: 1 + len(runtime.layer_paths)] == [
        str(PROBE),
        *(str(path) for path in runtime.layer_paths),
    ]
    assert not any("site-packages" in entry or ".venv" in entry for entry in report["sys_path"])
    development = {name: report["found"][name] for name in DEVELOPMENT_ONLY}
    assert development == dict.fromkeys(DEVELOPMENT_ONLY, False)
    assert report["found"]["boto3"]
    assert report["found"]["jinja2"]
    assert report["found"]["aws_lambda_powertools"]


def test_a_worker_gets_exactly_the_environment_it_is_given(runtime: LambdaRuntime) -> None:
    spec = _probe("probe.report")
    given = {**lambda_environment(spec, REGION), "GIVEN_BY_TEMPLATE": "yes"}
    os.environ["CLOSELOOP_DEVELOPMENT_ONLY"] = "leaked"
    worker = FunctionWorker(spec, runtime, given)
    try:
        report = worker.invoke({})
    finally:
        worker.stop()
        del os.environ["CLOSELOOP_DEVELOPMENT_ONLY"]

    # Python itself may add LC_CTYPE when it coerces the C locale; nothing else may appear.
    assert {name: value for name, value in report["environment"].items() if name != "LC_CTYPE"} == given
    assert report["function_name"] == "closeloop-ProbeFunction"


def test_a_handler_that_needs_a_development_package_fails_at_init(runtime: LambdaRuntime) -> None:
    worker = FunctionWorker(_probe("needs_moto.handler"), runtime, {})

    with pytest.raises(FunctionInitError, match="No module named 'moto'"):
        worker.invoke({})


def test_a_handler_error_is_the_invocation_error_and_the_worker_stays_warm(runtime: LambdaRuntime) -> None:
    worker = FunctionWorker(_probe("probe.fail"), runtime, {})
    try:
        with pytest.raises(FunctionError, match="ValueError: the handler refused the event"):
            worker.invoke({})
        with pytest.raises(FunctionError):
            worker.invoke({})
    finally:
        worker.stop()

    assert worker.cold_starts == 1


def test_an_invocation_past_the_timeout_is_killed_and_the_next_one_starts_cold(
    runtime: LambdaRuntime,
) -> None:
    worker = FunctionWorker(_probe("probe.sleep", timeout=1), runtime, {})
    try:
        with pytest.raises(FunctionTimeoutError, match="timed out after 1 seconds"):
            worker.invoke({"seconds": 30})
        answer = worker.invoke({"seconds": 0})
    finally:
        worker.stop()

    assert answer == {"slept": 0}
    assert worker.cold_starts == 2


def test_the_runtime_layer_is_the_layer_recipe_output_with_pruned_locale_data(runtime: LambdaRuntime) -> None:
    layer = runtime.layer_paths[0]
    kept = {path.stem.split("_")[0] for path in (layer / "babel" / "locale-data").glob("*.dat")}
    supported = load_template(TEMPLATE)["Parameters"]["SupportedLocales"]["Default"].split(",")

    assert kept == {"root", *(locale.split("-")[0].split("_")[0] for locale in supported)}
    assert not (layer / "moto").exists()


def test_the_runtime_is_located_from_its_manifest(tmp_path: Path) -> None:
    from closeloop_cli.runtime import RuntimeMissingError

    with pytest.raises(RuntimeMissingError, match="make runtime"):
        LambdaRuntime.locate(tmp_path)


def test_stopping_a_worker_mid_invocation_ends_the_invocation_instead_of_waiting_for_it(
    runtime: LambdaRuntime, tmp_path: Path
) -> None:
    # GIVEN a worker busy with an invocation that would take 30 s (its timeout is 60 s)
    worker = FunctionWorker(_probe("probe.sleep", timeout=60), runtime, {})
    started = tmp_path / "started"
    failures: list[BaseException] = []

    def invoke() -> None:
        try:
            worker.invoke({"seconds": 30, "started_file": str(started)})
        except FunctionError as error:
            failures.append(error)

    busy = threading.Thread(target=invoke)
    busy.start()
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)

    # WHEN the sandbox stops it
    worker.stop()
    busy.join(timeout=20)

    # THEN the invocation has failed (the sandbox is stopping) and nothing waits on it any more
    assert not busy.is_alive()
    assert len(failures) == 1
