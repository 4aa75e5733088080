"""The weekly digest each lead reads: who is due, which weeks it compares, what it says, and sending it once.

Every hour the digest function asks which leads are due: those whose local clock (their ``--timezone``,
else ``DefaultTimezone``) is in the hour that starts at ``DigestSchedule`` (``MON 08:00``). Local, so
daylight saving time moves the UTC hour with it; in the hour a clock goes back, a lead's 01:30 happens
twice, and the claim below keeps it to one digest.

A digest compares the previous seven local days (Monday to Sunday for a Monday schedule) with the seven
before, from the report API (``closeloop.domain.reports``, read from the event archive): the team's
figures, one row per agent, one row per policy (the rule that planned the surveys and what a negative
answer does) when the team has more than the plain default, the reopened tickets and the negative
answers. A team lead reads their team's; the default lead (``LeadAlertAddress``) reads every team's.

Once per lead and week: a conditional claim item (``DIGEST#<lead>`` / ``WEEK#<ISO week>``) is written
before SES is called. A run that finds it claimed sends nothing; a send SES certainly did not take gives
the claim back, so the next run (the scheduler's retry, the next hour) sends it; a send whose outcome is
unknown keeps the claim: a lead may miss one digest, never read two.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from closeloop.domain.answers import (
    FormTooLargeError,
    MalformedRequestError,
    form_fields,
    is_one_click_unsubscribe,
)
from closeloop.domain.leads import Lead, TeamLead, is_time_zone
from closeloop.domain.links import InvalidLinkError, LinkPurpose, LinkSigner
from closeloop.domain.page_requests import Page
from closeloop.domain.sending import MailOutcomeUnknownError, MailRejectedError, MailRetryableError

# The default lead (LeadAlertAddress) has no team; no team key can be this (team keys are trimmed, and
# "@default" is no helpdesk's team id or name).
DEFAULT_LEAD_KEY = "@default"
# How long an unsubscribe link in a digest keeps working.
UNSUBSCRIBE_VALIDITY = timedelta(days=400)
# The negative answers a digest lists (the worst first); the rest are counted in the figures.
MAX_NEGATIVE_ANSWERS = 10
MAX_REOPENED_TICKETS = 25
# What a negative answer does when no setting says otherwise (``NegativeAnswerPolicy``'s default).
DEFAULT_NEGATIVE_ANSWER_POLICY = "reopen"
# A digest's token is about 150 characters (a team key of up to 128 inside); longer is no token of ours.
MAX_TOKEN_CHARS = 512
# How long a week's claim is kept: past any retry of that week's run.
CLAIM_RETENTION = timedelta(days=60)

_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_SCHEDULE = re.compile(r"^(MON|TUE|WED|THU|FRI|SAT|SUN) ([01]\d|2[0-3]):([0-5]\d)$")
# The function runs every hour: a lead is due in the hour that starts at their scheduled local time.
_WINDOW = timedelta(hours=1)


class InvalidDigestScheduleError(ValueError):
    """``DigestSchedule`` is neither ``off`` nor a weekday and a time such as ``MON 08:00``."""


@dataclass(frozen=True)
class DigestSchedule:
    """When the digest goes out, in each lead's own time zone: a weekday (0 = Monday) and a time."""

    weekday: int
    at: time

    @classmethod
    def parse(cls, text: str) -> DigestSchedule | None:
        """``MON 08:00`` (any weekday, 24-hour time), or None for ``off``."""
        value = text.strip().upper()
        if value == "OFF":
            return None
        found = _SCHEDULE.match(value)
        if found is None:
            raise InvalidDigestScheduleError(
                f"{text[:40]!r} is not a digest schedule: off, or a weekday and a time such as MON 08:00"
            )
        return cls(_WEEKDAYS.index(found[1]), time(int(found[2]), int(found[3])))

    def is_due(self, zone: ZoneInfo, now: datetime) -> bool:
        """Whether ``now`` (aware) falls in the hour that starts at the scheduled weekday and time there."""
        local = now.astimezone(zone).replace(tzinfo=None)
        start = datetime.combine(local.date(), self.at)
        if local < start:
            start -= timedelta(days=1)  # a 23:30 schedule is still due at 00:10 the next day
        return start.weekday() == self.weekday and local - start < _WINDOW


@dataclass(frozen=True)
class DigestPeriod:
    """Days, both inclusive: what the report API calls a ``ReportPeriod``."""

    since: date
    until: date

    def days(self) -> list[date]:
        return [self.since + timedelta(days=n) for n in range((self.until - self.since).days + 1)]


