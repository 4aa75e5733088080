"""Whether a survey answer is negative, and why.

An answer is negative when any of these holds (each adds one stable reason code to the verdict):

- ``low_score``: the score is at or past the deployment's threshold for the survey type
  (CSAT 1-2 of 5, NPS 0-6, CES 5-7 of 7 by default; see ``NegativityThresholds``);
- ``not_resolved``: the customer answered that the problem is not resolved, or picked the reason
  code ``not_resolved``;
- ``negative_comment``: the comment is judged negative. The built-in multilingual lexicon always
  reads it. When an extra classifier is given (Amazon Comprehend) and can judge the comment's language,
  the lexicon's explicit "not solved / still not working" phrases still count on their own, and the
  classifier's judgement replaces the lexicon's reading of tone (complaint words such as "worst",
  "useless"); when the classifier cannot judge (unsupported language, service error) the lexicon decides
  alone.

The words win over the score: five stars with "it still doesn't work" is negative.

The lexicon lives in ``lexicon.json`` beside this module, one entry per language, so a business can
extend it (``LexiconClassifier.from_json``). Matching works on normalized tokens (case folded, accents
removed, punctuation kept as clause breaks) so customers who type without accents are understood.
Vietnamese is the exception: its tone marks carry meaning ("tệ" is "bad", "tê" is "numb"), so a
Vietnamese comment written with diacritics is matched with them, and only multi-syllable phrases are
matched in comments typed without any.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Protocol

from closeloop.domain.surveys import SCORE_RANGES, SurveyAnswer, SurveyType

NOT_RESOLVED_REASON_CODE = "not_resolved"

# How many matched phrases a lexicon signal quotes; the lead needs the gist, not an inventory.
MAX_QUOTED_PHRASES = 3

# How many filler words may separate a negator from the complaint word it negates ("not at all bad").
MAX_FILLERS_AFTER_NEGATOR = 3


class VerdictReason(StrEnum):
    """Stable, machine-readable reasons; dashboards and events rely on these values."""

    LOW_SCORE = "low_score"
    NOT_RESOLVED = "not_resolved"
    NEGATIVE_COMMENT = "negative_comment"


_THRESHOLD_ITEM = re.compile(r"^\s*(?P<kind>[a-z]+)\s*(?P<op><=|>=)\s*(?P<value>-?\d+)\s*$")
# The direction of "bad" per type: low CSAT and NPS are bad, high CES (effort) is bad.
_THRESHOLD_OPERATORS: Mapping[str, str] = {"csat": "<=", "nps": "<=", "ces": ">="}


@dataclass(frozen=True)
class NegativityThresholds:
    """Score limits that make an answer negative, configurable per deployment."""

    csat_max_negative: int = 2
    nps_max_negative: int = 6
    ces_min_negative: int = 5

    def __post_init__(self) -> None:
        for kind, value in self._limits().items():
            low, high = SCORE_RANGES[kind]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{kind} threshold must be an integer {low}-{high}, got {value!r}")

    def _limits(self) -> dict[SurveyType, int]:
        return {"csat": self.csat_max_negative, "nps": self.nps_max_negative, "ces": self.ces_min_negative}

    @classmethod
    def parse(cls, text: str) -> NegativityThresholds:
        """Thresholds from a parameter string such as ``"csat<=2,nps<=6,ces>=5"``.

        Items may come in any order; a type left out keeps its default; an empty string means all
        defaults. Raises ``ValueError`` naming the offending item.
        """
        limits: dict[str, int] = {}
        for item in text.split(","):
            if not item.strip():
                continue
            match = _THRESHOLD_ITEM.match(item.lower())
            if match is None:
                raise ValueError(f"threshold {item.strip()!r} is not like 'csat<=2', 'nps<=6' or 'ces>=5'")
            kind, operator, value = match["kind"], match["op"], int(match["value"])
            if kind not in _THRESHOLD_OPERATORS:
                raise ValueError(f"unknown survey type {kind!r} in thresholds (expected csat, nps or ces)")
            if operator != _THRESHOLD_OPERATORS[kind]:
                raise ValueError(
                    f"{kind} threshold must use {_THRESHOLD_OPERATORS[kind]!r}, got {operator!r}"
                )
            if kind in limits:
                raise ValueError(f"{kind} threshold given twice")
            limits[kind] = value
        defaults = cls()
        return cls(
            csat_max_negative=limits.get("csat", defaults.csat_max_negative),
            nps_max_negative=limits.get("nps", defaults.nps_max_negative),
            ces_min_negative=limits.get("ces", defaults.ces_min_negative),
        )

    def __str__(self) -> str:
        return f"csat<={self.csat_max_negative},nps<={self.nps_max_negative},ces>={self.ces_min_negative}"

    def is_low(self, survey_type: SurveyType, score: int) -> bool:
        """True when the score is on the bad side of this deployment's threshold."""
        if survey_type == "csat":
            return score <= self.csat_max_negative
        if survey_type == "nps":
            return score <= self.nps_max_negative
        if survey_type == "ces":
            return score >= self.ces_min_negative
        return False


