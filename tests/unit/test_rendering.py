"""The survey email renderer: every shipped locale and survey type, escaping, fallback, no leaks."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import StrictUndefined, UndefinedError

from closeloop.adapters import dates
from closeloop.adapters.rendering import (
    MAX_ACCEPT_LANGUAGE_CHARS,
    MAX_LANGUAGE_TAG_CHARS,
    AnswerLink,
    EmailRenderer,
    LocaleNotSupportedError,
    RenderedEmail,
    SurveyEmailContent,
    first_accepted_language,
    given_name,
)
from closeloop.domain.surveys import ANSWER_SCALES, SurveyType
from tests.conftest import TEMPLATES
from tests.fakes import SHIPPED_LOCALES

SURVEY_TYPES: tuple[SurveyType, ...] = ("csat", "nps", "ces", "resolved")
CUSTOMERS = {
    "en": ("Emily Carter", "Emily"),
    "it": ("Giulia Rossi", "Giulia"),
    "vi": ("Nguyễn Thị Lan", "Lan"),
    "ca": ("Jordi Puig", "Jordi"),
    "hr": ("Ivana Horvat", "Ivana"),
    "es": ("Lucía Fernández", "Lucía"),
    "fr": ("Camille Dubois", "Camille"),
    "de": ("Jonas Müller", "Jonas"),
    "pt-BR": ("Ana Souza", "Ana"),
    "pt-PT": ("Inês Carvalho", "Inês"),
}
# Croatian greets without the name: a greeting would need the vocative, whose form depends on the name.
NAMELESS_GREETING = {"hr": "Dobar dan,"}
# French numbers a request "n° 4521" (with a no-break space); the other languages "#4521".
TICKET_REFS = {"fr": "n°\N{NO-BREAK SPACE}4521"}
EXPIRES = datetime(2026, 12, 21, 18, 0, tzinfo=UTC)
INVISIBLE = dict.fromkeys(map(ord, "\u034f\u200c\u00a0\u202f"), " ")
URL = re.compile(r"https?://\S+")


def survey_content(
    locale: str | None = "en", survey_type: SurveyType = "csat", **changes: object
) -> SurveyEmailContent:
    fields: dict[str, object] = {
        "locale": locale,
        "customer_name": CUSTOMERS.get(locale or "en", CUSTOMERS["en"])[0],
        "ticket_id": "4521",
        "ticket_subject": "Can't sign in after resetting my password",
        "agent_name": "Marta",
        "brand": "Acme Support",
        "survey_type": survey_type,
        "answers": tuple(
            AnswerLink(value, f"https://surveys.example.com/s/tok3n?score={value}")
            for value in ANSWER_SCALES[survey_type]
        ),
        "unsubscribe_url": "https://surveys.example.com/u/tok3n",
        "expires_at": EXPIRES,
    }
    fields.update(changes)
    return SurveyEmailContent(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def renderer() -> EmailRenderer:
    return EmailRenderer(TEMPLATES)


class _VisibleText(HTMLParser):
    """Text a reader sees, one block (paragraph, cell, heading, line break) per line, and every link."""

    BLOCKS = frozenset({"p", "div", "td", "tr", "table", "br", "h1", "h2", "h3", "li", "body"})
    HIDDEN = frozenset({"head", "title", "style", "script"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.links: set[str] = set()
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        if tag in self.BLOCKS:
            self.chunks.append("\n")
        if tag == "a":
            self.links.update(value for name, value in attrs if name == "href" and value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden -= 1
        if tag in self.BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.chunks.append(data)


def _lines(text: str) -> set[str]:
    return {" ".join(line.translate(INVISIBLE).split()) for line in text.splitlines()} - {""}


def html_lines_and_links(html: str) -> tuple[set[str], set[str]]:
    parser = _VisibleText()
    parser.feed(html)
    return _lines("".join(parser.chunks)), parser.links


def text_lines_and_links(text: str) -> tuple[set[str], set[str]]:
    links = set(URL.findall(text))
    return _lines(URL.sub("", text)) - {"--"}, links


def render(renderer: EmailRenderer, *args: object, **changes: object) -> RenderedEmail:
    return renderer.render_survey(survey_content(*args, **changes))  # type: ignore[arg-type]


@pytest.mark.parametrize("survey_type", SURVEY_TYPES)
@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
class TestEveryLocaleAndSurveyType:
    def test_renders_in_the_requested_locale(
        self, renderer: EmailRenderer, locale: str, survey_type: SurveyType
    ) -> None:
        # GIVEN a shipped locale WHEN the email is rendered THEN that locale is the one used
        assert render(renderer, locale, survey_type).locale == locale

    def test_greets_the_customer_by_first_name_in_both_parts(
        self, renderer: EmailRenderer, locale: str, survey_type: SurveyType
    ) -> None:
        # GIVEN a customer's full name WHEN rendered THEN both parts use the given name, not the full name
        # (or, where the greeting would need a case form of it, the greeting without a name)
        email = render(renderer, locale, survey_type)
        full_name, first_name = CUSTOMERS[locale]
        for part in (email.text, email.html):
            if locale in NAMELESS_GREETING:
                assert NAMELESS_GREETING[locale] in part
                assert first_name not in part
            else:
                assert first_name in part
            assert full_name not in part

    def test_names_the_ticket_in_subject_and_both_parts(
        self, renderer: EmailRenderer, locale: str, survey_type: SurveyType
    ) -> None:
        # GIVEN ticket 4521 WHEN rendered THEN the subject and both parts name it and the ticket's subject
        email = render(renderer, locale, survey_type)
        reference = TICKET_REFS.get(locale, "#4521")
        assert reference in email.subject
        for part in (email.text, email.html.replace("&#39;", "'")):
            assert reference in part
            assert "Can't sign in after resetting my password" in part

    def test_every_answer_link_and_the_unsubscribe_link_appear_in_both_parts(
        self, renderer: EmailRenderer, locale: str, survey_type: SurveyType
    ) -> None:
        # GIVEN one signed link per answer WHEN rendered THEN each is in the text part and an HTML link
        content = survey_content(locale, survey_type)
        email = renderer.render_survey(content)
        _, html_links = html_lines_and_links(email.html)
        _, text_links = text_lines_and_links(email.text)
        expected = {answer.url for answer in content.answers} | {content.unsubscribe_url}
        assert html_links == expected
        assert text_links == expected

    def test_text_and_html_parts_say_the_same_thing(
        self, renderer: EmailRenderer, locale: str, survey_type: SurveyType
    ) -> None:
        # GIVEN any email WHEN both parts are reduced to their visible lines THEN they hold the same sentences
        email = render(renderer, locale, survey_type)
        html_lines, _ = html_lines_and_links(email.html)
        text_lines, _ = text_lines_and_links(email.text)
        assert html_lines == text_lines

    def test_each_answer_is_listed_on_its_own_line_followed_by_its_link(
        self, renderer: EmailRenderer, locale: str, survey_type: SurveyType
    ) -> None:
        # GIVEN the text part WHEN read line by line THEN each answer's URL is alone after its label
        content = survey_content(locale, survey_type)
        lines = renderer.render_survey(content).text.splitlines()
        for answer in content.answers:
            index = lines.index(answer.url)
            label = lines[index - 1]
            assert label.strip()
            if survey_type != "resolved":
                assert label.split()[0] == str(answer.value)

    def test_html_declares_language_direction_title_and_preheader(
        self, renderer: EmailRenderer, locale: str, survey_type: SurveyType
    ) -> None:
        # GIVEN any locale WHEN rendered THEN <html> has lang and dir, and there is a <title> and a preheader
        email = render(renderer, locale, survey_type)
        assert f'<html lang="{locale}" dir="ltr"' in email.html
        assert "<title>" in email.html
        assert 'class="preheader"' in email.html

    def test_subject_is_one_line(self, renderer: EmailRenderer, locale: str, survey_type: SurveyType) -> None:
        # GIVEN ticket data with line breaks WHEN rendered THEN the subject header stays on one line
        email = render(renderer, locale, survey_type, ticket_id="45\r\n21")
        assert "\n" not in email.subject
        assert "\r" not in email.subject


# The reminder's subject in each shipped locale, for a CSAT survey and a "resolved" one about ticket 4521.
REMINDER_SUBJECTS: dict[str, tuple[str, str]] = {
    "en": (
        "Reminder: how did we do with your request #4521?",
        "Reminder: is your request #4521 really solved?",
    ),
    "it": (
        "Promemoria: com\u2019è andata con la sua richiesta #4521?",
        "Promemoria: la sua richiesta #4521 è davvero risolta?",
    ),
    "vi": (
        "Nhắc nhở: chúng tôi đã hỗ trợ yêu cầu #4521 của bạn thế nào?",
        "Nhắc nhở: yêu cầu #4521 của bạn đã thực sự được giải quyết chưa?",
    ),
    "ca": (
        "Recordatori: com ha anat la seva sol·licitud #4521?",
        "Recordatori: la seva sol·licitud #4521 està realment resolta?",
    ),
    "hr": (
        "Podsjetnik: kako smo Vam pomogli oko zahtjeva #4521?",
        "Podsjetnik: je li Vaš zahtjev #4521 zaista riješen?",
    ),
    "es": (
        "Recordatorio: ¿cómo valora nuestra ayuda con su solicitud #4521?",
        "Recordatorio: ¿su solicitud #4521 está realmente resuelta?",
    ),
    "fr": (
        "Rappel\u00a0: comment avons-nous traité votre demande n°\u00a04521\u202f?",
        "Rappel\u00a0: votre demande n°\u00a04521 est-elle vraiment résolue\u202f?",
    ),
    "de": (
        "Erinnerung: Wie war unsere Hilfe bei Ihrer Anfrage #4521?",
        "Erinnerung: Ist Ihre Anfrage #4521 wirklich gelöst?",
    ),
    "pt-BR": (
        "Lembrete: como foi nosso atendimento na sua solicitação #4521?",
        "Lembrete: sua solicitação #4521 foi mesmo resolvida?",
    ),
    "pt-PT": (
        "Lembrete: como correu o nosso apoio no seu pedido #4521?",
        "Lembrete: o seu pedido #4521 ficou mesmo resolvido?",
    ),
}


def test_every_shipped_locale_has_a_reminder_subject() -> None:
    assert sorted(REMINDER_SUBJECTS) == sorted(SHIPPED_LOCALES)


@pytest.mark.parametrize("survey_type", SURVEY_TYPES)
@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
class TestTheReminderInEveryLocale:
    def test_its_subject_says_it_is_a_reminder_in_the_customers_language(
        self, renderer: EmailRenderer, locale: str, survey_type: SurveyType
    ) -> None:
        # GIVEN a survey's reminder WHEN rendered THEN its subject is the locale's reminder subject
        email = render(renderer, locale, survey_type, reminder=True)
        scored, resolved = REMINDER_SUBJECTS[locale]
        assert email.locale == locale
        assert email.subject == (resolved if survey_type == "resolved" else scored)

    def test_it_says_the_same_as_the_first_email_but_why_it_comes_again(
        self, renderer: EmailRenderer, locale: str, survey_type: SurveyType
    ) -> None:
        # GIVEN the first email and the reminder of one survey WHEN their text parts are compared
        first = render(renderer, locale, survey_type)
        reminder = render(renderer, locale, survey_type, reminder=True)
        first_lines, first_links = text_lines_and_links(first.text)
        reminder_lines, reminder_links = text_lines_and_links(reminder.text)
        # THEN the links are the same, and only the sentence saying why it is written differs
        assert reminder_links == first_links
        assert len(first_lines - reminder_lines) == 1
        assert len(reminder_lines - first_lines) == 1

    def test_its_text_and_html_parts_say_the_same_thing(
        self, renderer: EmailRenderer, locale: str, survey_type: SurveyType
    ) -> None:
        email = render(renderer, locale, survey_type, reminder=True)
        html_lines, html_links = html_lines_and_links(email.html)
        text_lines, text_links = text_lines_and_links(email.text)
        assert html_lines == text_lines
        assert html_links == text_links


@pytest.mark.parametrize("locale", [locale for locale in SHIPPED_LOCALES if locale != "en"])
def test_subject_and_question_are_translated_for_every_other_locale(
    renderer: EmailRenderer, locale: str
) -> None:
    # GIVEN a non-English locale WHEN rendered THEN subject and body differ from the English ones
    english = render(renderer, "en")
    translated = render(renderer, locale)
    assert translated.subject != english.subject
    assert "How satisfied are you" not in translated.text


@pytest.mark.parametrize(
    ("requested", "resolved"),
    [
        ("pt-BR", "pt-BR"),
        ("pt_BR", "pt-BR"),
        ("pt", "pt-BR"),
        ("pt-US", "pt-BR"),
        ("pt-PT", "pt-PT"),
        ("pt_pt", "pt-PT"),
        ("pt-AO", "pt-PT"),
        ("pt_MZ.UTF-8", "pt-PT"),
        ("pt-CV", "pt-PT"),
        ("pt-TL", "pt-PT"),
        ("es-MX", "es"),
        ("vi_VN", "vi"),
        ("zz", "en"),
        (None, "en"),
        ("", "en"),
        ("EN-us", "en"),
        ("de_DE.UTF-8", "de"),
        ("ca_ES@valencia", "ca"),
        ("HR", "hr"),
    ],
)
def test_locale_falls_back_from_region_to_language_to_default(
    renderer: EmailRenderer, requested: str | None, resolved: str
) -> None:
    # GIVEN a locale as a helpdesk gives it WHEN resolved THEN the exact, then language, then default is used
    assert renderer.resolve_locale(requested) == resolved


def test_a_tag_longer_than_bcp_47_allows_gets_the_default(renderer: EmailRenderer) -> None:
    # GIVEN a "tag" of thousands of subtags (negotiating it once took quadratic time: 12 s for 64 KB)
    # WHEN resolved THEN it is not read at all: no shipped locale is that long, the default is used
    assert renderer.resolve_locale("it-" + "a-" * 32_000) == "en"
    assert renderer.resolve_locale("it-" + "x" * (MAX_LANGUAGE_TAG_CHARS - 2)) == "en"


def test_a_tag_at_the_bcp_47_limit_is_still_matched_on_its_language(renderer: EmailRenderer) -> None:
    tag = ("it-" + "-".join(["ab"] * 20))[:MAX_LANGUAGE_TAG_CHARS]
    assert renderer.resolve_locale(tag) == "it"


@pytest.mark.parametrize(
    ("header", "first"),
    [
        ("it-IT,it;q=0.9,en;q=0.8", "it-IT"),
        ("de;q=0.7", "de"),
        (" fr , en", "fr"),
        ("", None),
        (None, None),
        ("it-IT," + "a-" * 32_000, "it-IT"),  # only the header's head is read
        ("a-" * 32_000, None),  # a first entry longer than any tag names no language
        ("x" * (MAX_ACCEPT_LANGUAGE_CHARS * 4), None),
    ],
)
def test_the_browsers_first_language_is_read_from_a_bounded_head_of_accept_language(
    header: str | None, first: str | None
) -> None:
    assert first_accepted_language(header) == first


def test_a_supported_locale_without_a_catalog_falls_back_to_the_default() -> None:
    # GIVEN "nl" configured as supported but no Dutch catalog shipped WHEN resolved THEN English is used
    renderer = EmailRenderer(TEMPLATES, supported_locales=("en", "nl"))
    assert renderer.resolve_locale("nl") == "en"


def test_a_shipped_locale_that_is_not_configured_is_not_used() -> None:
    # GIVEN a business that supports only English and Italian WHEN a German customer is surveyed THEN English
    renderer = EmailRenderer(TEMPLATES, supported_locales=("en", "it"))
    assert renderer.resolve_locale("de-AT") == "en"


def test_regional_catalog_is_preferred_to_its_language(tmp_path: Path) -> None:
    # GIVEN a de_AT catalog shipped beside de WHEN de-AT is requested THEN de-AT is used, and de-CH gets de
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    shutil.copytree(templates / "locales" / "de", templates / "locales" / "de_AT")
    renderer = EmailRenderer(templates, supported_locales=("en", "de", "de-AT"))
    assert renderer.resolve_locale("de_at") == "de-AT"
    assert renderer.resolve_locale("de-CH") == "de"
    assert renderer.render_survey(survey_content("de-AT")).locale == "de-AT"


def test_a_bare_language_in_the_setting_enables_its_shipped_variants() -> None:
    # GIVEN SupportedLocales written before pt-BR and pt-PT shipped ("pt") WHEN resolved THEN both are used
    renderer = EmailRenderer(TEMPLATES, supported_locales=("en", "pt"))
    assert renderer.shipped_locales == ("en", "pt-BR", "pt-PT")
    assert renderer.resolve_locale("pt") == "pt-BR"
    assert renderer.resolve_locale("pt-AO") == "pt-PT"


def test_a_default_locale_naming_a_language_gets_its_likely_variant() -> None:
    # GIVEN DefaultLocale "pt" WHEN an unknown locale is resolved THEN Brazilian Portuguese, CLDR's "pt"
    renderer = EmailRenderer(TEMPLATES, default_locale="pt")
    assert renderer.resolve_locale("zz") == "pt-BR"


def test_a_locale_missing_one_parts_catalog_is_refused_at_start(tmp_path: Path) -> None:
    # GIVEN Italian shipped without its pages catalog WHEN the renderer is built THEN it refuses, naming it
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "locales" / "it" / "LC_MESSAGES" / "pages.mo").unlink()
    with pytest.raises(LocaleNotSupportedError, match=r"it/LC_MESSAGES/pages\.mo"):
        EmailRenderer(templates, supported_locales=("en", "it"))


def test_a_shipped_locale_without_a_date_rule_is_refused_at_start(tmp_path: Path) -> None:
    # GIVEN a Dutch catalog but no Dutch "until" date rule WHEN the renderer is built THEN it refuses
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    shutil.copytree(templates / "locales" / "de", templates / "locales" / "nl")
    with pytest.raises(LocaleNotSupportedError, match="nl"):
        EmailRenderer(templates, supported_locales=("en", "nl"))


def test_a_default_locale_without_a_catalog_is_refused_at_start() -> None:
    # GIVEN a default locale with no catalog WHEN the renderer is built THEN it fails at cold start, clearly
    with pytest.raises(LocaleNotSupportedError, match="nl"):
        EmailRenderer(TEMPLATES, default_locale="nl", supported_locales=("en", "nl"))


def test_rendering_one_locale_does_not_leak_into_the_next(renderer: EmailRenderer) -> None:
    # GIVEN an Italian render WHEN English is rendered next THEN it is exactly a fresh English render
    fresh_english = EmailRenderer(TEMPLATES).render_survey(survey_content("en"))
    italian = renderer.render_survey(survey_content("it"))
    english = renderer.render_survey(survey_content("en"))
    assert "richiesta" in italian.text
    assert english == fresh_english
    assert "richiesta" not in english.text


def test_translations_are_never_installed_on_the_shared_environment(renderer: EmailRenderer) -> None:
    # GIVEN renders done WHEN the environment is inspected THEN no gettext lives in its globals
    render(renderer, "fr")
    assert "gettext" not in renderer.environment.globals
    assert "ngettext" not in renderer.environment.globals


def test_customer_data_is_escaped_in_html_but_not_in_text(renderer: EmailRenderer) -> None:
    # GIVEN hostile name, ticket subject and brand WHEN rendered THEN HTML escapes them, text keeps them
    email = render(
        renderer,
        "en",
        customer_name="<script>alert(1)</script>",
        ticket_subject='<img src=x onerror="steal()">',
        brand="Smith & Sons",
    )
    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "<img src=x" not in email.html
    assert "Smith &amp; Sons" in email.html
    assert "<script>alert(1)</script>" in email.text
    assert "Smith & Sons" in email.text


def test_escaping_holds_in_every_locale(renderer: EmailRenderer) -> None:
    # GIVEN a hostile agent name WHEN rendered in each locale THEN no raw tag reaches the HTML
    for locale in SHIPPED_LOCALES:
        email = render(renderer, locale, agent_name="<b onmouseover=x>Eve</b>")
        assert "<b onmouseover" not in email.html
        assert "&lt;b onmouseover=x&gt;Eve&lt;/b&gt;" in email.html


def test_environment_uses_strict_undefined_and_autoescapes_html_only(renderer: EmailRenderer) -> None:
    # GIVEN the renderer's environment THEN undefined variables raise, HTML templates escape, text does not
    environment = renderer.environment
    assert environment.undefined is StrictUndefined
    assert callable(environment.autoescape)
    assert environment.autoescape("email/survey.html.j2") is True
    assert environment.autoescape("email/survey.txt.j2") is False


def test_a_template_that_uses_a_missing_variable_fails_loudly(tmp_path: Path) -> None:
    # GIVEN a text template with a typo in a variable name WHEN rendered THEN it raises instead of printing ""
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    text_template = templates / "email" / "survey.txt.j2"
    text_template.write_text(text_template.read_text().replace("copy.greeting", "copy.greting"))
    with pytest.raises(UndefinedError):
        EmailRenderer(templates).render_survey(survey_content("en"))


def test_greets_warmly_without_a_name(renderer: EmailRenderer) -> None:
    # GIVEN no customer name (or only an email address) WHEN rendered THEN the greeting needs no name
    for name in (None, "", "   ", "customer@example.com"):
        email = render(renderer, "en", customer_name=name)
        assert email.text.splitlines()[2] == "Hello,"


def test_without_an_agent_the_team_helped_and_signs(renderer: EmailRenderer) -> None:
    # GIVEN no agent name WHEN rendered THEN the email credits and signs as the team
    email = render(renderer, "en", agent_name=None)
    assert "Our team at Acme Support recently helped you with your request #4521" in email.text
    assert "The Acme Support team" in email.text
    assert "Marta" not in email.text


def test_without_a_ticket_subject_the_ticket_number_is_enough(renderer: EmailRenderer) -> None:
    # GIVEN no ticket subject WHEN rendered THEN the intro names the ticket number alone
    email = render(renderer, "en", ticket_subject=None)
    assert "Marta from Acme Support recently helped you with your request #4521." in email.text


def test_a_long_ticket_subject_is_shortened(renderer: EmailRenderer) -> None:
    # GIVEN a very long ticket subject WHEN rendered THEN it is cut with an ellipsis
    email = render(renderer, "en", ticket_subject="word " * 60)
    assert "…”" in email.text
    assert "word " * 30 not in email.text


def test_csat_answers_carry_numbers_and_words_from_dissatisfied_to_satisfied(renderer: EmailRenderer) -> None:
    # GIVEN a CSAT survey WHEN rendered THEN 1 is "Very dissatisfied" and 5 is "Very satisfied"
    email = render(renderer, "en", "csat")
    assert "How satisfied are you with the help you received?" in email.text
    assert "1 \N{EN DASH} Very dissatisfied" in email.text
    assert "5 \N{EN DASH} Very satisfied" in email.text


def test_ces_runs_from_very_easy_to_very_difficult(renderer: EmailRenderer) -> None:
    # GIVEN a CES survey WHEN rendered THEN 1 is the easy end and 7 the difficult (negative) end
    email = render(renderer, "en", "ces")
    assert "How easy was it to get your issue resolved?" in email.text
    assert "1 \N{EN DASH} Very easy" in email.text
    assert "7 \N{EN DASH} Very difficult" in email.text


def test_nps_names_the_brand_and_labels_both_ends_of_the_scale(renderer: EmailRenderer) -> None:
    # GIVEN an NPS survey WHEN rendered THEN the question names the brand and 0 and 10 are explained
    email = render(renderer, "en", "nps")
    assert "How likely are you to recommend Acme Support to a friend or colleague?" in email.text
    assert "0 = Not at all likely" in email.text
    assert "10 = Extremely likely" in email.text


def test_resolved_asks_yes_or_no_in_words(renderer: EmailRenderer) -> None:
    # GIVEN a resolved survey WHEN rendered THEN it asks whether the problem is solved, with worded answers
    email = render(renderer, "en", "resolved")
    assert "Is your problem solved?" in email.text
    assert "Yes, it\N{RIGHT SINGLE QUOTATION MARK}s solved" in email.text
    assert "No, not yet" in email.text
    assert email.subject == "Is your request #4521 really solved?"


def test_subject_asks_how_we_did_with_the_request(renderer: EmailRenderer) -> None:
    # GIVEN a CSAT survey WHEN rendered THEN the subject is short and names the request
    assert render(renderer, "en").subject == "How did we do with your request #4521?"


@pytest.mark.parametrize(
    ("locale", "date"),
    [
        ("en", "You can answer until December 21, 2026."),
        ("it", "Può rispondere fino al 21 dicembre 2026."),
        ("hr", "Možete odgovoriti do 21. prosinca 2026."),
        ("de", "Sie können bis zum 21. Dezember 2026 antworten."),
        ("vi", "Bạn có thể trả lời đến hết ngày 21 tháng 12 năm 2026."),
        ("ca", "Pot respondre fins al 21 de desembre del 2026."),
        ("fr", "Vous pouvez répondre jusqu\N{RIGHT SINGLE QUOTATION MARK}au 21 décembre 2026."),
        ("es", "Puede responder hasta el 21 de diciembre de 2026."),
        ("pt-BR", "Você pode responder até 21 de dezembro de 2026."),
        ("pt-PT", "Pode responder até 21 de dezembro de 2026."),
    ],
)
def test_expiry_is_a_localized_date_in_the_footer(renderer: EmailRenderer, locale: str, date: str) -> None:
    # GIVEN an expiry WHEN rendered THEN both parts end the footer with that locale's "until" and long date
    email = render(renderer, locale)
    assert date in email.text
    assert date in email.html


def test_answers_that_do_not_match_the_scale_are_refused(renderer: EmailRenderer) -> None:
    # GIVEN a CSAT survey with NPS links WHEN rendered THEN it fails instead of sending a broken scale
    content = survey_content("en", "csat", answers=survey_content("en", "nps").answers)
    with pytest.raises(ValueError, match="csat"):
        renderer.render_survey(content)


@pytest.mark.parametrize(
    ("full_name", "locale", "expected"),
    [
        ("Giulia Rossi", "it", "Giulia"),
        ("Rossi, Giulia", "it", "Giulia"),
        ("Nguyễn Thị Lan", "vi", "Lan"),
        ("Madonna", "en", "Madonna"),
        ("  ", "en", None),
        (None, "en", None),
        ("someone@example.com", "en", None),
    ],
)
def test_given_name_is_the_name_people_are_greeted_by(
    full_name: str | None, locale: str, expected: str | None
) -> None:
    # GIVEN a full name as the helpdesk stores it WHEN the greeting name is taken THEN it is the given name
    assert given_name(full_name, locale) == expected


class _LinkCells(HTMLParser):
    """Each link's own style and the style of the table cell it sits in."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: dict[str, tuple[str, str]] = {}
        self._cells: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "td":
            self._cells.append(values.get("style") or "")
        if tag == "a" and values.get("href"):
            self.links[values["href"] or ""] = (values.get("style") or "", self._cells[-1])

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cells.pop()


