"""The shipped message catalogs: complete, not fuzzy, placeholders intact, compiled, like the templates."""

from __future__ import annotations

import io
from gettext import GNUTranslations
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from tests.conftest import TEMPLATES
from tests.fakes import SHIPPED_LOCALES

LOCALES_DIR = TEMPLATES / "locales"
TRANSLATED = tuple(locale for locale in SHIPPED_LOCALES if locale != "en")


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def po_path(locale: str) -> Path:
    """The catalog of a language tag: ``pt-BR``'s folder is ``pt_BR``."""
    return LOCALES_DIR / locale.replace("-", "_") / "LC_MESSAGES" / "closeloop.po"


def template_ids() -> set[str]:
    return {str(message.id) for message in read_catalog(LOCALES_DIR / "closeloop.pot") if message.id}


def gnu_messages(mo_bytes: bytes) -> dict[object, str]:
    return dict(GNUTranslations(io.BytesIO(mo_bytes))._catalog)  # type: ignore[attr-defined]


def test_pot_holds_exactly_the_messages_of_the_templates() -> None:
    # GIVEN the templates WHEN extracted as `make translations-extract` does THEN the .pot matches
    method_map = [("email/**.j2", "jinja2")]
    options = {
        "email/**.j2": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true", "trim_blocks": "true"}
    }
    extracted = {
        str(message[2] if isinstance(message[2], str) else message[2][0])
        for message in extract_from_dir(str(TEMPLATES), method_map, options)
    }
    assert extracted == template_ids()


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
class TestShippedCatalog:
    def test_holds_every_message_of_the_pot_and_no_other(self, locale: str) -> None:
        # GIVEN the catalog WHEN compared with the .pot THEN no message is missing or left over
        catalog = read_catalog(po_path(locale))
        assert {message.id for message in catalog if message.id} == template_ids()

    def test_translates_every_message(self, locale: str) -> None:
        # GIVEN the catalog WHEN each entry is read THEN none has an empty translation (any plural form)
        catalog = read_catalog(po_path(locale))
        untranslated = [
            message.id
            for message in catalog
            if message.id
            and not all(message.string if isinstance(message.string, tuple) else (message.string,))
        ]
        assert untranslated == []

    def test_has_no_fuzzy_entries(self, locale: str) -> None:
        # GIVEN the catalog WHEN flags are read THEN neither header nor entries are fuzzy (compile skips them)
        catalog = read_catalog(po_path(locale))
        assert not catalog.fuzzy
        assert [message.id for message in catalog if message.id and message.fuzzy] == []

    def test_keeps_every_placeholder_of_the_source(self, locale: str) -> None:
        # GIVEN python-format messages WHEN checked THEN each translation uses the same %(name)s placeholders
        catalog = read_catalog(po_path(locale))
        assert [(message.id, errors) for message, errors in catalog.check()] == []

    def test_declares_its_language_and_plural_rule(self, locale: str) -> None:
        # GIVEN the catalog header WHEN read THEN it names the language and the CLDR plural rule for it
        catalog = read_catalog(po_path(locale))
        language = Locale.parse(locale, sep="-")
        assert catalog.locale == language
        assert catalog.num_plurals == get_plural(language).num_plurals
        assert catalog.plural_expr == get_plural(language).plural_expr

    def test_compiled_mo_is_up_to_date_with_the_po(self, locale: str) -> None:
        # GIVEN the .po WHEN compiled in memory THEN it holds exactly what the shipped .mo holds
        catalog = read_catalog(po_path(locale))
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        shipped = po_path(locale).with_suffix(".mo").read_bytes()
        assert gnu_messages(shipped) == gnu_messages(compiled.getvalue())


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_are_written_in_the_language_not_copied_from_english(locale: str) -> None:
    # GIVEN a non-English catalog WHEN compared with the source THEN almost every message reads differently
    catalog = read_catalog(po_path(locale))
    messages = [message for message in catalog if message.id]
    copied = [message.id for message in messages if message.string == message.id]
    assert len(copied) <= len(messages) // 10, copied


def test_english_catalog_repeats_the_source_wording() -> None:
    # GIVEN the English catalog WHEN read THEN each entry's wording is its msgid (edit it to reword English)
    catalog = read_catalog(po_path("en"))
    assert [message.id for message in catalog if message.id and message.string != message.id] == []
