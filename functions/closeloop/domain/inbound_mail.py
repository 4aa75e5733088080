"""An inbound email as closeloop reads it: bounded, parsed, its text decoded, automatic mail recognised.

The raw RFC 5322 message (as SES's receipt rule stores it) is parsed with the standard library's ``email``
package (``policy.default``): multipart bodies, quoted-printable and base64 transfer encodings, any
charset Python knows (an unknown or mislabelled one is read as UTF-8 with replacement characters, and
ISO-8859-1 as Windows-1252, as browsers do). The body's text is its first ``text/plain`` part, or its
``text/html`` part turned into text (quoted blocks marked with ``>`` as a mail client would).

Automatic mail is recognised from its headers first (RFC 3834 ``Auto-Submitted``, ``X-Autoreply``,
``X-Autorespond``, ``Precedence``, delivery status reports, a null ``Return-Path``, mailer daemons, and
closeloop's own mail coming back), then from out-of-office subjects and opening lines in every shipped
language. ``X-Auto-Response-Suppress`` alone is no sign: Outlook adds it to ordinary mail too.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import getaddresses
from enum import StrEnum
from html.parser import HTMLParser

from closeloop.domain.messages import message_id_key as message_id_key  # re-exported

# The largest message read (SES accepts up to 40 MB; a reply to a survey is a few kilobytes): a larger one
# is refused before it is parsed, with that reason.
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
# How much of the body's text is searched for the new text, and how many message ids of In-Reply-To /
# References are tried against the surveys (newest first), and how many parts of a message are looked at.
MAX_BODY_CHARS = 100_000
MAX_REFERENCES = 10
MAX_PARTS = 100
MAX_RECIPIENTS = 50
MAX_SUBJECT_CHARS = 300

# Headers that name where a message was delivered: the reply address may be in any of them (Bcc'd or
# forwarded replies keep it only in Delivered-To / X-Original-To).
RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to")


class UnreadableMessageError(Exception):
    """The bytes are not a message the standard library can read; the text names the rule, not the content."""


class AutomaticReason(StrEnum):
    """Why an inbound message is taken for automatic mail (each is counted under its value)."""

    AUTO_SUBMITTED = "auto_submitted"
    X_AUTOREPLY = "x_autoreply"
    X_AUTORESPOND = "x_autorespond"
    PRECEDENCE = "precedence"
    DELIVERY_STATUS = "delivery_status"
    NULL_RETURN_PATH = "null_return_path"
    MAILER_DAEMON = "mailer_daemon"
    LOOP = "loop"
    OUT_OF_OFFICE_SUBJECT = "out_of_office_subject"
    OUT_OF_OFFICE_BODY = "out_of_office_body"


@dataclass(frozen=True)
class OwnMail:
    """What marks mail closeloop itself sent: its sender address, its reply domain, its survey header."""

    sender_address: str
    reply_domain: str
    survey_header: str


@dataclass(frozen=True)
class InboundMail:
    """What closeloop reads of one inbound message."""

    recipients: tuple[str, ...]  # addresses of To, Cc, Delivered-To and X-Original-To
    references: tuple[str, ...]  # message ids of In-Reply-To, then References newest first
    subject: str
    text: str  # the body as plain text, at most MAX_BODY_CHARS
    automatic: AutomaticReason | None


# ---- reading ----------------------------------------------------------------------------------------


def read_message(raw: bytes, own: OwnMail) -> InboundMail:
    """The message in ``raw``; raises ``UnreadableMessageError`` (too large, or not a message at all)."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise UnreadableMessageError(f"the message is over {MAX_MESSAGE_BYTES} bytes")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        if not isinstance(message, EmailMessage):  # pragma: no cover (policy.default always gives one)
            raise UnreadableMessageError("the parser gave no EmailMessage")
        text = body_text(message)
        recipients = _recipients(message)
        references = _references(message)
        subject = " ".join(_header(message, "subject").split())[:MAX_SUBJECT_CHARS]
        automatic = automatic_reason(message, subject, text, own)
    except UnreadableMessageError:
        raise
    except (ValueError, TypeError, LookupError, AttributeError, IndexError, RecursionError) as error:
        # The standard library's parsers signal malformed input with these; the type names the rule.
        raise UnreadableMessageError(f"the message cannot be parsed ({type(error).__name__})") from error
    return InboundMail(recipients, references, subject, text, automatic)


def _header(message: Message, name: str) -> str:
    """A header's text (decoded), empty when absent or unreadable."""
    value = message.get(name)
    if value is None:
        return ""
    try:
        return str(value)
    except (ValueError, TypeError, LookupError):
        return ""