@dataclass(frozen=True)
class Verdict:
    """Whether an answer is negative, the stable reason codes, and short explanations for the lead."""

    negative: bool
    reasons: tuple[str, ...]
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class CommentSignal:
    """One classifier's reading of a comment.

    ``unresolved`` marks an explicit statement that the problem is not solved ("still not working"):
    such a statement counts even when another classifier reads the tone as positive.
    """

    negative: bool
    evidence: str
    unresolved: bool = False


class CommentClassifier(Protocol):
    def is_negative(self, comment: str, locale: str | None) -> CommentSignal | None:
        """The reading of ``comment``, or ``None`` when this classifier cannot judge its language."""
        ...


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


class LexiconClassifier:
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
    def default(cls) -> LexiconClassifier:
        """The shipped lexicon (``lexicon.json``), parsed once per process."""
        return _default_classifier()

    @classmethod
    def from_json(cls, text: str, *, extend_default: bool = True) -> LexiconClassifier:
        """A lexicon from a JSON document in the shipped format.

        With ``extend_default`` (the usual case) its lists are added to the shipped ones, language by
        language, so a business only writes its own phrases; otherwise it replaces them.
        """
        extra = json.loads(text)
        if not isinstance(extra, dict):
            raise ValueError("lexicon JSON must be an object")
        if not extend_default:
            return cls(extra)
        return cls(merge_lexicons(_default_lexicon(), extra))

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self._languages)

    def is_negative(self, comment: str, locale: str | None) -> CommentSignal:
        """The lexicon's reading; it always has one, since unknown languages are tried against all."""
        matches = self.find_matches(comment, locale)
        if not matches:
            return CommentSignal(negative=False, evidence="no negative phrase in the comment")
        quoted = "; ".join(f'"{match.phrase}" ({match.language})' for match in matches[:MAX_QUOTED_PHRASES])
        return CommentSignal(
            negative=True,
            evidence=f"comment matches {quoted}",
            unresolved=any(match.kind is PhraseKind.UNRESOLVED for match in matches),
        )

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


def merge_lexicons(base: Mapping[str, object], extra: Mapping[str, object]) -> dict[str, object]:
    """``base`` with ``extra``'s lists appended and its expansions added, language by language."""
    base_languages = base.get("languages", {})
    extra_languages = extra.get("languages", {})
    if not isinstance(base_languages, Mapping) or not isinstance(extra_languages, Mapping):
        raise ValueError("lexicon needs a 'languages' object")
    merged: dict[str, dict[str, object]] = {
        language: dict(entry) for language, entry in base_languages.items() if isinstance(entry, Mapping)
    }
    for language, entry in extra_languages.items():
        if not isinstance(entry, Mapping):
            raise ValueError(f"lexicon entry for {language!r} must be an object")
        target = merged.setdefault(str(language), {})
        for key, value in entry.items():
            current = target.get(key)
            if isinstance(current, list) and isinstance(value, list):
                target[key] = current + [item for item in value if item not in current]
            elif isinstance(current, Mapping) and isinstance(value, Mapping):
                target[key] = {**current, **value}
            else:
                target[key] = value
    return {"version": base.get("version", 1), "languages": merged}


