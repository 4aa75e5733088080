"""The multilingual comment lexicon: phrases that say "not solved" or complain, found in a comment.

The phrases live in ``lexicon.json`` beside this module, one entry per language. Matching works on
normalized tokens (case folded, accents removed, punctuation kept as clause breaks) so customers who type
without accents are understood. Vietnamese is the exception: its tone marks carry meaning ("tệ" is
"bad", "tê" is "numb"), so a Vietnamese comment written with diacritics is matched with them, and only
multi-syllable phrases are matched in comments typed without any.

What a match means for an answer (the verdict, and how it combines with Amazon Comprehend) is decided in
``closeloop.domain.judgment``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources

# How many filler words may separate a negator from the complaint word it negates ("not at all bad").
MAX_FILLERS_AFTER_NEGATOR = 3


def language_of(locale: str | None) -> str | None:
    """The primary language subtag of a locale: ``"pt-BR"`` and ``"pt_br"`` give ``"pt"``."""
    if not locale or not locale.strip():
        return None
    return re.split(r"[-_]", locale.strip(), maxsplit=1)[0].lower()


# ---- text normalization -------------------------------------------------------------------------------

# Letters that Unicode does not decompose into a base letter plus a mark.
_UNDECOMPOSED_LETTERS = str.maketrans({"đ": "d", "ð": "d", "ł": "l", "ø": "o", "æ": "ae", "œ": "oe"})
# Typographic apostrophes (right and left quotes, modifier letter, acute and grave accents) become "'".
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'", "\u2018": "'"})
# Catalan geminated l (cancel·lar, also typed cancel.lar) is one word.
_CATALAN_GEMINATE = re.compile(r"l[·.]l")
# English contractions: "doesn't" -> "doesnt", expanded to "does not" by the lexicon's expansions.
_CONTRACTION = re.compile(r"n't\b")
# Words, plus the punctuation that closes a clause: a negator never reaches across it.
_TOKEN = re.compile(r"\w+|[.,;:!?¡¿…]")
_CLAUSE_BREAK = frozenset(".,;:!?¡¿…")
_MASKED = ""


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).translate(
        _UNDECOMPOSED_LETTERS
    )


def _prepare(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold().translate(_APOSTROPHES)
    text = _CATALAN_GEMINATE.sub("ll", text)
    return _CONTRACTION.sub("nt", text)


def _has_marks(text: str) -> bool:
    return _strip_marks(text) != text


def _tokenize(text: str, expansions: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    tokens: list[str] = []
    for token in _TOKEN.findall(text):
        tokens.extend(expansions.get(token, (token,)))
    return tuple(tokens)


# ---- the lexicon ---------------------------------------------------------------------------------------

LEXICON_KEYS = frozenset(
    {"unresolved", "complaint", "not_negative", "negators", "fillers", "expansions", "diacritics"}
)


class PhraseKind(StrEnum):
    UNRESOLVED = "unresolved"
    COMPLAINT = "complaint"


@dataclass(frozen=True)
class _Phrase:
    """One lexicon phrase, tokenized the way comments are."""

    text: str
    language: str
    kind: PhraseKind
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class LexiconMatch:
    """One lexicon phrase found in a comment."""

    phrase: str
    language: str
    kind: PhraseKind


@dataclass(frozen=True)
class _Form:
    """Phrases and masks in one normalization (plain: accents stripped; marked: accents kept)."""

    phrases: dict[str, list[_Phrase]] = field(default_factory=dict)  # indexed by first token
    masks: list[tuple[str, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class _Language:
    """How one language marks negation, and which words a phrase may skip."""

    negators: frozenset[str]
    fillers: frozenset[str]
    marks_significant: bool


class Lexicon:
    """The built-in multilingual rule set: phrases that mean "not solved" or a complaint, per language.

    With a known locale the comment is read with that language's phrases, plus every language's
    "unresolved" phrases (explicit, multi-word statements that cannot be mistaken across languages, for
    a customer who answers an Italian survey in English). With no locale, or one the lexicon lacks, every
    language's phrases are tried. "Not negative" phrases ("no problem", "non male", "không tệ") are
    blanked out first, and a complaint word right after a negator ("not disappointed", "nimalo
    razočaran"), with only filler words between, does not count.
    """

    def __init__(self, lexicon: Mapping[str, object]) -> None:
        languages = lexicon.get("languages")
        if not isinstance(languages, Mapping) or not languages:
            raise ValueError("lexicon needs a non-empty 'languages' object")
        self._languages: dict[str, _Language] = {}
        self._expansions: dict[str, tuple[str, ...]] = {}
        entries: dict[str, Mapping[str, object]] = {}
        for language, entry in languages.items():
            if not isinstance(language, str) or not isinstance(entry, Mapping):
                raise ValueError(f"lexicon entry for {language!r} must be an object")
            unknown = set(entry) - LEXICON_KEYS
            if unknown:
                raise ValueError(f"lexicon entry {language!r} has unknown keys {sorted(unknown)}")
            entries[language] = entry
            expansions = entry.get("expansions", {})
            if not isinstance(expansions, Mapping):
                raise ValueError(f"lexicon entry {language!r}: 'expansions' must be an object")
            for short, expanded in expansions.items():
                self._expansions[_strip_marks(_prepare(str(short)))] = tuple(str(expanded).split())
        self._plain = _Form()
        self._marked = _Form()
        for language, entry in entries.items():
            diacritics = entry.get("diacritics", "optional")
            if diacritics not in ("optional", "significant"):
                raise ValueError(
                    f"lexicon entry {language!r}: 'diacritics' must be 'optional' or 'significant'"
                )
            marks_significant = diacritics == "significant"
            self._languages[language] = _Language(
                negators=self._words(entry, "negators", language),
                fillers=self._words(entry, "fillers", language),
                marks_significant=marks_significant,
            )
            for kind in PhraseKind:
                for text in _strings(entry, kind.value, language):
                    self._add_phrase(text, language, kind, marks_significant)
            for text in _strings(entry, "not_negative", language):
                self._plain.masks.append(self._phrase_tokens(text, marked=False))
                self._marked.masks.append(self._phrase_tokens(text, marked=True))
        self._any_language = _Language(
            negators=frozenset().union(*(rules.negators for rules in self._languages.values())),
            fillers=frozenset().union(*(rules.fillers for rules in self._languages.values())),
            marks_significant=False,
        )

    @classmethod
    def default(cls) -> Lexicon:
        """The shipped lexicon (``lexicon.json``), parsed once per process."""
        return _default_lexicon()

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self._languages)

    def find_matches(self, comment: str, locale: str | None) -> tuple[LexiconMatch, ...]:
        """The lexicon phrases present in ``comment``, unresolved ones first, without duplicates."""
        if not comment or not comment.strip():
            return ()
        language = language_of(locale)
        known = language in self._languages
        prepared = _prepare(comment)
        marked_text = _has_marks(prepared)
        plain_tokens = self._masked(_tokenize(_strip_marks(prepared), self._expansions), self._plain)
        marked_tokens = self._masked(_tokenize(prepared, self._expansions), self._marked)
        candidates: list[tuple[int, int, _Phrase]] = []
        for tokens, form, in_marked_form in (
            (plain_tokens, self._plain, False),
            (marked_tokens, self._marked, True),
        ):
            for index, token in enumerate(tokens):
                for phrase in form.phrases.get(token, ()):
                    if known and phrase.language != language and phrase.kind is not PhraseKind.UNRESOLVED:
                        continue
                    if not self._form_applies(phrase, in_marked_form, marked_text):
                        continue
                    if tokens[index : index + len(phrase.tokens)] != phrase.tokens:
                        continue
                    # A known locale's own rules decide; otherwise any language's negator counts.
                    rules = self._languages[phrase.language] if known else self._any_language
                    if phrase.kind is PhraseKind.COMPLAINT and _negated(tokens, index, rules):
                        continue
                    candidates.append((index, index + len(phrase.tokens), phrase))
        return _longest_first(candidates, language)

    def _form_applies(self, phrase: _Phrase, in_marked_form: bool, marked_text: bool) -> bool:
        if not self._languages[phrase.language].marks_significant:
            # Accents are optional: the plain form already matches with and without them.
            return not in_marked_form
        if in_marked_form:
            return True
        # Typed without any diacritics: only multi-syllable phrases are unambiguous enough.
        return not marked_text and len(phrase.tokens) > 1

    @staticmethod
    def _masked(tokens: tuple[str, ...], form: _Form) -> tuple[str, ...]:
        masked = list(tokens)
        for mask in form.masks:
            width = len(mask)
            for index in range(len(masked) - width + 1):
                if tuple(masked[index : index + width]) == mask:
                    masked[index : index + width] = [_MASKED] * width
        return tuple(masked)

    def _add_phrase(self, text: str, language: str, kind: PhraseKind, marks_significant: bool) -> None:
        forms = ((self._plain, False), (self._marked, True)) if marks_significant else ((self._plain, False),)
        for form, marked in forms:
            tokens = self._phrase_tokens(text, marked=marked)
            form.phrases.setdefault(tokens[0], []).append(_Phrase(text, language, kind, tokens))

    def _phrase_tokens(self, text: str, *, marked: bool) -> tuple[str, ...]:
        prepared = _prepare(text)
        tokens = _tokenize(prepared if marked else _strip_marks(prepared), self._expansions)
        if not tokens:
            raise ValueError(f"lexicon phrase {text!r} has no words")
        return tokens

    @staticmethod
    def _words(entry: Mapping[str, object], key: str, language: str) -> frozenset[str]:
        words: set[str] = set()
        for word in _strings(entry, key, language):
            prepared = _prepare(word)
            words.update({prepared, _strip_marks(prepared)})
        return frozenset(words)


def _negated(tokens: Sequence[str], start: int, rules: _Language) -> bool:
    """True when a negator precedes ``start``, with at most a few filler words and no clause break between."""
    position = start - 1
    fillers_seen = 0
    while position >= 0 and fillers_seen <= MAX_FILLERS_AFTER_NEGATOR:
        token = tokens[position]
        if token in rules.negators:
            return True
        if token not in rules.fillers:
            return False
        fillers_seen += 1
        position -= 1
    return False


def _longest_first(
    candidates: list[tuple[int, int, _Phrase]], language: str | None
) -> tuple[LexiconMatch, ...]:
    """Matches without duplicates or phrases inside a longer match ("not working" in "still not working"),
    unresolved ones first, then the locale's language first."""
    spans: list[tuple[int, int]] = []
    found: dict[tuple[str, str], LexiconMatch] = {}
    for start, end, phrase in sorted(candidates, key=lambda item: item[0] - item[1]):
        if any(
            start >= taken_start and end <= taken_end and (start, end) != (taken_start, taken_end)
            for taken_start, taken_end in spans
        ):
            continue
        spans.append((start, end))
        found.setdefault(
            (phrase.text, phrase.language), LexiconMatch(phrase.text, phrase.language, phrase.kind)
        )
    return tuple(
        sorted(
            found.values(),
            key=lambda match: (match.kind is not PhraseKind.UNRESOLVED, match.language != language),
        )
    )


def _strings(entry: Mapping[str, object], key: str, language: str) -> list[str]:
    values = entry.get(key, [])
    if not isinstance(values, list) or not all(isinstance(value, str) and value.strip() for value in values):
        raise ValueError(f"lexicon entry {language!r}: {key!r} must be a list of non-empty strings")
    return list(values)


@cache
def _default_lexicon() -> Lexicon:
    text = resources.files(__package__ or "closeloop.domain").joinpath("lexicon.json").read_text("utf-8")
    return Lexicon(json.loads(text))
