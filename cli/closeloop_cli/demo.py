"""``closeloop demo``: one scripted story on the local sandbox, told as it happens.

A Zendesk ticket is solved; Zendesk's signed webhook reaches the HTTP API; closeloop fetches the
requester from (a local fake) Zendesk, plans the follow-up, and the survey email lands in the outbox.
Everything is driven from outside, as a user would: the sandbox runs in its own process, the secret is
written with a plain AWS client, the webhook is a real HTTP request.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config

from closeloop.domain.webhooks import zendesk_signature
from closeloop_cli.fake_helpdesk import DEFAULT_ZENDESK_EMAIL as ZENDESK_EMAIL
from closeloop_cli.fake_helpdesk import DEFAULT_ZENDESK_TOKEN as ZENDESK_TOKEN
from closeloop_cli.fake_helpdesk import FakeHelpdesk

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS = REPO_ROOT / "events"
WEBHOOK_SECRET = "demo-webhook-signing-secret"  # noqa: S105 - a local demo value, not a credential
# moto accepts any credentials; these keep a developer's real profile out of the demo.
SANDBOX_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
READY_TIMEOUT_SECONDS = 90
MAIL_TIMEOUT_SECONDS = 60

T = TypeVar("T")


class DemoError(Exception):
    """The story could not be told; the message says where it stopped."""


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: dict[str, Any]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("demo", help="run the scripted story on the local sandbox")
    add_arguments(parser)
    parser.set_defaults(run=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--aws-port", type=int, default=4566, help="moto server port (default: 4566)")
    parser.add_argument("--api-port", type=int, default=3000, help="HTTP API port (default: 3000)")
    parser.add_argument("--helpdesk-port", type=int, default=0, help="fake Zendesk port (default: any free)")
    parser.add_argument("--workdir", type=Path, default=Path(".sandbox"), help="outbox, outputs and logs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="closeloop demo", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    try:
        Demo(args.aws_port, args.api_port, args.helpdesk_port, args.workdir).tell()
    except DemoError as error:
        print(f"\ndemo stopped: {error}", file=sys.stderr)
        return 1
    return 0


def say(line: str = "") -> None:
    print(line, flush=True)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.25)
    raise DemoError(f"timed out after {timeout:.0f}s waiting for {what}")


class Demo:
    def __init__(self, aws_port: int, api_port: int, helpdesk_port: int, workdir: Path) -> None:
        self.aws_port = aws_port
        self.api_port = api_port
        self.helpdesk_port = helpdesk_port
        self.workdir = workdir.resolve()
        self.outbox = self.workdir / "outbox"
        self.outputs_path = self.workdir / "outputs.json"
        self.log_path = self.workdir / "sandbox.log"

    def tell(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for stale in self.outbox.glob("*") if self.outbox.exists() else ():
            stale.unlink()
        with FakeHelpdesk(port=self.helpdesk_port) as zendesk:
            zendesk.seed(EVENTS / "zendesk")
            say(f"1. A fake Zendesk is serving its Users API at {zendesk.url}")
            sandbox = self._start_sandbox(zendesk.url)
            try:
                self._story(zendesk)
            finally:
                sandbox.send_signal(signal.SIGTERM)
                try:
                    sandbox.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    sandbox.kill()

    # --- the story ---------------------------------------------------------------------------------

    def _story(self, zendesk: FakeHelpdesk) -> None:
        outputs = json.loads(self.outputs_path.read_text(encoding="utf-8"))
        aws = boto3.session.Session(**SANDBOX_CREDENTIALS, region_name="eu-west-1")
        config = Config(retries={"max_attempts": 1})
        endpoint = f"http://127.0.0.1:{self.aws_port}"
        secrets = aws.client("secretsmanager", endpoint_url=endpoint, config=config)
        secrets.put_secret_value(
            SecretId=outputs["ZendeskSecretArn"],
            SecretString=json.dumps(
                {"webhook_secret": WEBHOOK_SECRET, "api_token": ZENDESK_TOKEN, "email": ZENDESK_EMAIL}
            ),
        )
        say("3. The operator stored the Zendesk secret (webhook signing secret + API token):")
        say(f"     aws secretsmanager put-secret-value --secret-id {outputs['ZendeskSecretArn']} ...")

        webhook_url = outputs["ZendeskWebhookUrl"]
        payload = json.loads((EVENTS / "zendesk" / "ticket_solved.json").read_text(encoding="utf-8"))
        payload["time"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        body = json.dumps(payload).encode("utf-8")

        forged = self._post(webhook_url, body, self._signed_headers(body, "not-the-secret"))
        say(f"4. A forged webhook (wrong signature) is refused: HTTP {forged.status} {forged.body}")
        if forged.status != 401:
            raise DemoError(f"a forged webhook should get 401, got {forged.status}")

        ticket = payload["detail"]
        say(f'5. Zendesk reports ticket #{ticket["id"]} "{ticket["subject"]}" as SOLVED, signed:')
        answer = self._post(webhook_url, body, self._signed_headers(body, WEBHOOK_SECRET))
        say(f"     POST {webhook_url} -> HTTP {answer.status} {answer.body}")
        if answer.status != 202:
            raise DemoError(f"the signed webhook should be accepted with 202, got {answer.status}")
        fetched = [r.path for r in zendesk.requests if r.method == "GET"]
        say(f"     closeloop asked Zendesk for the requester and agent: {', '.join(fetched)}")

        say("6. The ticket event crossed the bus to the planner; the follow-up is planned with the delay")
        say("   of this sandbox run (FollowUpDelayMinutes=0, QuietHours=off) and the send handler runs...")
        message_path = wait_for("the survey email in the outbox", self._first_email, MAIL_TIMEOUT_SECONDS)
        message = email.message_from_bytes(message_path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self._show_email(message, message_path)

        replay = self._post(webhook_url, body, self._signed_headers(body, WEBHOOK_SECRET))
        time.sleep(3)
        emails = list(self.outbox.glob("*.eml"))
        say(f"8. Zendesk retries the same webhook (HTTP {replay.status}); closeloop still sent exactly")
        say(f"   {len(emails)} email for this solve.")
        if len(emails) != 1:
            raise DemoError(f"a duplicate webhook must not send a second email ({len(emails)} sent)")
        self._where_to_look(outputs)

    def _show_email(self, message: EmailMessage, path: Path) -> None:
        text_part = message.get_body(("plain",))
        text = text_part.get_content() if text_part is not None else ""
        links = re.findall(r"https?://\S+/s/\S+", text)
        say("7. The survey email went out through SES:")
        say(f"     To:       {message['To']}")
        say(f"     Subject:  {message['Subject']}")
        say(f"     Language: {message['Content-Language']}  (the requester's Zendesk locale)")
        say(f"     One-click unsubscribe: {message['List-Unsubscribe-Post']}")
        say(f"     {len(links)} signed answer links, e.g. {links[0] if links else '(none found)'}")
        say("     ---- text part ----")
        for line in text.strip().splitlines()[:14]:
            say(f"     | {line}")
        say("     ----")
        say(f"     Saved as {path} (and .html, .txt beside it)")

    def _where_to_look(self, outputs: dict[str, Any]) -> None:
        say()
        say("Where to look:")
        say(f"  the email:         {self.outbox}/  (open the .html in a browser)")
        data_url = f"http://127.0.0.1:{self.aws_port}/moto-api/data.json"
        say(f"  what SES received: {data_url}  (while a sandbox runs)")
        say(f"  the sandbox log:   {self.log_path}")
        say(f"  stack outputs:     {self.outputs_path}")
        say(f"  stored surveys:    aws --endpoint-url http://127.0.0.1:{self.aws_port} dynamodb scan \\")
        say(f"                       --table-name {outputs['SurveysTableName']}   (while a sandbox runs)")
        say("Run `make sandbox` to keep the stack up and drive it yourself (docs/sandbox.md).")

    # --- plumbing ----------------------------------------------------------------------------------

    def _start_sandbox(self, zendesk_url: str) -> subprocess.Popen[str]:
        command = [
            sys.executable, "-m", "closeloop_cli.sandbox",
            "--aws-port", str(self.aws_port), "--api-port", str(self.api_port),
            "--outbox", str(self.outbox), "--outputs", str(self.outputs_path),
            "--template", str(REPO_ROOT / "template.yaml"), "--templates", str(REPO_ROOT / "templates"),
            "--param", "FollowUpDelayMinutes=0", "--param", "QuietHours=off",
            "--param", "SenderAddress=support@acme.example", "--param", "SenderName=Acme Support",
            "--param", f"ZendeskBaseUrl={zendesk_url}",
        ]  # fmt: skip
        say(f"2. Starting the sandbox (moto on :{self.aws_port}, HTTP API on :{self.api_port})")
        say(f"     its log: {self.log_path}")
        log = self.log_path.open("w", encoding="utf-8")
        process = subprocess.Popen(  # the sandbox is this package's own module, run with this interpreter
            command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=REPO_ROOT, env=os.environ.copy()
        )
        assert process.stdout is not None
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        for line in process.stdout:
            log.write(line)
            log.flush()
            if "ready" in line:
                say(f"     {line.strip()}")
                break
            if time.monotonic() > deadline:
                break
        else:
            raise DemoError(
                f"the sandbox exited before it was ready (exit {process.wait()}); see {self.log_path}"
            )
        if process.poll() is not None or not self.outputs_path.exists():
            raise DemoError(f"the sandbox did not become ready; see {self.log_path}")
        # Keep draining the sandbox's output into the log so it never blocks on a full pipe.
        _drain_in_background(process, log)
        return process

    def _first_email(self) -> Path | None:
        found = sorted(self.outbox.glob("*.eml")) if self.outbox.exists() else []
        return found[0] if found else None

    @staticmethod
    def _signed_headers(body: bytes, secret: str) -> dict[str, str]:
        timestamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return {
            "Content-Type": "application/json",
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
            "X-Zendesk-Webhook-Signature": zendesk_signature(secret, timestamp, body),
        }

    @staticmethod
    def _post(url: str, body: bytes, headers: dict[str, str]) -> HttpAnswer:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local sandbox URL
                return HttpAnswer(response.status, json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as error:
            return HttpAnswer(error.code, json.loads(error.read() or b"{}"))
        except urllib.error.URLError as error:
            raise DemoError(f"cannot reach {url}: {error.reason}") from error


def _drain_in_background(process: subprocess.Popen[str], log: Any) -> None:
    import threading

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
        log.close()

    threading.Thread(target=drain, name="sandbox-output", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
