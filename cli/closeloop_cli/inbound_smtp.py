"""The sandbox's SMTP listener: mail for ``*@<ReplyDomain>`` stored in the inbound bucket as SES stores it.

On AWS, SES receives replies for the reply domain and its receipt rule's S3 action writes each raw message
to the inbound bucket under ``InboundPrefix``; the bucket's notification then reaches InboundFunction.
Here aiosmtpd (a maintained SMTP server) plays SES's part, so any mail client, ``swaks`` or ``smtplib`` can
send a reply: each accepted message becomes one object under the prefix, named by a new message id, with the
headers SES puts on top of what it stores (``Return-Path``, ``Received``, the scan verdicts). The rest of
the path is the deployed one: moto's S3 notification, the SQS relay, InboundFunction.

Like SES's receipt rule for a domain, only recipients at that domain are accepted (others: 550); a message
larger than InboundFunction reads (``MAX_MESSAGE_BYTES``) is refused with 552 before it is stored.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from botocore.exceptions import BotoCoreError, ClientError

from closeloop.domain.inbound_mail import MAX_MESSAGE_BYTES

logger = logging.getLogger(__name__)

DEFAULT_SMTP_PORT = 2525


def ses_message_id() -> str:
    """A new id shaped like SES's inbound message ids (40 lower-case letters and digits)."""
    return base64.b32encode(secrets.token_bytes(25)).decode("ascii").lower()


def stored_message(
    content: bytes,
    *,
    message_id: str,
    mail_from: str,
    recipients: list[str],
    peer: str,
    helo: str,
    region: str,
    received_at: datetime,
) -> bytes:
    """The object SES's S3 action stores: the message as received, below the headers SES adds.

    No spam or virus scan runs here: the verdicts SES would add (the receipt rule scans) say PASS.
    """
    added = [
        f"Return-Path: <{mail_from}>",
        f"Received: from {helo or 'unknown'} ({peer})\r\n by inbound-smtp.{region}.amazonaws.com with SMTP id"
        f" {message_id}\r\n for {recipients[0]};\r\n {format_datetime(received_at)}",
        "X-SES-Spam-Verdict: PASS",
        "X-SES-Virus-Verdict: PASS",
    ]
    return ("\r\n".join(added) + "\r\n").encode("ascii") + content


class InboundMailHandler:
    """aiosmtpd's handler: recipients at the reply domain only; each message stored under the prefix."""

    def __init__(self, *, s3_client: Any, bucket: str, prefix: str, reply_domain: str, region: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._prefix = prefix
        self._domain = reply_domain.lower()
        self._region = region

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.rpartition("@")[2].lower() != self._domain:
            return f"550 5.1.1 <{address}>: this sandbox receives mail for *@{self._domain} only"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode("utf-8")
        message_id = ses_message_id()
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        body = stored_message(
            raw,
            message_id=message_id,
            mail_from=envelope.mail_from or "",
            recipients=list(envelope.rcpt_tos),
            peer=peer,
            helo=session.host_name or "",
            region=self._region,
            received_at=datetime.now(UTC),
        )
        key = f"{self._prefix}{message_id}"
        # boto3 blocks: out of the event loop, so other sessions keep being served meanwhile.
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: self._s3.put_object(Bucket=self._bucket, Key=key, Body=body)
            )
        except (BotoCoreError, ClientError) as error:
            # A temporary failure: the sending server keeps the message and tries again, as with SES.
            logger.exception("storing mail received over SMTP in s3://%s failed", self._bucket)
            return f"451 4.3.0 the message could not be stored ({type(error).__name__}); try again later"
        logger.info("mail received over SMTP: s3://%s/%s (%d bytes)", self._bucket, key, len(body))
        return f"250 2.0.0 Ok: stored as {message_id}"


class InboundSmtpServer:
    """The listener, on its own thread (aiosmtpd's ``Controller``); ``stop`` ends it."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        s3_client: Any,
        bucket: str,
        prefix: str,
        reply_domain: str,
        region: str,
        max_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        handler = InboundMailHandler(
            s3_client=s3_client, bucket=bucket, prefix=prefix, reply_domain=reply_domain, region=region
        )
        self._controller = Controller(
            handler,
            hostname=host,
            port=port,
            data_size_limit=max_bytes,
        )
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
