"""Reopening a ticket after a negative answer, and alerting the lead of the ticket's team.

A negative answer asks for a reopen after a grace period (``GraceMinutes``), so a customer who corrects a
mis-click is not escalated. When the request fires, :class:`CaseReopener` decides again:

- the survey's latest answer is no longer negative → nothing happens (``Reopen Skipped``: answer_changed);
- the ticket was already reopened for this survey (a redelivered request) → nothing happens
  (``Reopen Skipped``: already_reopened);
- closeloop already reopened this ticket ``ReopenCap`` times → the helpdesk is left alone, but the lead is
  alerted that the cap was hit (``Reopen Skipped``: cap_reached);
- the answer's action is ``alert`` (mixed signals, see ``closeloop.domain.judgment``) → the ticket is left
  as it is; the lead gets a "please look" alert and ``Reopen Skipped`` (please_look) is published, once
  per survey, and nothing counts against the cap;
- the survey's negative-answer policy (``closeloop.domain.policies``: its rule's, else
  ``NegativeAnswerPolicy``) is ``alert`` → the same "please look" alert, saying the policy left the
  decision to the lead (``Reopen Skipped``: policy_alert); ``note`` → a private note on the ticket, its
  status unchanged, added once by its marker (``Reopen Skipped``: policy_note), no alert;
- otherwise the helpdesk adapter of the survey reopens the ticket with a private note holding the
  customer's answer, the reopen is recorded, ``Case Reopened`` is published and the lead is alerted.

What an answer asks for is decided in one place, :meth:`CaseReopener.action_for`: the answer's verdict,
then the survey's negative-answer policy.

Each side effect of a reopen (the helpdesk write, the event, the SNS alert, the alert email) is its own
:class:`ReopenStep`, recorded in the reopen's record when started and when done, so a retried request
repeats only the steps not yet done. A step found started but not done had an unknown outcome: the
helpdesk write is then checked against the ticket's comments (the note's ``closeloop-ref`` marker) before
it is tried again; the others cannot be checked, and are never repeated (see docs/reopening.md).

Helpdesk adapters raise ``HelpdeskUnavailableError`` when a later attempt may succeed (5xx, 429,
timeouts) and ``HelpdeskRefusedError`` when it never will (other 4xx, missing configuration), both from
``closeloop.domain.helpdesk_errors``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from babel import Locale
from babel.dates import format_date, format_datetime

from closeloop.domain.helpdesk_errors import HelpdeskRefusedError
from closeloop.domain.leads import Lead, TeamLeads
from closeloop.domain.messages import one_line
from closeloop.domain.published import (
    CaseReopened,
    EventPublisher,
    ReopenSkipped,
    ReopenSkipReason,
    announce,
)
from closeloop.domain.surveys import (
    ANSWER_SCALES,
    MAX_COMMENT_CHARS,
    NegativeAnswerPolicy,
    ReopenClaim,
    Survey,
    SurveyResponse,
    UnknownSurveyError,
    VerdictAction,
)

NOTE_TEMPLATE = "alerts/helpdesk_note.txt.j2"
# The note an email reply adds to its ticket when no reopen note quotes it (docs/reopening.md).
REPLY_NOTE_TEMPLATE = "alerts/reply_note.txt.j2"
FOLLOW_UP_SUBJECT_TEMPLATE = "alerts/follow_up_subject.txt.j2"

# How many earlier surveys of the customer the lead sees.
HISTORY_LIMIT = 5

# Helpdesks whose ticket links must point at the deployment's own instance (settings zendesk_base_url,
# freshdesk_base_url): a ticket url arrives in a webhook or an event, and becomes a link a lead clicks.
HOSTED_HELPDESKS = frozenset({"zendesk", "freshdesk"})
LINK_SCHEMES = frozenset({"http", "https"})


# --- errors ------------------------------------------------------------------------------------------


class UnknownResponseError(Exception):
    """The survey has no answer, so the reopen request cannot be about one."""


class NoHelpdeskAdapterError(HelpdeskRefusedError):
    """No adapter is configured for the survey's helpdesk and no generic webhook URL is set."""


class ReopenStepError(Exception):
    """A side effect after the helpdesk write failed; a retry repeats only the steps not yet done."""


class LeadAlertError(ReopenStepError):
    """The lead could not be alerted after the reopen was recorded; a retry sends the alert only."""


