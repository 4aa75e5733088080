"""The weekly digest as an email: its figures written for the lead's language, rendered, and sent by SES.

The wording is in ``templates/alerts/digest_copy.j2`` (catalog domain ``alerts``: a lead reads the digest
as they read alerts); ``digest.txt.j2`` and ``digest.html.j2`` lay it out. The HTML's charts are tables
(a bar is a table cell with a width and a background colour): mail clients run no scripts and many load
no images. The message is raw MIME (text and HTML parts) with RFC 8058's ``List-Unsubscribe`` and
``List-Unsubscribe-Post``, so a mailbox's own unsubscribe button turns the digest off in one click.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from datetime import UTC, datetime
from email.errors import MessageError
from email.headerregistry import Address
from typing import TYPE_CHECKING, Any

from babel import Locale
from babel.dates import format_date, format_interval
from babel.numbers import format_decimal, format_percent

from closeloop.adapters.mail import build_message, one_click_unsubscribe, send_raw_email
from closeloop.adapters.rendering import EmailRenderer
from closeloop.domain.digest import (
    Digest,
    DigestEmail,
    DigestRecipient,
    GroupFigures,
    issue_unsubscribe_token,
)
from closeloop.domain.links import LinkSigner
from closeloop.domain.messages import one_line
from closeloop.domain.sending import MailRejectedError

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

SUBJECT_TEMPLATE = "alerts/digest_subject.txt.j2"
TEXT_TEMPLATE = "alerts/digest.txt.j2"
HTML_TEMPLATE = "alerts/digest.html.j2"
PAGE_TEMPLATE = "alerts/digest_unsubscribe.html.j2"
# SES tags (bounces and complaints name the message's kind; the deliverability handler ignores it).
DIGEST_TAG = {"Name": "closeloop", "Value": "digest"}
# Where each hosted helpdesk shows a ticket to an agent, under its configured base URL.
_TICKET_PATHS: Mapping[str, str] = {"zendesk": "/agent/tickets/", "freshdesk": "/a/tickets/"}
# The summary's rows, in order: (key the templates word, attribute, kind).
SUMMARY_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("surveys_sent", "surveys_sent", "count"),
    ("answers", "answers", "count"),
    ("response_rate", "response_rate", "rate"),
    ("csat", "csat", "percent"),
    ("nps", "nps", "score"),
    # The report API gives resolved_rate as a percentage, like csat; response_rate is a share (0-1).
    ("resolved_rate", "resolved_rate", "percent"),
    ("negative_answers", "negative_answers", "count"),
    ("reopens", "reopens", "count"),
)


def ticket_url(helpdesk: str | None, ticket_id: str | None, helpdesk_urls: Mapping[str, str]) -> str | None:
    """The agent's view of a ticket at its helpdesk's configured base URL; None when closeloop has no
    base URL for that helpdesk (the digest then shows the number only)."""
    base = helpdesk_urls.get((helpdesk or "").casefold())
    path = _TICKET_PATHS.get((helpdesk or "").casefold())
    if not base or not path or not ticket_id or not ticket_id.strip():
        return None
    return f"{base.rstrip('/')}{path}{urllib.parse.quote(ticket_id.strip(), safe='')}"


def _percent_of(value: float | None, kind: str) -> float | None:
    """A figure as a 0-100 share of its scale, for a bar; None when it has none."""
    if value is None:
        return None
    if kind == "rate":
        share = value * 100
    elif kind == "score":  # NPS: -100..100
        share = (value + 100) / 2
    else:
        share = value
    return max(0.0, min(100.0, share))


class DigestWriter:
    """Writes a digest's figures, dates and links for one locale (the values the templates print)."""

    def __init__(self, locale: str, helpdesk_urls: Mapping[str, str]) -> None:
        self._locale = Locale.parse(locale, sep="-")
        self._helpdesk_urls = helpdesk_urls

    def value(self, figures: GroupFigures | None, attribute: str, kind: str) -> str | None:
        raw = getattr(figures, attribute) if figures is not None else None
        if raw is None:
            return None
        if kind == "count":
            return format_decimal(raw, format="#,##0", locale=self._locale)
        if kind == "rate":
            return format_percent(raw, locale=self._locale)
        if kind == "percent":
            return format_percent(raw / 100, locale=self._locale)
        shown = _shown(raw, kind)  # NPS, -100..100: signed, and 0 without a sign
        return format_decimal(shown, format="+0;\u22120", locale=self._locale) if shown else "0"

    def change(self, now: GroupFigures | None, before: GroupFigures | None, attribute: str, kind: str) -> Any:
        """The change from the week before: ``{"text", "direction", "points"}``, or None without both."""
        current = getattr(now, attribute) if now is not None else None
        previous = getattr(before, attribute) if before is not None else None
        if current is None or previous is None:
            return None
        # The difference of the figures as shown (whole numbers), so a reader's own subtraction agrees.
        delta = _shown(current, kind) - _shown(previous, kind)
        # A typographic minus (U+2212), as a figure's sign is printed, not a hyphen.
        text = format_decimal(delta, format="+#,##0;\u2212#,##0", locale=self._locale)
        return {
            "text": "±0" if delta == 0 else text,
            "direction": "up" if delta > 0 else "down" if delta < 0 else "same",
            "points": kind in ("rate", "percent"),
            "size": abs(delta),  # chooses the plural of "points"
        }

    def row(
        self, key: str, now: GroupFigures | None, before: GroupFigures | None, attribute: str, kind: str
    ) -> Any:
        return {
            "key": key,
            "now": self.value(now, attribute, kind),
            "before": self.value(before, attribute, kind),
            "change": self.change(now, before, attribute, kind),
            "bar_now": _bar(_percent_of(getattr(now, attribute) if now else None, kind))
            if kind != "count"
            else None,
            "bar_before": _bar(_percent_of(getattr(before, attribute) if before else None, kind))
            if kind != "count"
            else None,
        }

    def date(self, moment: datetime) -> str:
        return format_date(moment.astimezone(UTC).date(), format="medium", locale=self._locale)

    def period(self, since: Any, until: Any) -> str:
        return str(format_interval(since, until, skeleton="yMMMd", locale=self._locale))

    def ticket(self, helpdesk: str | None, ticket_id: str | None) -> dict[str, Any]:
        return {
            "ref": (ticket_id or "").strip().lstrip("#") or "?",
            "url": ticket_url(helpdesk, ticket_id, self._helpdesk_urls),
        }


