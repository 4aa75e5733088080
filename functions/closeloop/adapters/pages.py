"""The survey pages' edges: HTML rendering (``templates/pages/``) and reopen checks.

Pages are full HTML documents rendered by the one ``EmailRenderer`` environment (autoescaped, strict),
in the best shipped locale: ``?lang=`` first, then the survey's locale, then the browser's first
language, then the deployment default. The wording lives in ``templates/pages/`` and the ``pages``
message catalogs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from babel import Locale
from babel.dates import format_date

from closeloop.adapters.page_http import (
    MAX_QUERY_VALUE_CHARS,
    Page,
    PageRequest,
    overlong_query,
    requested_hosts,
)
from closeloop.adapters.rendering import EmailRenderer, first_accepted_language, language_tag
from closeloop.domain.answers import (
    FORM_TOKEN_FIELD,
    MAX_FORM_BYTES,
    MAX_FORM_FIELDS,
    AnswerForm,
    FormTokens,
    FormTooLargeError,
    InvalidAnswerError,
    MalformedRequestError,
    SurveyAnswers,
    SurveyPageError,
    check_same_site,
    is_bad_choice,
    is_one_click_unsubscribe,
    parse_answer,
    preselected_choice,
    read_answer_form,
)
from closeloop.domain.judgment import NegativityThresholds
from closeloop.domain.queue_messages import ReopenRequest
from closeloop.domain.surveys import (
    ANSWER_SCALES,
    MAX_COMMENT_CHARS,
    REASON_CODES,
    Survey,
    SurveyResponse,
    answer_key,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class LanguageLink:
    """One entry of a page's language switcher."""

    code: str
    name: str
    url: str
    current: bool


@dataclass(frozen=True)
class Choice:
    """One answer button of the survey form; ``bad`` marks the answers the survey counts as negative."""

    value: str
    bad: bool


class SurveyPages:
    """Renders each survey page as a complete HTML document."""

    def __init__(self, renderer: EmailRenderer, brand: str, thresholds: NegativityThresholds) -> None:
        self._renderer = renderer
        self._brand = brand
        self._thresholds = thresholds

    def locale_for(
        self, requested: str | None, survey_locale: str | None = None, accept_language: str | None = None
    ) -> str:
        """The page's locale: an explicit choice, else the survey's, else the browser's first language.

        Each candidate is bounded before any work (``language_tag``): its cost does not grow with input.
        """
        candidates = (
            language_tag(requested),
            language_tag(survey_locale),
            first_accepted_language(accept_language),
        )
        for candidate in candidates:
            if not candidate:
                continue
            resolved = self._renderer.resolve_locale(candidate)
            # resolve_locale falls back to the default silently; only a real match counts here.
            if resolved.split("-")[0].lower() == candidate.replace("_", "-").split("-")[0].lower():
                return resolved
        return self._renderer.resolve_locale(None)

    def survey_form(
        self,
        *,
        survey: Survey,
        token: str,
        locale: str,
        form: AnswerForm,
        form_token: str,
        errors: Mapping[str, str] | None = None,
        latest: SurveyResponse | None = None,
    ) -> str:
        key = answer_key(survey.survey_type)
        # The language links repeat the choice only when it is one the survey offers: never raw input.
        offered = preselected_choice(survey.survey_type, form.choice)
        query = {key: offered} if offered else {}
        return self._render(
            "pages/survey.html.j2",
            locale,
            {
                "survey_type": survey.survey_type,
                "ticket_ref": survey.ticket_id.strip().lstrip("#"),
                "answer_key": key,
                "choices": [
                    Choice(str(value), is_bad_choice(survey.survey_type, value, self._thresholds))
                    for value in ANSWER_SCALES[survey.survey_type]
                ],
                "reason_codes": REASON_CODES,
                "form": form,
                "errors": dict(errors or {}),
                "form_token": form_token,
                "action": token,
                "answered_before": latest is not None,
                "open_until": _date(survey.expires_at, locale),
                "max_comment_chars": MAX_COMMENT_CHARS,
                "languages": self._languages(locale, query),
            },
        )

    def thanks(self, *, survey: Survey, locale: str, negative: bool) -> str:
        return self._render(
            "pages/thanks.html.j2",
            locale,
            {"negative": negative, "open_until": _date(survey.expires_at, locale), "languages": []},
        )

    def unsubscribe_form(self, *, token: str, locale: str) -> str:
        return self._render(
            "pages/unsubscribe.html.j2", locale, {"action": token, "languages": self._languages(locale, {})}
        )

    def unsubscribed(self, *, locale: str) -> str:
        return self._render("pages/unsubscribed.html.j2", locale, {"languages": []})

    def error(self, *, code: str, locale: str, switchable: bool = True) -> str:
        languages = self._languages(locale, {}) if switchable else []
        return self._render("pages/error.html.j2", locale, {"code": code, "languages": languages})

    def _render(self, template: str, locale: str, variables: Mapping[str, Any]) -> str:
        return self._renderer.render_template(template, locale, {"brand": self._brand, **variables})

    def _languages(self, current: str, query: Mapping[str, str]) -> list[LanguageLink]:
        links = []
        for code in self._renderer.shipped_locales:
            name = Locale.parse(code, sep="-").get_display_name(code) or code
            links.append(
                LanguageLink(
                    code=code,
                    name=name[:1].upper() + name[1:],
                    url="?" + urlencode({**query, "lang": code}),
                    current=code == current,
                )
            )
        return links


def _date(moment: datetime, locale: str) -> str:
    return format_date(moment, format="long", locale=Locale.parse(locale, sep="-"))


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