class EffectNotTakenError(Exception):
    """The remote service certainly did not act on the request (refused it, or was never reached).

    Adapters raise it so the step can be tried again; any other failure leaves the outcome unknown.
    """


# --- values ------------------------------------------------------------------------------------------


class ReopenAction(StrEnum):
    """What the helpdesk adapter did (the ``action`` of ``Case Reopened``)."""

    REOPENED = "reopened"
    FOLLOW_UP_CREATED = "follow_up_created"
    WEBHOOK_DELIVERED = "webhook_delivered"


class ReopenResult(StrEnum):
    """What one reopen request came to."""

    REOPENED = "reopened"
    FOLLOW_UP_CREATED = "follow_up_created"
    WEBHOOK_DELIVERED = "webhook_delivered"
    ANSWER_CHANGED = "answer_changed"
    ALREADY_REOPENED = "already_reopened"
    CAP_REACHED = "cap_reached"
    PLEASE_LOOK = "please_look"  # mixed signals: the lead was alerted, the ticket left as it is
    POLICY_ALERT = "policy_alert"  # the "alert" policy: the lead was alerted and decides; nothing reopened
    POLICY_NOTE = "policy_note"  # the "note" policy: a private note on the ticket, its status unchanged
    # The "note" policy, but the helpdesk refused the note (a Zendesk ticket is Closed for good a few days
    # after it is solved, and takes no comment): the lead was alerted with the answer instead.
    NOTE_REFUSED = "note_refused"


class CaseAction(StrEnum):
    """What closeloop does about one answer (:meth:`CaseReopener.action_for`)."""

    REOPEN = "reopen"
    PLEASE_LOOK = "please_look"  # mixed signals (the verdict's "alert")
    POLICY_ALERT = "policy_alert"  # negative, under the "alert" policy
    POLICY_NOTE = "policy_note"  # negative, under the "note" policy
    NONE = "none"


# What each negative-answer policy makes of a negative answer.
_POLICY_ACTIONS: Mapping[NegativeAnswerPolicy, CaseAction] = {
    "reopen": CaseAction.REOPEN,
    "alert": CaseAction.POLICY_ALERT,
    "note": CaseAction.POLICY_NOTE,
}


# The results that reopen nothing, as the Reopen Skipped event names them.
_SKIP_REASONS: Mapping[ReopenResult, ReopenSkipReason] = {
    ReopenResult.ANSWER_CHANGED: "answer_changed",
    ReopenResult.ALREADY_REOPENED: "already_reopened",
    ReopenResult.CAP_REACHED: "cap_reached",
    ReopenResult.PLEASE_LOOK: "please_look",
    ReopenResult.POLICY_ALERT: "policy_alert",
    ReopenResult.POLICY_NOTE: "policy_note",
    ReopenResult.NOTE_REFUSED: "note_refused",
}


class ReplyNoteResult(StrEnum):
    """How the text of an email reply reached its ticket."""

    IN_REOPEN_NOTE = "in_reopen_note"  # the reopen's own note quotes this reply
    NOTE_ADDED = "note_added"
    NOTE_ALREADY_ADDED = "note_already_added"  # an earlier delivery added it (its marker is on the ticket)
    # The helpdesk refused the note (a closed ticket): the reply stays in closeloop's table, with its survey.
    NOTE_REFUSED = "note_refused"


class ReopenStep(StrEnum):
    """One side effect of a reopen, recorded as started and done in the reopen's record."""

    HELPDESK = "helpdesk"
    EVENT = "event"  # Case Reopened, or Reopen Skipped (cap_reached)
    SNS_ALERT = "sns_alert"
    EMAIL_ALERT = "email_alert"
    # The steps of a "please look" alert, recorded in the survey's alert record (apart from its reopen).
    LOOK_EVENT = "look_event"  # Reopen Skipped (please_look)
    LOOK_SNS_ALERT = "look_sns_alert"
    LOOK_EMAIL_ALERT = "look_email_alert"


REOPEN_STEPS = (ReopenStep.HELPDESK, ReopenStep.EVENT, ReopenStep.SNS_ALERT, ReopenStep.EMAIL_ALERT)
CAP_STEPS = (ReopenStep.EVENT, ReopenStep.SNS_ALERT, ReopenStep.EMAIL_ALERT)
LOOK_STEPS = (ReopenStep.LOOK_EVENT, ReopenStep.LOOK_SNS_ALERT, ReopenStep.LOOK_EMAIL_ALERT)