@dataclass(frozen=True)
class DigestWeeks:
    """The week a digest reports (``current``), the week it compares with, and its ISO week label."""

    current: DigestPeriod
    previous: DigestPeriod

    @property
    def label(self) -> str:
        year, week, _ = self.current.since.isocalendar()
        return f"{year}-W{week:02d}"


def digest_weeks(local_day: date) -> DigestWeeks:
    """The seven days before ``local_day`` (the day the digest goes out), and the seven before those."""
    until = local_day - timedelta(days=1)
    current = DigestPeriod(until - timedelta(days=6), until)
    previous = DigestPeriod(current.since - timedelta(days=7), current.since - timedelta(days=1))
    return DigestWeeks(current, previous)


@dataclass(frozen=True)
class DigestRecipient:
    """A lead who reads a digest: a team's lead (``team`` set) or the default lead (every team)."""

    key: str
    email: str
    locale: str
    timezone: str
    team: str | None = None

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def digest_recipients(
    leads: Sequence[TeamLead],
    default: Lead | None,
    *,
    default_locale: str,
    default_timezone: str,
    unsubscribed: frozenset[str] = frozenset(),
) -> list[DigestRecipient]:
    """Every lead who gets a digest: each team's lead, then the default lead, minus those who unsubscribed.

    A stored time zone this Python no longer knows falls back to ``default_timezone`` (itself UTC when
    unusable): a digest an hour off is better than none.
    """
    fallback = default_timezone if is_time_zone(default_timezone) else "UTC"
    found = [
        DigestRecipient(
            key=lead.key,
            email=lead.email,
            locale=lead.locale or default_locale,
            timezone=lead.timezone if lead.timezone and is_time_zone(lead.timezone) else fallback,
            team=lead.team,
        )
        for lead in leads
    ]
    if default is not None:
        found.append(DigestRecipient(DEFAULT_LEAD_KEY, default.email, default.locale, fallback))
    return [recipient for recipient in found if recipient.key not in unsubscribed]


def due_recipients(
    recipients: Sequence[DigestRecipient], schedule: DigestSchedule, now: datetime
) -> list[DigestRecipient]:
    """The recipients whose local time at ``now`` is their digest's hour."""
    return [recipient for recipient in recipients if schedule.is_due(recipient.zone(), now)]


# ---- what the report API gives (closeloop.domain.reports), as far as the digest reads it --------------


class GroupFigures(Protocol):
    """One group's figures (``closeloop.domain.reports.Figures``): the fields a digest shows."""

    @property
    def group(self) -> Mapping[str, str | None]: ...
    @property
    def surveys_sent(self) -> int: ...
    @property
    def answers(self) -> int: ...
    @property
    def response_rate(self) -> float | None: ...
    @property
    def csat(self) -> float | None: ...
    @property
    def csat_answers(self) -> int: ...
    @property
    def nps(self) -> float | None: ...
    @property
    def nps_answers(self) -> int: ...
    @property
    def resolved_rate(self) -> float | None: ...
    @property
    def negative_answers(self) -> int: ...
    @property
    def reopens(self) -> int: ...


class ReopenedTicketRecord(Protocol):
    """``closeloop.domain.reports.ReopenedTicket``."""

    @property
    def helpdesk(self) -> str | None: ...
    @property
    def ticket_id(self) -> str | None: ...
    @property
    def helpdesk_ticket_id(self) -> str | None: ...
    @property
    def agent(self) -> str | None: ...
    @property
    def reopened_at(self) -> datetime: ...


class NegativeAnswerRecord(Protocol):
    """``closeloop.domain.reports.NegativeAnswer``."""

    @property
    def helpdesk(self) -> str | None: ...
    @property
    def ticket_id(self) -> str | None: ...
    @property
    def score(self) -> int | None: ...
    @property
    def resolved(self) -> bool | None: ...
    @property
    def reasons(self) -> Sequence[str]: ...
    @property
    def agent(self) -> str | None: ...
    @property
    def received_at(self) -> datetime: ...


class TeamReports(Protocol):
    """The report API over the archive (``closeloop.adapters.archive_reader.ArchiveReport``)."""

    def figures(
        self, period: DigestPeriod, by: Sequence[str] = (), where: Mapping[str, str] | None = None
    ) -> Sequence[GroupFigures]: ...
    def negative_answers(
        self, period: DigestPeriod, where: Mapping[str, str] | None = None, limit: int = 50
    ) -> Sequence[NegativeAnswerRecord]: ...
    def reopened(
        self, period: DigestPeriod, where: Mapping[str, str] | None = None
    ) -> Sequence[ReopenedTicketRecord]: ...


