"""The survey email as bytes: what any mail client and any relay between SES and the inbox receive."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

from closeloop.adapters.mail import build_mime
from closeloop.domain.sending import OutgoingEmail

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


def test_automated_mail_headers_tell_auto_responders_to_stay_quiet() -> None:
    message = parsed(build_mime(survey_email(), datetime(2026, 11, 20, 9, 0, tzinfo=UTC)))
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "vi"
    assert message["Message-ID"].endswith("@acme.example>")
