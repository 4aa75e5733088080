"""The sandbox's outbox writes each sent message as its recipient gets it from SES."""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from closeloop_cli.outbox import OutboxWriter, message_files


@dataclass
class SentMessage:
    """What moto's SES keeps of a raw send."""

    id: str
    raw_data: str


def sent(raw: str) -> SentMessage:
    return SentMessage(id="0102019abc-def", raw_data=raw)


def test_the_message_carries_the_message_id_ses_gives_it_in_place_of_the_senders() -> None:
    # GIVEN a message sent with its own, folded, Message-ID
    raw = (
        "From: support@acme.example\r\nMessage-ID:\r\n <own-id@acme.example>\r\nSubject: How did we do?\r\n"
        "\r\nMessage-ID: in the body stays\r\n"
    )

    # WHEN the outbox writes it for region eu-west-1
    written, _, text = message_files(sent(raw), "eu-west-1")

    # THEN it has exactly SES's Message-ID, and the rest is untouched
    message = email.message_from_bytes(written, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message.get_all("Message-ID") == ["<0102019abc-def@eu-west-1.amazonses.com>"]
    assert message["Subject"] == "How did we do?"
    assert text is not None
    assert text.strip() == "Message-ID: in the body stays"
    assert written.endswith(b"Subject: How did we do?\r\n\r\nMessage-ID: in the body stays\r\n")


def test_without_a_region_the_message_is_written_as_sent() -> None:
    raw = "From: support@acme.example\r\nMessage-ID: <own-id@acme.example>\r\n\r\nhello\r\n"

    written, _, _ = message_files(sent(raw))

    assert written == raw.encode()


def test_a_message_appears_in_the_outbox_whole_never_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = OutboxWriter(
        folder=tmp_path, account_id="123456789012", region="eu-west-1", stop=threading.Event()
    )
    raw = "From: support@acme.example\r\nTo: ada@example.org\r\nSubject: Hi\r\n\r\nhello\r\n"
    # what a reader polling "*.eml" could see while each file is being written
    seen_while_writing: list[list[str]] = []
    write_bytes = Path.write_bytes

    def watched(path: Path, data: bytes) -> int:
        written = write_bytes(path, data)
        seen_while_writing.append(sorted(found.name for found in tmp_path.glob("*.eml")))
        return written

    monkeypatch.setattr(Path, "write_bytes", watched)

    eml = writer._write(sent(raw))

    # the message is written under a name the glob skips, and only renamed once whole
    assert seen_while_writing == [[]]
    assert sorted(path.name for path in tmp_path.iterdir()) == [eml.name, eml.with_suffix(".txt").name]
    assert email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)["To"] == "ada@example.org"
