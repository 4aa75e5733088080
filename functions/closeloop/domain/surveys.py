"""The survey: what closeloop promised to ask a customer about one solved ticket, and its fate."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, get_args

# The question a survey asks: satisfaction (1-5), likelihood to recommend (0-10), effort (1-7), or
# simply whether the problem is resolved (yes or no).
SurveyType = Literal["csat", "nps", "ces", "resolved"]
SURVEY_TYPES: tuple[SurveyType, ...] = get_args(SurveyType)

# What a negative answer does (a policy, global or per rule: closeloop.domain.policies): reopen the ticket
# and alert the lead; only alert the lead, who decides; or add a private note, the status unchanged.
NegativeAnswerPolicy = Literal["reopen", "alert", "note"]
NEGATIVE_ANSWER_POLICIES: tuple[NegativeAnswerPolicy, ...] = get_args(NegativeAnswerPolicy)


class SurveyStatus(StrEnum):
    PLANNED = "planned"  # stored and scheduled; nothing sent yet
    SENDING = "sending"  # claimed by a sender; SES has been or is being called
    SENT = "sent"
    CANCELLED = "cancelled"  # the ticket was reopened before the send
    SUPPRESSED = "suppressed"  # the address was suppressed between planning and sending


class ReminderStatus(StrEnum):
    """Where a sent survey's one reminder stands (None on the survey: no reminder was planned)."""

    SCHEDULED = "scheduled"  # due at ``reminder_at``; nothing sent yet
    SENDING = "sending"  # claimed by a sender; SES has been or is being called
    SENT = "sent"
    SKIPPED = "skipped"  # not sent, for ``reminder_skip_reason`` (answered, suppressed, expired, ...)


class ReminderSkipReason(StrEnum):
    """Why a survey's reminder was not sent. Each is stored on the survey and published."""

    ANSWERED = "answered"  # an answer on the page or a reply by email
    SUPPRESSED = "suppressed"  # the address was suppressed: unsubscribe, bounce, complaint, erasure
    BOUNCED = "bounced"  # the survey email bounced for good
    COMPLAINED = "complained"  # the survey email drew a spam complaint
    REOPENED = "reopened"  # the ticket was reopened after the survey was sent
    EXPIRED = "expired"  # the survey stopped taking answers before the reminder was due
    TURNED_OFF = "turned_off"  # ReminderDays was set to 0 after the reminder was scheduled


class VerdictAction(StrEnum):
    """What a judged answer asks of closeloop (``closeloop.domain.judgment``), stored with the answer.

    ``reopen``: reopen the ticket and alert the lead; ``alert``: a "please look" alert to the lead, the
    ticket stays as it is (mixed signals); ``none``: nothing to do.
    """

    REOPEN = "reopen"
    ALERT = "alert"
    NONE = "none"


class ResponseSource(StrEnum):
    """Where an answer came from: the survey page's form, or an email reply to the survey."""

    PAGE = "page"
    EMAIL = "email"


class SkipReason(StrEnum):
    """Why a solved ticket did not get a survey. Each skip is stored and counted under its reason."""

    EXCLUDED_TAG = "excluded_tag"
    NO_REPLY_ADDRESS = "no_reply_address"
    SUPPRESSED = "suppressed"
    THROTTLED = "throttled"
    STALE = "stale"
    ALREADY_SURVEYED = "already_surveyed"
    INVALID_ADDRESS = "invalid_address"  # no email can ever be built for it (domain.messages.mailbox_problem)
    INTERNAL_REQUESTER = "internal_requester"  # the requester is an agent of the helpdesk
    INTERNAL_DOMAIN = "internal_domain"  # the requester's address is in one of the InternalDomains
    RULE_NO_SURVEY = "rule_no_survey"  # the matching rule of the rules document says "survey": false
    SAMPLED_OUT = "sampled_out"  # outside the share of tickets surveyed ("sample" of the rule or default)