class ReportSource(Protocol):
    def reports_for(self, days: Sequence[date]) -> TeamReports:
        """The report API over the archive's files of these days (downloaded once per run)."""
        ...


# ---- the digest's content ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentRow:
    """One agent's figures this week and the week before (None: no survey sent that week)."""

    agent: str
    current: GroupFigures | None
    previous: GroupFigures | None


@dataclass(frozen=True)
class PolicyRow:
    """The week's surveys planned by one rule of the rules document (None: no rule matched) under one
    negative-answer policy (``reopen`` | ``alert`` | ``note``; None for surveys archived without it)."""

    rule: str | None
    negative_answer: str | None
    figures: GroupFigures

    @property
    def is_plain_default(self) -> bool:
        """No rule, and negative answers reopen the ticket: what a team without policies has."""
        return self.rule is None and self.negative_answer in (None, DEFAULT_NEGATIVE_ANSWER_POLICY)


@dataclass(frozen=True)
class Digest:
    """What one lead's digest says, before wording and translation."""

    recipient: DigestRecipient
    weeks: DigestWeeks
    current: GroupFigures | None
    previous: GroupFigures | None
    agents: tuple[AgentRow, ...]
    reopened: tuple[ReopenedTicketRecord, ...]
    negative: tuple[NegativeAnswerRecord, ...]
    policies: tuple[PolicyRow, ...] = ()

    @property
    def shows_policies(self) -> bool:
        """Whether the "by policy" section is shown: more than one policy applied this week, or one that
        is not the plain default, so a lead can compare; a team with no policies sees no such section."""
        return len(self.policies) > 1 or any(not row.is_plain_default for row in self.policies)

    @property
    def is_empty(self) -> bool:
        """Nothing happened in either week: no survey sent, nothing reopened."""
        return not any(
            figures is not None and figures.surveys_sent for figures in (self.current, self.previous)
        ) and not (self.reopened or self.negative)


def build_digest(recipient: DigestRecipient, weeks: DigestWeeks, reports: TeamReports) -> Digest:
    """A lead's digest from the report API: their team's (or, for the default lead, every team's)."""
    where = {"team": recipient.team} if recipient.team is not None else None
    current = _only(reports.figures(weeks.current, (), where))
    previous = _only(reports.figures(weeks.previous, (), where))
    by_agent_now = {_agent(row): row for row in reports.figures(weeks.current, ("agent",), where)}
    by_agent_before = {_agent(row): row for row in reports.figures(weeks.previous, ("agent",), where)}
    # Agents of this week first, by surveys sent; agents only seen the week before follow, by name.
    ordered = sorted(by_agent_now, key=lambda name: (-by_agent_now[name].surveys_sent, name.casefold()))
    ordered += sorted(set(by_agent_before) - set(by_agent_now), key=str.casefold)
    agents = tuple(AgentRow(name, by_agent_now.get(name), by_agent_before.get(name)) for name in ordered)
    policies = tuple(
        sorted(
            (
                PolicyRow(_value(row, "rule"), _value(row, "negative_answer"), row)
                for row in reports.figures(weeks.current, ("rule", "negative_answer"), where)
                if row.surveys_sent
            ),
            # The most surveys first; then by rule (no rule last) and policy, so the order is stable.
            key=lambda row: (
                -row.figures.surveys_sent,
                row.rule is None,
                (row.rule or "").casefold(),
                row.negative_answer or "",
            ),
        )
    )
    reopened = sorted(reports.reopened(weeks.current, where), key=lambda ticket: ticket.reopened_at)
    negative = sorted(
        reports.negative_answers(weeks.current, where, limit=MAX_NEGATIVE_ANSWERS),
        key=lambda answer: answer.received_at,
    )
    return Digest(
        recipient=recipient,
        weeks=weeks,
        current=current,
        previous=previous,
        agents=agents,
        reopened=tuple(reopened[:MAX_REOPENED_TICKETS]),
        negative=tuple(negative[:MAX_NEGATIVE_ANSWERS]),
        policies=policies,
    )


def _only(rows: Sequence[GroupFigures]) -> GroupFigures | None:
    return rows[0] if rows else None


def _agent(row: GroupFigures) -> str:
    return (row.group.get("agent") or "").strip() or "—"