def _recipients(message: Message) -> tuple[str, ...]:
    found: list[str] = []
    for name in RECIPIENT_HEADERS:
        values = [str(value) for value in (message.get_all(name) or ())]
        found.extend(address for _, address in getaddresses(values) if "@" in address)
    return tuple(dict.fromkeys(found))[:MAX_RECIPIENTS]


_MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")


def _references(message: Message) -> tuple[str, ...]:
    """Message ids the reply answers: In-Reply-To first, then References from the newest (last) one."""
    in_reply_to = _MESSAGE_ID.findall(_header(message, "in-reply-to"))
    references = list(reversed(_MESSAGE_ID.findall(_header(message, "references"))))
    return tuple(dict.fromkeys(in_reply_to + references))[:MAX_REFERENCES]


# ---- the body's text --------------------------------------------------------------------------------


def body_text(message: EmailMessage) -> str:
    """The text of the message body: its first inline ``text/plain`` part, else its ``text/html`` as text."""
    plain: str | None = None
    html: str | None = None
    for part in _parts(message):
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain" and plain is None:
            plain = _decoded(part)
        elif content_type == "text/html" and html is None:
            html = _decoded(part)
        if plain is not None:
            break
    if plain is not None and plain.strip():
        return plain[:MAX_BODY_CHARS]
    if html is not None:
        return html_to_text(html[: MAX_BODY_CHARS * 4])[:MAX_BODY_CHARS]
    return ""


def _parts(message: Message) -> Iterator[Message]:
    """The message's parts in order, without walking into attached messages, at most ``MAX_PARTS``."""
    stack = [message]
    seen = 0
    while stack and seen < MAX_PARTS:
        part = stack.pop()
        seen += 1
        yield part
        if part.is_multipart() and part.get_content_maintype() == "multipart":
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(part for part in reversed(payload) if isinstance(part, Message))


def _decoded(part: Message) -> str:
    """A text part's content: transfer encoding undone, then its charset decoded (best effort)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = (part.get_content_charset() or "us-ascii").strip().lower()
    try:
        codec = codecs.lookup(charset).name
    except LookupError:
        codec = "utf-8"
    # Mail labelled ISO-8859-1 is very often Windows-1252 (curly quotes, the euro sign), as WHATWG says.
    if codec in ("latin-1", "iso8859-1", "ascii"):
        codec = "cp1252" if codec != "ascii" else "utf-8"
    return payload.decode(codec, errors="replace")


_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre"}
)
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title"})


class _HtmlText(HTMLParser):
    """HTML as the text a mail client shows: blocks on their own lines, blockquotes marked with ``>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._quote_depth = 0
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag == "blockquote":
            self._break()
            self._quote_depth += 1
        elif tag in _BLOCK_TAGS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "blockquote":
            self._break()
            self._quote_depth = max(0, self._quote_depth - 1)
        elif tag in _BLOCK_TAGS:
            self._break()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self._break()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._current.append(data)

    def _break(self) -> None:
        text = " ".join("".join(self._current).split())
        self._current = []
        if text:
            self.lines.append("> " * self._quote_depth + text)
        elif self.lines and self.lines[-1]:
            self.lines.append("")

    def text(self) -> str:
        self._break()
        return "\n".join(self.lines).strip()


