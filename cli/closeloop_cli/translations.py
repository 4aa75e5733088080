"""Helpers behind the ``translations-*`` make targets (``make/translations.mk``).

``fill-source`` copies each msgid into the empty msgstr of the English (source) catalog, so English
wording can be changed in its ``.po`` like any other language. ``check`` fails when any shipped catalog
is incomplete, fuzzy, has broken placeholders, misses a message of the ``.pot``, or has a stale ``.mo``.

    python -m closeloop_cli.translations fill-source templates/locales/en/LC_MESSAGES/closeloop.po
    python -m closeloop_cli.translations check templates/locales
"""

from __future__ import annotations

import argparse
import io
import sys
from gettext import GNUTranslations
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po


# Each .pot beside the locale folders is one catalog domain (closeloop: the survey email; pages; alerts).
# Each part of the product reads only its own domain (closeloop.adapters.rendering.CATALOG_DOMAINS).
def catalog_domains(locales_dir: Path) -> list[str]:
    return sorted(path.stem for path in locales_dir.glob("*.pot"))


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def fill_source_catalog(po_path: Path) -> int:
    """Give every untranslated entry of the source-language catalog its msgid; returns how many."""
    catalog = read_catalog(po_path)
    filled = 0
    for message in catalog:
        # A plural entry's string is a tuple of forms, untranslated while any form is empty.
        translated = all(message.string) if isinstance(message.string, tuple) else bool(message.string)
        if not message.id or (translated and not message.fuzzy):
            continue
        message.string = message.id
        message.flags.discard("fuzzy")
        filled += 1
    with po_path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_by_file=True, include_previous=False)
    return filled


def compiled_messages(catalog: Catalog) -> dict[object, str]:
    """The messages a ``.mo`` compiled from ``catalog`` holds, as :mod:`gettext` reads them."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return dict(GNUTranslations(buffer)._catalog)  # type: ignore[attr-defined]


def shipped_messages(mo_path: Path) -> dict[object, str]:
    with mo_path.open("rb") as handle:
        return dict(GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]


def catalog_problems(locales_dir: Path) -> list[str]:
    """Everything wrong with the catalogs under ``locales_dir``, as readable lines (empty when fine)."""
    problems: list[str] = []
    for domain in catalog_domains(locales_dir):
        problems += _domain_problems(locales_dir, domain)
    return problems


def _domain_problems(locales_dir: Path, domain: str) -> list[str]:
    problems: list[str] = []
    template_ids = {message.id for message in read_catalog(locales_dir / f"{domain}.pot") if message.id}
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{domain}.po")):
        language = f"{po_path.parts[-3]}/{domain}"
        catalog = read_catalog(po_path)
        if catalog.fuzzy:
            problems.append(f"{language}: the catalog header is marked fuzzy")
        ids = {message.id for message in catalog if message.id}
        problems += [f"{language}: missing {msgid!r}" for msgid in sorted(template_ids - ids, key=str)]
        problems += [
            f"{language}: not in the .pot {msgid!r}" for msgid in sorted(ids - template_ids, key=str)
        ]
        for message in catalog:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy:
                problems.append(f"{language}: fuzzy {message.id!r}")
            if not all(strings):
                problems.append(f"{language}: untranslated {message.id!r}")
        for message, errors in catalog.check():
            problems += [f"{language}: {message.id!r}: {error}" for error in errors]
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.is_file() or shipped_messages(mo_path) != compiled_messages(catalog):
            problems.append(
                f"{language}: {mo_path} is missing or older than its .po (make translations-compile)"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="closeloop-translations", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fill = commands.add_parser(
        "fill-source", help="fill the English catalog's empty entries with their msgid"
    )
    fill.add_argument("po", type=Path)
    check = commands.add_parser("check", help="check every catalog under a locales folder")
    check.add_argument("locales_dir", type=Path)
    arguments = parser.parse_args(argv)
    if arguments.command == "fill-source":
        print(f"{arguments.po}: filled {fill_source_catalog(arguments.po)} entries")
        return 0
    problems = catalog_problems(arguments.locales_dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{arguments.locales_dir}: {'ok' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
