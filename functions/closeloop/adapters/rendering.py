"""Render the survey email from the templates layer: one Jinja environment, one message catalog per locale.

The wording lives in ``templates/`` (shipped as its own Lambda layer, mounted at ``/opt``), not here:

- ``email/survey_copy.j2`` holds every sentence once; both layouts print its variables, so the text and
  HTML parts cannot drift apart;
- ``email/survey.txt.j2`` and ``email/survey.html.j2`` lay those sentences out;
- ``brand.json`` holds colours and an optional logo;
- ``locales/<lang>/LC_MESSAGES/<domain>.mo`` holds the compiled translations, one catalog domain per
  part of the product (``CATALOG_DOMAINS``): the email, the survey pages and the lead alerts.

Translations are passed to each render in its context, never installed on the environment, so one
locale's catalog cannot leak into the next render. Each part reads only its own catalog: the same
English sentence may be worded differently in two parts, and neither can override the other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from babel import Locale
from babel.core import get_global
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from closeloop.adapters.dates import has_until_rule, until_date
from closeloop.adapters.names import given_name, greeting_name
from closeloop.domain.messages import AnswerLink, RenderedEmail, SurveyEmailContent, one_line
from closeloop.domain.surveys import ANSWER_SCALES

CATALOG_DOMAIN = "closeloop"
# The catalog domain of each templates folder. A template reads the catalog of its folder only (pages
# extending pages/base.html.j2 and alerts importing alerts/alert_copy.j2 stay in their folder);
# templates/babel/<domain>.cfg extracts the same folder into the same domain.
CATALOG_DOMAINS: Mapping[str, str] = {"email": CATALOG_DOMAIN, "pages": "pages", "alerts": "alerts"}
SOURCE_LOCALE = "en"
# The languages and regional variants shipped in templates/locales (the default SupportedLocales).
SHIPPED_LOCALES = ("en", "it", "vi", "ca", "hr", "es", "fr", "de", "pt-BR", "pt-PT")
COPY_TEMPLATE = "email/survey_copy.j2"
TEXT_TEMPLATE = "email/survey.txt.j2"
HTML_TEMPLATE = "email/survey.html.j2"
BRAND_FILE = "brand.json"

# Used when brand.json leaves a key out; the defaults meet WCAG AA contrast (4.5:1) on their backgrounds.
DEFAULT_BRAND_STYLE: Mapping[str, str] = {
    "accent_color": "#1D4ED8",
    "accent_text_color": "#FFFFFF",
    "text_color": "#1F2937",
    "muted_text_color": "#4B5563",
    "page_background_color": "#F3F4F6",
    "card_background_color": "#FFFFFF",
    "font_family": "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif",
    "logo_url": "",
    "logo_width": "140",
}

_SUBJECT_MAX_CHARS = 90
# CLDR's parent locales (pt_AO → pt_PT, es_MX → es_419) and likely subtags (pt → pt_Latn_BR).
_PARENT_LOCALES: Mapping[str, str] = get_global("parent_exceptions")
_LIKELY_SUBTAGS: Mapping[str, str] = get_global("likely_subtags")
_LOCALE_SEPARATORS = re.compile(r"[-_]")

# Bounds on what a request may ask for, applied before any work on it: negotiation runs on every page
# view, so its cost must not grow with what a caller sends. RFC 5646 (4.4.1) sizes language tags to 35
# characters; anything longer names no shipped locale.
MAX_LANGUAGE_TAG_CHARS = 35
# Browsers send a few languages in well under this; only the leading part of a longer header is read.
MAX_ACCEPT_LANGUAGE_CHARS = 256

# The content contracts live in the domain; re-exported here for the renderer's callers.
__all__ = ["AnswerLink", "EmailRenderer", "RenderedEmail", "SurveyEmailContent", "given_name"]


class LocaleNotSupportedError(Exception):
    """The configured default locale has no catalog in the templates layer."""


class EmailRenderer:
    """Render survey emails in the customer's language, falling back to the default locale."""

    def __init__(
        self,
        templates_path: str | Path,
        default_locale: str = SOURCE_LOCALE,
        supported_locales: Sequence[str] = SHIPPED_LOCALES,
    ) -> None:
        self._root = Path(templates_path)
        self._environment = Environment(
            loader=FileSystemLoader(self._root),
            undefined=StrictUndefined,
            autoescape=select_autoescape(
                enabled_extensions=("html", "htm", "xml", "html.j2", "htm.j2", "xml.j2"),
                default_for_string=True,
                default=False,
            ),
            extensions=["jinja2.ext.i18n"],
            # The layer is read-only for the life of the container: no need to stat templates per render.
            auto_reload=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # {% trans %} blocks compile against new-style gettext, matching the callables passed per render.
        self._environment.newstyle_gettext = True  # type: ignore[attr-defined]
        self._brand_style = _load_brand_style(self._root / BRAND_FILE)
        self._locales_dir = self._root / "locales"
        self._shipped = self._shipped_among(supported_locales)
        undated = sorted(tag for tag in self._shipped if not has_until_rule(tag))
        if undated:
            raise LocaleNotSupportedError(
                f"no date rule for {undated} in closeloop.adapters.dates: add one before shipping the locale"
            )
        # Every part needs its catalog: a locale with the email's only would fail on its first page view.
        incomplete = sorted(
            str(self._catalog_path(tag, domain))
            for tag in self._shipped
            if tag != SOURCE_LOCALE
            for domain in CATALOG_DOMAINS.values()
            if not self._catalog_path(tag, domain).is_file()
        )
        if incomplete:
            raise LocaleNotSupportedError(f"missing catalogs {incomplete} (make translations-compile)")
        self._shipped_by_key = {tag.lower(): tag for tag in self._shipped}
        # No shipped locale has more subtags than this, so longer requests are matched on this many.
        self._max_subtags = max(len(tag.split("-")) for tag in self._shipped)
        self._translations: dict[tuple[str, str], NullTranslations] = {}
        default = self._match(_canonical(default_locale))
        if default is None:
            raise LocaleNotSupportedError(
                f"default locale {default_locale!r} is not both supported and shipped in {self._locales_dir}"
            )
        self._default_locale = default

    @property
    def environment(self) -> Environment:
        """The one Jinja environment (exposed for tests and tooling, e.g. to check its settings)."""
        return self._environment

    @property
    def shipped_locales(self) -> tuple[str, ...]:
        """Supported locales that have a compiled catalog (English, the source, always does)."""
        return tuple(sorted(self._shipped))

    def resolve_locale(self, requested: str | None) -> str:
        """The shipped locale to use for ``requested``: exact tag, then CLDR's parent region, then its
        language, then the language's most likely region, then the default.

        ``pt_BR``, ``pt-br`` and ``PT-BR`` all mean ``pt-BR``; ``pt-AO``, ``pt-MZ`` and the other
        Portuguese of Africa, Asia and Europe get ``pt-PT`` (CLDR's parent locale); a bare ``pt`` or any
        other region gets ``pt-BR`` (CLDR's likely region for ``pt``). Encodings and modifiers
        (``de_DE.UTF-8``, ``ca_ES@valencia``) are ignored. A request over ``MAX_LANGUAGE_TAG_CHARS``
        gets the default.
        """
        tag = language_tag(requested)
        matched = self._match(_canonical(tag)) if tag else None
        return matched or self._default_locale

    def localized_variables(self, locale: str, domain: str = CATALOG_DOMAIN) -> dict[str, Any]:
        """What every template rendered in ``locale`` (already resolved) receives: the gettext family
        bound to that locale's ``domain`` catalog, the locale, the text direction and the brand style."""
        babel_locale = Locale.parse(locale, sep="-")
        translations = self._translations_for(locale, domain)
        return {
            "gettext": _new_style_gettext(translations),
            "ngettext": _new_style_ngettext(translations),
            "pgettext": _new_style_pgettext(translations),
            "npgettext": _new_style_npgettext(translations),
            "locale": locale,
            "html_lang": locale,
            "text_direction": "rtl" if babel_locale.character_order == "right-to-left" else "ltr",
            "style": self._brand_style,
        }

    def render_template(
        self, template_name: str, requested_locale: str | None, variables: Mapping[str, Any]
    ) -> str:
        """Render any template of the layer (pages, alerts) in the best shipped locale for the request."""
        locale = self.resolve_locale(requested_locale)
        context = self.localized_variables(locale, domain_of(template_name)) | dict(variables)
        return self._environment.get_template(template_name).render(context)

    def render_survey(self, content: SurveyEmailContent) -> RenderedEmail:
        """Render subject, text and HTML parts of one survey email."""
        variables = self.survey_variables(content)
        text = self._environment.get_template(TEXT_TEMPLATE).render(variables)
        html = self._environment.get_template(HTML_TEMPLATE).render(variables)
        return RenderedEmail(locale=variables["locale"], subject=variables["subject"], text=text, html=html)

    def survey_variables(self, content: SurveyEmailContent) -> dict[str, Any]:
        """What the two layouts of the survey email receive, ``copy`` (its sentences) and ``subject`` too."""
        _check_answers(content)
        locale = self.resolve_locale(content.locale)
        variables: dict[str, Any] = self.localized_variables(locale) | {
            "first_name": greeting_name(content.customer_name, locale),
            "ticket_ref": content.ticket_id.strip().lstrip("#"),
            "ticket_subject": _shorten(content.ticket_subject),
            "agent_name": (content.agent_name or "").strip() or None,
            "brand": content.brand.strip(),
            "survey_type": content.survey_type,
            "answers": content.answers,
            "unsubscribe_url": content.unsubscribe_url,
            "reminder": content.reminder,
            "until_expiry": until_date(content.expires_at.date(), locale),
        }
        copy = self._environment.get_template(COPY_TEMPLATE).make_module(variables)
        exported = vars(copy)
        if "subject" not in exported:
            raise ValueError(f"{COPY_TEMPLATE} must set a top-level `subject` variable")
        # One line, whatever the ticket data holds: a newline in a header would be a header injection.
        subject = one_line(str(exported["subject"]))
        return variables | {"copy": copy, "subject": subject}

    def _shipped_among(self, supported: Sequence[str]) -> dict[str, str]:
        """The supported tags that have a catalog. A bare language (``pt``) stands for every shipped
        regional variant of it (``pt-BR``, ``pt-PT``), so a setting written before they existed keeps
        its languages."""
        shipped: dict[str, str] = {}
        for tag in map(_canonical, supported):
            if tag == SOURCE_LOCALE or self._catalog_path(tag).is_file():
                shipped[tag] = tag
            elif tag and "-" not in tag:
                for regional in sorted(self._locales_dir.glob(f"{tag}_*/LC_MESSAGES/{CATALOG_DOMAIN}.mo")):
                    variant = _canonical(regional.parts[-3])
                    shipped[variant] = variant
        return shipped

    def _match(self, tag: str) -> str | None:
        """The shipped locale for a canonical ``tag``, or None (see ``resolve_locale``)."""
        subtags = _LOCALE_SEPARATORS.split(tag)[: self._max_subtags] if tag else []
        for length in range(len(subtags), 0, -1):
            candidate = "-".join(subtags[:length])
            if candidate.lower() in self._shipped_by_key:
                return self._shipped_by_key[candidate.lower()]
            parent = _PARENT_LOCALES.get(candidate.replace("-", "_"))
            if parent and parent.replace("_", "-").lower() in self._shipped_by_key:
                return self._shipped_by_key[parent.replace("_", "-").lower()]
        if subtags:
            likely = _LIKELY_SUBTAGS.get(subtags[0].lower(), "").split("_")
            if len(likely) == 3:
                candidate = f"{likely[0]}-{likely[2]}".lower()
                return self._shipped_by_key.get(candidate)
        return None

    def _catalog_path(self, locale: str, domain: str = CATALOG_DOMAIN) -> Path:
        return self._locales_dir / locale.replace("-", "_") / "LC_MESSAGES" / f"{domain}.mo"

    def _translations_for(self, locale: str, domain: str) -> NullTranslations:
        key = (locale, domain)
        if key not in self._translations:
            path = self._catalog_path(locale, domain)
            if path.is_file():
                with path.open("rb") as catalog:
                    self._translations[key] = Translations(catalog, domain=domain)
            elif locale == SOURCE_LOCALE:
                # The source wording is the msgids themselves.
                self._translations[key] = NullTranslations()
            else:
                raise LocaleNotSupportedError(f"{locale!r} ships no {domain} catalog at {path}")
        return self._translations[key]


def domain_of(template_name: str) -> str:
    """The catalog domain of a template: that of its folder (``pages/survey.html.j2`` → ``pages``)."""
    folder = template_name.split("/", 1)[0]
    if folder not in CATALOG_DOMAINS:
        raise ValueError(f"{template_name!r} is in no catalog domain's folder ({sorted(CATALOG_DOMAINS)})")
    return CATALOG_DOMAINS[folder]


def language_tag(value: str | None) -> str | None:
    """``value`` stripped, if it can be a language tag at all (at most ``MAX_LANGUAGE_TAG_CHARS``)."""
    text = (value or "").strip()
    return text if text and len(text) <= MAX_LANGUAGE_TAG_CHARS else None


def first_accepted_language(accept_language: str | None) -> str | None:
    """The browser's first language in an ``Accept-Language`` header (``it-IT,it;q=0.9`` → ``it-IT``).

    Only the header's first ``MAX_ACCEPT_LANGUAGE_CHARS`` are read, so the work is bounded whatever
    its length; an entry that cannot be a language tag gives None.
    """
    head = (accept_language or "")[:MAX_ACCEPT_LANGUAGE_CHARS]
    return language_tag(head.split(",", 1)[0].split(";", 1)[0])


def _canonical(tag: str) -> str:
    """``pt_br.UTF-8`` → ``pt-BR``; ``zh_hant_tw`` → ``zh-Hant-TW``; ``EN-us`` → ``en-US``."""
    bare = tag.strip().split(".")[0].split("@")[0]
    subtags = [part for part in _LOCALE_SEPARATORS.split(bare) if part]
    if not subtags:
        return ""
    canonical = [subtags[0].lower()]
    for part in subtags[1:]:
        if len(part) == 4 and part.isalpha():
            canonical.append(part.title())
        elif len(part) in (2, 3):
            canonical.append(part.upper())
        else:
            canonical.append(part.lower())
    return "-".join(canonical)


def _shorten(subject: str | None) -> str | None:
    if not subject or not subject.strip():
        return None
    flat = " ".join(subject.split())
    return flat if len(flat) <= _SUBJECT_MAX_CHARS else flat[: _SUBJECT_MAX_CHARS - 1].rstrip() + "…"


def _check_answers(content: SurveyEmailContent) -> None:
    expected = ANSWER_SCALES.get(content.survey_type)
    if expected is None:
        raise ValueError(f"unknown survey type {content.survey_type!r}")
    given = sorted(str(answer.value) for answer in content.answers)
    if given != sorted(str(value) for value in expected):
        raise ValueError(f"a {content.survey_type} survey needs one answer link for each of {expected}")


def _load_brand_style(path: Path) -> Mapping[str, str]:
    if not path.is_file():
        return DEFAULT_BRAND_STYLE
    overrides = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(overrides, dict):
        raise ValueError(f"{path} must hold a JSON object")
    unknown = sorted(set(overrides) - set(DEFAULT_BRAND_STYLE) - {"_comment"})
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}; known keys are {sorted(DEFAULT_BRAND_STYLE)}")
    overrides.pop("_comment", None)
    return {**DEFAULT_BRAND_STYLE, **{key: str(value) for key, value in overrides.items()}}