def is_look_step(step: str) -> bool:
    """True for the steps kept in a survey's alert record rather than its reopen record."""
    return step in LOOK_STEPS


@dataclass(frozen=True)
class ReopenProgress:
    """The reopen record of one survey: its state, what the helpdesk did, and its steps.

    ``state`` is ``claimed``, ``done`` (the helpdesk step is done) or ``capped`` (stopped by the cap).
    ``unknown`` holds the steps whose outcome could not be known and that were not repeated.
    """

    state: str
    outcome: Mapping[str, str] = field(default_factory=dict)
    started: frozenset[str] = frozenset()
    done: frozenset[str] = frozenset()
    unknown: frozenset[str] = frozenset()

    def owes(self, steps: tuple[ReopenStep, ...]) -> bool:
        return any(step not in self.done for step in steps)


def reopen_reference(survey_id: str) -> str:
    """What identifies the reopen of one survey at the helpdesk (the note's marker, the webhook delivery)."""
    return f"reopen-{survey_id}"


def note_marker(reference: str) -> str:
    """The line the note ends with, searched for in the ticket's comments before a write is retried."""
    return f"closeloop-ref: {reference}"


@dataclass(frozen=True)
class TicketReopen:
    """What a helpdesk adapter needs to reopen one ticket.

    ``note`` is the private note, plain text in the lead's language; ``follow_up_subject`` is the subject
    of a follow-up ticket when the helpdesk cannot reopen a closed one.
    """

    survey: Survey
    response: SurveyResponse
    note: str
    follow_up_subject: str

    @property
    def reference(self) -> str:
        return reopen_reference(self.survey.survey_id)

    @property
    def marker(self) -> str:
        """The note's last line: finding it in the ticket's comments means this note was already added."""
        return note_marker(self.reference)


def reply_note_reference(response_id: str) -> str:
    """What identifies the note of one email reply at the helpdesk (its marker, the webhook delivery)."""
    return f"reply-{response_id}"


def policy_note_reference(response_id: str) -> str:
    """What identifies the note the "note" policy adds for one negative answer."""
    return f"note-{response_id}"


@dataclass(frozen=True)
class TicketNote:
    """A private note for a ticket that is not reopened: the text of an email reply, or (``policy``) a
    negative answer under the "note" policy."""

    survey: Survey
    response: SurveyResponse
    note: str
    policy: bool = False

    @property
    def reference(self) -> str:
        if self.policy:
            return policy_note_reference(self.response.response_id)
        return reply_note_reference(self.response.response_id)

    @property
    def marker(self) -> str:
        """The note's last line: finding it in the ticket's comments means this note was already added."""
        return note_marker(self.reference)


@dataclass(frozen=True)
class HelpdeskReopen:
    """What the helpdesk did: reopened the ticket, created a follow-up ticket, or took the webhook."""

    action: ReopenAction
    helpdesk_ticket_id: str


@dataclass(frozen=True)
class EarlierSurvey:
    """One earlier survey of the same customer, with every answer they gave to it (oldest first)."""

    survey: Survey
    responses: tuple[SurveyResponse, ...]


@dataclass(frozen=True)
class LeadAlert:
    """Everything the lead is told about one negative answer.

    ``lead`` is None when the team has no lead (``closeloop leads``) and no default lead address is
    configured: the alert then goes to the SNS topic only. ``locale`` is the language of the alert (the
    lead's).
    """

    survey: Survey
    response: SurveyResponse
    result: ReopenResult
    helpdesk_ticket_id: str | None
    lead: Lead | None
    locale: str
    reopen_cap: int
    history: tuple[EarlierSurvey, ...]
    # Each helpdesk's configured base URL: ticket links of Zendesk and Freshdesk must be on its host.
    helpdesk_urls: Mapping[str, str] = field(default_factory=dict)


# --- what the note and the alert say -----------------------------------------------------------------