def _value(row: GroupFigures, grouping: str) -> str | None:
    """A grouping's value, trimmed; None when the survey has none (an empty string is none too)."""
    return (row.group.get(grouping) or "").strip() or None


# ---- the unsubscribe link: a signed token naming the lead and the language of its pages ---------------


def digest_link_subject(lead_key: str, locale: str) -> str:
    """What a digest's unsubscribe token names: the page's language, then the lead (``es:billing``)."""
    return f"{locale}:{lead_key}"


def read_digest_link_subject(subject: str) -> tuple[str, str]:
    """``(lead_key, locale)`` of a verified token's subject; ``ValueError`` when it is not one."""
    locale, separator, lead_key = subject.partition(":")
    if not separator or not locale or not lead_key:
        raise ValueError("not a digest link")
    return lead_key, locale


def issue_unsubscribe_token(signer: LinkSigner, recipient: DigestRecipient, now: datetime) -> str:
    return signer.issue(
        digest_link_subject(recipient.key, recipient.locale),
        LinkPurpose.DIGEST_UNSUBSCRIBE,
        now + UNSUBSCRIBE_VALIDITY,
    )


# ---- sending each due lead their digest, once --------------------------------------------------------


@dataclass(frozen=True)
class DigestEmail:
    """A rendered digest, ready for the mailer."""

    recipient: DigestRecipient
    subject: str
    text: str
    html: str
    locale: str
    unsubscribe_url: str


class DigestComposer(Protocol):
    def compose(self, digest: Digest, now: datetime) -> DigestEmail:
        """The digest in the lead's language, with its signed unsubscribe link."""
        ...


class DigestMailer(Protocol):
    def send_digest(self, email: DigestEmail, now: datetime) -> str:
        """Send; SES's message id. Raises ``MailRetryableError`` / ``MailRejectedError`` when the message
        certainly was not sent, ``MailOutcomeUnknownError`` when it may have been."""
        ...


class DigestStore(Protocol):
    def team_leads(self) -> list[TeamLead]: ...
    def unsubscribed(self) -> frozenset[str]:
        """The keys of the leads who unsubscribed from the digest."""
        ...

    def claim_digest(self, lead_key: str, week: str, now: datetime) -> bool:
        """Claim the lead's digest of that week; False when it was claimed before (sent, or being sent)."""
        ...

    def release_digest(self, lead_key: str, week: str) -> None:
        """Give back a claim whose digest certainly was not sent."""
        ...

    def mark_digest_sent(self, lead_key: str, week: str, message_id: str, now: datetime) -> None: ...


