"""The survey and unsubscribe pages' flow: each route calls the answers service and renders the outcome.

Beside the other services: it decides which page a request gets (the form, the thanks page, an error page
with the refusal's status) and what it shows (the answer clicked or last given, the locale), through one
port, ``PageRenderer`` (``closeloop.adapters.pages.SurveyPages`` renders with Jinja2 and Babel). The
requests and pages it deals in are plain values (``closeloop.domain.page_requests``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from closeloop.domain.answers import (
    FORM_TOKEN_FIELD,
    AnswerForm,
    FormTokens,
    InvalidAnswerError,
    MalformedRequestError,
    SurveyAnswers,
    SurveyPageError,
    check_same_site,
    form_fields,
    is_one_click_unsubscribe,
    parse_answer,
    preselected_choice,
    read_answer_form,
)
from closeloop.domain.page_requests import (
    MAX_QUERY_VALUE_CHARS,
    Page,
    PageRequest,
    overlong_query,
    requested_hosts,
)
from closeloop.domain.surveys import Survey, SurveyResponse, answer_key


class PageRenderer(Protocol):
    """Each page as a complete HTML document, in a locale it resolves."""

    def locale_for(
        self, requested: str | None, survey_locale: str | None = None, accept_language: str | None = None
    ) -> str:
        """The page's locale: an explicit choice, else the survey's, else the browser's first language."""
        ...

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
    ) -> str: ...

    def thanks(self, *, survey: Survey, locale: str, negative: bool) -> str: ...

    def unsubscribe_form(self, *, token: str, locale: str) -> str: ...

    def unsubscribed(self, *, locale: str) -> str: ...

    def error(self, *, code: str, locale: str, switchable: bool = True) -> str: ...


class SurveyPageFlow:
    """Each route's page: call the answers service, render the outcome, turn refusals into error pages."""

    def __init__(
        self,
        answers: SurveyAnswers,
        form_tokens: Callable[[], FormTokens],
        pages: PageRenderer,
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