# The inclusive score range of each scored survey type. CES runs from 1 (very easy) to 7 (very difficult).
SCORE_RANGES: dict[SurveyType, tuple[int, int]] = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}

# The answers each survey type offers, in scale order: the scores of its range, or yes and no.
ANSWER_SCALES: dict[SurveyType, tuple[int | str, ...]] = {
    **{kind: tuple(range(low, high + 1)) for kind, (low, high) in SCORE_RANGES.items()},
    "resolved": ("yes", "no"),
}


# Something with one @ and a dot in the domain: what mail can be sent to; finer checks are the mail server's.
_EMAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# Reason choices the survey page offers, as stable codes (reports and events rely on them).
REASON_CODES: tuple[str, ...] = ("not_resolved", "slow", "had_to_repeat", "unfriendly", "unclear", "other")
# The longest comment an answer may hold, in characters (after trimming): the form, its page and the API
# document promise it; longer ones are refused.
MAX_COMMENT_CHARS = 2000


def survey_type_of(value: str) -> SurveyType:
    """``value`` as a survey type; ``ValueError`` when it names none (e.g. a stored item edited by hand)."""
    for survey_type in SURVEY_TYPES:
        if value == survey_type:
            return survey_type
    raise ValueError(f"unknown survey type {value!r}")


def answer_key(survey_type: SurveyType) -> str:
    """The form field (and link query parameter) carrying the main answer: ``answer`` for "resolved"
    surveys, ``score`` for the others."""
    return "answer" if survey_type == "resolved" else "score"


def is_email_address(value: str) -> bool:
    """Whether ``value`` (already trimmed) looks like an email address."""
    return bool(_EMAIL_ADDRESS.match(value))


def ticket_key(helpdesk: str, ticket_id: str) -> str:
    """One ticket across helpdesks: ``zendesk#123``."""
    return f"{helpdesk}#{ticket_id}"


def customer_key(email: str) -> str:
    """A stable, non-reversible key for one customer address (addresses are compared case-insensitively).

    Used wherever an address would otherwise appear in a key, an index or a log line.
    """
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


class UnknownSurveyError(Exception):
    """A request (to send a survey, or to reopen its ticket) names no stored survey."""


# What the store answers when a conditional write finds the work already done (at-least-once delivery).


class DuplicateCloseError(Exception):
    """This solve of this ticket was already planned or skipped (a redelivered event)."""


class CustomerThrottledError(Exception):
    """The customer was surveyed within the throttle window."""


class ResponseAlreadyRecordedError(Exception):
    """This answer (same id, same moment) is already stored: a redelivered email reply."""


class SurveyNotClaimableError(Exception):
    """The survey is no longer waiting to be sent (a concurrent delivery claimed it first)."""


class ReminderNotClaimableError(Exception):
    """The survey's reminder is no longer waiting to be sent (claimed, sent or skipped meanwhile)."""


@dataclass(frozen=True)
class Survey:
    """One follow-up survey for one solve of one ticket.

    The agent and team are a snapshot taken when the ticket was solved: reports credit the people who
    solved it, even if the ticket is reassigned later.
    """

    survey_id: str
    helpdesk: str
    ticket_id: str
    closed_at: datetime
    customer_email: str
    customer_name: str | None
    locale: str | None
    timezone: str
    survey_type: SurveyType
    planned_at: datetime
    send_at: datetime
    expires_at: datetime
    status: SurveyStatus = SurveyStatus.PLANNED
    scheduled: bool = False
    subject: str | None = None
    brand: str | None = None
    channel: str | None = None
    url: str | None = None
    tags: tuple[str, ...] = ()
    agent: dict[str, Any] = field(default_factory=dict)
    team: dict[str, Any] = field(default_factory=dict)
    sent_at: datetime | None = None
    message_id: str | None = None
    # What SES reported after accepting the email: "bounced" or "complained" (None: nothing bad heard).
    delivery: str | None = None
    delivery_at: datetime | None = None
    # The one reminder, planned when the survey email is marked sent (None: no reminder for this survey).
    reminder: ReminderStatus | None = None
    reminder_at: datetime | None = None
    reminder_scheduled: bool = False
    reminder_sent_at: datetime | None = None
    reminder_skip_reason: ReminderSkipReason | None = None
    # The policy applied when the survey was planned (closeloop.domain.policies): the matching rule's name
    # (None: no rule matched), what a negative answer does (None: planned before policies existed, the
    # reopen function's NegativeAnswerPolicy applies) and the sender name (None: the SenderName parameter).
    rule: str | None = None
    negative_answer: NegativeAnswerPolicy | None = None
    sender_name: str | None = None

    @property
    def ticket_key(self) -> str:
        return f"{self.helpdesk}#{self.ticket_id}"

    @property
    def customer_key(self) -> str:
        return customer_key(self.customer_email)

    def with_status(self, status: SurveyStatus) -> Survey:
        return replace(self, status=status)


