"""The sandbox's SMTP listener plays SES's receipt rule: who it accepts mail for, and what it stores."""

from __future__ import annotations

import asyncio
from typing import Any

from aiosmtpd.smtp import Envelope, Session
from botocore.exceptions import ClientError

from closeloop_cli.inbound_smtp import InboundMailHandler


class FakeS3:
    """Keeps what was put; fails every put when told to."""

    def __init__(self, *, failing: bool = False) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.failing = failing

    def put_object(self, *, Bucket: str, Key: str, Body: bytes) -> dict[str, Any]:
        if self.failing:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "PutObject")
        self.objects[(Bucket, Key)] = Body
        return {}


def handler(s3: FakeS3) -> InboundMailHandler:
    return InboundMailHandler(
        s3_client=s3, bucket="inbound-bucket", prefix="inbound/", reply_domain="replies.acme.example",
        region="eu-west-1",
    )  # fmt: skip


def session() -> Session:
    opened = Session(loop=None)  # the handler never uses the session's loop
    opened.peer = ("127.0.0.1", 40000)
    opened.host_name = "mail.example.org"
    return opened


def envelope(content: bytes, *recipients: str) -> Envelope:
    received = Envelope()
    received.mail_from = "sam@example.org"
    received.rcpt_tos = list(recipients)
    received.content = received.original_content = content
    return received


def rcpt(address: str) -> tuple[str, list[str]]:
    received = Envelope()
    answer = asyncio.run(handler(FakeS3()).handle_RCPT(None, session(), received, address, []))
    return answer, received.rcpt_tos


def test_recipients_at_the_reply_domain_are_accepted_whatever_their_case() -> None:
    assert rcpt("reply+abc@Replies.Acme.Example") == ("250 OK", ["reply+abc@Replies.Acme.Example"])


def test_recipients_elsewhere_are_refused_with_550_and_the_reason() -> None:
    for address in ("support@acme.example", "reply+abc@sub.replies.acme.example"):
        answer, accepted = rcpt(address)
        assert answer.startswith("550 5.1.1 ")
        assert "*@replies.acme.example only" in answer
        assert accepted == []


def test_a_message_is_stored_once_under_the_prefix_below_the_headers_ses_adds() -> None:
    s3 = FakeS3()
    content = b"From: sam@example.org\r\nSubject: Re: survey\r\n\r\nstill broken\r\n"

    answer = asyncio.run(
        handler(s3).handle_DATA(None, session(), envelope(content, "reply+abc@replies.acme.example"))
    )

    [(bucket, key)] = s3.objects
    stored = s3.objects[(bucket, key)]
    assert bucket == "inbound-bucket"
    assert key.startswith("inbound/")
    assert len(key.removeprefix("inbound/")) == 40
    assert answer == f"250 2.0.0 Ok: stored as {key.removeprefix('inbound/')}"
    assert stored.startswith(
        b"Return-Path: <sam@example.org>\r\nReceived: from mail.example.org (127.0.0.1)\r\n"
    )
    assert b"for reply+abc@replies.acme.example;" in stored
    assert b"X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n" + content in stored
    assert stored.endswith(content)


def test_a_message_that_cannot_be_stored_is_a_temporary_failure() -> None:
    s3 = FakeS3(failing=True)

    answer = asyncio.run(
        handler(s3).handle_DATA(
            None, session(), envelope(b"Subject: x\r\n\r\nhi\r\n", "a@replies.acme.example")
        )
    )

    assert answer.startswith("451 4.3.0 ")
    assert s3.objects == {}