class SqsReopenChecks:
    """Reopen checks as delayed messages on the reopen queue (SQS delays up to 15 minutes)."""

    MAX_DELAY = timedelta(minutes=15)

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def request_check(self, survey_id: str, response_id: str, delay: timedelta) -> None:
        if not self._queue_url:
            raise RuntimeError("REOPEN_QUEUE_URL is not configured: a negative answer cannot be followed up")
        seconds = int(min(max(delay, timedelta(0)), self.MAX_DELAY).total_seconds())
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=ReopenRequest(survey_id, response_id).to_body(),
            DelaySeconds=seconds,
        )


class SurveyPageFlow:
    """Each route's page: call the answers service, render the outcome, turn refusals into error pages."""

    def __init__(
        self,
        answers: SurveyAnswers,
        form_tokens: Callable[[], FormTokens],
        pages: SurveyPages,
        public_base_url: str,
    ) -> None:
        self._answers = answers
        self._form_tokens = form_tokens
        self._pages = pages
        self._public_base_url = public_base_url

    def show_survey(self, request: PageRequest, now: datetime) -> Page:
        """GET /s/{token}: the form with the clicked (or last given) answer selected. Writes nothing."""
        try:
            _check_query(request)
            opened = self._answers.open_survey(request.token, now)
        except SurveyPageError as error:
            return self.error_page(error, request)
        survey, latest = opened.survey, opened.latest
        clicked = preselected_choice(survey.survey_type, request.query.get(answer_key(survey.survey_type)))
        form = _form_of(survey, latest) if latest is not None else AnswerForm()
        if clicked:
            form = replace(form, choice=clicked)
        locale = self._pages.locale_for(request.query.get("lang"), survey.locale, _accept(request))
        html = self._pages.survey_form(
            survey=survey,
            token=request.token,
            locale=locale,
            form=form,
            form_token=self._form_tokens().issue(request.token),
            latest=latest,
        )
        return Page(200, html)

    def submit_survey(self, request: PageRequest, now: datetime) -> Page:
        """POST /s/{token}: check where the form comes from, validate it, record the answer."""
        fields: dict[str, list[str]] = {}
        try:
            fields = form_fields(request.body)
            check_same_site(request.headers, requested_hosts(request, self._public_base_url))
            self._form_tokens().check(request.token, _first(fields, FORM_TOKEN_FIELD))
            opened = self._answers.open_survey(request.token, now)
        except SurveyPageError as error:
            return self.error_page(error, request, _first(fields, "lang"))
        survey = opened.survey
        locale = self._pages.locale_for(_first(fields, "lang"), survey.locale, _accept(request))
        form = read_answer_form(survey.survey_type, fields)
        try:
            recorded = self._answers.record_response(
                request.token, parse_answer(survey.survey_type, form), locale, now
            )
        except InvalidAnswerError as invalid:
            html = self._pages.survey_form(
                survey=survey,
                token=request.token,
                locale=locale,
                form=invalid.submitted,
                form_token=self._form_tokens().issue(request.token),
                errors=invalid.errors,
                latest=opened.latest,
            )
            return Page(invalid.status, html)
        except SurveyPageError as error:
            return self.error_page(error, request, locale)
        return Page(
            200, self._pages.thanks(survey=survey, locale=locale, negative=recorded.response.negative)
        )

    def show_unsubscribe(self, request: PageRequest, now: datetime) -> Page:
        """GET /u/{token}: a confirmation page (scanners open this link too). Writes nothing."""
        try:
            _check_query(request)
            survey = self._answers.unsubscribe_target(request.token, now)
        except SurveyPageError as error:
            return self.error_page(error, request)
        locale = self._pages.locale_for(request.query.get("lang"), survey.locale, _accept(request))
        return Page(200, self._pages.unsubscribe_form(token=request.token, locale=locale))

    def submit_unsubscribe(self, request: PageRequest, now: datetime) -> Page:
        """POST /u/{token}: RFC 8058 one-click (from a mail provider) or the confirmation page's button.

        Both send ``List-Unsubscribe=One-Click``; mail providers post from their servers without
        ``Origin``, so this route does not ask for a form token: the link token is the capability.
        """
        fields: dict[str, list[str]] = {}
        try:
            fields = form_fields(request.body)
            if not is_one_click_unsubscribe(fields):
                raise MalformedRequestError("an unsubscribe POST must carry List-Unsubscribe=One-Click")
            done = self._answers.unsubscribe(request.token, now)
        except SurveyPageError as error:
            return self.error_page(error, request, _first(fields, "lang"))
        locale = self._pages.locale_for(_first(fields, "lang"), done.survey.locale, _accept(request))
        return Page(200, self._pages.unsubscribed(locale=locale))

    def error_page(self, error: SurveyPageError, request: PageRequest, requested: str | None = None) -> Page:
        locale = self._pages.locale_for(requested or request.query.get("lang"), None, _accept(request))
        return Page(error.status, self._pages.error(code=error.code, locale=locale))


def _check_query(request: PageRequest) -> None:
    name = overlong_query(request.query)
    if name is not None:
        raise MalformedRequestError(
            f"the query parameter {name} is longer than {MAX_QUERY_VALUE_CHARS} characters"
        )


def _accept(request: PageRequest) -> str | None:
    return request.headers.get("accept-language")


def _first(fields: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = fields.get(name) or ()
    return values[0] if values else None


def _form_of(survey: Survey, latest: SurveyResponse) -> AnswerForm:
    """The form as the customer last sent it, so a changed answer starts from the previous one."""
    if survey.survey_type == "resolved":
        choice = None if latest.resolved is None else ("yes" if latest.resolved else "no")
        resolved = None
    else:
        choice = None if latest.score is None else str(latest.score)
        resolved = None if latest.resolved is None else ("yes" if latest.resolved else "no")
    return AnswerForm(choice=choice, resolved=resolved, comment=latest.comment or "", reasons=latest.reasons)
