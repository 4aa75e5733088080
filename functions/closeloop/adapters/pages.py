"""The survey pages' HTML: the page flow's ``PageRenderer`` (``closeloop.domain.survey_pages``).

Pages are full HTML documents rendered by the one ``EmailRenderer`` environment (autoescaped, strict),
in the best shipped locale: ``?lang=`` first, then the survey's locale, then the browser's first
language, then the deployment default. The wording lives in ``templates/pages/`` and the ``pages``
message catalogs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from babel import Locale

from closeloop.adapters.dates import until_date
from closeloop.adapters.rendering import EmailRenderer, first_accepted_language, language_tag
from closeloop.domain.answers import AnswerForm, is_bad_choice, preselected_choice
from closeloop.domain.judgment import NegativityThresholds
from closeloop.domain.surveys import (
    ANSWER_SCALES,
    MAX_COMMENT_CHARS,
    REASON_CODES,
    Survey,
    SurveyResponse,
    answer_key,
)


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
                "until_closing": until_date(survey.expires_at.date(), locale),
                "max_comment_chars": MAX_COMMENT_CHARS,
                "languages": self._languages(locale, query),
            },
        )

    def thanks(self, *, survey: Survey, locale: str, negative: bool) -> str:
        return self._render(
            "pages/thanks.html.j2",
            locale,
            {
                "negative": negative,
                "until_closing": until_date(survey.expires_at.date(), locale),
                "languages": [],
            },
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
            # Each language names itself ("português (Brasil)", "português (Portugal)").
            language = Locale.parse(code, sep="-")
            name = language.get_display_name(language) or code
            links.append(
                LanguageLink(
                    code=code,
                    name=name[:1].upper() + name[1:],
                    url="?" + urlencode({**query, "lang": code}),
                    current=code == current,
                )
            )
        return links