def html_to_text(html: str) -> str:
    """The text of an HTML body (scripts and styles dropped, entities decoded)."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return parser.text()


# ---- automatic mail ---------------------------------------------------------------------------------

_PRECEDENCE_AUTOMATIC = frozenset({"bulk", "auto_reply", "list", "junk"})
_DAEMONS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})

# Out-of-office subjects in the shipped languages (en it vi ca hr es fr de pt), matched anywhere in the
# subject, case-insensitively; Outlook and Gmail prefix them to the original subject.
OUT_OF_OFFICE_SUBJECTS = (
    # en
    r"automatic reply",
    r"auto[- ]?reply",
    r"auto[- ]?response",
    r"out of (?:the )?office",
    r"away from (?:the )?office",
    r"vacation reply",
    # it
    r"risposta automatica",
    r"fuori (?:sede|ufficio)",
    r"assente dall'ufficio",
    # vi
    r"trả lời tự động",
    r"vắng mặt",
    # ca
    r"resposta automàtica",
    r"fora de l['\u2019]oficina",
    # hr
    r"automatski odgovor",
    r"izvan ureda",
    r"odsutnost",
    # es
    r"respuesta automática",
    r"fuera de (?:la )?oficina",
    # fr
    r"réponse automatique",
    r"absence du bureau",
    r"absent du bureau",
    r"message d['\u2019]absence",
    # de
    r"automatische antwort",
    r"abwesenheitsnotiz",
    r"abwesenheit",
    # pt
    r"resposta automática",
    r"fora do escritório",
    r"ausente do escritório",
    r"ausência temporária",
)

# Out-of-office openings: looked for in the first OUT_OF_OFFICE_BODY_CHARS characters of the body only,
# where an auto-reply says it, so a customer who mentions a holiday further down is still heard.
OUT_OF_OFFICE_BODY_CHARS = 300
OUT_OF_OFFICE_BODIES = (
    # en
    r"i(?: am|'m|\u2019m) (?:currently )?"
    r"(?:out of (?:the )?office|away from (?:the|my) (?:office|desk)|on (?:vacation|holiday|leave))",
    r"i will be (?:out of (?:the )?office|away|on (?:vacation|holiday|leave))",
    r"thank you for your (?:e-?mail|message)\. i am (?:currently )?(?:away|out)",
    # it
    r"sono (?:attualmente )?(?:fuori (?:sede|ufficio)|in ferie|assente)",
    r"sarò (?:fuori (?:sede|ufficio)|assente|in ferie)",
    # vi
    r"tôi (?:hiện )?(?:đang )?(?:đi vắng|nghỉ phép|không có mặt (?:tại|ở) văn phòng)",
    # ca
    r"(?:sóc|estic|estaré|seré) (?:fora de l['\u2019]oficina|de vacances|absent)",
    # hr
    r"(?:trenutno )?sam (?:izvan ureda|odsutan|odsutna|na godišnjem odmoru)",
    r"bit ću (?:izvan ureda|odsutan|odsutna)",
    # es
    r"(?:estoy|estaré) (?:fuera de (?:la )?oficina|de vacaciones|ausente)",
    # fr
    r"je (?:suis|serai) (?:actuellement )?(?:absent|absente|en congés?|en vacances|hors du bureau)",
    # de
    r"ich bin (?:derzeit |zurzeit |bis .{1,40} )?(?:nicht im büro|abwesend|im urlaub|außer haus)",
    r"(?:bin|befinde) ich (?:mich )?(?:nicht im büro|im urlaub|außer haus)",
    # pt
    r"(?:estou|estarei) (?:fora do escritório|de férias|ausente)",
)
_OOO_SUBJECT = re.compile("|".join(OUT_OF_OFFICE_SUBJECTS), re.IGNORECASE)
_OOO_BODY = re.compile("|".join(OUT_OF_OFFICE_BODIES), re.IGNORECASE)


def automatic_reason(message: Message, subject: str, text: str, own: OwnMail) -> AutomaticReason | None:
    """Why the message is automatic mail, or None when a person wrote it. The most specific sign is named
    (a bounce also carries ``Auto-Submitted``; closeloop's own survey email too)."""
    content_type = message.get_content_type()
    report_type = str(message.get_param("report-type", "", header="content-type") or "").lower()
    if content_type == "message/delivery-status" or (
        content_type == "multipart/report" and report_type in ("delivery-status", "disposition-notification")
    ):
        return AutomaticReason.DELIVERY_STATUS
    senders = [address.lower() for _, address in getaddresses([_header(message, "from")])]
    if _is_own_mail(message, senders, own):
        return AutomaticReason.LOOP
    auto_submitted = _header(message, "auto-submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return AutomaticReason.AUTO_SUBMITTED
    if message.get("x-autoreply") is not None:
        return AutomaticReason.X_AUTOREPLY
    if message.get("x-autorespond") is not None:
        return AutomaticReason.X_AUTORESPOND
    if _header(message, "precedence").strip().lower() in _PRECEDENCE_AUTOMATIC:
        return AutomaticReason.PRECEDENCE
    if _header(message, "return-path").strip() == "<>":
        return AutomaticReason.NULL_RETURN_PATH
    if any(address.partition("@")[0] in _DAEMONS for address in senders):
        return AutomaticReason.MAILER_DAEMON
    if _OOO_SUBJECT.search(subject):
        return AutomaticReason.OUT_OF_OFFICE_SUBJECT
    if _OOO_BODY.search(" ".join(text[: OUT_OF_OFFICE_BODY_CHARS * 2].split())[:OUT_OF_OFFICE_BODY_CHARS]):
        return AutomaticReason.OUT_OF_OFFICE_BODY
    return None


def _is_own_mail(message: Message, senders: list[str], own: OwnMail) -> bool:
    """closeloop's own mail coming back: its survey header, its sender, or a message id at its reply
    domain."""
    if own.survey_header and message.get(own.survey_header) is not None:
        return True
    if own.sender_address and own.sender_address.lower() in senders:
        return True
    message_id = _header(message, "message-id").strip().lower().rstrip(">")
    return bool(own.reply_domain) and message_id.endswith("@" + own.reply_domain.lower())
