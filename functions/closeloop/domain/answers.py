"""Answering a survey and unsubscribing: the rules behind the survey pages, with small ports.

A survey link (``/s/{token}``) is a capability: whoever holds it may answer for that survey, until the
survey expires. Mail security scanners open every link in a message, so opening a link only shows a
confirmation page (``open_survey``); an answer is recorded only by the form's POST (``record_response``),
and only when the POST carries the form token of a page closeloop rendered for that link and does not
come from another site. Answers can be changed until the survey closes; every version is kept and the
latest counts. A negative answer asks for a reopen check after a grace period, so a corrected answer
given within it wins.

Unsubscribing (``/u/{token}``) suppresses the address; planning and sending both skip suppressed
addresses, so nothing further is planned or sent to it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import ClassVar, Protocol
from urllib.parse import parse_qs, urlsplit

from itsdangerous import BadSignature, Signer

from closeloop.domain.judgment import CommentClassifier, NegativityThresholds, VerdictAction, judge_answer
from closeloop.domain.links import ExpiredLinkError, InvalidLinkError, LinkPurpose, LinkSigner, SigningKeys
from closeloop.domain.published import CustomerUnsubscribed, EventPublisher, SurveyResponseReceived, announce
from closeloop.domain.surveys import (
    ANSWER_SCALES,
    MAX_COMMENT_CHARS,
    REASON_CODES,
    Survey,
    SurveyAnswer,
    SurveyResponse,
    SurveyStatus,
    SurveyType,
    answer_key,
)

FORM_TOKEN_SALT = "closeloop.form"  # noqa: S105 (a salt, not a secret)
FORM_TOKEN_FIELD = "form_token"  # noqa: S105 (a field name)
# RFC 8058: the body a mail provider POSTs to the List-Unsubscribe URL.
ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
# Sec-Fetch-Site values a browser sends for a form posted from closeloop's own page (or typed by hand).
_SAME_SITE_FETCHES = frozenset({"same-origin", "none"})

# Bounds on what a page request may carry, checked before any work on it (one definition each).
# The form holds a handful of fields; more is not a form closeloop rendered.
MAX_FORM_FIELDS = 64
# The longest genuine form: a comment of MAX_COMMENT_CHARS characters of up to 4 UTF-8 bytes, each byte
# percent-encoded as 3 characters, plus the other fields.
MAX_FORM_BYTES = MAX_COMMENT_CHARS * 4 * 3 + 4096
# An Origin is scheme://host[:port]: a DNS name is at most 253 characters.
MAX_ORIGIN_CHARS = 300
# Sec-Fetch-Site's longest value is "same-origin"; a refusal quotes at most this much of it.
MAX_FETCH_SITE_CHARS = 32


# ---- errors: each one is a page with its own status -------------------------------------------------


class SurveyPageError(Exception):
    """A request the survey pages refuse; ``status`` is the HTTP status of the page shown."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "invalid"


class SurveyLinkNotFoundError(SurveyPageError):
    """The token was altered, was never issued by closeloop, or names no stored survey."""

    status = 404
    code = "not_found"


class SurveyLinkExpiredError(SurveyPageError):
    """The link or the survey is past its expiry: answers are closed."""

    status = 410
    code = "expired"


class SurveyClosedError(SurveyPageError):
    """The survey takes no answers: it was cancelled (the ticket was reopened) or never sent."""

    status = 410
    code = "closed"


class CrossSiteRequestError(SurveyPageError):
    """The POST came from another site, or without the form token of a page closeloop rendered."""

    status = 403
    code = "forbidden"


class InvalidAnswerError(SurveyPageError):
    """The submitted form does not fit the survey; ``errors`` maps each field to a stable error code."""

    status = 400
    code = "invalid"

    def __init__(self, errors: Mapping[str, str], submitted: AnswerForm) -> None:
        super().__init__(", ".join(f"{name}: {error}" for name, error in errors.items()))
        self.errors = dict(errors)
        self.submitted = submitted


class MalformedRequestError(SurveyPageError):
    """The request body is not a form closeloop understands (e.g. an unsubscribe POST without RFC 8058's
    ``List-Unsubscribe=One-Click``, or with more than ``MAX_FORM_FIELDS`` fields)."""

    status = 400
    code = "malformed"


class FormTooLargeError(SurveyPageError):
    """The request body is larger than any form closeloop renders (``MAX_FORM_BYTES``)."""

    status = 413
    code = "malformed"