@cache
def _default_lexicon() -> dict[str, object]:
    text = resources.files(__package__ or "closeloop.domain").joinpath("lexicon.json").read_text("utf-8")
    loaded: dict[str, object] = json.loads(text)
    return loaded


@cache
def _default_classifier() -> LexiconClassifier:
    return LexiconClassifier(_default_lexicon())


# ---- the verdict ---------------------------------------------------------------------------------------


def judge_answer(
    answer: SurveyAnswer,
    thresholds: NegativityThresholds,
    classifier: CommentClassifier | None = None,
    *,
    lexicon: LexiconClassifier | None = None,
) -> Verdict:
    """Whether ``answer`` is negative, with stable reason codes and evidence for the lead alert.

    ``classifier`` is an optional second opinion on the comment (Amazon Comprehend); ``lexicon``
    replaces the shipped lexicon (for a business's extended one). See the module docstring for how the
    two combine.
    """
    reasons: list[str] = []
    evidence: list[str] = []

    if answer.score is not None and thresholds.is_low(answer.survey_type, answer.score):
        reasons.append(VerdictReason.LOW_SCORE)
        evidence.append(_score_evidence(answer.survey_type, answer.score, thresholds))

    if answer.resolved is False:
        reasons.append(VerdictReason.NOT_RESOLVED)
        evidence.append("customer answered that the problem is not resolved")
    if NOT_RESOLVED_REASON_CODE in answer.reasons:
        reasons.append(VerdictReason.NOT_RESOLVED)
        evidence.append('customer picked the reason "not resolved"')

    if answer.comment and answer.comment.strip():
        comment_evidence = _judge_comment(answer.comment, answer.locale, classifier, lexicon)
        if comment_evidence:
            reasons.append(VerdictReason.NEGATIVE_COMMENT)
            evidence.extend(comment_evidence)

    if reasons:
        other_reasons = [code for code in answer.reasons if code != NOT_RESOLVED_REASON_CODE]
        if other_reasons:
            evidence.append("customer also picked: " + ", ".join(_unique(other_reasons)))

    return Verdict(
        negative=bool(reasons),
        reasons=tuple(str(reason) for reason in _unique(reasons)),  # plain strings, ready for events and logs
        evidence=tuple(_unique(evidence)),
    )


def _judge_comment(
    comment: str,
    locale: str | None,
    classifier: CommentClassifier | None,
    lexicon: LexiconClassifier | None,
) -> list[str]:
    """Evidence that the comment is negative; empty when it is not."""
    lexicon_signal = (lexicon or LexiconClassifier.default()).is_negative(comment, locale)
    second = classifier.is_negative(comment, locale) if classifier is not None else None
    if second is None:
        return [lexicon_signal.evidence] if lexicon_signal.negative else []
    evidence: list[str] = []
    if lexicon_signal.unresolved:
        evidence.append(lexicon_signal.evidence)
    if second.negative:
        evidence.append(second.evidence)
    return evidence


def _score_evidence(survey_type: SurveyType, score: int, thresholds: NegativityThresholds) -> str:
    low, high = SCORE_RANGES[survey_type]
    if survey_type == "ces":
        return f"CES {score} of {high} (customer effort; {thresholds.ces_min_negative} or more is negative)"
    limit = thresholds.csat_max_negative if survey_type == "csat" else thresholds.nps_max_negative
    scale = f"{score} of {high}" if low == 1 else f"{score} on {low}-{high}"
    return f"{survey_type.upper()} {scale} ({limit} or less is negative)"


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
