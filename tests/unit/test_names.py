"""The greeting's name: the given name of real-world names from several cultures, in every locale."""

from __future__ import annotations

import pytest

from closeloop.adapters.names import NAMELESS_GREETING_LANGUAGES, given_name, greeting_name
from closeloop.adapters.rendering import EmailRenderer
from tests.conftest import TEMPLATES
from tests.fakes import email_content

LOCALES = EmailRenderer(TEMPLATES).shipped_locales

# (name as a helpdesk stores it, the given name every locale greets by; None: greet without a name)
REAL_WORLD_NAMES = [
    ("Giulia Rossi", "Giulia"),
    ("Rossi, Giulia", "Giulia"),
    ("Nguyễn Văn An", "An"),  # Vietnamese: family name first, given name last
    ("Trần Thị Minh Khai", "Khai"),
    ("NGUYỄN THỊ LAN", "Lan"),
    ("Nguyen Van An", "An"),  # unaccented, still family name first
    ("Lan Nguyen", "Lan"),  # the same person's name in Western order
    ("Dr. Anna Schmidt", "Anna"),
    ("Prof. Dr. Hans-Peter Müller", "Hans-Peter"),
    ("Dott.ssa Chiara Bianchi", "Chiara"),
    ("Mme Camille Dubois", "Camille"),
    ("Sra. Lucía Fernández", "Lucía"),
    ("JOSÉ GARCÍA", "José"),
    ("maría lópez", "María"),
    ("o'brien, siobhan", "Siobhan"),
    ("JEAN-LUC PICARD", "Jean-Luc"),
    ("McKenzie Wright", "McKenzie"),  # mixed case is kept as typed
    ("Jordi Puig i Serra", "Jordi"),
    ("Ivan Horvat", "Ivan"),
    ("Đặng Thu Thảo", "Thảo"),
    ("Ana Souza", "Ana"),
    ("Madonna", "Madonna"),  # a single name is the name
    ("Mr Smith", None),  # a title and a family name: no given name to greet by
    ("Dr. Schmidt", None),
    ("J. R. Tolkien", None),  # an initial is not a name to greet by
    ("", None),
    ("   ", None),
    (None, None),
    ("customer@example.com", None),
]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("full_name", "expected"), REAL_WORLD_NAMES)
def test_every_locale_greets_real_names_by_their_given_name(
    locale: str, full_name: str | None, expected: str | None
) -> None:
    # GIVEN a real-world name WHEN the greeting's name is taken in any locale THEN it is the given name,
    # cased as a name, or None where the locale's greeting takes no name
    nameless = locale.split("-")[0] in NAMELESS_GREETING_LANGUAGES
    assert greeting_name(full_name, locale) == (None if nameless else expected)


@pytest.mark.parametrize(
    ("full_name", "locale", "expected"),
    [
        ("Le Thi Hoa", "vi", "Hoa"),  # "Le" is a family name in a Vietnamese email...
        ("Le Roy Jenkins", "en", "Le"),  # ...and may be a given name elsewhere
        ("Mai Linh", "fr", "Mai"),
    ],
)
def test_ambiguous_unaccented_family_names_count_only_in_vietnamese(
    full_name: str, locale: str, expected: str
) -> None:
    assert given_name(full_name, locale) == expected


def test_croatian_greets_without_a_name_because_the_vocative_depends_on_it() -> None:
    # GIVEN Croatian names whose vocative differs (Ivan → Ivane, Petar → Petre) WHEN greeted THEN no name
    assert [greeting_name(name, "hr") for name in ("Ivan Horvat", "Petar Kovač", "Marija Babić")] == [
        None
    ] * 3


@pytest.mark.parametrize(
    ("locale", "full_name", "greeting"),
    [
        ("vi", "Lan Nguyen", "Xin chào Lan,"),
        ("vi", "Nguyễn Văn An", "Xin chào An,"),
        ("de", "Dr. Anna Schmidt", "Hallo Anna,"),
        ("es", "JOSÉ GARCÍA", "Hola, José:"),
        ("es", "maría lópez", "Hola, María:"),
        ("hr", "Ivan Horvat", "Dobar dan,"),
        ("en", "Mr Smith", "Hello,"),
        ("it", "", "Buongiorno,"),
    ],
)
def test_the_email_opens_with_the_locales_greeting(locale: str, full_name: str, greeting: str) -> None:
    # GIVEN a customer's name as stored WHEN the email is rendered THEN its first line after the brand greets
    content = email_content(locale, customer_name=full_name)
    email = EmailRenderer(TEMPLATES).render_survey(content)
    assert email.text.splitlines()[2] == greeting
