"""Running ``closeloop sandbox`` as a subprocess on free ports, as a user would, for the e2e tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import boto3
import pytest
from botocore.config import Config

from closeloop_cli.cfn import load_template
from closeloop_cli.fake_helpdesk import FakeHelpdesk

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
READY_TIMEOUT_SECONDS = 60

T = TypeVar("T")


def fixture_template() -> Path:
    """``template.yaml`` as the tests of the sandbox's machinery run it, derived so it has its shapes.

    ApiFunction, PlanFunction and SendFunction run the tiny handlers of tests/fixtures/sandbox_handlers.py
    (the API one answers with the event it was given), the API also routes ``ANY /files/{proxy+}`` (a greedy
    route), ApiFunction's timeout is 10 s, the plan queue gives a message up after 2 receives 2 s apart,
    and the other functions are left out (the inbound bucket and queue stay: the sandbox's default
    ReplyDomain). Written to ``.aws-sam/e2e/`` so its SAM transform is cached.
    """
    template = load_template(REPO / "template.yaml")
    folder = REPO / ".aws-sam" / "e2e"
    resources = template["Resources"]
    for name in ("ReopenFunction", "DeliverabilityFunction", "InboundFunction", "ArchiveFunction"):
        del resources[name], resources[f"{name}LogGroup"]
    template["Globals"]["Function"]["CodeUri"] = os.path.relpath(REPO / "tests" / "fixtures", folder)
    for name, handler in (("ApiFunction", "api"), ("PlanFunction", "plan"), ("SendFunction", "send")):
        resources[name]["Properties"]["Handler"] = f"sandbox_handlers.{handler}_handler"
    api = resources["ApiFunction"]["Properties"]
    api["Timeout"] = 10
    api["Events"]["Files"] = {
        "Type": "HttpApi",
        "Properties": {"ApiId": {"Ref": "HttpApi"}, "Method": "ANY", "Path": "/files/{proxy+}"},
    }
    template["Mappings"]["WorkQueues"]["Plan"] = {"VisibilityTimeout": 2, "MaxReceiveCount": 2}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "template.json"
    written = folder / f"template.{os.getpid()}.json"  # test processes may write it at once: replaced whole
    written.write_text(json.dumps(template, indent=1), encoding="utf-8")
    os.replace(written, path)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def client_for(endpoint_url: str | None, service: str) -> Any:
    """A boto3 client of the emulated AWS at ``endpoint_url`` (None: moto in this process, ``mock_aws``);
    no retries, so a 5xx is seen."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


def is_running(pid: int) -> bool:
    """Whether the process exists and has not exited (a zombie waiting to be reaped has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return False
    return "\nState:\tZ" not in status


def child_processes(pid: int) -> dict[int, str]:
    """The direct children of a process (Linux's /proc): pid -> command line."""
    children: dict[int, str] = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            listed = (task / "children").read_text(encoding="ascii").split()
        except OSError:
            continue
        for child in map(int, listed):
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            children[child] = command
    return children


@dataclass
class RunningSandbox:
    process: subprocess.Popen[str]
    aws_url: str
    api_url: str
    folder: Path
    log: IO[str]
    smtp_port: int = 0
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    drained: threading.Event = field(default_factory=threading.Event)

    @property
    def outbox(self) -> Path:
        return self.folder / "outbox"

    def outputs(self) -> dict[str, str]:
        loaded: dict[str, str] = json.loads((self.folder / "outputs.json").read_text(encoding="utf-8"))
        return loaded

    def client(self, service: str) -> Any:
        return client_for(self.aws_url, service)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.drained.wait(5)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.log.close()


def start_sandbox(folder: Path, template: Path, *params: str) -> RunningSandbox:
    aws_port, api_port, smtp_port = free_port(), free_port(), free_port()
    command = [
        sys.executable,
        "-m",
        "closeloop_cli.sandbox",
        "--template",
        str(template),
        "--aws-port",
        str(aws_port),
        "--api-port",
        str(api_port),
        "--smtp-port",
        str(smtp_port),
        "--outbox",
        str(folder / "outbox"),
        "--outputs",
        str(folder / "outputs.json"),
        *(argument for param in params for argument in ("--param", param)),
    ]
    log = (folder / "sandbox.log").open("w", encoding="utf-8")
    process = subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=log, text=True)
    sandbox = RunningSandbox(
        process, f"http://127.0.0.1:{aws_port}", f"http://127.0.0.1:{api_port}", folder, log, smtp_port
    )

    def drain() -> None:
        # Keep reading after "ready": the handlers log to stdout and a full pipe would block them.
        assert process.stdout is not None
        for line in process.stdout:
            sandbox.lines.append(line)
            if "ready" in line:
                sandbox.ready.set()
        sandbox.drained.set()

    threading.Thread(target=drain, daemon=True).start()
    if not sandbox.ready.wait(READY_TIMEOUT_SECONDS):
        sandbox.stop()
        logged = (folder / "sandbox.log").read_text(encoding="utf-8")
        pytest.fail(
            f"the sandbox was not ready in {READY_TIMEOUT_SECONDS} s:\n{''.join(sandbox.lines)}\n{logged}"
        )
    return sandbox


def put_ticket_event(
    sandbox: RunningSandbox, detail: dict[str, Any], detail_type: str = "Ticket Closed"
) -> None:
    """One canonical ticket event on the sandbox's bus, as a helpdesk integration puts it."""
    response = sandbox.client("events").put_events(
        Entries=[
            {
                "EventBusName": sandbox.outputs()["EventBusName"],
                "Source": "closeloop.tickets",
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
            }
        ]
    )
    assert response["FailedEntryCount"] == 0


def eventually(probe: Callable[[], T | None], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"nothing after {timeout} s")


def http_request(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, str]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


# The real template as the story-like tests run it: surveys go out at once, at any hour, to anyone.
IMMEDIATE_SURVEYS = ("FollowUpDelayMinutes=0", "QuietHours=off", "ThrottleDays=0")


def start_story_sandbox(folder: Path, zendesk_url: str, *params: str) -> RunningSandbox:
    """The real template on a sandbox with immediate surveys, its Zendesk at ``zendesk_url``."""
    return start_sandbox(
        folder, REPO / "template.yaml", *IMMEDIATE_SURVEYS, f"ZendeskBaseUrl={zendesk_url}", *params
    )


@contextmanager
def seeded_zendesk() -> Iterator[FakeHelpdesk]:
    """A fake Zendesk that knows the users and groups of events/zendesk."""
    with FakeHelpdesk() as helpdesk:
        helpdesk.seed(REPO / "events" / "zendesk")
        yield helpdesk
