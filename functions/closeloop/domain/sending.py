"""Sending a planned survey: re-check, sign the links, render, mail, record. Never twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from closeloop.domain.links import LinkPurpose, LinkSigner
from closeloop.domain.messages import (
    AnswerLink,
    RenderedEmail,
    SurveyEmailContent,
    header_display_name,
    mailbox_problem,
)
from closeloop.domain.published import (
    EventPublisher,
    ReminderSent,
    ReminderSkipped,
    SurveySent,
    SurveySuppressed,
    announce,
)
from closeloop.domain.reply_addresses import ReplyTokens, reply_address
from closeloop.domain.surveys import (
    ANSWER_SCALES,
    ReminderNotClaimableError,
    ReminderSkipReason,
    ReminderStatus,
    Survey,
    SurveyStatus,
    UnknownSurveyError,
    answer_key,
)
from closeloop.domain.surveys import SurveyNotClaimableError as SurveyNotClaimableError  # re-exported
from closeloop.domain.timing import QuietHours, customer_zone, send_time

# An unsubscribe link keeps working long after the survey itself closes.
UNSUBSCRIBE_VALIDITY = timedelta(days=400)


class MailRetryableError(Exception):
    """The mail service did not take the message (throttling, quota, outage): safe to retry later."""


class MailRejectedError(Exception):
    """The mail service refused the message for good (e.g. unverified sender): it was not sent.

    The message is the reason, written for an operator; it never holds an address.
    """


class MailRecipientUnverifiedError(MailRejectedError):
    """The mail service delivers only to verified addresses and the recipient is not one.

    That is SES's sandbox: an account without production access in the region can send only to its
    own verified identities. Nothing is wrong with the survey; it can be sent once access is granted.
    """


class MailOutcomeUnknownError(Exception):
    """The request may have reached the mail service: sending again could send twice."""


class SendOutcomeUnknownError(Exception):
    """An earlier attempt may have sent this survey; a person must decide (it is never resent)."""


class SendRejectedError(Exception):
    """The survey cannot be sent; the reason is in the message."""


class InvalidRecipientError(SendRejectedError):
    """The survey's address can head no email (``mailbox_problem``); found before claiming, so it waits.

    Planned before addresses were checked at planning time; a redrive fails the same way: delete it.
    """


class RecipientNotVerifiedError(SendRejectedError):
    """The survey was not sent: the mail service is in its sandbox (``MailRecipientUnverifiedError``)."""


@dataclass(frozen=True)
class OutgoingEmail:
    """One survey email, composed and ready to be sent."""

    sender_address: str
    sender_name: str
    recipient_address: str
    recipient_name: str | None
    subject: str
    text: str
    html: str
    locale: str
    unsubscribe_url: str
    survey_id: str
    # The survey's signed reply address (``reply+<token>@<ReplyDomain>``); None keeps replies going to the
    # sender address.
    reply_to: str | None = None


class SendingStore(Protocol):
    def get_survey(self, survey_id: str) -> Survey | None: ...
    def is_suppressed(self, email: str) -> bool: ...
    def mark_suppressed(self, survey_id: str, now: datetime) -> None: ...
    def claim_for_sending(self, survey_id: str, now: datetime) -> None: ...
    def release_claim(self, survey_id: str, now: datetime) -> None: ...
    def mark_sent(
        self,
        survey_id: str,
        message_id: str,
        sent_at: datetime,
        expires_at: datetime,
        reminder_at: datetime | None = None,
    ) -> None: ...

    # The one reminder: the same claim / release / mark-sent pattern, on the survey's ``reminder`` state.
    def mark_reminder_scheduled(self, survey_id: str) -> None: ...
    def has_answer(self, survey_id: str) -> bool: ...
    def claim_reminder(self, survey_id: str, now: datetime) -> None: ...
    def release_reminder(self, survey_id: str, now: datetime) -> None: ...
    def mark_reminder_sent(self, survey_id: str, message_id: str, now: datetime) -> None: ...
    def skip_reminder(self, survey_id: str, reason: ReminderSkipReason, now: datetime) -> bool: ...


class LaterSends(Protocol):
    """Puts "send survey X" (or "send its reminder") on the send queue at a moment (a one-time schedule)."""

    def schedule_reminder(self, survey_id: str, at: datetime, now: datetime) -> None: ...

    def hold(self, survey_id: str, *, reminder: bool, until: datetime, now: datetime) -> None:
        """Deliver the request again at ``until``; idempotent for the same ``until``."""
        ...


class Renderer(Protocol):
    def render_survey(self, content: SurveyEmailContent) -> RenderedEmail: ...


class Mailer(Protocol):
    def send(self, email: OutgoingEmail, now: datetime) -> str: ...


class SendResult(StrEnum):
    SENT = "sent"
    NOT_PENDING = "not_pending"  # cancelled, already sent, or claimed by a concurrent delivery
    SUPPRESSED = "suppressed"
    SKIPPED = "skipped"  # a reminder whose survey was answered, suppressed, reopened or expired
    HELD = "held"  # due inside the customer's quiet hours (a late delivery): delivered again at their end


@dataclass(frozen=True)
class SendingPolicy:
    """Who survey emails come from, where their links point, and how long they take answers."""

    sender_address: str
    sender_name: str
    public_base_url: str
    expiry: timedelta
    # Where replies to survey emails are received (the ReplyDomain parameter); empty: no Reply-To.
    reply_domain: str = ""
    # How long after the survey email its one reminder is due (ReminderDays); zero: no reminders.
    reminder_after: timedelta = timedelta(0)
    # No survey email or reminder goes out inside these, in the customer's zone (else the deployment's
    # default zone): planning avoids them, and a delivery that arrives late inside them is held.
    quiet_hours: QuietHours = field(default_factory=lambda: QuietHours.parse("off"))
    default_timezone: str = "UTC"


class SurveySender:
    def __init__(
        self,
        store: SendingStore,
        renderer: Renderer,
        mailer: Mailer,
        signer: Callable[[], LinkSigner],
        publisher: EventPublisher,
        policy: SendingPolicy,
        reply_tokens: Callable[[], ReplyTokens] | None = None,
        later: Callable[[], LaterSends] | None = None,
    ) -> None:
        self._store = store
        self._later = later
        self._reply_tokens = reply_tokens
        self._renderer = renderer
        self._mailer = mailer
        self._signer = signer
        self._publisher = publisher
        self._policy = policy

    def send_survey(self, survey_id: str, now: datetime) -> SendResult:
        """Send one planned survey, at most once whatever happens.

        Raises ``MailRetryableError`` when it should be tried again later (the survey waits again);
        ``SendRejectedError`` (``RecipientNotVerifiedError`` for SES's sandbox) when the mail service
        refused it (nothing was sent, the survey waits again for a redrive once fixed); and
        ``SendOutcomeUnknownError`` when it may have been sent (the survey stays claimed: never resent).
        """
        survey = self._store.get_survey(survey_id)
        if survey is None:
            raise UnknownSurveyError(survey_id)
        if survey.status is SurveyStatus.SENDING:
            raise SendOutcomeUnknownError(f"survey {survey_id} was claimed by an attempt that did not finish")
        if (
            survey.reminder is ReminderStatus.SCHEDULED
            and survey.reminder_at is not None
            and not survey.reminder_scheduled
        ):
            # An earlier delivery marked it sent and stopped before scheduling its reminder: finish that.
            self._schedule_reminder(survey_id, survey.reminder_at, now)
            return SendResult.NOT_PENDING
        if survey.status is not SurveyStatus.PLANNED:
            return SendResult.NOT_PENDING
        if self._store.is_suppressed(survey.customer_email):
            self._store.mark_suppressed(survey_id, now)
            announce(
                self._publisher,
                SurveySuppressed(
                    helpdesk=survey.helpdesk,
                    ticket_id=survey.ticket_id,
                    survey_id=survey_id,
                    reason="address_suppressed",
                ),
            )
            return SendResult.SUPPRESSED

        problem = mailbox_problem(survey.customer_email)
        if problem is not None:
            # Before the claim: a survey is never left claimed by a failure known in advance.
            raise InvalidRecipientError(f"survey {survey_id} cannot be mailed: {problem}")
        if self._held(survey, now, reminder=False):
            return SendResult.HELD
        expires_at = now + self._policy.expiry
        email = self.compose(survey, now, expires_at)
        try:
            self._store.claim_for_sending(survey_id, now)
        except SurveyNotClaimableError:
            return SendResult.NOT_PENDING
        message_id = self._send_claimed(
            email, now, lambda: self._store.release_claim(survey_id, now), f"survey {survey_id}"
        )
        reminder_at = self._reminder_time(survey, now, expires_at)
        self._store.mark_sent(survey_id, message_id, now, expires_at, reminder_at)
        announce(
            self._publisher,
            SurveySent(
                helpdesk=survey.helpdesk,
                ticket_id=survey.ticket_id,
                survey_id=survey_id,
                survey_type=survey.survey_type,
                locale=email.locale,
                sent_at=now,
                expires_at=expires_at,
                agent_id=survey.agent.get("id"),
                agent_name=survey.agent.get("name"),
                team_id=survey.team.get("id"),
                team_name=survey.team.get("name"),
                brand=survey.brand,
                channel=survey.channel,
                rule=survey.rule,
                negative_answer=survey.negative_answer,
            ),
        )
        if reminder_at is not None:
            self._schedule_reminder(survey_id, reminder_at, now)
        return SendResult.SENT

    def send_reminder(self, survey_id: str, now: datetime) -> SendResult:
        """Send a sent survey's one reminder, at most once whatever happens, unless the survey no longer
        wants it: answered (on the page or by reply), its address suppressed (unsubscribe, bounce,
        complaint), its ticket reopened, or expired. Those are decided here, from the survey's state at
        send time: deleting the reminder's schedule when they happen is only an optimisation.

        Raises like ``send_survey``: ``MailRetryableError`` (the reminder waits again),
        ``SendRejectedError`` (not sent; waits again for a redrive) and ``SendOutcomeUnknownError`` (it may
        have been sent: the reminder stays claimed, never resent).
        """
        survey = self._store.get_survey(survey_id)
        if survey is None:
            raise UnknownSurveyError(survey_id)
        if survey.reminder is ReminderStatus.SENDING:
            raise SendOutcomeUnknownError(
                f"the reminder of survey {survey_id} was claimed by an attempt that did not finish"
            )
        if survey.reminder is not ReminderStatus.SCHEDULED:
            return SendResult.NOT_PENDING
        reason = self._reminder_skip_reason(survey, now)
        if reason is not None:
            if not self._store.skip_reminder(survey_id, reason, now):
                return SendResult.NOT_PENDING
            announce(
                self._publisher,
                ReminderSkipped(
                    helpdesk=survey.helpdesk,
                    ticket_id=survey.ticket_id,
                    survey_id=survey_id,
                    reason=reason.value,
                ),
            )
            return SendResult.SKIPPED
        problem = mailbox_problem(survey.customer_email)
        if problem is not None:
            raise InvalidRecipientError(f"the reminder of survey {survey_id} cannot be mailed: {problem}")
        if self._held(survey, now, reminder=True):
            return SendResult.HELD
        email = self.compose(survey, survey.sent_at or now, survey.expires_at, reminder=True)
        try:
            self._store.claim_reminder(survey_id, now)
        except ReminderNotClaimableError:
            return SendResult.NOT_PENDING
        message_id = self._send_claimed(
            email,
            now,
            lambda: self._store.release_reminder(survey_id, now),
            f"the reminder of survey {survey_id}",
        )
        self._store.mark_reminder_sent(survey_id, message_id, now)
        announce(
            self._publisher,
            ReminderSent(
                helpdesk=survey.helpdesk,
                ticket_id=survey.ticket_id,
                survey_id=survey_id,
                survey_type=survey.survey_type,
                locale=email.locale,
                sent_at=now,
                expires_at=survey.expires_at,
            ),
        )
        return SendResult.SENT

    def _send_claimed(
        self, email: OutgoingEmail, now: datetime, release: Callable[[], None], what: str
    ) -> str:
        """Send a claimed email (the survey's or its reminder's) and return the mail service's message id.

        ``release`` gives the claim back when nothing was sent, so a retry or a redrive can send it; when
        the request may have reached the mail service the claim stays, so nothing can send it twice.
        """
        try:
            return self._mailer.send(email, now)
        except MailRetryableError:
            release()
            raise
        except MailRejectedError as error:
            release()
            if isinstance(error, MailRecipientUnverifiedError):
                raise RecipientNotVerifiedError(f"{what} was not sent: {error}") from error
            raise SendRejectedError(f"mail service refused {what}: {error}") from error
        except MailOutcomeUnknownError as error:
            raise SendOutcomeUnknownError(f"{what}: {error}") from error

    def _reminder_time(self, survey: Survey, sent_at: datetime, expires_at: datetime) -> datetime | None:
        """When the survey's reminder is due: ``reminder_after`` the email, moved out of the customer's
        quiet hours; None when reminders are off or it would fall after the survey's expiry."""
        if self._later is None or self._policy.reminder_after <= timedelta(0):
            return None
        zone = customer_zone(survey.timezone, self._policy.default_timezone)
        due = send_time(sent_at, self._policy.reminder_after, self._policy.quiet_hours, zone, sent_at)
        return due if due < expires_at else None

    def _held(self, survey: Survey, now: datetime, *, reminder: bool) -> bool:
        """Hand the request back for the end of the customer's quiet hours when it arrives inside them.

        Planning and the reminder's schedule never choose a moment inside them; a delivery gets there late
        when SES throttling or an outage kept it waiting, or when an operator redrives it at night. Nothing
        is claimed yet, so a repeated delivery of the same request only asks for the same schedule again.
        """
        if self._later is None or not self._policy.quiet_hours.enabled:
            return False
        zone = customer_zone(survey.timezone, self._policy.default_timezone)
        until = send_time(now, timedelta(0), self._policy.quiet_hours, zone, now)
        if until <= now:
            return False
        self._later().hold(survey.survey_id, reminder=reminder, until=until, now=now)
        return True

    def _schedule_reminder(self, survey_id: str, at: datetime, now: datetime) -> None:
        if self._later is None:
            return
        # Built when first needed: a send function that schedules no reminder never loads the scheduler.
        self._later().schedule_reminder(survey_id, at, now)
        self._store.mark_reminder_scheduled(survey_id)

    def _reminder_skip_reason(self, survey: Survey, now: datetime) -> ReminderSkipReason | None:
        """Why the survey no longer wants its reminder, read from its state now; None: send it."""
        if self._policy.reminder_after <= timedelta(0):
            return ReminderSkipReason.TURNED_OFF
        if survey.delivery == "bounced":
            return ReminderSkipReason.BOUNCED
        if survey.delivery == "complained":
            return ReminderSkipReason.COMPLAINED
        if now >= survey.expires_at:
            return ReminderSkipReason.EXPIRED
        if self._store.is_suppressed(survey.customer_email):
            return ReminderSkipReason.SUPPRESSED
        if self._store.has_answer(survey.survey_id):
            return ReminderSkipReason.ANSWERED
        return None

    def compose(
        self, survey: Survey, now: datetime, expires_at: datetime, *, reminder: bool = False
    ) -> OutgoingEmail:
        """The email for this survey, with freshly signed links (no I/O).

        Links are signed deterministically: the reminder, composed with the survey's ``sent_at`` and
        ``expires_at``, carries the very links (and reply address) of the first email.
        """
        signer = self._signer()
        survey_token = signer.issue(survey.survey_id, LinkPurpose.SURVEY, expires_at)
        unsubscribe_token = signer.issue(
            survey.survey_id, LinkPurpose.UNSUBSCRIBE, now + UNSUBSCRIBE_VALIDITY
        )
        base = self._policy.public_base_url
        unsubscribe_url = f"{base}/u/{unsubscribe_token}"
        key = answer_key(survey.survey_type)
        content = SurveyEmailContent(
            locale=survey.locale,
            customer_name=survey.customer_name,
            ticket_id=survey.ticket_id,
            ticket_subject=survey.subject,
            agent_name=survey.agent.get("name"),
            # The rule's sender name when the survey's rule set one (closeloop.domain.policies).
            brand=survey.sender_name or self._policy.sender_name,
            survey_type=survey.survey_type,
            answers=tuple(
                AnswerLink(value=value, url=f"{base}/s/{survey_token}?{key}={value}")
                for value in ANSWER_SCALES[survey.survey_type]
            ),
            unsubscribe_url=unsubscribe_url,
            # Shown as a date: the customer's own calendar day, not UTC's.
            expires_at=expires_at.astimezone(customer_zone(survey.timezone, "UTC")),
            reminder=reminder,
        )
        rendered = self._renderer.render_survey(content)
        return OutgoingEmail(
            sender_address=self._policy.sender_address,
            sender_name=survey.sender_name or self._policy.sender_name,
            recipient_address=survey.customer_email,
            recipient_name=header_display_name(survey.customer_email, survey.customer_name),
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            locale=rendered.locale,
            unsubscribe_url=unsubscribe_url,
            survey_id=survey.survey_id,
            reply_to=self._reply_address(survey.survey_id),
        )

    def _reply_address(self, survey_id: str) -> str | None:
        """The survey's reply address when the deployment receives replies (``ReplyDomain``)."""
        if not self._policy.reply_domain or self._reply_tokens is None:
            return None
        token = self._reply_tokens().issue(survey_id)
        return reply_address(token, self._policy.reply_domain) if token else None
