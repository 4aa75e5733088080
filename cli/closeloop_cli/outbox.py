"""The outbox: every email moto's SES accepted, written to a folder as ``.eml``, ``.html`` and ``.txt``.

moto keeps what SES "sent" in the ses backend's ``sent_messages`` (SES v2 ``SendEmail`` with
``Content.Raw`` and v1 ``SendRawEmail`` are stored as raw MIME; ``Content.Simple`` as subject and body).
The writer reads that list in moto's own process: the sandbox runs it inside its AWS emulator
(``closeloop_cli.aws_emulator`` says why). The same messages stay readable at the moto server's
``/moto-api/data.json``.
"""

from __future__ import annotations

import email
import logging
import re
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def message_files(message: Any, region: str | None = None) -> tuple[bytes, str | None, str | None]:
    """The raw MIME of one moto sent message, and its HTML and text parts (when it has them).

    With ``region``, the message carries the ``Message-ID`` SES gives what it delivers,
    ``<{message id}@{region}.amazonses.com>`` (SES replaces the sender's): a reply to it quotes that id in
    ``In-Reply-To`` and ``References``, as a reply to a real survey email does.
    """
    raw_data = getattr(message, "raw_data", None)
    if raw_data is not None:
        raw = raw_data.encode() if isinstance(raw_data, str) else bytes(raw_data)
    else:
        built = EmailMessage()
        built["From"] = str(getattr(message, "source", ""))
        destinations = getattr(message, "destinations", {}) or {}
        if isinstance(destinations, dict):
            built["To"] = ", ".join(destinations.get("ToAddresses", []))
        built["Subject"] = str(getattr(message, "subject", ""))
        body = str(getattr(message, "body", ""))
        built.set_content(body, subtype="html" if re.search(r"<\w+[^>]*>", body) else "plain")
        raw = built.as_bytes()
    identifier = getattr(message, "id", None)
    if region and identifier:
        raw = _with_message_id(raw, f"<{identifier}@{region}.amazonses.com>")
    parsed = email.message_from_bytes(raw, policy=default_policy)
    return raw, _part(parsed, "html"), _part(parsed, "plain")


def _with_message_id(raw: bytes, message_id: str) -> bytes:
    """``raw`` with ``message_id`` as its only Message-ID; the rest of the bytes untouched."""
    newline = b"\r\n" if b"\r\n" in raw[:1000] else b"\n"
    head, separator, body = raw.partition(newline * 2)
    kept: list[bytes] = []
    dropping = False
    for line in head.split(newline):
        if line[:1] in (b" ", b"\t"):  # a folded continuation of the header above
            if not dropping:
                kept.append(line)
            continue
        dropping = line.lower().startswith(b"message-id:")
        if not dropping:
            kept.append(line)
    return newline.join([b"Message-ID: " + message_id.encode("ascii"), *kept]) + separator + body


def _part(message: Any, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    content: str = part.get_content()
    return content


class OutboxWriter(threading.Thread):
    """Polls the SES backend of moto in this process and writes each new message once."""

    def __init__(
        self,
        *,
        folder: Path,
        account_id: str,
        region: str,
        stop: threading.Event,
        interval_seconds: float = 0.5,
    ) -> None:
        super().__init__(name="outbox", daemon=True)
        self.folder = folder
        self.account_id = account_id
        self.region = region
        self.stop_event = stop
        self.interval = interval_seconds
        self._written = 0

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            try:
                self.flush()
            except Exception:
                logger.exception("writing the outbox failed")
        self.flush()

    def flush(self) -> list[Path]:
        """Write the messages sent since the last call; returns the ``.eml`` paths written."""
        from moto.backends import get_backend

        backend = get_backend("ses")[self.account_id][self.region]
        sent = list(backend.sent_messages)
        written: list[Path] = []
        for message in sent[self._written :]:
            written.append(self._write(message))
        self._written = len(sent)
        return written

    def _write(self, message: Any) -> Path:
        raw, html, text = message_files(message, self.region)
        identifier = str(getattr(message, "id", "message"))
        stem = (
            f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{re.sub(r'[^A-Za-z0-9_.-]', '_', identifier)}"
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        eml = self.folder / f"{stem}.eml"
        # written whole, then renamed: a reader polling the folder (a test, a user's mail viewer) never
        # opens a half-written message
        partial = self.folder / f".{stem}.eml.part"
        partial.write_bytes(raw)
        partial.replace(eml)
        if html is not None:
            (self.folder / f"{stem}.html").write_text(html, encoding="utf-8")
        if text is not None:
            (self.folder / f"{stem}.txt").write_text(text, encoding="utf-8")
        logger.info("mail sent: %s", eml)
        return eml