@pytest.mark.parametrize("survey_type", SURVEY_TYPES)
def test_answer_buttons_keep_their_border_and_height_in_outlook(
    renderer: EmailRenderer, survey_type: SurveyType
) -> None:
    # GIVEN Outlook's Word engine, which ignores padding and display:block on a link
    content = survey_content("en", survey_type)
    parser = _LinkCells()
    parser.feed(renderer.render_survey(content).html)
    for answer in content.answers:
        link_style, cell_style = parser.links[answer.url]
        # THEN each button's border and Outlook's padding are on its cell, and the link draws no border
        assert "border:2px solid" in cell_style
        assert "mso-padding-alt:12px" in cell_style
        assert "border" not in link_style
        # AND other clients still get a link as big as the button
        assert "display:block; padding:12px" in link_style


@pytest.mark.parametrize("survey_type", SURVEY_TYPES)
def test_alignment_is_written_the_way_outlook_reads_it(
    renderer: EmailRenderer, survey_type: SurveyType
) -> None:
    # GIVEN Outlook, which knows no text-align:start or end WHEN an email is rendered
    html = render(renderer, "en", survey_type).html
    # THEN it aligns with align attributes and left or right
    assert "text-align:start" not in html
    assert "text-align:end" not in html
    assert 'class="card-body" align="left"' in html