# ---- the form -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerForm:
    """What the customer filled in, as text (used to show the form again when it has errors);
    ``parse_answer`` turns it into a valid ``SurveyAnswer``."""

    choice: str | None = None
    resolved: str | None = None
    comment: str = ""
    reasons: tuple[str, ...] = ()


def preselected_choice(survey_type: SurveyType, value: str | None) -> str | None:
    """The clicked answer from the link's query, if it is one the survey offers (otherwise none)."""
    if value is None:
        return None
    cleaned = value.strip().lower()
    offered = {str(choice) for choice in ANSWER_SCALES.get(survey_type, ())}
    return cleaned if cleaned in offered else None


def _first(fields: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = fields.get(name) or ()
    return values[0] if values else None


def read_answer_form(survey_type: SurveyType, fields: Mapping[str, Sequence[str]]) -> AnswerForm:
    """The raw answer fields of a posted form (as ``urllib.parse.parse_qs`` gives them)."""
    return AnswerForm(
        choice=_first(fields, answer_key(survey_type)),
        resolved=_first(fields, "resolved"),
        comment=_first(fields, "comment") or "",
        reasons=tuple(fields.get("reasons") or ()),
    )


def parse_answer(survey_type: SurveyType, form: AnswerForm) -> SurveyAnswer:
    """Validate a submitted form against the survey type; raises ``InvalidAnswerError`` naming each
    field in error. The comment is trimmed and may be empty; reasons must be codes the page offers."""
    errors: dict[str, str] = {}
    scale = ANSWER_SCALES.get(survey_type)
    if scale is None:
        raise ValueError(f"unknown survey type {survey_type!r}")
    key = answer_key(survey_type)
    choice = (form.choice or "").strip().lower()
    score: int | None = None
    resolved: bool | None = None
    if not choice:
        errors[key] = "required"
    elif choice not in {str(value) for value in scale}:
        errors[key] = "out_of_range"
    elif survey_type == "resolved":
        resolved = choice == "yes"
    else:
        score = int(choice)
    if survey_type != "resolved" and form.resolved not in (None, ""):
        if form.resolved in ("yes", "no"):
            resolved = form.resolved == "yes"
        else:
            errors["resolved"] = "out_of_range"
    comment = form.comment.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        errors["comment"] = "too_long"
    reasons = tuple(dict.fromkeys(form.reasons))
    if any(reason not in REASON_CODES for reason in reasons):
        errors["reasons"] = "unknown"
    if errors:
        # The form is shown again with what was sent, but never more of it than a valid form holds:
        # a page must not repeat unbounded input back (the comment's error asks to shorten it).
        raise InvalidAnswerError(errors, replace(form, comment=form.comment[:MAX_COMMENT_CHARS]))
    return SurveyAnswer(survey_type, score=score, resolved=resolved, comment=comment or None, reasons=reasons)


def is_bad_choice(survey_type: SurveyType, choice: int | str, thresholds: NegativityThresholds) -> bool:
    """True for the answers on the bad side of the deployment's thresholds (the page then asks why)."""
    if survey_type == "resolved":
        return str(choice) == "no"
    return thresholds.is_low(survey_type, int(choice))


def form_fields(body: bytes) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body as field → values (blank values kept).

    Raises ``FormTooLargeError`` over ``MAX_FORM_BYTES`` (checked before any parsing) and
    ``MalformedRequestError`` over ``MAX_FORM_FIELDS`` fields. A body that is not UTF-8 is an empty form:
    the page then refuses it for what it lacks.
    """
    if len(body) > MAX_FORM_BYTES:
        raise FormTooLargeError(f"the form is over {MAX_FORM_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    try:
        return parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as error:  # parse_qs's only refusal here: "Max number of fields exceeded"
        raise MalformedRequestError(f"the form has more than {MAX_FORM_FIELDS} fields") from error


def is_one_click_unsubscribe(fields: Mapping[str, Sequence[str]]) -> bool:
    """RFC 8058: a one-click unsubscribe POST carries ``List-Unsubscribe=One-Click``."""
    return ONE_CLICK_VALUE in (fields.get(ONE_CLICK_FIELD) or ())


# ---- cross-site protection ------------------------------------------------------------------------


class FormTokens:
    """The form token: an HMAC of the link token under the signing keys, with its own salt.

    The link token alone is a capability that anyone who saw the URL holds; the form token proves a
    POST comes from a page closeloop rendered for that link (the field is in the page, not the URL).
    Signed with the active key; every current key verifies, so key rotation does not break open pages.
    """

    def __init__(self, keys: SigningKeys) -> None:
        self._signer = Signer(keys.rotation(), salt=FORM_TOKEN_SALT, digest_method=hashlib.sha256)

    @classmethod
    def from_secret(cls, secret: Mapping[str, object]) -> FormTokens:
        """Built from the same secret as ``LinkSigner``: ``{"active": "k2", "k1": "…", "k2": "…"}``."""
        return cls(SigningKeys.from_secret(secret))

    def issue(self, link_token: str) -> str:
        return self._signer.get_signature(link_token).decode("ascii")

    def check(self, link_token: str, form_token: str | None) -> None:
        """Raises ``CrossSiteRequestError`` unless ``form_token`` was issued for ``link_token``."""
        if not form_token:
            raise CrossSiteRequestError("the form token is missing")
        try:
            valid = self._signer.verify_signature(link_token, form_token)
        except BadSignature:
            valid = False
        if not valid:
            raise CrossSiteRequestError("the form token does not match the link")


def check_same_site(headers: Mapping[str, str], own_hosts: Collection[str]) -> None:
    """Raises ``CrossSiteRequestError`` when the browser says the POST comes from another site.

    ``Sec-Fetch-Site`` decides when present (every current browser sends it); otherwise ``Origin`` must
    name one of ``own_hosts`` (``Origin: null`` is refused). A request with neither (an old browser, a
    script) is left to the form token. Header names must be lower case, as API Gateway gives them.
    """
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site:
        if fetch_site.strip().lower() not in _SAME_SITE_FETCHES:
            # Quoted in ASCII and cut: the reason is logged, and the header is whatever the sender chose.
            quoted = ascii(fetch_site[:MAX_FETCH_SITE_CHARS])[: MAX_FETCH_SITE_CHARS + 2]
            raise CrossSiteRequestError(f"Sec-Fetch-Site is {quoted}")
        return
    origin = headers.get("origin")
    if origin is None:
        return
    host = _origin_host(origin)
    if not host or host not in {own.lower() for own in own_hosts if own}:
        raise CrossSiteRequestError("Origin is another site")


def _origin_host(origin: str) -> str:
    """The host an ``Origin`` header names; empty for ``null`` and for anything that is not an origin."""
    text = origin.strip()
    if len(text) > MAX_ORIGIN_CHARS or text == "null":
        return ""
    try:
        return urlsplit(text).netloc.lower()
    except ValueError as error:  # e.g. "http://[": an unclosed IPv6 literal
        raise CrossSiteRequestError("Origin is not a valid origin") from error


# ---- ports ----------------------------------------------------------------------------------------


class AnswerStore(Protocol):
    def get_survey(self, survey_id: str) -> Survey | None: ...
    def latest_response(self, survey_id: str) -> SurveyResponse | None: ...

    def add_response(self, survey: Survey, response: SurveyResponse) -> None:
        """Store the answer; raises ``SurveyClosedError`` when the survey no longer takes answers."""
        ...

    def is_suppressed(self, email: str) -> bool: ...
    def suppress(self, email: str, reason: str, now: datetime) -> None: ...


class ReopenChecks(Protocol):
    def request_check(self, survey_id: str, response_id: str, delay: timedelta) -> None:
        """Ask the reopen handler to look at this survey's latest answer after ``delay``."""
        ...


@dataclass(frozen=True)
class AnswerPolicy:
    """When an answer counts as negative, and how long the customer may change it before a reopen check."""

    thresholds: NegativityThresholds = field(default_factory=NegativityThresholds)
    grace: timedelta = timedelta(minutes=10)


# ---- the service ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedSurvey:
    """What the survey page needs: the survey and the customer's latest answer, if any."""

    survey: Survey
    latest: SurveyResponse | None


@dataclass(frozen=True)
class RecordedAnswer:
    """An answer as stored, and whether a reopen check was requested for it."""

    survey: Survey
    response: SurveyResponse
    reopen_check_requested: bool


@dataclass(frozen=True)
class Unsubscribed:
    """The survey an unsubscribe came through, and whether its address was suppressed already."""

    survey: Survey
    already: bool  # the address was suppressed before this request


class SurveyAnswers:
    """Opening, answering and unsubscribing from a survey link."""

    def __init__(
        self,
        store: AnswerStore,
        signer: Callable[[], LinkSigner],
        publisher: EventPublisher,
        reopen_checks: ReopenChecks,
        policy: AnswerPolicy,
        classifier: CommentClassifier | None = None,
    ) -> None:
        self._store = store
        self._signer = signer
        self._publisher = publisher
        self._reopen_checks = reopen_checks
        self._policy = policy
        self._classifier = classifier

    @property
    def policy(self) -> AnswerPolicy:
        return self._policy

    def open_survey(self, token: str, now: datetime) -> OpenedSurvey:
        """The survey behind a survey link, if it still takes answers. Reads only: a GET must be safe."""
        survey = self._answerable_survey(token, now)
        return OpenedSurvey(survey, self._store.latest_response(survey.survey_id))

    def record_response(self, token: str, answer: SurveyAnswer, locale: str, now: datetime) -> RecordedAnswer:
        """Verify the link, judge and store the answer (given on a page in ``locale``), announce it, and when
        it is negative ask for a reopen check after the grace period."""
        survey = self._answerable_survey(token, now)
        if answer.survey_type != survey.survey_type:
            raise ValueError(f"a {answer.survey_type} answer cannot answer a {survey.survey_type} survey")
        # The comment is read in the language of the page it was written on.
        answer = replace(answer, locale=locale)
        verdict = judge_answer(answer, self._policy.thresholds, self._classifier)
        response = SurveyResponse.of(
            answer,
            response_id=uuid.uuid4().hex,
            survey_id=survey.survey_id,
            received_at=now,
            negative=verdict.negative,
            verdict_reasons=verdict.reasons,
            action=verdict.action,
        )
        self._store.add_response(survey, response)
        announce(
            self._publisher,
            SurveyResponseReceived(
                helpdesk=survey.helpdesk,
                ticket_id=survey.ticket_id,
                survey_id=survey.survey_id,
                response_id=response.response_id,
                survey_type=survey.survey_type,
                score=response.score,
                resolved=response.resolved,
                reasons=list(response.reasons),
                negative=response.negative,
                verdict=list(verdict.reasons),
                action=verdict.action.value,
                has_comment=response.comment is not None,
                agent_id=_id_of(survey.agent),
                team_id=_id_of(survey.team),
                received_at=now,
            ),
        )
        # A "please look" alert waits for the grace period too: the customer may still correct the answer.
        check = verdict.action is not VerdictAction.NONE
        if check:
            self._reopen_checks.request_check(survey.survey_id, response.response_id, self._policy.grace)
        return RecordedAnswer(survey, response, reopen_check_requested=check)

    def unsubscribe_target(self, token: str, now: datetime) -> Survey:
        """The survey behind an unsubscribe link (any status: a customer may always opt out)."""
        return self._survey(token, LinkPurpose.UNSUBSCRIBE, now)

    def unsubscribe(self, token: str, now: datetime) -> Unsubscribed:
        """Suppress the link's address for good and announce it (once; repeating is harmless)."""
        survey = self.unsubscribe_target(token, now)
        if self._store.is_suppressed(survey.customer_email):
            return Unsubscribed(survey, already=True)
        self._store.suppress(survey.customer_email, "unsubscribed", now)
        announce(
            self._publisher,
            CustomerUnsubscribed(
                helpdesk=survey.helpdesk,
                ticket_id=survey.ticket_id,
                survey_id=survey.survey_id,
                unsubscribed_at=now,
            ),
        )
        return Unsubscribed(survey, already=False)

    def _survey(self, token: str, purpose: LinkPurpose, now: datetime) -> Survey:
        try:
            claims = self._signer().verify(token, purpose, now)
        except ExpiredLinkError as error:
            raise SurveyLinkExpiredError(str(error)) from error
        except InvalidLinkError as error:
            raise SurveyLinkNotFoundError(str(error)) from error
        survey = self._store.get_survey(claims.survey_id)
        if survey is None:
            raise SurveyLinkNotFoundError("no such survey")
        return survey

    def _answerable_survey(self, token: str, now: datetime) -> Survey:
        survey = self._survey(token, LinkPurpose.SURVEY, now)
        if survey.status is not SurveyStatus.SENT:
            raise SurveyClosedError(f"survey is {survey.status.value}")
        if now >= survey.expires_at:
            raise SurveyLinkExpiredError("survey expired")
        return survey


def _id_of(snapshot: Mapping[str, object]) -> str | None:
    value = snapshot.get("id")
    return str(value) if value not in (None, "") else None
