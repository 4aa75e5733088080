"""What a survey email says, before wording and translation, and what rendering gives back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP

from closeloop.domain.surveys import SurveyType

# The tags closeloop puts on every survey email (SES tag values allow only [A-Za-z0-9_-]); SES copies
# them into its bounce and complaint events, which is how those are matched to a survey.
SURVEY_TAG_NAME = "closeloop"
SURVEY_TAG_VALUE = "survey"
SURVEY_ID_TAG_NAME = "survey_id"
# The header closeloop puts on every survey email: the survey's id. Mail that carries it coming in is
# closeloop's own (a loop), never a customer's reply.
SURVEY_ID_HEADER = "X-Closeloop-Survey-Id"

# The policy every closeloop email is built with. A signed link cannot be folded at 78 characters without
# being turned into RFC 2047 encoded words, which mailbox providers do not decode in List-Unsubscribe;
# 998 is RFC 5322's hard line limit.
MIME_POLICY = SMTP.clone(max_line_length=998)


def message_id_key(message_id: str) -> str:
    """What identifies a message id in closeloop's lookup: its part before the ``@``, lower-cased.

    SES replaces the ``Message-ID`` of every email it sends with ``<{SES message id}@{region}.amazonses.com>``
    (the domain depends on the region), so the id SES answered with is what is recorded at send time.
    """
    return message_id.rpartition("@")[0].lower() if "@" in message_id else message_id.lower()


def mailbox_problem(address: str, display_name: str | None = None) -> str | None:
    """Why ``display_name <address>`` cannot head an email, or None when it can.

    The check is the one the MIME builder applies (the standard library's ``email.headerregistry``
    parser, as a ``To`` header under :data:`MIME_POLICY`), so an address accepted here is never refused
    while the email is built; and SES's own rule on top: addresses are 7-bit ASCII (no SMTPUTF8 local
    part; an international domain must come Punycode-encoded, or it is mangled into encoded words). A
    looser check (the event contract's) lets through ``a,b@x``, ``<a>@x``, ``a..b@x`` or a name with a
    line break, which would otherwise fail only after the survey was claimed. The answer names the rule,
    never the address.
    """
    if not address.isascii():
        return "the address is not ASCII (SES takes no SMTPUTF8 local part, and domains in Punycode)"
    try:
        mailbox = Address(display_name=display_name or "", addr_spec=address)
        probe = EmailMessage(policy=MIME_POLICY)
        probe["To"] = mailbox
        [parsed] = probe["To"].addresses
    except (ValueError, MessageError) as error:
        # Defects are ValueErrors; their text describes the syntax rule, not the value.
        return f"not a mailbox the email headers can carry ({type(error).__name__})"
    if parsed.addr_spec != address:
        return "the address does not survive header parsing unchanged"
    return None


@dataclass(frozen=True)
class AnswerLink:
    """One answer of the survey and its signed one-click link."""

    value: int | str
    url: str


@dataclass(frozen=True)
class SurveyEmailContent:
    """Everything the survey email says, before wording and translation."""

    locale: str | None
    customer_name: str | None
    ticket_id: str
    ticket_subject: str | None
    agent_name: str | None
    brand: str
    survey_type: SurveyType
    answers: tuple[AnswerLink, ...]
    unsubscribe_url: str
    expires_at: datetime
    # The survey's one reminder: the same links, worded as a reminder.
    reminder: bool = False


@dataclass(frozen=True)
class RenderedEmail:
    """The rendered parts of one email, in the locale actually used."""

    locale: str
    subject: str
    text: str
    html: str


# Any run of whitespace but the no-break spaces (U+00A0, U+2007, U+202F), which typography puts where
# a line must not break: French before "?", ":" and after "n°".
_BREAKING_SPACES = re.compile(r"[^\S\u00a0\u2007\u202f]+")


def one_line(text: str) -> str:
    """A rendered subject as one header-safe line: every line break and run of spaces becomes one space
    (a newline in a header would be a header injection); no-break spaces are kept."""
    return _BREAKING_SPACES.sub(" ", text).strip()


def header_display_name(address: str, name: str | None) -> str | None:
    """The name as the ``To`` header of mail to ``address`` can carry it: on one line, else None.

    A line break in a helpdesk's name field is formatting, not part of the name; a name the header still
    cannot carry is left out rather than costing the customer their survey.
    """
    flat = " ".join((name or "").split()) or None
    if flat is not None and mailbox_problem(address, flat) is not None:
        return None
    return flat