def test_a_right_to_left_language_is_laid_out_from_the_right(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a right-to-left language shipped (Arabic, here with the English wording and dates)
    monkeypatch.setitem(dates._UNTIL_RULES, "ar", dates._UNTIL_RULES["en"])
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    shutil.copytree(templates / "locales" / "en", templates / "locales" / "ar")
    renderer = EmailRenderer(templates, supported_locales=("en", "ar"))
    # WHEN an NPS email is rendered
    html = renderer.render_survey(survey_content("ar", "nps")).html
    # THEN <html> and the email's own wrapper (for clients that drop <html>) say so, and text starts right
    assert html.count('lang="ar" dir="rtl"') == 2
    assert 'class="card-body" align="right"' in html
    # AND the "10" end of the scale is named on the left, under the 10
    assert '<td colspan="5" align="left"' in html


def _luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[index : index + 2], 16) / 255 for index in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize(
    ("foreground", "background"),
    [
        ("text_color", "card_background_color"),
        ("muted_text_color", "card_background_color"),
        ("muted_text_color", "page_background_color"),
        ("accent_color", "card_background_color"),
        ("accent_text_color", "accent_color"),
    ],
)
def test_shipped_brand_colours_meet_wcag_aa_contrast(foreground: str, background: str) -> None:
    # GIVEN the shipped brand.json WHEN a text colour meets its background THEN the contrast is >= 4.5:1
    brand = json.loads((TEMPLATES / "brand.json").read_text(encoding="utf-8"))
    assert _contrast(brand[foreground], brand[background]) >= 4.5


def test_brand_colours_come_from_brand_json(tmp_path: Path) -> None:
    # GIVEN a business that changes its accent colour and adds a logo WHEN rendered THEN the HTML uses them
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    brand = json.loads((templates / "brand.json").read_text(encoding="utf-8"))
    brand |= {"accent_color": "#7A1F5C", "logo_url": "https://cdn.example.com/acme.png"}
    (templates / "brand.json").write_text(json.dumps(brand), encoding="utf-8")
    email = EmailRenderer(templates).render_survey(survey_content("en"))
    assert "#7A1F5C" in email.html
    assert '<img src="https://cdn.example.com/acme.png"' in email.html
    assert 'alt="Acme Support"' in email.html


def test_a_misspelt_brand_setting_is_refused(tmp_path: Path) -> None:
    # GIVEN brand.json with an unknown key WHEN the renderer starts THEN it names the key, not ignores it
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "brand.json").write_text(json.dumps({"accent_colour": "#000000"}), encoding="utf-8")
    with pytest.raises(ValueError, match="accent_colour"):
        EmailRenderer(templates)