@dataclass(frozen=True)
class SurveyAnswer:
    """What one customer answered to one survey. Raises ``ValueError`` when it does not fit the survey type.

    ``locale`` is the language the answer was given in (the comment is read in it); None when unknown.
    """

    survey_type: SurveyType
    score: int | None
    resolved: bool | None
    comment: str | None
    reasons: tuple[str, ...] = ()
    locale: str | None = None

    def __post_init__(self) -> None:
        if self.survey_type not in SURVEY_TYPES:
            raise ValueError(f"unknown survey type {self.survey_type!r}")
        if self.score is None:
            return
        if self.survey_type == "resolved":
            raise ValueError("a 'resolved' survey has no score; use the resolved answer")
        low, high = SCORE_RANGES[self.survey_type]
        if isinstance(self.score, bool) or not low <= self.score <= high:
            raise ValueError(f"{self.survey_type} score must be {low}-{high}, got {self.score!r}")


@dataclass(frozen=True)
class SurveyResponse:
    """One answer a customer submitted, as stored with its verdict. A customer may answer again until the
    survey expires; every version is kept and the latest one counts."""

    response_id: str
    survey_id: str
    received_at: datetime
    score: int | None
    resolved: bool | None
    comment: str | None
    reasons: tuple[str, ...]
    locale: str
    negative: bool
    verdict_reasons: tuple[str, ...] = ()
    # None for answers stored before verdicts had an action: a negative one of those asked for a reopen.
    action: VerdictAction | None = None

    @property
    def verdict_action(self) -> VerdictAction:
        """What this answer asks for (the stored action; for older answers, reopen when negative)."""
        if self.action is not None:
            return self.action
        return VerdictAction.REOPEN if self.negative else VerdictAction.NONE

    source: ResponseSource = ResponseSource.PAGE

    @classmethod
    def of(
        cls,
        answer: SurveyAnswer,
        *,
        response_id: str,
        survey_id: str,
        received_at: datetime,
        negative: bool,
        verdict_reasons: tuple[str, ...],
        action: VerdictAction | None = None,
        source: ResponseSource = ResponseSource.PAGE,
    ) -> SurveyResponse:
        """``answer`` as stored, with its verdict. It must name the locale it was given in."""
        if answer.locale is None:
            raise ValueError("an answer is stored with the locale it was given in")
        return cls(
            response_id=response_id,
            survey_id=survey_id,
            received_at=received_at,
            score=answer.score,
            resolved=answer.resolved,
            comment=answer.comment,
            reasons=answer.reasons,
            locale=answer.locale,
            negative=negative,
            verdict_reasons=verdict_reasons,
            action=action,
            source=source,
        )


class ReopenClaim(StrEnum):
    """What happened when a reopen of a ticket was claimed for one survey."""

    CLAIMED = "claimed"  # this delivery must reopen the ticket
    ALREADY_REOPENED = "already_reopened"  # this survey already reopened it (a redelivered event)
    CAP_REACHED = "cap_reached"  # the ticket was reopened by closeloop too often: a loop is forming
