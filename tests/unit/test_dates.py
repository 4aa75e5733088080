"""Dates after "until" in every shipped locale, for every day of a year (and a leap day)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from babel.dates import format_date

from closeloop.adapters.dates import APOSTROPHE as Q
from closeloop.adapters.dates import has_until_rule, until_date
from closeloop.adapters.rendering import EmailRenderer

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LOCALES = EmailRenderer(TEMPLATES).shipped_locales
# 2028 is a leap year: 366 days, 29 February among them.
EVERY_DAY = [date(2028, 1, 1) + timedelta(days=offset) for offset in range(366)]


def _long(day: date, locale: str) -> str:
    return format_date(day, format="long", locale=locale.replace("-", "_"))


def expected_until(day: date, locale: str) -> str:
    """Each language's rule, stated independently of the code: the preposition, its article and the day."""
    long_date = _long(day, locale)
    rest = long_date.removeprefix(str(day.day))
    match locale:
        case "it":
            article = f"all{Q}" if day.day in (8, 11) else "al "
            return f"fino {article}" + ("1º" if day.day == 1 else str(day.day)) + rest
        case "ca":
            return (f"fins a l{Q}" if day.day in (1, 11) else "fins al ") + long_date
        case "fr":
            return f"jusqu{Q}au " + ("1er" if day.day == 1 else str(day.day)) + rest
        case "pt-BR":
            return "até " + ("1º" if day.day == 1 else str(day.day)) + rest
        case "pt-PT":
            return "até " + long_date
        case "es":
            return "hasta el " + long_date
        case "de":
            return "bis zum " + long_date
        case "hr":
            return "do " + long_date
        case "vi":
            return f"đến hết ngày {day.day} tháng {day.month} năm {day.year}"
        case _:
            return "until " + long_date


@pytest.mark.parametrize("locale", LOCALES)
def test_every_day_of_a_year_reads_correctly_after_until(locale: str) -> None:
    # GIVEN each of the 366 days of 2028 WHEN written after "until" THEN each follows the language's rule
    wrong = [
        (day, until_date(day, locale))
        for day in EVERY_DAY
        if until_date(day, locale) != expected_until(day, locale)
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("day", "locale", "phrase"),
    [
        (date(2026, 12, 8), "it", f"fino all{Q}8 dicembre 2026"),
        (date(2026, 12, 11), "it", f"fino all{Q}11 dicembre 2026"),
        (date(2027, 1, 1), "it", "fino al 1º gennaio 2027"),
        (date(2026, 12, 18), "it", "fino al 18 dicembre 2026"),
        (date(2027, 1, 1), "ca", f"fins a l{Q}1 de gener del 2027"),
        (date(2026, 9, 11), "ca", f"fins a l{Q}11 de setembre del 2026"),
        (date(2026, 12, 8), "ca", "fins al 8 de desembre del 2026"),  # "vuit" starts with a consonant
        (date(2027, 1, 1), "fr", f"jusqu{Q}au 1er janvier 2027"),
        (date(2026, 12, 11), "fr", f"jusqu{Q}au 11 décembre 2026"),  # no elision before "onze"
        (date(2026, 12, 29), "vi", "đến hết ngày 29 tháng 12 năm 2026"),
        (date(2027, 1, 1), "pt-BR", "até 1º de janeiro de 2027"),
        (date(2027, 1, 1), "pt-PT", "até 1 de janeiro de 2027"),
        (date(2026, 12, 8), "hr", "do 8. prosinca 2026."),
        (date(2026, 12, 8), "de", "bis zum 8. Dezember 2026"),
        (date(2027, 1, 1), "es", "hasta el 1 de enero de 2027"),
        (date(2028, 2, 29), "en", "until February 29, 2028"),
    ],
)
def test_the_tricky_days_read_as_a_native_speaker_writes_them(day: date, locale: str, phrase: str) -> None:
    assert until_date(day, locale) == phrase


def test_every_shipped_locale_has_a_date_rule_and_an_unknown_one_is_refused() -> None:
    assert all(has_until_rule(locale) for locale in LOCALES)
    with pytest.raises(KeyError, match="nl"):
        until_date(date(2026, 12, 8), "nl")