def _format(context: Context, translated: str, variables: Mapping[str, Any]) -> str:
    # In an autoescaped template the translation is trusted markup and every value is escaped into it.
    if context.eval_ctx.autoescape:
        return Markup(translated) % variables  # noqa: S704 (catalogs are ours; the values get escaped)
    return translated % variables


def _new_style_gettext(translations: NullTranslations) -> Callable[..., str]:
    @pass_context
    def gettext(context: Context, message: str, /, **variables: Any) -> str:
        return _format(context, translations.gettext(message), variables)

    return gettext


def _new_style_ngettext(translations: NullTranslations) -> Callable[..., str]:
    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, /, **variables: Any) -> str:
        variables.setdefault("num", num)
        return _format(context, translations.ngettext(singular, plural, num), variables)

    return ngettext


def _new_style_pgettext(translations: NullTranslations) -> Callable[..., str]:
    @pass_context
    def pgettext(context: Context, message_context: str, message: str, /, **variables: Any) -> str:
        return _format(context, str(translations.pgettext(message_context, message)), variables)

    return pgettext


def _new_style_npgettext(translations: NullTranslations) -> Callable[..., str]:
    @pass_context
    def npgettext(
        context: Context, message_context: str, singular: str, plural: str, num: int, /, **variables: Any
    ) -> str:
        variables.setdefault("num", num)
        translated = translations.npgettext(message_context, singular, plural, num)
        return _format(context, str(translated), variables)

    return npgettext
