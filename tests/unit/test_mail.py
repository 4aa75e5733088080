"""The survey email as bytes: what any mail client and any relay between SES and the inbox receive; and
what each way SES can fail means for sending again (never a second email)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.stub import Stubber

from closeloop.adapters.mail import SesMailer, build_mime
from closeloop.domain.sending import (
    MailOutcomeUnknownError,
    MailRecipientUnverifiedError,
    MailRejectedError,
    MailRetryableError,
    OutgoingEmail,
)

UNSUBSCRIBE = "https://surveys.acme.example/u/" + "x" * 140


def survey_email(**overrides: str) -> OutgoingEmail:
    values = {
        "sender_address": "support@acme.example", "sender_name": "Acme Support",
        "recipient_address": "nguyen.thi.lan@example.vn", "recipient_name": "Nguyễn Thị Lan",
        "subject": "Yêu cầu #4521 của bạn đã được giải quyết như thế nào?",
        "text": "Chào Lan,\n\nCảm ơn bạn!\n",
        "html": "<p>Chào Lan,</p><p>Cảm ơn bạn!</p>", "locale": "vi", "unsubscribe_url": UNSUBSCRIBE,
        "survey_id": "0f8e9a4c1b2d4e6f8a0b1c2d3e4f5a6b",
    } | overrides  # fmt: skip
    return OutgoingEmail(**values)


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_the_message_is_seven_bit_clean_with_short_lines() -> None:
    raw = build_mime(survey_email(), datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    assert raw.isascii()
    assert max(len(line) for line in raw.splitlines()) <= 998


def test_both_parts_round_trip_in_utf8() -> None:
    message = parsed(build_mime(survey_email(), datetime(2026, 11, 20, 9, 0, tzinfo=UTC)))
    assert message.get_body(("plain",)).get_content().splitlines() == ["Chào Lan,", "", "Cảm ơn bạn!"]
    assert "Cảm ơn bạn!" in message.get_body(("html",)).get_content()
    assert message["To"].addresses[0].display_name == "Nguyễn Thị Lan"
    assert message["Subject"] == "Yêu cầu #4521 của bạn đã được giải quyết như thế nào?"


def test_the_one_click_unsubscribe_link_is_never_folded_or_encoded() -> None:
    raw = build_mime(survey_email(), datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    assert f"List-Unsubscribe: <{UNSUBSCRIBE}>".encode() in raw
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw


def test_a_survey_email_carries_its_reply_address_when_replies_are_received() -> None:
    reply_to = "reply+h6ocw7sb3bfa7htllqosu7upsapyrzmfn4yhsbypkx@replies.acme.example"
    message = parsed(build_mime(survey_email(reply_to=reply_to), datetime(2026, 11, 20, 9, 0, tzinfo=UTC)))
    assert message["Reply-To"] == reply_to
    assert message["X-Closeloop-Survey-Id"] == "0f8e9a4c1b2d4e6f8a0b1c2d3e4f5a6b"


def test_without_a_reply_domain_replies_go_to_the_sender() -> None:
    message = parsed(build_mime(survey_email(), datetime(2026, 11, 20, 9, 0, tzinfo=UTC)))
    assert message["Reply-To"] is None


def test_automated_mail_headers_tell_auto_responders_to_stay_quiet() -> None:
    message = parsed(build_mime(survey_email(), datetime(2026, 11, 20, 9, 0, tzinfo=UTC)))
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "vi"
    assert message["Message-ID"].endswith("@acme.example>")


# --- what SES's answers mean -------------------------------------------------------------------------

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOT_VERIFIED = (
    "Email address is not verified. The following identities failed the check in region EU-WEST-1: "
)


def refused_by_ses(code: str, message: str, status: int = 400) -> Exception:
    """What ``SesMailer.send`` raises when SES answers ``code``/``message`` (a stubbed SES v2 client)."""
    client = boto3.client("sesv2", region_name="eu-west-1")
    with Stubber(client) as stubber:
        stubber.add_client_error("send_email", code, message, http_status_code=status)
        with pytest.raises((MailRejectedError, MailRetryableError)) as raised:
            SesMailer(client).send(survey_email(), NOW)
    return raised.value


@pytest.mark.parametrize(
    "listed",
    [
        "Nguyễn Thị Lan <nguyen.thi.lan@example.vn>, nguyen.thi.lan@example.vn",
        "NGUYEN.THI.LAN@EXAMPLE.VN",
        "nguyen.thi.lan@example.vn, anoth...",
        "xsupport@acme.example",  # not the sender, though it ends like it
    ],
)
def test_an_unverified_recipient_is_the_ses_sandbox_named_without_the_address(listed: str) -> None:
    error = refused_by_ses("MessageRejected", NOT_VERIFIED + listed)
    assert isinstance(error, MailRecipientUnverifiedError)
    assert "SES sandbox" in str(error)
    assert "eu-west-1" in str(error)
    assert "@" not in str(error)


def test_an_unverified_sender_is_a_refusal_naming_the_sender_parameter() -> None:
    error = refused_by_ses("MessageRejected", NOT_VERIFIED + "Acme Support <support@acme.example>")
    assert type(error) is MailRejectedError
    assert "SenderAddress" in str(error)
    assert "sandbox" not in str(error)
    assert "@" not in str(error)


def test_an_unverified_sender_in_the_sandbox_names_both_problems() -> None:
    error = refused_by_ses(
        "MessageRejected", NOT_VERIFIED + "support@acme.example, nguyen.thi.lan@example.vn"
    )
    assert type(error) is MailRejectedError
    assert "SenderAddress" in str(error)
    assert "SES sandbox" in str(error)
    assert "@" not in str(error)


def test_other_rejections_keep_the_ses_error_code_only() -> None:
    error = refused_by_ses("MessageRejected", "Illegal address nguyen.thi.lan@example.vn")
    assert isinstance(error, MailRejectedError)
    assert not isinstance(error, MailRecipientUnverifiedError)
    # what a log line shows of it (its message and arguments) holds no address
    assert (str(error), error.args) == ("MessageRejected", ("MessageRejected",))


@pytest.mark.parametrize(
    ("code", "status"), [("TooManyRequestsException", 429), ("SendingPausedException", 400), ("Oops", 503)]
)
def test_throttling_pauses_and_server_errors_can_be_retried(code: str, status: int) -> None:
    assert isinstance(refused_by_ses(code, "try later", status), MailRetryableError)


class UnreachableSes:
    """An SES client whose transport fails the way botocore reports it."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def send_email(self, **_: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        ConnectTimeoutError(endpoint_url="https://email"),
        EndpointConnectionError(endpoint_url="https://email"),
    ],
    ids=["connect-timeout", "no-connection"],
)
def test_without_a_connection_ses_never_saw_the_request_so_it_can_be_sent_later(error: Exception) -> None:
    with pytest.raises(MailRetryableError):
        SesMailer(UnreachableSes(error)).send(survey_email(), NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [ReadTimeoutError(endpoint_url="https://email"), ConnectionClosedError(endpoint_url="https://email")],
    ids=["read-timeout", "connection-dropped"],
)
def test_after_the_request_went_out_the_outcome_is_unknown(error: Exception) -> None:
    with pytest.raises(MailOutcomeUnknownError):
        SesMailer(UnreachableSes(error)).send(survey_email(), NOW)  # type: ignore[arg-type]
