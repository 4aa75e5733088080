"""Survey emails as raw MIME, sent through SES v2.

Raw MIME (not SES "simple" content) because the message needs its own headers: RFC 8058 one-click
unsubscribe, ``Auto-Submitted`` so auto-responders stay quiet, and the survey id for inbound replies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, HTTPClientError

from closeloop.domain.messages import (
    MIME_POLICY,
    SURVEY_ID_HEADER,
    SURVEY_ID_TAG_NAME,
    SURVEY_TAG_NAME,
    SURVEY_TAG_VALUE,
)
from closeloop.domain.sending import (
    MailOutcomeUnknownError,
    MailRecipientUnverifiedError,
    MailRejectedError,
    MailRetryableError,
    OutgoingEmail,
)

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client


# SES answers these when it did not accept the message and may accept it later.
_RETRYABLE_CODES = frozenset(
    {
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
        "LimitExceededException",
        "SendingPausedException",
        "InternalFailure",
        "InternalServiceError",
        "ServiceUnavailable",
    }
)
# SES's answer when an identity fails its verification check: "Email address is not verified. The
# following identities failed the check in region EU-WEST-1: <addresses>" (the list may end in "...").
_NOT_VERIFIED = "email address is not verified"
_LISTED_ADDRESS = re.compile(r"[^\s<>,:]+@[^\s<>,]+")


def build_message(
    *,
    sender: Address,
    recipient: Address,
    subject: str,
    text: str,
    html: str,
    locale: str,
    now: datetime,
    headers: Mapping[str, str],
) -> bytes:
    """A multipart/alternative message (text first, HTML preferred), 7-bit clean, with ``headers``."""
    message = EmailMessage(policy=MIME_POLICY)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.domain)
    # Automated mail: auto-responders and out-of-office replies must not answer it (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    for name, value in headers.items():
        message[name] = value
    # Quoted-printable keeps the message 7-bit clean, whatever the relays between SES and the inbox accept.
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    # After the body: setting the content resets every Content-* header.
    message["Content-Language"] = locale
    return message.as_bytes()


def one_click_unsubscribe(url: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe headers for ``url`` (Gmail and Yahoo require them of bulk senders)."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def build_mime(email: OutgoingEmail, now: datetime) -> bytes:
    """The survey email, with RFC 8058 one-click unsubscribe and the survey id for replies."""
    return build_message(
        sender=Address(display_name=email.sender_name, addr_spec=email.sender_address),
        recipient=Address(display_name=email.recipient_name or "", addr_spec=email.recipient_address),
        subject=email.subject,
        text=email.text,
        html=email.html,
        locale=email.locale,
        now=now,
        headers=one_click_unsubscribe(email.unsubscribe_url)
        | {SURVEY_ID_HEADER: email.survey_id}
        # The survey's own reply address (ReplyDomain): a reply reaches closeloop, which knows its survey.
        | ({"Reply-To": email.reply_to} if email.reply_to else {}),
    )


class SesRefusalError(MailRejectedError):
    """SES refused the message for good: its error code, and its message for who reads the logs."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


def send_raw_email(
    client: SESV2Client,
    raw: bytes,
    *,
    sender_address: str,
    recipient_address: str,
    tags: list[dict[str, str]],
    configuration_set: str | None = None,
) -> str:
    """Send one raw MIME message through SES v2 and return its message id. The error says whether trying
    again is safe: ``MailRetryableError`` (SES did not take it, and may later), ``SesRefusalError`` (it
    never will), ``MailOutcomeUnknownError`` (it may have been sent: never send it again)."""
    request: dict[str, object] = {
        "FromEmailAddress": sender_address,
        "Destination": {"ToAddresses": [recipient_address]},
        "Content": {"Raw": {"Data": raw}},
        # SES copies the tags into its bounce and complaint events (``mail.tags``).
        "EmailTags": tags,
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    try:
        response = client.send_email(**request)  # type: ignore[arg-type]
    except ClientError as error:
        code = error.response["Error"]["Code"]
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _RETRYABLE_CODES or status >= 500:
            raise MailRetryableError(code) from error
        raise SesRefusalError(code, str(error.response["Error"].get("Message", ""))) from error
    except (ConnectTimeoutError, EndpointConnectionError) as error:
        # No connection was made, so SES never saw the request: sending later cannot send twice.
        raise MailRetryableError(type(error).__name__) from error
    except HTTPClientError as error:
        # A read timeout, or the connection dropped after the request went out: SES may have sent it.
        raise MailOutcomeUnknownError(type(error).__name__) from error
    return response["MessageId"]


class SesMailer:
    def __init__(self, client: SESV2Client, configuration_set: str | None = None) -> None:
        self._client = client
        self._configuration_set = configuration_set

    def send(self, email: OutgoingEmail, now: datetime) -> str:
        """Send and return SES's message id; errors say whether a retry is safe."""
        try:
            raw = build_mime(email, now)
        except (ValueError, MessageError) as error:
            # Nothing reached SES: a definite refusal, so the claim is given back (the sender checks
            # mailboxes before claiming; this is the net under that check). The type names the rule.
            raise MailRejectedError(f"the message could not be built: {type(error).__name__}") from error
        try:
            return send_raw_email(
                self._client,
                raw,
                sender_address=email.sender_address,
                recipient_address=email.recipient_address,
                # The deliverability handler knows the message was a survey, and which one (a survey id is
                # hex: a valid tag value).
                tags=[
                    {"Name": SURVEY_TAG_NAME, "Value": SURVEY_TAG_VALUE},
                    {"Name": SURVEY_ID_TAG_NAME, "Value": email.survey_id},
                ],
                configuration_set=self._configuration_set,
            )
        except SesRefusalError as error:
            if error.code == "MessageRejected" and _NOT_VERIFIED in error.detail.lower():
                raise self._unverified(error.detail, email) from error
            raise

    def _unverified(self, message: str, email: OutgoingEmail) -> MailRejectedError:
        """Why SES refused an unverified identity, without the addresses its message lists."""
        region = self._client.meta.region_name
        listed = {found.lower().rstrip(".") for found in _LISTED_ADDRESS.findall(message)}
        sandbox = (
            f"SES sandbox: this account has no SES production access in {region}, so SES sends only to "
            "verified addresses and the recipient is not one (request production access, then redrive)"
        )
        if email.sender_address.lower() in listed:
            also = f"; {sandbox}" if email.recipient_address.lower() in listed else ""
            return MailRejectedError(
                f"MessageRejected: the sender address is not a verified SES identity in {region} (verify "
                f"the SenderAddress parameter's address or its domain in SES){also}"
            )
        # Only an account in the sandbox checks recipients: the listed identity is the recipient.
        return MailRecipientUnverifiedError(f"MessageRejected: {sandbox}")
