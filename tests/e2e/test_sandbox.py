"""``closeloop sandbox`` over real HTTP: a subprocess with a moto server, the HTTP API and the relays.

Most tests run template.yaml with the tiny handlers of tests/fixtures/sandbox_handlers.py in place of
closeloop's (``fixture_template``): a ticket event is planned into a schedule due now, the scheduler pump
delivers it to the send queue, the send handler mails it, and the outbox receives it. One test runs the
real template.yaml with the real handlers.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.sandbox_process import (
    REPO,
    RunningSandbox,
    eventually,
    fixture_template,
    http_request,
    put_ticket_event,
    start_sandbox,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(
        tmp_path_factory.mktemp("sandbox"), fixture_template(), "SenderAddress=surveys@acme.example"
    )
    yield running
    running.stop()


def test_outputs_are_written_with_local_urls(sandbox: RunningSandbox) -> None:
    outputs = sandbox.outputs()

    assert outputs["ApiUrl"].rstrip("/") == sandbox.api_url
    assert outputs["EventBusName"] == "closeloop"
    assert outputs["PlanDeadLetterQueueUrl"].startswith(sandbox.aws_url)
    assert outputs["ZendeskSecretArn"].startswith("arn:aws:secretsmanager:eu-west-1:123456789012:secret:")


def test_ready_is_printed_once(sandbox: RunningSandbox) -> None:
    assert sum("closeloop sandbox ready" in line for line in sandbox.lines) == 1


def test_a_ticket_event_is_relayed_scheduled_sent_and_written_to_the_outbox(sandbox: RunningSandbox) -> None:
    # GIVEN the running sandbox
    # WHEN a ticket event is put on the bus
    put_ticket_event(sandbox, {"ticket_id": "e2e-1", "customer": {"email": "ana@example.org"}})

    # THEN the plan handler ran (relay), its schedule fired (pump), the send handler mailed (relay + SES)
    eml = eventually(lambda: next(iter(sandbox.outbox.glob("*.eml")), None))
    assert "ticket e2e-1" in eml.read_text(encoding="utf-8")
    assert "<b>how we did</b>" in eml.with_suffix(".html").read_text(encoding="utf-8")
    assert "Tell us how we did." in eml.with_suffix(".txt").read_text(encoding="utf-8")
    # AND the schedule, created with ActionAfterCompletion DELETE, is gone
    schedules = sandbox.client("scheduler").list_schedules(GroupName="closeloop")["Schedules"]
    assert [schedule["Name"] for schedule in schedules if schedule["Name"] == "followup-e2e-1"] == []


def test_sent_mail_is_also_readable_from_moto(sandbox: RunningSandbox) -> None:
    put_ticket_event(sandbox, {"ticket_id": "e2e-2", "customer": {"email": "bo@example.org"}})

    def sent_to_bo() -> list[dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"{sandbox.aws_url}/moto-api/data.json", timeout=10) as response:
                data = json.load(response)
        except urllib.error.HTTPError:
            # moto serialises its live backends for this page; a write at the same moment can fail it.
            return []
        return [
            message for message in data["ses"]["RawMessage"] if "bo@example.org" in message["destinations"]
        ]

    (message,) = eventually(sent_to_bo)
    assert message["source"] == "surveys@acme.example"


def test_reported_batch_item_failures_end_in_the_dead_letter_queue(sandbox: RunningSandbox) -> None:
    # GIVEN the fixture plan queue: visibility timeout 2 s, maxReceiveCount 2
    sqs = sandbox.client("sqs")
    dead_letter_url = sandbox.outputs()["PlanDeadLetterQueueUrl"]

    # WHEN the plan handler reports the event's message as failed every time
    put_ticket_event(sandbox, {"ticket_id": "e2e-fail", "fail": True})

    # THEN the message is retried and then moved to the dead-letter queue
    def dead_lettered() -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = sqs.receive_message(QueueUrl=dead_letter_url, WaitTimeSeconds=1).get(
            "Messages", []
        )
        return messages

    (message,) = eventually(dead_lettered, timeout=30)
    assert json.loads(message["Body"])["detail"]["ticket_id"] == "e2e-fail"


def test_the_http_api_sends_a_payload_v2_event_and_returns_the_answer(sandbox: RunningSandbox) -> None:
    status, headers, body = http_request(
        f"{sandbox.api_url}/webhooks/zendesk?a=1&a=2",
        data=b'{"hello": "world"}',
        headers={"Content-Type": "application/json", "Cookie": "x=1; y=2"},
    )

    assert status == 202
    assert headers["X-Handled-By"] == "api_handler"
    assert headers["Set-Cookie"] == "seen=1; Path=/"
    answer = json.loads(body)
    assert answer["route_key"] == "POST /webhooks/{provider}"
    assert answer["path_parameters"] == {"provider": "zendesk"}
    assert answer["query"] == {"a": "1,2"}
    assert answer["body"] == '{"hello": "world"}'
    assert answer["is_base64_encoded"] is False
    assert answer["cookies"] == ["x=1", "y=2"]
    assert answer["function_name"] == "closeloop-ApiFunction"
    assert 0 < answer["remaining_ms"] <= 10_000
    assert answer["public_base_url"] == sandbox.api_url


def test_form_bodies_arrive_base64_encoded_as_from_api_gateway(sandbox: RunningSandbox) -> None:
    status, _, body = http_request(
        f"{sandbox.api_url}/files/a/b.txt",
        data=b"score=2&comment=slow",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert status == 202
    answer = json.loads(body)
    assert answer["route_key"] == "ANY /files/{proxy+}"
    assert answer["path_parameters"] == {"proxy": "a/b.txt"}
    assert answer["is_base64_encoded"] is True
    assert answer["body"] == "score=2&comment=slow"


def test_an_unknown_route_is_a_404(sandbox: RunningSandbox) -> None:
    status, _, body = http_request(f"{sandbox.api_url}/nowhere")

    assert status == 404
    assert json.loads(body) == {"message": "Not Found"}


def test_a_handler_exception_is_a_500(sandbox: RunningSandbox) -> None:
    status, _, body = http_request(f"{sandbox.api_url}/webhooks/boom", data=b"{}")

    assert status == 500
    assert json.loads(body) == {"message": "Internal Server Error"}


def _raw_request(sandbox: RunningSandbox, request: bytes) -> bytes:
    """Send bytes as they are (no client fixes them up) and read the whole answer."""
    host, port = sandbox.api_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_a_non_numeric_content_length_is_a_400_not_a_dropped_connection(sandbox: RunningSandbox) -> None:
    answer = _raw_request(
        sandbox, b"POST /webhooks/zendesk HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n{}"
    )

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.endswith(b'{"message": "Bad Request"}')


def test_a_body_shorter_than_its_content_length_is_answered_not_waited_for(sandbox: RunningSandbox) -> None:
    # GIVEN a client that announces 1,000 bytes, sends 2 and stops sending
    answer = _raw_request(
        sandbox, b"POST /webhooks/zendesk HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{}"
    )

    # THEN the API answers (408) and the connection ends, instead of a thread waiting forever
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_body_over_api_gateways_payload_limit_is_a_413(sandbox: RunningSandbox) -> None:
    answer = _raw_request(
        sandbox, b"POST /webhooks/zendesk HTTP/1.1\r\nHost: x\r\nContent-Length: 10485761\r\n\r\n{}"
    )

    assert answer.startswith(b"HTTP/1.1 413 ")


def test_the_sandboxs_own_log_lines_are_kept(sandbox: RunningSandbox) -> None:
    http_request(f"{sandbox.api_url}/webhooks/log-line", data=b"{}")

    # THEN the access line reaches the sandbox's log (no function's logging setup can filter it out)
    log = sandbox.folder / "sandbox.log"
    eventually(lambda: "POST /webhooks/log-line -> 202" in log.read_text(encoding="utf-8") or None)


def test_a_schedule_due_now_is_delivered_to_its_queue(sandbox: RunningSandbox) -> None:
    # GIVEN a queue nobody consumes, and a schedule due now that targets it
    sqs = sandbox.client("sqs")
    queue_url = sqs.create_queue(QueueName="e2e-schedule-target")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sandbox.client("scheduler").create_schedule(
        Name="e2e-due-now",
        GroupName="closeloop",
        ScheduleExpression=f"at({datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%S')})",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": queue_arn,
            "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
            "Input": '{"due": true}',
        },
    )

    # THEN the pump delivers its input, once
    def delivered() -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get(
            "Messages", []
        )
        return messages

    (message,) = eventually(delivered)
    assert message["Body"] == '{"due": true}'
    time.sleep(2)
    assert sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", []) == []


def test_an_unknown_parameter_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "closeloop_cli.sandbox",
            "--template",
            str(fixture_template()),
            "--param",
            "Nope=1",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "unknown parameter(s) Nope" in result.stderr


def test_the_real_template_serves_the_real_api_and_stops_on_sigterm(tmp_path: Path) -> None:
    template = REPO / "template.yaml"
    if not template.exists():
        pytest.skip("template.yaml is not written yet")
    # GIVEN the sandbox running the real template and handlers
    sandbox = start_sandbox(tmp_path, template, "FollowUpDelayMinutes=0")
    try:
        # WHEN a webhook names a helpdesk closeloop does not know
        status, _, body = http_request(
            f"{sandbox.api_url}/webhooks/nosuchdesk", data=b"{}", headers={"Content-Type": "application/json"}
        )

        # THEN the real API handler rejects it (its own 4xx, not the sandbox's route 404)
        assert 400 <= status < 500
        assert json.loads(body).get("status") == "rejected"
        assert set(sandbox.outputs()) >= {"EventBusName", "ApiUrl", "ZendeskSecretArn", "FreshdeskSecretArn"}
    finally:
        # AND SIGTERM stops it cleanly (stop() waits a bounded time, then kills and reports it)
        assert sandbox.stop() == 0
