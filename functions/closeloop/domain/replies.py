"""Replies by email: a customer's reply to a survey email becomes an answer of that survey.

SES's receipt rule stores each raw message in the inbound bucket; its notification reaches
:meth:`ReplyRecorder.record_reply`, which:

1. reads the message (``RawMail``: at most ``MAX_MESSAGE_BYTES``, a larger one is refused with that reason);
2. leaves automatic mail alone (auto-replies, out-of-office, delivery reports, closeloop's own mail);
3. finds the survey: by the signed reply address (``reply+<token>@<ReplyDomain>``) in To, Cc,
   Delivered-To or X-Original-To, else by the survey email's message id in In-Reply-To / References;
4. keeps the new text only (``reply_text.new_text``), judges it like a survey comment, and stores it as
   an answer with source ``email``;
5. asks the reopen function to follow it up: a negative reply takes the path of a bad answer (after the
   grace period, within the reopen cap, with the lead alert), and in every case the reply's text reaches
   the ticket as a private note, once.

Nothing is dropped silently: a message that records no answer (automatic, no survey, an expired or closed
survey, no new text, unreadable) stays in the bucket, marked with its outcome, and is logged and counted.
Every message is marked with what became of it (``MailArchive.mark``).
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from closeloop.domain.answers import SurveyClosedError
from closeloop.domain.inbound_mail import OwnMail, UnreadableMessageError, message_id_key, read_message
from closeloop.domain.judgment import CommentClassifier, NegativityThresholds, judge_answer
from closeloop.domain.published import EventPublisher, SurveyResponseReceived, announce
from closeloop.domain.queue_messages import MalformedMessageError, json_object
from closeloop.domain.reply_addresses import ReplyTokens, reply_token_of
from closeloop.domain.reply_text import new_text
from closeloop.domain.surveys import (
    ResponseAlreadyRecordedError,
    ResponseSource,
    Survey,
    SurveyAnswer,
    SurveyResponse,
    SurveyStatus,
)


class ReplyOutcome(StrEnum):
    """What became of one inbound message (the mark on its object, the log's ``outcome``, the metric)."""

    RECORDED = "recorded"
    DUPLICATE = "duplicate"  # recorded before (a redelivered notification): its follow-up is asked again
    AUTOMATIC = "automatic"
    UNKNOWN_SURVEY = "unknown_survey"
    EXPIRED_SURVEY = "expired_survey"
    CLOSED_SURVEY = "closed_survey"  # cancelled or never sent: it takes no answers
    NO_NEW_TEXT = "no_new_text"
    REFUSED = "refused"  # too large, or not a message


class InboundMessageTooLargeError(Exception):
    """The stored message is larger than closeloop reads (``MAX_MESSAGE_BYTES``)."""


class InboundMessageMissingError(Exception):
    """The notification names an object that is not in the bucket (deleted since)."""


@dataclass(frozen=True)
class MailLocation:
    """Where SES stored one inbound message, and when it was stored (the reply's ``received_at``)."""

    bucket: str
    key: str
    received_at: datetime

    @property
    def response_id(self) -> str:
        """The id of the answer a message becomes: the same for every delivery of its notification."""
        return hashlib.sha256(f"{self.bucket}/{self.key}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ReplyResult:
    """What one message came to. ``reason`` details an outcome (which automatic sign, why refused)."""

    outcome: ReplyOutcome
    reason: str | None = None
    survey_id: str | None = None
    response_id: str | None = None
    matched_by: str | None = None  # "reply_address" or "message_id"
    negative: bool | None = None

    def log_fields(self) -> dict[str, object]:
        """Ids, codes and flags only: never an address or the text."""
        fields = {
            "outcome": self.outcome.value,
            "reason": self.reason,
            "survey_id": self.survey_id,
            "response_id": self.response_id,
            "matched_by": self.matched_by,
            "negative": self.negative,
        }
        return {name: value for name, value in fields.items() if value is not None}


class MalformedInboundNotificationError(MalformedMessageError):
    """The inbound queue's message is not an S3 event notification about stored mail."""


_S3_EVENT = (
    '{"Records": [{"eventSource": "aws:s3", "eventTime": "...", '
    '"s3": {"bucket": {"name": "..."}, "object": {"key": "..."}}}]}'
)
# One notification names one object in practice; a few more are read, never an unbounded list.
MAX_NOTIFIED_OBJECTS = 10


def parse_inbound_notification(body: str) -> tuple[MailLocation, ...]:
    """The stored messages an S3 event notification (as S3 puts it on the inbound queue) names.

    S3's ``s3:TestEvent``, sent when the notification is configured, names none. Object keys come
    URL-encoded (a space as ``+``) and are decoded. Raises ``MalformedInboundNotificationError``.
    """
    malformed = MalformedInboundNotificationError
    event = json_object(body, malformed, _S3_EVENT)
    if event.get("Event") == "s3:TestEvent":
        return ()
    records = event.get("Records")
    if not isinstance(records, list) or not records or len(records) > MAX_NOTIFIED_OBJECTS:
        raise malformed(f"Records is not a list of 1 to {MAX_NOTIFIED_OBJECTS} records: {_S3_EVENT}")
    return tuple(_location(record) for record in records)


def _location(record: Any) -> MailLocation:
    malformed = MalformedInboundNotificationError
    if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
        raise malformed(f"a record is not from aws:s3: {_S3_EVENT}")
    s3 = record.get("s3")
    bucket = s3.get("bucket") if isinstance(s3, dict) else None
    stored = s3.get("object") if isinstance(s3, dict) else None
    name = bucket.get("name") if isinstance(bucket, dict) else None
    key = stored.get("key") if isinstance(stored, dict) else None
    if not isinstance(name, str) or not name or not isinstance(key, str) or not key:
        raise malformed(f"a record names no bucket and key: {_S3_EVENT}")
    try:
        received_at = datetime.fromisoformat(str(record.get("eventTime", "")))
    except ValueError as error:
        raise malformed(f"a record's eventTime is not an ISO 8601 time: {_S3_EVENT}") from error
    if received_at.tzinfo is None:
        raise malformed(f"a record's eventTime has no time zone: {_S3_EVENT}")
    return MailLocation(name, urllib.parse.unquote_plus(key), received_at)


# ---- ports ----------------------------------------------------------------------------------------


class RawMail(Protocol):
    def read(self, location: MailLocation) -> bytes:
        """The stored message; ``InboundMessageTooLargeError`` over the limit (checked before reading),
        ``InboundMessageMissingError`` when it is gone."""
        ...


class MailArchive(Protocol):
    def mark(self, location: MailLocation, outcome: ReplyOutcome) -> None:
        """Record on the stored message what became of it (it stays where SES put it)."""
        ...


class ReplyStore(Protocol):
    def get_survey(self, survey_id: str) -> Survey | None: ...

    def survey_for_message(self, message_key: str) -> str | None:
        """The survey whose email had this message id (``message_id_key``), if any."""
        ...

    def add_response(self, survey: Survey, response: SurveyResponse) -> None:
        """Store the answer; ``SurveyClosedError`` when the survey takes none,
        ``ResponseAlreadyRecordedError`` when it is already stored."""
        ...


class ReplyFollowUps(Protocol):
    def request_reply_follow_up(self, survey_id: str, response_id: str, delay: timedelta) -> None:
        """Ask the reopen function to follow this reply up after ``delay``: its note, and its reopen when
        negative."""
        ...


@dataclass(frozen=True)
class ReplyPolicy:
    """Where replies come, what marks closeloop's own mail, and how answers are judged."""

    reply_domain: str
    own_mail: OwnMail
    default_locale: str = "en"
    thresholds: NegativityThresholds = field(default_factory=NegativityThresholds)
    grace: timedelta = timedelta(minutes=10)


# ---- the service ----------------------------------------------------------------------------------


class ReplyRecorder:
    """Turns each inbound message into an answer of its survey, or keeps it with the reason it is not one."""

    def __init__(
        self,
        mail: RawMail,
        archive: MailArchive,
        store: ReplyStore,
        tokens: Callable[[], ReplyTokens],
        publisher: EventPublisher,
        follow_ups: ReplyFollowUps,
        policy: ReplyPolicy,
        classifier: CommentClassifier | None = None,
    ) -> None:
        self._mail = mail
        self._archive = archive
        self._store = store
        self._tokens = tokens
        self._publisher = publisher
        self._follow_ups = follow_ups
        self._policy = policy
        self._classifier = classifier

    def record_reply(self, location: MailLocation) -> ReplyResult:
        """Read, match, judge and record one stored message; see the module docstring.

        Raises ``InboundMessageMissingError`` when the object is gone; store, publisher and queue errors
        propagate (the notification is then retried).
        """
        result = self._outcome(location)
        self._archive.mark(location, result.outcome)
        return result

    def _outcome(self, location: MailLocation) -> ReplyResult:
        try:
            mail = read_message(self._mail.read(location), self._policy.own_mail)
        except (InboundMessageTooLargeError, UnreadableMessageError) as error:
            return ReplyResult(ReplyOutcome.REFUSED, reason=str(error))
        if mail.automatic is not None:
            return ReplyResult(ReplyOutcome.AUTOMATIC, reason=mail.automatic.value)
        found = self._find_survey(mail.recipients, mail.references)
        if found is None:
            return ReplyResult(ReplyOutcome.UNKNOWN_SURVEY)
        survey, matched_by = found
        survey_id = survey.survey_id
        if survey.status is not SurveyStatus.SENT:
            status = survey.status.value
            return ReplyResult(ReplyOutcome.CLOSED_SURVEY, status, survey_id, matched_by=matched_by)
        # When SES received it, not when it is read: a reply sent in time counts after a queue's delay.
        if location.received_at >= survey.expires_at:
            return ReplyResult(ReplyOutcome.EXPIRED_SURVEY, survey_id=survey_id, matched_by=matched_by)
        text = new_text(mail.text)
        if not text:
            return ReplyResult(ReplyOutcome.NO_NEW_TEXT, survey_id=survey_id, matched_by=matched_by)
        return self._record(survey, text, location, matched_by)

    def _find_survey(
        self, recipients: tuple[str, ...], references: tuple[str, ...]
    ) -> tuple[Survey, str] | None:
        """The survey a reply answers: its signed reply address first, then the survey email's message id."""
        if self._policy.reply_domain:
            tokens = None
            for address in recipients:
                token = reply_token_of(address, self._policy.reply_domain)
                if token is None:
                    continue
                tokens = tokens or self._tokens()
                survey_id = tokens.verify(token)
                survey = self._store.get_survey(survey_id) if survey_id else None
                if survey is not None:
                    return survey, "reply_address"
        for message_id in references:
            survey_id = self._store.survey_for_message(message_id_key(message_id))
            survey = self._store.get_survey(survey_id) if survey_id else None
            if survey is not None:
                return survey, "message_id"
        return None

    def _record(self, survey: Survey, text: str, location: MailLocation, matched_by: str) -> ReplyResult:
        # A reply has no score: it is judged on its words, read in the survey's language.
        answer = SurveyAnswer(
            survey.survey_type,
            score=None,
            resolved=None,
            comment=text,
            locale=survey.locale or self._policy.default_locale,
        )
        verdict = judge_answer(answer, self._policy.thresholds, self._classifier)
        response = SurveyResponse.of(
            answer,
            response_id=location.response_id,
            survey_id=survey.survey_id,
            received_at=location.received_at,
            negative=verdict.negative,
            verdict_reasons=verdict.reasons,
            action=verdict.action,
            source=ResponseSource.EMAIL,
        )
        outcome = ReplyOutcome.RECORDED
        try:
            self._store.add_response(survey, response)
        except ResponseAlreadyRecordedError:
            # Recorded by an earlier delivery that may have stopped before what follows: both are idempotent.
            outcome = ReplyOutcome.DUPLICATE
        except SurveyClosedError:
            return ReplyResult(ReplyOutcome.CLOSED_SURVEY, survey_id=survey.survey_id, matched_by=matched_by)
        announce(
            self._publisher,
            SurveyResponseReceived(
                helpdesk=survey.helpdesk,
                ticket_id=survey.ticket_id,
                survey_id=survey.survey_id,
                response_id=response.response_id,
                survey_type=survey.survey_type,
                score=None,
                resolved=None,
                reasons=[],
                negative=response.negative,
                verdict=list(verdict.reasons),
                action=verdict.action.value,
                has_comment=True,
                agent_id=_id_of(survey.agent),
                team_id=_id_of(survey.team),
                received_at=response.received_at,
                source="email",
            ),
        )
        # A negative reply waits the grace period like a bad answer on the page; a note alone need not.
        delay = self._policy.grace if response.negative else timedelta(0)
        self._follow_ups.request_reply_follow_up(survey.survey_id, response.response_id, delay)
        return ReplyResult(
            outcome,
            survey_id=survey.survey_id,
            response_id=response.response_id,
            matched_by=matched_by,
            negative=response.negative,
        )


def _id_of(snapshot: dict[str, object]) -> str | None:
    value = snapshot.get("id")
    return str(value) if value not in (None, "") else None
