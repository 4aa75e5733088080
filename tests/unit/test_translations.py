"""The shipped message catalogs: one per product part, complete in every shipped locale, not fuzzy,
placeholders intact, compiled, agreeing across parts, and each part reading only its own."""

from __future__ import annotations

import io
import re
import shutil
from gettext import GNUTranslations
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po, write_po

from closeloop.adapters.dates import APOSTROPHE
from closeloop.adapters.rendering import (
    CATALOG_DOMAINS,
    SHIPPED_LOCALES,
    EmailRenderer,
    domain_of,
)
from closeloop_cli.translations import fill_source_catalog
from tests.conftest import TEMPLATES
from tests.fakes import email_content

LOCALES_DIR = TEMPLATES / "locales"
LOCALES = EmailRenderer(TEMPLATES).shipped_locales
TRANSLATED = tuple(locale for locale in LOCALES if locale != "en")
DOMAINS = tuple(sorted(CATALOG_DOMAINS.values()))
# Jinja's extraction options, as templates/babel/<domain>.cfg gives them.
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true", "trim_blocks": "true"}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")

Key = tuple[str | None, str]
SAMPLE_EMAIL = email_content("it")


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def po_path(locale: str, domain: str) -> Path:
    return LOCALES_DIR / locale.replace("-", "_") / "LC_MESSAGES" / f"{domain}.po"


def key(message: Message) -> Key:
    return (message.context, str(message.id if isinstance(message.id, str) else message.id[0]))


def entries(catalog: Catalog) -> dict[Key, Message]:
    return {key(message): message for message in catalog if message.id}


def template_keys(domain: str) -> set[Key]:
    return set(entries(read_catalog(LOCALES_DIR / f"{domain}.pot")))


