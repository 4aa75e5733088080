"""The name a customer is greeted by: one rule for every name, whatever its culture or its casing.

A helpdesk stores a name as someone typed it: "Dr. Anna Schmidt", "JOSÉ GARCÍA", "maría lópez",
"Rossi, Giulia", "Nguyễn Văn An" (family name first) or "Lan Nguyen" (the same order as English). The
greeting takes the given name; when it cannot tell which word that is, or the language would need a
case form of it, the email greets without a name, which is always correct.
"""

from __future__ import annotations

import unicodedata

# Titles and honorifics that come before a name (compared case-insensitively, without a final full stop).
_TITLES = frozenset(
    {
        *("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "fr", "sr", "sra", "srta"),
        *("doña", "dott", "dott.ssa", "dottssa", "dr.ssa", "ing", "avv", "sig", "sig.ra", "sigra"),
        *(
            "herr",
            "frau",
            "dipl.-ing",
            "mag",
            "m",
            "mme",
            "mlle",
            "me",
            "pr",
            "gospodin",
            "gospođa",
            "g",
            "gđa",
        ),
        *("ông", "bà", "eng", "engª", "eng.ª", "dra", "exmo", "exma", "phd"),
    }
)

# Vietnamese family names. A name that starts with one is written family name first ("Nguyễn Văn An"),
# and its given name is its last word. Unaccented forms that are also common given or Western names
# ("Le", "Ly", "Ho", "Lam", "Mai") count only in Vietnamese emails, where that order is the usual one.
_VIETNAMESE_FAMILY_NAMES = frozenset(
    {
        *("nguyễn", "trần", "lê", "phạm", "hoàng", "huỳnh", "phan", "vũ", "võ", "đặng", "bùi", "đỗ", "hồ"),
        *("ngô", "dương", "lý", "đinh", "trịnh", "trương", "lương", "đoàn", "vương", "lâm", "tạ"),
        *("nguyen", "tran", "pham", "huynh", "dang", "bui", "ngo", "duong", "dinh", "trinh", "phan", "hoang"),
    }
)
_AMBIGUOUS_UNACCENTED = frozenset(
    {"le", "ly", "ho", "vu", "vo", "do", "lam", "mai", "doan", "luong", "truong"}
)

# Languages whose greeting would put the name in the vocative (Croatian "Ivane", "Petre", "Marija"):
# its form depends on the name's gender and stem, so these greet without the name.
NAMELESS_GREETING_LANGUAGES = frozenset({"hr"})


def given_name(full_name: str | None, locale: str) -> str | None:
    """The given name in ``full_name``, cased as a name, or None when there is no usable one.

    ``"Giulia Rossi"`` and ``"Rossi, Giulia"`` give ``"Giulia"``; ``"Nguyễn Văn An"`` gives ``"An"`` and
    ``"Lan Nguyen"`` ``"Lan"``; ``"Dr. Anna Schmidt"`` gives ``"Anna"``; ``"JOSÉ GARCÍA"`` ``"José"``.
    ``"Mr Smith"`` (a title and a family name) and ``"J. Smith"`` (an initial) give None, as does an email
    address.
    """
    if not full_name or "@" in full_name:
        return None
    family_first = False
    if "," in full_name:
        family, _, given = full_name.partition(",")
        words = given.split() or family.split()
    else:
        words = full_name.split()
    while words and _key(words[0]) in _TITLES:
        words = words[1:]
        family_first = True  # after a title, a lone word is a family name ("Dr. Schmidt")
    if not words or (family_first and len(words) == 1):
        return None
    language = locale.split("-")[0].lower()
    if "," not in full_name and len(words) > 1 and _is_vietnamese_family_name(words[0], language):
        chosen = words[-1]
    else:
        chosen = words[0]
    if len(chosen.rstrip(".")) <= 1:
        return None  # an initial
    return _cased(chosen)


def greeting_name(full_name: str | None, locale: str) -> str | None:
    """The name the greeting of ``locale`` uses, or None for the greeting without a name."""
    if locale.split("-")[0].lower() in NAMELESS_GREETING_LANGUAGES:
        return None
    return given_name(full_name, locale)


def _key(word: str) -> str:
    return unicodedata.normalize("NFC", word).casefold().rstrip(".")


def _is_vietnamese_family_name(word: str, language: str) -> bool:
    key = _key(word)
    if key in _AMBIGUOUS_UNACCENTED:
        return language == "vi"
    return key in _VIETNAMESE_FAMILY_NAMES


def _cased(word: str) -> str:
    """A name typed all in capitals or all in small letters, cased as a name; mixed case (McKay), and
    anything that is not only letters, apostrophes and hyphens, is kept as typed."""
    if (word.isupper() or word.islower()) and all(
        c.isalpha() or c in "'\N{RIGHT SINGLE QUOTATION MARK}-" for c in word
    ):
        return word.title()
    return word