class DigestOutcome(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"  # claimed by an earlier or overlapping run
    NOTHING_TO_REPORT = "nothing_to_report"  # no survey sent in either week, nothing reopened
    DEFERRED = "deferred"  # SES certainly did not take it; the claim was given back
    OUTCOME_UNKNOWN = "outcome_unknown"  # SES may have sent it: never sent again
    FAILED = "failed"  # an error before or after SES (the claim, if taken, stays)


class DigestRunError(Exception):
    """Some due digests were not sent and a later run may send them; the message lists the leads' keys
    (team ids or names, never addresses) and outcomes."""


@dataclass(frozen=True)
class DigestPolicy:
    schedule: DigestSchedule | None  # None: DigestSchedule=off
    default_lead: Lead | None  # LeadAlertAddress in LeadLocale
    default_locale: str
    default_timezone: str


@dataclass(frozen=True)
class WeeklyDigests:
    """Sends each due lead their weekly digest, once per lead and week."""

    store: DigestStore
    reports: ReportSource
    composer: DigestComposer
    mailer: DigestMailer
    policy: DigestPolicy

    def due(self, now: datetime) -> list[DigestRecipient]:
        """The leads whose digest hour ``now`` is (none when the schedule is off)."""
        if self.policy.schedule is None:
            return []
        recipients = digest_recipients(
            self.store.team_leads(),
            self.policy.default_lead,
            default_locale=self.policy.default_locale,
            default_timezone=self.policy.default_timezone,
            unsubscribed=self.store.unsubscribed(),
        )
        return due_recipients(recipients, self.policy.schedule, now)

    def send_due(self, now: datetime) -> dict[str, DigestOutcome]:
        """Send every due lead's digest; each lead's outcome by lead key.

        One lead's failure does not stop the others. When any digest failed or was deferred, the run
        ends with ``DigestRunError`` (chained to the first error), so the scheduler retries it; the
        digests already sent are then skipped by their claims.
        """
        due = self.due(now)
        if not due:
            return {}
        weeks = {recipient.key: digest_weeks(now.astimezone(recipient.zone()).date()) for recipient in due}
        # One download of the archive for every lead due this hour: the earliest week's first day to
        # today (answers and reopens of the week's surveys come in after it).
        since = min(week.previous.since for week in weeks.values())
        until = max(now.date(), *(week.current.until for week in weeks.values()))
        reports = self.reports.reports_for(DigestPeriod(since, until).days())
        outcomes: dict[str, DigestOutcome] = {}
        errors: list[Exception] = []
        for recipient in due:
            try:
                outcomes[recipient.key] = self._send_one(recipient, weeks[recipient.key], reports, now)
            except Exception as error:  # raised below, once the other leads' digests are out
                errors.append(error)
                outcomes[recipient.key] = DigestOutcome.FAILED
        retry = {
            key: outcome
            for key, outcome in outcomes.items()
            if outcome in (DigestOutcome.FAILED, DigestOutcome.DEFERRED)
        }
        if retry:
            summary = ", ".join(f"{key}: {outcome}" for key, outcome in sorted(retry.items()))
            raise DigestRunError(summary) from (errors[0] if errors else None)
        return outcomes

    def _send_one(
        self, recipient: DigestRecipient, weeks: DigestWeeks, reports: TeamReports, now: datetime
    ) -> DigestOutcome:
        digest = build_digest(recipient, weeks, reports)
        if digest.is_empty:
            return DigestOutcome.NOTHING_TO_REPORT
        # Rendered before the claim: a template error leaves nothing claimed, and the retry tries again.
        email = self.composer.compose(digest, now)
        if not self.store.claim_digest(recipient.key, weeks.label, now):
            return DigestOutcome.ALREADY_SENT
        try:
            message_id = self.mailer.send_digest(email, now)
        except (MailRetryableError, MailRejectedError):
            self.store.release_digest(recipient.key, weeks.label)
            return DigestOutcome.DEFERRED
        except MailOutcomeUnknownError:
            return DigestOutcome.OUTCOME_UNKNOWN
        # Sent: should recording it fail, the claim stays, and the digest is never sent again.
        self.store.mark_digest_sent(recipient.key, weeks.label, message_id, now)
        return DigestOutcome.SENT


# ---- unsubscribing from the digest (the /d/{token} route) --------------------------------------------


class DigestOptOuts(Protocol):
    def unsubscribe(self, lead_key: str, now: datetime) -> None: ...


class DigestPages(Protocol):
    def digest_unsubscribe_page(self, state: str, locale: str | None) -> str:
        """The page in ``state`` ``confirm`` (a button), ``done`` or ``invalid``, in ``locale``."""
        ...


@dataclass(frozen=True)
class DigestUnsubscribeFlow:
    """A digest's unsubscribe link: GET shows a button and records nothing (mail scanners open every link);
    POST with RFC 8058's ``List-Unsubscribe=One-Click`` (a mailbox's button, or the page's) turns the
    lead's digest off. An altered or expired token gets 404 and changes nothing."""

    signer: LinkSigner
    opt_outs: DigestOptOuts
    pages: DigestPages

    def show(self, token: str, now: datetime) -> Page:
        claims = self._verify(token, now)
        if claims is None:
            return Page(404, self.pages.digest_unsubscribe_page("invalid", None))
        return Page(200, self.pages.digest_unsubscribe_page("confirm", claims[1]))

    def unsubscribe(self, token: str, body: bytes, now: datetime) -> Page:
        claims = self._verify(token, now)
        if claims is None:
            return Page(404, self.pages.digest_unsubscribe_page("invalid", None))
        lead_key, locale = claims
        try:
            one_click = is_one_click_unsubscribe(form_fields(body))
        except FormTooLargeError:
            return Page(413, self.pages.digest_unsubscribe_page("confirm", locale))
        except MalformedRequestError:
            one_click = False
        if not one_click:
            return Page(400, self.pages.digest_unsubscribe_page("confirm", locale))
        self.opt_outs.unsubscribe(lead_key, now)
        return Page(200, self.pages.digest_unsubscribe_page("done", locale))

    def _verify(self, token: str, now: datetime) -> tuple[str, str] | None:
        if len(token) > MAX_TOKEN_CHARS:
            return None
        try:
            return read_digest_link_subject(
                self.signer.verify(token, LinkPurpose.DIGEST_UNSUBSCRIBE, now).survey_id
            )
        except (InvalidLinkError, ValueError):
            return None