def strings(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def gnu_messages(mo_bytes: bytes) -> dict[object, str]:
    return dict(GNUTranslations(io.BytesIO(mo_bytes))._catalog)  # type: ignore[attr-defined]


def test_the_shipped_locales_are_the_locale_folders_and_the_default_setting() -> None:
    # GIVEN the product's list WHEN compared with templates/locales and SupportedLocales' default THEN equal
    folders = {path.name.replace("_", "-") for path in LOCALES_DIR.iterdir() if path.is_dir()}
    template = (TEMPLATES.parent / "template.yaml").read_text(encoding="utf-8")
    default = re.search(r"SupportedLocales:\n(?:    .*\n)*?    Default: (\S+)", template)
    assert default is not None
    assert set(SHIPPED_LOCALES) == folders == set(LOCALES)
    assert default.group(1).split(",") == list(SHIPPED_LOCALES)


@pytest.mark.parametrize(("folder", "domain"), sorted(CATALOG_DOMAINS.items()))
def test_each_folder_is_extracted_into_the_domain_the_renderer_reads_for_it(folder: str, domain: str) -> None:
    # GIVEN the renderer's folder → domain map WHEN compared with templates/babel/<domain>.cfg THEN they agree
    mapping = (TEMPLATES / "babel" / f"{domain}.cfg").read_text(encoding="utf-8")
    assert re.findall(r"^\[jinja2: (\S+)\]$", mapping, flags=re.MULTILINE) == [f"{folder}/**.j2"]
    assert domain_of(f"{folder}/any.j2") == domain


@pytest.mark.parametrize(("folder", "domain"), sorted(CATALOG_DOMAINS.items()))
def test_pot_holds_exactly_the_messages_of_its_templates(folder: str, domain: str) -> None:
    # GIVEN a folder's templates WHEN extracted as `make translations-extract` does THEN its .pot matches
    pattern = f"{folder}/**.j2"
    extracted = {
        (context, str(message if isinstance(message, str) else message[0]))
        for _, _, message, _, context in extract_from_dir(
            str(TEMPLATES), [(pattern, "jinja2")], {pattern: JINJA_OPTIONS}
        )
    }
    assert extracted == template_keys(domain)


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("locale", LOCALES)
class TestShippedCatalog:
    def test_holds_every_message_of_the_pot_and_no_other(self, locale: str, domain: str) -> None:
        # GIVEN the catalog WHEN compared with the .pot THEN no message is missing or left over
        assert set(entries(read_catalog(po_path(locale, domain)))) == template_keys(domain)

    def test_translates_every_message(self, locale: str, domain: str) -> None:
        # GIVEN the catalog WHEN each entry is read THEN none has an empty translation (any plural form)
        catalog = read_catalog(po_path(locale, domain))
        assert [key for key, message in entries(catalog).items() if not all(strings(message))] == []

    def test_has_no_fuzzy_entries(self, locale: str, domain: str) -> None:
        # GIVEN the catalog WHEN flags are read THEN neither header nor entries are fuzzy (compile skips them)
        catalog = read_catalog(po_path(locale, domain))
        assert not catalog.fuzzy
        assert [key for key, message in entries(catalog).items() if message.fuzzy] == []

    def test_keeps_every_placeholder_of_the_source(self, locale: str, domain: str) -> None:
        # GIVEN a message WHEN translated THEN every form uses exactly the source's %(name)s placeholders,
        # except that a language may leave out the greeting's name (it greets without one)
        catalog = read_catalog(po_path(locale, domain))
        assert [(message.id, errors) for message, errors in catalog.check()] == []
        for message in entries(catalog).values():
            source = set(
                PLACEHOLDER.findall(" ".join(message.id if isinstance(message.id, tuple) else (message.id,)))
            )
            source.discard("num")  # a plural form may spell the number out
            for translated in strings(message):
                assert set(PLACEHOLDER.findall(translated)) - {"num"} == source, (message.id, translated)

    def test_declares_its_language_and_plural_rule(self, locale: str, domain: str) -> None:
        # GIVEN the catalog header WHEN read THEN it names the language and the CLDR plural rule for it
        catalog = read_catalog(po_path(locale, domain))
        tag = locale.replace("-", "_")
        assert catalog.locale == Locale.parse(tag)
        assert catalog.num_plurals == get_plural(tag).num_plurals
        assert catalog.plural_expr == get_plural(tag).plural_expr

    def test_compiled_mo_is_up_to_date_with_the_po(self, locale: str, domain: str) -> None:
        # GIVEN the .po WHEN compiled in memory THEN it holds exactly what the committed .mo holds
        catalog = read_catalog(po_path(locale, domain))
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        shipped = po_path(locale, domain).with_suffix(".mo").read_bytes()
        assert gnu_messages(shipped) == gnu_messages(compiled.getvalue())


@pytest.mark.parametrize("locale", LOCALES)
def test_a_message_shared_by_two_parts_reads_the_same_in_both(locale: str) -> None:
    # GIVEN the email's, the pages' and the alerts' catalogs WHEN a msgid (and context) is in two of them
    # THEN its translation is the same: the customer reads one wording in the email and on the page.
    # Wording that must differ gets a msgctxt (pgettext), which makes it another message.
    catalogs = {domain: entries(read_catalog(po_path(locale, domain))) for domain in DOMAINS}
    disagreements = [
        (key, first, second, strings(catalogs[first][key]), strings(catalogs[second][key]))
        for index, first in enumerate(DOMAINS)
        for second in DOMAINS[index + 1 :]
        for key in sorted(catalogs[first].keys() & catalogs[second].keys(), key=str)
        if strings(catalogs[first][key]) != strings(catalogs[second][key])
    ]
    assert disagreements == []


def test_each_part_reads_only_its_own_catalog_whatever_the_others_say(tmp_path: Path) -> None:
    # GIVEN every catalog giving "Unsubscribe" and "This link does not work" its own wording (the bug: the
    # catalogs were merged and the last one won, so the email showed the page's "Unsubscribe")
    # WHEN the email and a page are rendered THEN each shows its own catalog's wording only
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    messages = templates / "locales" / "it" / "LC_MESSAGES"
    wordings = {"closeloop": "EMAIL-WORDING", "pages": "PAGE-WORDING", "alerts": "ALERT-WORDING"}
    for domain, wording in wordings.items():
        catalog = read_catalog(messages / f"{domain}.po")
        for msgid in ("Unsubscribe", "This link does not work"):
            if catalog.get(msgid) is None:
                catalog.add(msgid)
            catalog[msgid].string = wording
        with (messages / f"{domain}.mo").open("wb") as handle:
            write_mo(handle, catalog)
    renderer = EmailRenderer(templates)
    email = renderer.render_survey(SAMPLE_EMAIL)
    page = renderer.render_template(
        "pages/error.html.j2", "it", {"code": "not_found", "brand": "Acme", "languages": []}
    )
    for part in (email.text, email.html):
        assert "EMAIL-WORDING" in part
        assert "PAGE-WORDING" not in part
        assert "ALERT-WORDING" not in part
    assert "PAGE-WORDING" in page
    assert "EMAIL-WORDING" not in page
    assert "ALERT-WORDING" not in page


def test_a_template_outside_the_catalog_folders_is_refused() -> None:
    with pytest.raises(ValueError, match=r"misc/note\.j2"):
        domain_of("misc/note.j2")


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_are_written_in_the_language_not_copied_from_english(locale: str, domain: str) -> None:
    # GIVEN a non-English catalog WHEN compared with the source THEN almost every message reads differently
    messages = list(entries(read_catalog(po_path(locale, domain))).values())
    copied = [message.id for message in messages if message.string == message.id]
    assert len(copied) <= len(messages) // 5, copied


@pytest.mark.parametrize("domain", DOMAINS)
def test_english_catalog_repeats_the_source_wording(domain: str) -> None:
    # GIVEN the English catalog WHEN read THEN each entry's wording is its msgid (edit it to reword English)
    catalog = read_catalog(po_path("en", domain))
    assert [key for key, message in entries(catalog).items() if message.string != message.id] == []


# Words after which a business's name would have to change form (an elided "d'" counts too): a
# preposition that contracts or elides before it (ca/fr "de Acme" → "d'Acme", it "di La Rinascente" →
# "della Rinascente", pt "de" → "da/do", which also needs the brand's gender), or an article that
# declines it (de "dem"). The brand goes in apposition instead ("l'equip Acme", "a equipe Acme") or
# stands as subject or object.
BRAND_MUST_NOT_FOLLOW = {
    "ca": {"de", "a", "per", "des", "del", "al", "pel"},
    "fr": {"de", "à", "du", "au", "des"},
    "it": {"di", "da", "a", "del", "dal", "al", "della", "dalla", "alla", "dello", "nel", "sul"},
    "es": {"del", "al"},
    "pt": {"de", "da", "do", "a", "à", "ao", "em", "na", "no", "pela", "pelo", "com"},
    "de": {"dem", "des", "der", "den", "vom", "zum"},
}
# Croatian declines names too, even as a verb's object, so there the brand always follows a noun in
# apposition, which takes the case instead ("timu Acme", "tvrtke Acme").
CROATIAN_APPOSITION = {"tim", "timu", "tima", "timom", "tvrtka", "tvrtku", "tvrtke", "tvrtki"}


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("locale", TRANSLATED)
def test_any_brand_name_reads_correctly_where_the_sentence_puts_it(locale: str, domain: str) -> None:
    # GIVEN every translation that names the business WHEN the word before the name is read THEN it is
    # not one after which some names would need another form, and the name starts no compound
    language = locale.split("-")[0]
    wrong = []
    for message in entries(read_catalog(po_path(locale, domain))).values():
        for translated in strings(message):
            for before, after in re.findall(r"(\S*)\s*%\(brand\)s(\S?)", translated):
                word = before.lower()
                if language == "hr":
                    if word not in CROATIAN_APPOSITION:
                        wrong.append((word, translated))
                elif (
                    word in BRAND_MUST_NOT_FOLLOW.get(language, set())
                    or word.endswith(APOSTROPHE)
                    or after == "-"
                ):
                    wrong.append((word, translated))
    assert wrong == []


# One register and one variety per locale, in every part: forms that belong to another register or to the
# other variety of the language (each list names what a native reader caught, and its kin).
FOREIGN_FORMS = {
    "it": r"[a-zà-ù,:] (Sua|Suo|Sue|Suoi|Lei|Le)\b",  # Lei is written lower case, as in the email
    "ca": r"(?i)(?<!si )\bus\b|\b(vostr[ae]s?|heu|podeu|voleu|torneu|envieu|trieu|marqueu|reviseu|copieu)\b",
    "es": r"(?i)qué tan|\b(tú|tu|puedes|quieres|tienes)\b",
    "fr": r"#|[^\u00a0\u202f][?!;:](\s|$)",
    "de": r"\b(du|dein|deine|dich|dir)\b|\w-Team",
    "hr": r"\b(vas|vam|vaš|vaša|vaše|vašeg|vašem|vašu|vama)\b|\b(Odjavi|Pošalji|Odaberi|Napiši)\b",
    "pt-BR": r"(?i)\b(equipa|inquérito|questionário|ligação|palavra-passe|perceber|contact[oe]u?|tive de)\b",
    "pt-PT": r"(?i)\b(equipe|solicitação|pesquisa|link|senha|você|entender|contato|tive que|direto)\b",
}


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("locale", sorted(FOREIGN_FORMS))
def test_each_locale_keeps_one_register_and_one_variety(locale: str, domain: str) -> None:
    pattern = re.compile(FOREIGN_FORMS[locale])
    found = [
        (match.group(0), translated)
        for message in entries(read_catalog(po_path(locale, domain))).values()
        for translated in strings(message)
        for match in [pattern.search(PLACEHOLDER.sub("X", translated))]
        if match
    ]
    assert found == []


def test_the_source_catalog_is_filled_with_its_msgids_plural_entries_too(tmp_path: Path) -> None:
    # GIVEN an English catalog with a new singular and a new plural entry, both untranslated
    catalog = Catalog(locale="en")
    catalog.add("By policy")
    catalog.add(("from %(count)s score", "from %(count)s scores"), string=("", ""))
    po_path = tmp_path / "alerts.po"
    with po_path.open("wb") as handle:
        write_po(handle, catalog)
    # WHEN the source catalog is filled
    filled = fill_source_catalog(po_path)
    # THEN both entries repeat their msgids, every plural form included
    with po_path.open("rb") as handle:
        read = read_po(handle)
    assert filled == 2
    assert read.get("By policy").string == "By policy"
    assert read.get("from %(count)s score").string == ("from %(count)s score", "from %(count)s scores")