def ticket_link(url: str | None, helpdesk: str, helpdesk_urls: Mapping[str, str]) -> str | None:
    """``url`` when it may become a link in an alert, else None (the alert then shows the ticket id only).

    Only http(s) URLs with a host (never ``javascript:`` or ``data:``); for Zendesk and Freshdesk tickets
    only URLs on the configured instance's host, so a forged event cannot send a lead elsewhere.
    """
    if not url:
        return None
    try:
        parts = urllib.parse.urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in LINK_SCHEMES or not host or any(c.isspace() for c in url.strip()):
        return None
    if helpdesk.casefold() in HOSTED_HELPDESKS:
        base = helpdesk_urls.get(helpdesk.casefold()) or ""
        try:
            allowed = urllib.parse.urlsplit(base).hostname
        except ValueError:
            return None
        if not allowed or host != allowed:
            return None
    return url.strip()


def describe_answer(
    survey: Survey, response: SurveyResponse, locale: str, helpdesk_urls: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The answer as the note and alert templates show it (values only; the wording is in templates).

    ``locale`` must be a shipped locale tag (``pt-BR`` or ``it``): dates are formatted for it, in UTC.
    ``ticket_url`` is set only for a link that passes :func:`ticket_link` with ``helpdesk_urls``.
    """
    values = _answer_values(survey, response, locale, helpdesk_urls or {})
    return values | {"answer": values}


def _answer_values(
    survey: Survey, response: SurveyResponse, locale: str, helpdesk_urls: Mapping[str, str]
) -> dict[str, Any]:
    babel_locale = Locale.parse(locale, sep="-")
    scale = ANSWER_SCALES.get(survey.survey_type, ())
    numeric = [value for value in scale if isinstance(value, int)]
    comment = (response.comment or "").strip()
    # The form takes no longer comment, so a note quotes every answer whole; a stored item that did not
    # come through the form is cut to the same limit.
    if len(comment) > MAX_COMMENT_CHARS:
        comment = comment[: MAX_COMMENT_CHARS - 1].rstrip() + "…"
    return {
        "survey_type": survey.survey_type,
        "score": response.score,
        "scale_low": min(numeric) if numeric else None,
        "scale_high": max(numeric) if numeric else None,
        "resolved": response.resolved,
        "reasons": list(response.reasons),
        "verdict_reasons": list(response.verdict_reasons),
        "negative": response.negative,
        "comment": comment or None,
        "comment_lines": comment.splitlines() if comment else [],
        "answered_at": format_datetime(
            response.received_at.astimezone(UTC), format="medium", tzinfo=UTC, locale=babel_locale
        )
        + " UTC",
        "ticket_ref": survey.ticket_id,
        "ticket_subject": " ".join((survey.subject or "").split()) or None,
        "ticket_url": ticket_link(survey.url, survey.helpdesk, helpdesk_urls),
        "helpdesk": survey.helpdesk,
        "customer_name": (survey.customer_name or "").strip() or None,
        "agent_name": _text(survey.agent.get("name")),
        "team_name": _text(survey.team.get("name")) or _text(survey.team.get("id")),
        "survey_id": survey.survey_id,
    }


def describe_history(
    history: tuple[EarlierSurvey, ...], locale: str, helpdesk_urls: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Earlier surveys of the customer as the alert templates show them, newest first."""
    urls = helpdesk_urls or {}
    babel_locale = Locale.parse(locale, sep="-")
    described = []
    for earlier in history:
        survey = earlier.survey
        moment = survey.sent_at or survey.closed_at
        described.append(
            {
                "date": format_date(moment.astimezone(UTC), format="medium", locale=babel_locale),
                "ticket_ref": survey.ticket_id,
                "ticket_subject": " ".join((survey.subject or "").split()) or None,
                "ticket_url": ticket_link(survey.url, survey.helpdesk, urls),
                "answers": [_answer_values(survey, response, locale, urls) for response in earlier.responses],
            }
        )
    return described


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


# --- ports -------------------------------------------------------------------------------------------


class ReopenStore(Protocol):
    def get_survey(self, survey_id: str) -> Survey | None: ...
    def latest_response(self, survey_id: str) -> SurveyResponse | None: ...
    def responses(self, survey_id: str) -> list[SurveyResponse]: ...
    def customer_surveys(self, email: str, limit: int = ...) -> list[Survey]: ...
    def claim_reopen(self, survey: Survey, cap: int, now: datetime) -> ReopenClaim: ...
    def reopen_progress(self, survey: Survey) -> ReopenProgress | None: ...
    def claim_alert(self, survey: Survey, now: datetime) -> ReopenProgress:
        """The survey's "please look" alert record (state ``alerting``), created when absent; the
        ``LOOK_STEPS`` are recorded in it. It counts against no cap."""
        ...

    def begin_reopen_step(self, survey: Survey, step: ReopenStep, now: datetime) -> None: ...
    def abandon_reopen_step(self, survey: Survey, step: ReopenStep, now: datetime) -> None: ...
    def finish_reopen_step(
        self,
        survey: Survey,
        step: ReopenStep,
        now: datetime,
        outcome: Mapping[str, str] | None = None,
        unknown: bool = False,
    ) -> bool: ...


class HelpdeskGateway(Protocol):
    def reopen(self, request: TicketReopen, verify_first: bool = False) -> HelpdeskReopen:
        """Reopen the ticket; with ``verify_first`` (an earlier attempt's outcome is unknown), first look
        for ``request.marker`` in the ticket's comments and write nothing when it is there."""
        ...

    def add_note(self, request: TicketNote) -> bool:
        """Add the private note without changing the ticket's status, unless the ticket's comments already
        hold ``request.marker``; True when it was added now."""
        ...


class LeadAlerter(Protocol):
    def publish_alert(self, alert: LeadAlert, now: datetime) -> None:
        """The alert on the SNS topic (nothing when no topic is configured)."""
        ...

    def email_alert(self, alert: LeadAlert, now: datetime) -> None:
        """The alert email to the lead (nothing when the alert has no lead)."""
        ...


class TextRenderer(Protocol):
    def resolve_locale(self, requested: str | None) -> str: ...
    def render_template(
        self, template_name: str, requested_locale: str | None, variables: Mapping[str, Any]
    ) -> str: ...


class HelpdeskDirectory:
    """Which adapter reopens a survey's ticket: the helpdesk's own, else the generic webhook.

    Adapters are given as factories so an unused or unconfigured one is never built; a factory that
    raises ``HelpdeskRefusedError`` (e.g. no base URL) makes the reopen a refusal with that reason.
    """

    def __init__(
        self,
        adapters: Mapping[str, Callable[[], HelpdeskGateway]],
        generic: Callable[[], HelpdeskGateway] | None = None,
    ) -> None:
        self._adapters = {name.casefold(): factory for name, factory in adapters.items()}
        self._generic = generic

    def gateway_for(self, helpdesk: str) -> HelpdeskGateway:
        factory = self._adapters.get(helpdesk.casefold(), self._generic)
        if factory is None:
            raise NoHelpdeskAdapterError(
                f"no reopen adapter for helpdesk {helpdesk!r} and no generic reopen URL configured"
            )
        return factory()


@dataclass(frozen=True)
class ReplyFollowUp:
    """What the follow-up of one email reply did: the reopen (negative replies only) and the note."""

    reopen: ReopenResult | None
    note: ReplyNoteResult


@dataclass(frozen=True)
class ReopenPolicy:
    """How many times one ticket may be reopened, who is alerted, and where the helpdesks live."""

    cap: int
    leads: TeamLeads
    helpdesk_urls: Mapping[str, str] = field(default_factory=dict)  # see LeadAlert.helpdesk_urls
    # For surveys planned before policies were recorded with them (``Survey.negative_answer`` is None).
    negative_answer: NegativeAnswerPolicy = "reopen"


# --- the service -------------------------------------------------------------------------------------


class CaseReopener:
    """Reopens the ticket of a negatively answered survey, once, and tells the lead."""

    def __init__(
        self,
        store: ReopenStore,
        helpdesks: HelpdeskDirectory,
        alerter: LeadAlerter,
        renderer: TextRenderer,
        publisher: EventPublisher,
        policy: ReopenPolicy,
    ) -> None:
        self._store = store
        self._helpdesks = helpdesks
        self._alerter = alerter
        self._renderer = renderer
        self._publisher = publisher
        self._policy = policy

    def reopen_case(self, survey_id: str, response_id: str, now: datetime) -> ReopenResult:
        """Act on one reopen request (the grace period is over).

        Raises ``HelpdeskUnavailableError`` when the request should be retried later,
        ``HelpdeskRefusedError``, ``UnknownSurveyError`` or ``UnknownResponseError`` when it never can
        succeed, and ``ReopenStepError`` (``LeadAlertError`` for the alerts) when a step after the helpdesk
        write failed: the retry takes only the steps not yet done.
        """
        survey = self._store.get_survey(survey_id)
        if survey is None:
            raise UnknownSurveyError(survey_id)
        latest = self._store.latest_response(survey_id)
        if latest is None:
            raise UnknownResponseError(f"survey {survey_id} has no answer")
        action = self.action_for(survey, latest)
        if action is CaseAction.NONE:
            # The customer changed their mind within the grace period (or later): no escalation.
            self._skip(survey, response_id, ReopenResult.ANSWER_CHANGED)
            return ReopenResult.ANSWER_CHANGED
        # The latest answer is the one we were asked about or a newer negative one: its words count.
        response = latest
        lead = self._policy.leads.lead_for(survey.team)
        locale = self._renderer.resolve_locale(lead.locale if lead else self._policy.leads.default_locale)
        if action is CaseAction.PLEASE_LOOK:
            return self._ask_lead_to_look(survey, response, lead, locale, now, ReopenResult.PLEASE_LOOK)
        if action is CaseAction.POLICY_ALERT:
            return self._ask_lead_to_look(survey, response, lead, locale, now, ReopenResult.POLICY_ALERT)
        if action is CaseAction.POLICY_NOTE:
            return self._note_on_ticket(survey, response, lead, locale, now)
        # Resolved before claiming, so a missing adapter does not count against the ticket's cap.
        gateway = self._helpdesks.gateway_for(survey.helpdesk)

        claim = self._store.claim_reopen(survey, self._policy.cap, now)
        progress = self._store.reopen_progress(survey)
        if claim is ReopenClaim.CAP_REACHED:
            if progress is not None and progress.owes(CAP_STEPS):
                self._take_steps(
                    survey, response, ReopenResult.CAP_REACHED, None, lead, locale, progress, now
                )
            # A redelivered cap-reached request has nothing left to do: no second skip, no second alert.
            return ReopenResult.CAP_REACHED
        if claim is ReopenClaim.ALREADY_REOPENED and (
            progress is None or progress.state != "done" or not progress.owes(REOPEN_STEPS)
        ):
            # Done before, or claimed an instant ago by a concurrent delivery that does the work.
            self._skip(survey, response.response_id, ReopenResult.ALREADY_REOPENED)
            return ReopenResult.ALREADY_REOPENED
        progress = progress or ReopenProgress(state="claimed")
        if ReopenStep.HELPDESK in progress.done:
            # An earlier attempt reopened the ticket; only the steps after it are owed.
            done = HelpdeskReopen(
                ReopenAction(progress.outcome["action"]),
                progress.outcome.get("helpdesk_ticket_id") or survey.ticket_id,
            )
        else:
            done = self._reopen_ticket(gateway, survey, response, locale, progress, now)
        result = ReopenResult(done.action.value)
        self._take_steps(survey, response, result, done, lead, locale, progress, now)
        return result

    def action_for(self, survey: Survey, response: SurveyResponse) -> CaseAction:
        """What to do about the answer: its verdict's action, and for a negative one (a reopen) the survey's
        negative-answer policy, recorded when it was planned (else this deployment's).

        The one place where what to do is decided.
        """
        verdict = response.verdict_action
        if verdict is VerdictAction.NONE:
            return CaseAction.NONE
        if verdict is VerdictAction.ALERT:
            return CaseAction.PLEASE_LOOK
        return _POLICY_ACTIONS[survey.negative_answer or self._policy.negative_answer]

    def _ask_lead_to_look(
        self,
        survey: Survey,
        response: SurveyResponse,
        lead: Lead | None,
        locale: str,
        now: datetime,
        result: ReopenResult,
    ) -> ReopenResult:
        """Alert the lead ("please look": mixed signals, or the "alert" policy) and leave the ticket alone,
        once per survey."""
        progress = self._store.claim_alert(survey, now)
        if progress.owes(LOOK_STEPS):
            self._take_steps(survey, response, result, None, lead, locale, progress, now, LOOK_STEPS)
        # A redelivered request whose steps are all done has nothing left to do.
        return result

    def _note_on_ticket(
        self, survey: Survey, response: SurveyResponse, lead: Lead | None, locale: str, now: datetime
    ) -> ReopenResult:
        """The "note" policy: the answer as a private note, the ticket's status unchanged; added once (the
        adapter looks for the note's marker first), and ``Reopen Skipped`` (policy_note) when added.

        A ticket that takes no note (a closed Zendesk ticket answers 422) must not lose the customer's
        words to a dead-letter queue: the lead is alerted with them instead, once (``note_refused``).
        """
        gateway = self._helpdesks.gateway_for(survey.helpdesk)
        described = describe_answer(survey, response, locale) | {
            "marker": note_marker(policy_note_reference(response.response_id)),
            "policy": "note",
        }
        note = self._renderer.render_template(NOTE_TEMPLATE, locale, described).strip()
        try:
            added = gateway.add_note(TicketNote(survey=survey, response=response, note=note, policy=True))
        except HelpdeskRefusedError:
            return self._ask_lead_to_look(survey, response, lead, locale, now, ReopenResult.NOTE_REFUSED)
        if added:
            self._skip(survey, response.response_id, ReopenResult.POLICY_NOTE)
        return ReopenResult.POLICY_NOTE

    def follow_up_reply(self, survey_id: str, response_id: str, now: datetime) -> ReplyFollowUp:
        """Follow up one email reply: a negative one asks for the reopen (``reopen_case``: latest answer,
        claim, cap, lead alert), and the reply's text reaches the ticket as a private note exactly once:
        the reopen's note when it quotes this reply, otherwise a note of its own (``REPLY_NOTE_TEMPLATE``),
        written only when its marker is not on the ticket yet.

        Raises what ``reopen_case`` raises, and ``UnknownResponseError`` when the survey has no such answer.
        """
        survey = self._store.get_survey(survey_id)
        if survey is None:
            raise UnknownSurveyError(survey_id)
        response = next((r for r in self._store.responses(survey_id) if r.response_id == response_id), None)
        if response is None:
            raise UnknownResponseError(f"survey {survey_id} has no answer {response_id}")
        reopened = None
        if self.action_for(survey, response) is not CaseAction.NONE:
            reopened = self.reopen_case(survey_id, response_id, now)
            latest = self._store.latest_response(survey_id)
            if (
                reopened is ReopenResult.POLICY_NOTE
                and latest is not None
                and latest.response_id == response_id
            ):
                # The policy's note quotes the latest answer: this reply.
                return ReplyFollowUp(reopened, ReplyNoteResult.IN_REOPEN_NOTE)
            progress = self._store.reopen_progress(survey)
            if (
                progress is not None
                and ReopenStep.HELPDESK in progress.done
                and progress.outcome.get("response_id") == response_id
            ):
                return ReplyFollowUp(reopened, ReplyNoteResult.IN_REOPEN_NOTE)
        gateway = self._helpdesks.gateway_for(survey.helpdesk)
        lead = self._policy.leads.lead_for(survey.team)
        locale = self._renderer.resolve_locale(lead.locale if lead else self._policy.leads.default_locale)
        described = describe_answer(survey, response, locale) | {
            "marker": note_marker(reply_note_reference(response_id))
        }
        note = self._renderer.render_template(REPLY_NOTE_TEMPLATE, locale, described).strip()
        try:
            added = gateway.add_note(TicketNote(survey=survey, response=response, note=note))
        except HelpdeskRefusedError:
            # A closed ticket takes no note; the reply is kept with its survey (and, when negative, the
            # reopen above already acted on it: a follow-up ticket, or the lead alerted).
            return ReplyFollowUp(reopened, ReplyNoteResult.NOTE_REFUSED)
        return ReplyFollowUp(
            reopened, ReplyNoteResult.NOTE_ADDED if added else ReplyNoteResult.NOTE_ALREADY_ADDED
        )

    def _reopen_ticket(
        self,
        gateway: HelpdeskGateway,
        survey: Survey,
        response: SurveyResponse,
        locale: str,
        progress: ReopenProgress,
        now: datetime,
    ) -> HelpdeskReopen:
        """The helpdesk step. Started before and not done: its outcome is unknown, so the adapter first
        looks for the note's marker on the ticket and writes nothing when the note is already there."""
        described = describe_answer(survey, response, locale) | {
            "marker": note_marker(reopen_reference(survey.survey_id))
        }
        request = TicketReopen(
            survey=survey,
            response=response,
            note=self._renderer.render_template(NOTE_TEMPLATE, locale, described).strip(),
            follow_up_subject=one_line(
                self._renderer.render_template(FOLLOW_UP_SUBJECT_TEMPLATE, locale, described)
            ),
        )
        verify_first = ReopenStep.HELPDESK in progress.started
        self._store.begin_reopen_step(survey, ReopenStep.HELPDESK, now)
        done = gateway.reopen(request, verify_first=verify_first)
        self._store.finish_reopen_step(
            survey,
            ReopenStep.HELPDESK,
            now,
            outcome={
                "action": done.action.value,
                "helpdesk_ticket_id": done.helpdesk_ticket_id,
                "response_id": response.response_id,
            },
        )
        return done

    def _take_steps(
        self,
        survey: Survey,
        response: SurveyResponse,
        result: ReopenResult,
        done: HelpdeskReopen | None,
        lead: Lead | None,
        locale: str,
        progress: ReopenProgress,
        now: datetime,
        steps: tuple[ReopenStep, ...] = CAP_STEPS,
    ) -> None:
        """The event, then the SNS alert, then the alert email (``steps``, in that order): each once,
        whatever failed in between."""
        event_step, sns_step, email_step = steps

        def publish_event() -> None:
            if done is None:
                self._skip(survey, response.response_id, result)
                return
            announce(
                self._publisher,
                CaseReopened(
                    helpdesk=survey.helpdesk,
                    ticket_id=survey.ticket_id,
                    survey_id=survey.survey_id,
                    response_id=response.response_id,
                    action=done.action.value,
                    helpdesk_ticket_id=done.helpdesk_ticket_id,
                    verdict=list(response.verdict_reasons),
                    reopened_at=now,
                ),
            )

        self._step(survey, event_step, progress, publish_event, now)
        if not progress.owes((sns_step, email_step)):
            return
        alert = LeadAlert(
            survey=survey,
            response=response,
            result=result,
            helpdesk_ticket_id=done.helpdesk_ticket_id if done else None,
            lead=lead,
            locale=locale,
            reopen_cap=self._policy.cap,
            history=self.earlier_surveys(survey),
            helpdesk_urls=self._policy.helpdesk_urls,
        )
        self._step(survey, sns_step, progress, lambda: self._alerter.publish_alert(alert, now), now)
        self._step(survey, email_step, progress, lambda: self._alerter.email_alert(alert, now), now)

    def _step(
        self,
        survey: Survey,
        step: ReopenStep,
        progress: ReopenProgress,
        effect: Callable[[], object],
        now: datetime,
    ) -> None:
        """Take one side effect unless the record says it was taken.

        Started and not done means an earlier attempt failed with an unknown outcome (a timeout after
        sending, or a crash before the record was written): SNS, SES and EventBridge cannot be asked
        whether they took it, so the step is recorded as done with an unknown outcome, never repeated.
        A failure that certainly took no effect (``EffectNotTakenError``) is forgotten, so a retry repeats it.
        """
        if step in progress.done:
            return
        if step in progress.started:
            self._store.finish_reopen_step(survey, step, now, unknown=True)
            return
        self._store.begin_reopen_step(survey, step, now)
        try:
            effect()
        except Exception as error:
            if isinstance(error, EffectNotTakenError):
                self._store.abandon_reopen_step(survey, step, now)
            alerting = step in (
                ReopenStep.SNS_ALERT,
                ReopenStep.EMAIL_ALERT,
                ReopenStep.LOOK_SNS_ALERT,
                ReopenStep.LOOK_EMAIL_ALERT,
            )
            failure = LeadAlertError if alerting else ReopenStepError
            raise failure(
                f"{step.value} of the reopen of survey {survey.survey_id} failed: "
                f"{type(error).__name__}: {error}"
            ) from error
        self._store.finish_reopen_step(survey, step, now)

    def earlier_surveys(self, survey: Survey) -> tuple[EarlierSurvey, ...]:
        """The customer's other surveys (newest first), each with its answers."""
        earlier = [
            other
            for other in self._store.customer_surveys(survey.customer_email, HISTORY_LIMIT + 1)
            if other.survey_id != survey.survey_id
        ][:HISTORY_LIMIT]
        return tuple(EarlierSurvey(other, tuple(self._store.responses(other.survey_id))) for other in earlier)

    def _skip(self, survey: Survey, response_id: str, result: ReopenResult) -> None:
        announce(
            self._publisher,
            ReopenSkipped(
                helpdesk=survey.helpdesk,
                ticket_id=survey.ticket_id,
                survey_id=survey.survey_id,
                response_id=response_id,
                reason=_SKIP_REASONS[result],
            ),
        )