def _shown(value: float, kind: str) -> int:
    """A figure as the digest prints it: a whole number (of percent, for rates and percentages)."""
    return round(value * 100) if kind == "rate" else round(value)


def _bar(percent: float | None) -> int | None:
    """A bar's filled share, whole percent (a table cell's width)."""
    return None if percent is None else round(percent)


def digest_variables(
    digest: Digest, locale: str, helpdesk_urls: Mapping[str, str], unsubscribe_url: str
) -> dict[str, Any]:
    """What the digest templates receive: every figure already written for ``locale`` (a shipped tag)."""
    write = DigestWriter(locale, helpdesk_urls)
    weeks = digest.weeks
    agents = [
        {
            "name": row.agent,
            "sent": write.value(row.current, "surveys_sent", "count"),
            "answers": write.value(row.current, "answers", "count"),
            "csat": write.value(row.current, "csat", "percent"),
            "csat_before": write.value(row.previous, "csat", "percent"),
            "csat_change": write.change(row.current, row.previous, "csat", "percent"),
            "csat_bar": _bar(_percent_of(row.current.csat if row.current else None, "percent")),
            "reopens": write.value(row.current, "reopens", "count"),
            "negative": write.value(row.current, "negative_answers", "count"),
        }
        for row in digest.agents
    ]
    # Only when there is something to compare (``Digest.shows_policies``); the templates then add a section.
    policies = [
        {
            "rule": row.rule,  # None: the templates write "no rule" in the lead's language
            "policy": row.negative_answer,  # a setting's value, quoted as is (as the lead alerts do)
            "sent": write.value(row.figures, "surveys_sent", "count"),
            "answers": write.value(row.figures, "answers", "count"),
            "csat": write.value(row.figures, "csat", "percent"),
            "csat_answers": write.value(row.figures, "csat_answers", "count"),
            "csat_count": row.figures.csat_answers,  # chooses the plural of "from N scores"
            "csat_bar": _bar(_percent_of(row.figures.csat, "percent")),
            "negative": write.value(row.figures, "negative_answers", "count"),
            "reopens": write.value(row.figures, "reopens", "count"),
        }
        for row in (digest.policies if digest.shows_policies else ())
    ]
    return {
        "team": digest.recipient.team,
        "period": write.period(weeks.current.since, weeks.current.until),
        "previous_period": write.period(weeks.previous.since, weeks.previous.until),
        # A figure neither week has (NPS where surveys ask CSAT) is left out.
        "summary": [
            row
            for key, attribute, kind in SUMMARY_FIGURES
            if (row := write.row(key, digest.current, digest.previous, attribute, kind))["now"] is not None
            or row["before"] is not None
        ],
        "agents": agents,
        "policies": policies,
        "reopened": [
            write.ticket(ticket.helpdesk, ticket.helpdesk_ticket_id or ticket.ticket_id)
            | {"agent": ticket.agent, "date": write.date(ticket.reopened_at)}
            for ticket in digest.reopened
        ],
        "negative": [
            write.ticket(answer.helpdesk, answer.ticket_id)
            | {
                "agent": answer.agent,
                "date": write.date(answer.received_at),
                "score": answer.score,
                "resolved": answer.resolved,
                "reasons": list(answer.reasons),
            }
            for answer in digest.negative
        ],
        "unsubscribe_url": unsubscribe_url,
    }


