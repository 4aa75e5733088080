"""``closeloop demo``: one scripted story on the local sandbox, told as it happens.

A Zendesk ticket is solved; Zendesk's signed webhook reaches the HTTP API; closeloop fetches the
requester from (a local fake) Zendesk, plans the follow-up, and the survey email lands in the outbox.
A mail scanner opens every link (nothing happens); the customer answers badly with a comment; after
the grace period the ticket is reopened at the fake Zendesk with a private note, and the lead is alerted.
Then a second customer answers by replying to the survey email instead: the reply reaches the sandbox's
SMTP listener (SES's part), and the ticket is reopened with the reply's new text, without the quoted
history, in its private note. Last, the report reads both surveys back from the event archive.
Everything is driven from outside, as a user would: the sandbox runs in its own process, the secret is
written with a plain AWS client, webhooks and answers are real HTTP requests.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config

from closeloop.domain.webhooks import zendesk_signature
from closeloop_cli.fake_helpdesk import DEFAULT_ZENDESK_EMAIL as ZENDESK_EMAIL
from closeloop_cli.fake_helpdesk import DEFAULT_ZENDESK_TOKEN as ZENDESK_TOKEN
from closeloop_cli.fake_helpdesk import FakeHelpdesk
from closeloop_cli.inbound_smtp import DEFAULT_SMTP_PORT

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS = REPO_ROOT / "events"
WEBHOOK_SECRET = "demo-webhook-signing-secret"  # noqa: S105 - a local demo value, not a credential
# moto accepts any credentials; these keep a developer's real profile out of the demo.
SANDBOX_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
READY_TIMEOUT_SECONDS = 90
LEAD_ADDRESS = "lead@acme.example"
MAIL_TIMEOUT_SECONDS = 60
ARCHIVE_TIMEOUT_SECONDS = 90
# The customer who replies by email, as Zendesk's Users API knows him (events/zendesk has Giulia).
REPLYING_CUSTOMER = {
    "id": 8447388090611, "name": "Sam Taylor", "email": "sam.taylor@example.com", "locale": "en-US",
    "iana_time_zone": "America/Chicago", "time_zone": "Central Time (US & Canada)", "role": "end-user",
}  # fmt: skip
REPLY_TEXT = "No, it still doesn't work"

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
    parser.add_argument(
        "--smtp-port", type=int, default=DEFAULT_SMTP_PORT, help="SMTP port of the sandbox (default: 2525)"
    )
    parser.add_argument("--helpdesk-port", type=int, default=0, help="fake Zendesk port (default: any free)")
    parser.add_argument("--workdir", type=Path, default=Path(".sandbox"), help="outbox, outputs and logs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="closeloop demo", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    try:
        Demo(args.aws_port, args.api_port, args.smtp_port, args.helpdesk_port, args.workdir).tell()
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
    def __init__(
        self, aws_port: int, api_port: int, smtp_port: int, helpdesk_port: int, workdir: Path
    ) -> None:
        self.aws_port = aws_port
        self.api_port = api_port
        self.smtp_port = smtp_port
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
        self._answer_badly(message, outputs, zendesk, ticket["id"])
        self._reply_by_email(outputs, zendesk, webhook_url, payload)
        self._report()
        self._where_to_look(outputs)

    def _answer_badly(
        self, message: EmailMessage, outputs: dict[str, Any], zendesk: FakeHelpdesk, ticket_id: str
    ) -> None:
        text_part = message.get_body(("plain",))
        text = text_part.get_content() if text_part is not None else ""
        links = re.findall(r"https?://\S+/s/\S+", text)
        table = self._aws("dynamodb").scan(TableName=outputs["SurveysTableName"])
        before = len(table["Items"])
        for link in links:
            self._get(link, user_agent="Mozilla/5.0 (compatible; SafeLinks-Scanner)")
        after = len(self._aws("dynamodb").scan(TableName=outputs["SurveysTableName"])["Items"])
        say(f"9. A mail security scanner opens all {len(links)} links: {after - before} records written,")
        say("   nothing recorded, nothing reopened (a GET only shows the confirmation page).")
        if after != before:
            raise DemoError("opening a survey link must not write anything")

        [link] = [url for url in links if url.endswith("score=1")]
        page = self._get(link)
        form_token = re.search(r'name="form_token" value="([^"]+)"', page)
        if form_token is None:
            raise DemoError("the survey page has no form token")
        comment = "Il pacco sostitutivo non è mai arrivato, il problema non è risolto."
        form = urllib.parse.urlencode(
            {"form_token": form_token[1], "lang": "it", "score": "1", "resolved": "no",
             "reasons": "not_resolved", "comment": comment}
        )  # fmt: skip
        origin = f"http://127.0.0.1:{self.api_port}"
        answer = self._post(
            link.split("?")[0],
            form.encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Origin": origin},
            expect_json=False,
        )
        say("10. Giulia opens the link for 1, says the problem is not solved and writes:")
        say(f'      "{comment}"')
        say(f"    POST {link.split('?')[0][:60]}... -> HTTP {answer.status} (thank-you page)")
        if answer.status != 200:
            raise DemoError(f"the answer should be recorded with 200, got {answer.status}")

        def reopened() -> dict[str, Any] | None:
            for request in zendesk.requests:
                if request.method == "PUT" and request.path.startswith(f"/api/v2/tickets/{ticket_id}"):
                    return dict(request.json or {})
            return None

        update = wait_for("the reopen at Zendesk", reopened, MAIL_TIMEOUT_SECONDS)
        note = str(update.get("ticket", {}).get("comment", {}).get("body", ""))
        status = update.get("ticket", {}).get("status")
        say(f"11. After the grace period (GraceMinutes=0 here) closeloop reopened ticket #{ticket_id}:")
        say(f"      PUT /api/v2/tickets/{ticket_id}.json  status={status}, private note:")
        for line in note.strip().splitlines()[:10]:
            say(f"      | {line}")

        def lead_alert() -> EmailMessage | None:
            for path in sorted(self.outbox.glob("*.eml")):
                candidate = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                if isinstance(candidate, EmailMessage) and LEAD_ADDRESS in str(candidate["To"]):
                    return candidate
            return None

        alert = wait_for("the lead alert email", lead_alert, MAIL_TIMEOUT_SECONDS)
        say(f"12. The support lead was alerted: SNS topic {outputs['LeadAlertTopicArn'].rsplit(':', 1)[-1]}")
        say(f'    and an email to {alert["To"]}: "{alert["Subject"]}"')

    def _reply_by_email(
        self, outputs: dict[str, Any], zendesk: FakeHelpdesk, webhook_url: str, solved: dict[str, Any]
    ) -> None:
        zendesk.add_zendesk_user(REPLYING_CUSTOMER)
        payload = json.loads(json.dumps(solved))
        ticket_id = "5171"
        payload["detail"] |= {
            "id": ticket_id, "requester_id": str(REPLYING_CUSTOMER["id"]),
            "submitter_id": str(REPLYING_CUSTOMER["id"]), "subject": "The app crashes when I log in",
        }  # fmt: skip
        payload["subject"] = f"zen:ticket:{ticket_id}"
        payload["id"] = "b1c2d3e4-5f60-4a7b-8c9d-0e1f2a3b4c5d"
        payload["time"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        body = json.dumps(payload).encode("utf-8")
        answer = self._post(webhook_url, body, self._signed_headers(body, WEBHOOK_SECRET))
        if answer.status != 202:
            raise DemoError(f"the second ticket's webhook should be accepted with 202, got {answer.status}")
        survey = wait_for(
            "Sam's survey email",
            lambda: self._email_to(str(REPLYING_CUSTOMER["email"])),
            MAIL_TIMEOUT_SECONDS,
        )
        say()
        subject = payload["detail"]["subject"]
        say(f'13. Zendesk reports another ticket, #{ticket_id} "{subject}", as solved. Its requester,')
        say(
            f"    {REPLYING_CUSTOMER['name']}, gets his survey email in English; its headers name the survey:"
        )
        say(f"      Reply-To:   {survey['Reply-To']}")
        say(f"      Message-ID: {survey['Message-ID']}  (the id SES gave it)")

        reply = customer_reply(survey, REPLY_TEXT, sent_at=datetime.now(UTC))
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as smtp:
            refused = smtp.send_message(reply)
        if refused:
            raise DemoError(f"the sandbox's SMTP listener refused the reply: {refused}")
        text_part = reply.get_body(("plain",))
        lines = (text_part.get_content() if text_part is not None else "").strip().splitlines()
        say(f'14. Sam clicks no button: he hits Reply and writes "{REPLY_TEXT}". His mail server delivers')
        say("    it to the reply domain, where SES would store it in the inbound bucket; here the sandbox's")
        say(f"    SMTP listener (:{self.smtp_port}) does the same:")
        say(f"      To:          {reply['To']}")
        say(f"      In-Reply-To: {reply['In-Reply-To']}")
        for line in lines[:5]:
            say(f"      | {line}")
        say(f"      | ... ({len(lines) - 5} more lines of the quoted survey)")
        key = wait_for("the reply in the inbound bucket", lambda: self._stored_reply_key(outputs), 10)
        say(f"      stored as s3://{outputs['InboundBucketName']}/{key}")

        def reopened() -> dict[str, Any] | None:
            for request in zendesk.requests:
                if request.method == "PUT" and request.path.startswith(f"/api/v2/tickets/{ticket_id}"):
                    return dict(request.json or {})
            return None

        update = wait_for("the reopen of Sam's ticket at Zendesk", reopened, MAIL_TIMEOUT_SECONDS)
        note = str(update.get("ticket", {}).get("comment", {}).get("body", ""))
        status = update.get("ticket", {}).get("status")
        if REPLY_TEXT not in note or "wrote:" in note:
            raise DemoError("the reopen note should hold the reply's new text and none of the quoted survey")
        answer = self._recorded_answer(outputs, str(survey["X-Closeloop-Survey-Id"]))
        tags = self._aws("s3").get_object_tagging(Bucket=outputs["InboundBucketName"], Key=key)["TagSet"]
        marks = ", ".join(f"{tag['Key']}={tag['Value']}" for tag in tags)
        say(f"15. The bucket's notification reached InboundFunction; it marked the message {marks}")
        say("    and stored Sam's answer with the reply's new text only (the quoted survey dropped):")
        say(f"      source={answer['source']}, comment={answer['comment']!r}, negative={answer['negative']}")
        say(f"    After the grace period (none here) closeloop reopened ticket #{ticket_id}:")
        say(f"      PUT /api/v2/tickets/{ticket_id}.json  status={status}, private note:")
        for line in note.strip().splitlines()[:10]:
            say(f"      | {line}")

        def lead_alert() -> EmailMessage | None:
            for path in sorted(self.outbox.glob("*.eml")):
                candidate = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                if (
                    isinstance(candidate, EmailMessage)
                    and LEAD_ADDRESS in str(candidate["To"])
                    and f"#{ticket_id}" in str(candidate["Subject"])
                ):
                    return candidate
            return None

        alert = wait_for("the lead alert about Sam's ticket", lead_alert, MAIL_TIMEOUT_SECONDS)
        say(f'16. And the support lead was alerted again: "{alert["Subject"]}"')

    def _report(self) -> None:
        """Every event of the story went to the archive too: the report reads them, as a lead would."""
        archive = self.workdir / "archive"
        command = [
            sys.executable, "-m", "closeloop_cli.main", "report", "--outputs", str(self.outputs_path),
            "--download-dir", str(archive),
        ]  # fmt: skip

        def both_surveys_archived() -> dict[str, Any] | None:
            shown = self._closeloop([*command, "--format", "json"])
            totals = json.loads(shown) if shown else []
            # Without --by, the report is one object: the period's total.
            if len(totals) == 1 and (totals[0]["surveys_sent"], totals[0]["reopens"]) == (2, 2):
                return dict(totals[0])
            return None

        # The archive function takes its queue in batches; both stories are done, so it soon has them all.
        wait_for("both surveys in the event archive", both_surveys_archived, ARCHIVE_TIMEOUT_SECONDS)
        say()
        say("17. Every event closeloop published also went to the event archive (Parquet in S3, one")
        say("    folder per day), which reports read without touching the surveys table:")
        say(f"      closeloop report --by agent --outputs {self.outputs_path}")
        for line in (self._closeloop([*command, "--by", "agent"]) or "").rstrip().splitlines():
            say(f"      {line}")
        say(f"    The files stay in {archive}/ ; read them again without a sandbox:")
        say(f"      closeloop report --archive-dir {archive} --format html --out report.html")

    def _closeloop(self, command: list[str]) -> str | None:
        """Run a closeloop command against this sandbox; its standard output, or None when it failed."""
        environment = os.environ | {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.aws_port}",
            "AWS_ACCESS_KEY_ID": SANDBOX_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": SANDBOX_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
        result = subprocess.run(  # this package's own command, run with this interpreter
            command, capture_output=True, text=True, cwd=REPO_ROOT, env=environment, timeout=120, check=False
        )
        return result.stdout if result.returncode == 0 else None

    def _stored_reply_key(self, outputs: dict[str, Any]) -> str | None:
        """The key of the one message in the inbound bucket (the reply), once it is there."""
        listed = self._aws("s3").list_objects_v2(
            Bucket=outputs["InboundBucketName"], Prefix=outputs["InboundPrefix"]
        )
        keys = [str(item["Key"]) for item in listed.get("Contents", [])]
        if len(keys) > 1:
            raise DemoError(f"one reply should be in the inbound bucket, found {len(keys)}")
        return keys[0] if keys else None

    def _recorded_answer(self, outputs: dict[str, Any], survey_id: str) -> dict[str, Any]:
        """The answer stored for ``survey_id``: its source, comment and verdict."""
        items = self._aws("dynamodb").query(
            TableName=outputs["SurveysTableName"],
            KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
            ExpressionAttributeValues={":pk": {"S": f"SURVEY#{survey_id}"}, ":sk": {"S": "RESPONSE#"}},
        )["Items"]
        if len(items) != 1:
            raise DemoError(f"survey {survey_id} should have one answer, it has {len(items)}")
        [item] = items
        return {
            "source": item["source"]["S"],
            "comment": item["comment"]["S"],
            "negative": item["negative"]["BOOL"],
        }

    def _email_to(self, address: str) -> EmailMessage | None:
        for path in sorted(self.outbox.glob("*.eml")):
            candidate = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if isinstance(candidate, EmailMessage) and address in str(candidate["To"]):
                return candidate
        return None

    def _aws(self, service: str) -> Any:
        session = boto3.session.Session(**SANDBOX_CREDENTIALS, region_name="eu-west-1")
        return session.client(  # type: ignore[call-overload]
            service,
            endpoint_url=f"http://127.0.0.1:{self.aws_port}",
            config=Config(retries={"max_attempts": 1}),
        )

    @staticmethod
    def _get(url: str, user_agent: str = "Mozilla/5.0") -> str:
        request = urllib.request.Request(url, headers={"User-Agent": user_agent})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local sandbox URL
                return str(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            raise DemoError(f"GET {url[:60]}... answered {error.code}") from error

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
            "--smtp-port", str(self.smtp_port),
            "--outbox", str(self.outbox), "--outputs", str(self.outputs_path),
            "--template", str(REPO_ROOT / "template.yaml"), "--templates", str(REPO_ROOT / "templates"),
            "--param", "FollowUpDelayMinutes=0", "--param", "QuietHours=off",
            "--param", "SenderAddress=support@acme.example", "--param", "SenderName=Acme Support",
            "--param", f"ZendeskBaseUrl={zendesk_url}",
            "--param", "GraceMinutes=0", "--param", f"LeadAlertAddress={LEAD_ADDRESS}",
        ]  # fmt: skip
        say(
            f"2. Starting the sandbox (moto on :{self.aws_port}, HTTP API on :{self.api_port},"
            f" SMTP on :{self.smtp_port})"
        )
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
    def _post(url: str, body: bytes, headers: dict[str, str], expect_json: bool = True) -> HttpAnswer:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local sandbox URL
                raw = response.read()
                return HttpAnswer(response.status, json.loads(raw or b"{}") if expect_json else {})
        except urllib.error.HTTPError as error:
            raw = error.read()
            return HttpAnswer(error.code, json.loads(raw or b"{}") if expect_json else {})
        except urllib.error.URLError as error:
            raise DemoError(f"cannot reach {url}: {error.reason}") from error


def customer_reply(survey: EmailMessage, text: str, *, sent_at: datetime) -> EmailMessage:
    """The reply a mail client writes to ``survey`` (as its recipient got it): to its ``Reply-To``, with
    ``In-Reply-To`` and ``References`` naming its ``Message-ID``, a "Re:" subject, and ``text`` above the
    quoted survey (Gmail's "On ..., ... wrote:" line, each line quoted with "> ")."""
    text_part = survey.get_body(("plain",))
    quoted = text_part.get_content() if text_part is not None else ""
    customer = survey["To"].addresses[0]
    reply = EmailMessage()
    reply["From"] = str(survey["To"])
    reply["To"] = str(survey["Reply-To"] or survey["From"])
    reply["Subject"] = f"Re: {survey['Subject']}"
    reply["Date"] = format_datetime(sent_at)
    reply["Message-ID"] = make_msgid(domain=customer.domain)
    if survey["Message-ID"]:
        reply["In-Reply-To"] = str(survey["Message-ID"])
        reply["References"] = str(survey["Message-ID"])
    when = survey["Date"].datetime.strftime("%a, %-d %b %Y at %H:%M") if survey["Date"] else "Monday"
    history = "\n".join(f"> {line}".rstrip() for line in quoted.strip().splitlines())
    reply.set_content(f"{text}\n\nOn {when}, {survey['From']} wrote:\n{history}\n")
    return reply


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
