"""Dates as they read inside a sentence: "until" and a long date, written for each shipped language.

A date after a preposition cannot be a placeholder in a translated sentence: the preposition's form
depends on the day. Italian contracts "fino al" to "fino all'" before 8 and 11 (otto, undici) and
writes the first of the month as an ordinal ("al 1º"); Catalan elides "fins al" to "fins a l'" before
1 and 11 (u, onze) but not before 8 (vuit); French writes "1er"; Brazilian Portuguese "1º";
Vietnamese spells the date out as "ngày 29 tháng 12 năm 2026". So the code writes the whole phrase,
from the rules below, and the catalogs place it (``%(until_date)s``).

A shipped language needs a rule here: ``EmailRenderer`` refuses at start-up a supported locale that has
a catalog but no rule, so no sentence ever shows a date in the wrong form.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from babel import Locale
from babel.dates import format_date

# The apostrophe of elisions, as the catalogs write it (U+2019).
APOSTROPHE = "\N{RIGHT SINGLE QUOTATION MARK}"


def _long(day: date, locale: str) -> str:
    return format_date(day, format="long", locale=Locale.parse(locale, sep="-"))


def _first_as_ordinal(ordinal: str) -> Callable[[date, str], str]:
    """The long date, with the first day of a month written as ``ordinal`` (``1º``, ``1er``)."""

    def write(day: date, locale: str) -> str:
        text = _long(day, locale)
        if day.day == 1:
            # Every long pattern of these languages starts with the day number.
            return ordinal + text.removeprefix("1")
        return text

    return write


def _english(day: date, locale: str) -> str:
    return "until " + _long(day, locale)


def _italian(day: date, locale: str) -> str:
    written = _first_as_ordinal("1º")(day, locale)
    return (f"fino all{APOSTROPHE}" if day.day in (8, 11) else "fino al ") + written


def _catalan(day: date, locale: str) -> str:
    return (f"fins a l{APOSTROPHE}" if day.day in (1, 11) else "fins al ") + _long(day, locale)


def _french(day: date, locale: str) -> str:
    # No elision before "huit" and "onze" in French: "jusqu'au 8", "jusqu'au 11".
    return f"jusqu{APOSTROPHE}au " + _first_as_ordinal("1er")(day, locale)


def _spanish(day: date, locale: str) -> str:
    return "hasta el " + _long(day, locale)


def _portuguese(day: date, locale: str) -> str:
    if locale == "pt-BR":
        return "até " + _first_as_ordinal("1º")(day, locale)
    return "até " + _long(day, locale)


def _german(day: date, locale: str) -> str:
    return "bis zum " + _long(day, locale)


def _croatian(day: date, locale: str) -> str:
    # "do" takes the genitive, which the long date already has ("8. prosinca 2026.", with its full stop).
    return "do " + _long(day, locale)


def _vietnamese(day: date, locale: str) -> str:
    return f"đến hết ngày {day.day} tháng {day.month} năm {day.year}"


_UNTIL_RULES: dict[str, Callable[[date, str], str]] = {
    "en": _english,
    "it": _italian,
    "ca": _catalan,
    "fr": _french,
    "es": _spanish,
    "pt": _portuguese,
    "de": _german,
    "hr": _croatian,
    "vi": _vietnamese,
}


def has_until_rule(locale: str) -> bool:
    """Whether ``until_date`` can write dates for ``locale`` (a shipped tag such as ``pt-BR``)."""
    return locale.split("-")[0] in _UNTIL_RULES


def until_date(day: date, locale: str) -> str:
    """ "until" and ``day`` as they read in the middle of a sentence of ``locale`` (a shipped tag).

    ``until_date(date(2026, 12, 8), "it")`` is ``"fino all'8 dicembre 2026"`` (with a typographic
    apostrophe); ``pt-PT`` and ``pt-BR`` differ on the first of a month ("até 1 de janeiro" / "até 1º de
    janeiro"). Croatian ends with the date's own full stop, so its sentences put none after it.
    """
    rule = _UNTIL_RULES.get(locale.split("-")[0])
    if rule is None:
        raise KeyError(f"no date rule for {locale!r} in closeloop.adapters.dates")
    return rule(day, locale)