class DigestEmailComposer:
    """``closeloop.domain.digest.DigestComposer``: the digest in the lead's language, with its links."""

    def __init__(
        self,
        renderer: EmailRenderer,
        signer: LinkSigner,
        public_base_url: str,
        helpdesk_urls: Mapping[str, str],
    ) -> None:
        self._renderer = renderer
        self._signer = signer
        self._base = public_base_url.rstrip("/")
        self._helpdesk_urls = helpdesk_urls

    def unsubscribe_url(self, recipient: DigestRecipient, now: datetime) -> str:
        return f"{self._base}/d/{issue_unsubscribe_token(self._signer, recipient, now)}"

    def compose(self, digest: Digest, now: datetime) -> DigestEmail:
        locale = self._renderer.resolve_locale(digest.recipient.locale)
        unsubscribe_url = self.unsubscribe_url(digest.recipient, now)
        variables = digest_variables(digest, locale, self._helpdesk_urls, unsubscribe_url)
        render = self._renderer.render_template
        return DigestEmail(
            recipient=digest.recipient,
            subject=one_line(render(SUBJECT_TEMPLATE, locale, variables)),
            text=render(TEXT_TEMPLATE, locale, variables),
            html=render(HTML_TEMPLATE, locale, variables),
            locale=locale,
            unsubscribe_url=unsubscribe_url,
        )


class SesDigestMailer:
    """``closeloop.domain.digest.DigestMailer`` on SES v2 (raw MIME; one attempt, see ``wiring``)."""

    def __init__(
        self, client: SESV2Client, sender_address: str, sender_name: str, configuration_set: str | None = None
    ) -> None:
        self._client = client
        self._sender = Address(display_name=sender_name, addr_spec=sender_address)
        self._sender_address = sender_address
        self._configuration_set = configuration_set

    def send_digest(self, email: DigestEmail, now: datetime) -> str:
        try:
            raw = build_message(
                sender=self._sender,
                recipient=Address(addr_spec=email.recipient.email),
                subject=email.subject,
                text=email.text,
                html=email.html,
                locale=email.locale,
                now=now,
                headers=one_click_unsubscribe(email.unsubscribe_url),
            )
        except (ValueError, MessageError) as error:
            raise MailRejectedError(f"the message could not be built: {type(error).__name__}") from error
        return send_raw_email(
            self._client,
            raw,
            sender_address=self._sender_address,
            recipient_address=email.recipient.email,
            tags=[DIGEST_TAG],
            configuration_set=self._configuration_set,
        )


class DigestUnsubscribePages:
    """``closeloop.domain.digest.DigestPages``: the unsubscribe page in the lead's language."""

    def __init__(self, renderer: EmailRenderer) -> None:
        self._renderer = renderer

    def digest_unsubscribe_page(self, state: str, locale: str | None) -> str:
        return self._renderer.render_template(PAGE_TEMPLATE, locale, {"state": state})
