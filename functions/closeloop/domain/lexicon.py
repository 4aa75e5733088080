"""The multilingual comment lexicon: phrases that say "not solved" or complain, found in a comment.

The phrases live in ``lexicon.json`` beside this module, one entry per language. Matching works on
normalized tokens (case folded, accents removed, punctuation kept as clause breaks) so customers who type
without accents are understood. Vietnamese is the exception: its tone marks carry meaning ("tệ" is
"bad", "tê" is "numb"), so a Vietnamese comment written with diacritics is matched with them, and only
multi-syllable phrases are matched in comments typed without any.

Each language's entry says, besides its phrases:

- ``not_negative``: idioms blanked out before matching ("no problem", "can't complain"), in that
  language only;
- ``negators`` and ``fillers``: a phrase right after a negator, with only fillers (auxiliaries, clitics,
  adverbs) between, is negated ("not disappointed", "no m'ha decebut gens"), unless the phrase carries
  its own negation ("not working");
- ``emphatic_negators`` and ``intensifiers``: "never" with an intensifier before the word ("never been
  *so* disappointed") is emphasis, not negation;
- ``setup`` and ``contrast``: a story the customer tells and then overturns ("it didn't work *at first*,
  *but* Daniel fixed it") does not count: phrases between the start of the setup's sentence and the
  contrast word are dropped;
- ``resolution``: for a language whose verbs carry no tense (Vietnamese), the end of the story ("sửa
  xong", "là xong": fixed, done) overturns what its sentence said before it, without a setup word; in
  every language, a refund received ("refunded me", "remboursement ... arrivé") does too. A resolution
  may hold a gap (what it covers is overturned as well); a resolution negated before it or in its gap
  ("chưa sửa xong": not fixed yet; "the refund never arrived") overturns nothing.
- ``positives``: praise words ("satisfied", "soddisfatto") that are a complaint when negated ("not at all
  satisfied", "per niente soddisfatto"), with the negator rules above;
- ``functions``: what a device or service does ("activate", "load", "carga", "si attiva") that says the
  problem is there when negated ("doesn't activate", "no carga", "non si attiva");
- ``spells``: a long spell ("for weeks", "wochenlang") followed in its sentence by an unnegated remedy is
  a story: what the sentence said before the remedy does not count;
- ``asides``: a minor remark ("small thing", "kleine Anmerkung") runs to the next contrast word or the end
  of its sentence, and the complaint phrases inside it do not count (unresolved ones do);
- ``working`` and ``ellipses``: a sentence that says one thing works and ends, after a clause break, on a
  bare negator ("Printer works, scanner doesn't.") is a partial fix, unresolved;
- ``conditionals`` and ``consequences``: a clause opened by a conditional word ("if", "nếu") that holds a
  persistence word is a supposed recurrence ("if it happens again I'll write"), not a complaint: what it
  says, up to its clause break or its consequence word ("then", "thì"), does not count; a clause opened
  by one of the ``suppositions`` ("in case", "en caso de que") never counts, persistence word or not;
- ``epilogues``: the end of a story told over several sentences ("finally", "al final", "seitdem", "sad je
  sve"), followed in its sentence by an unnegated remedy, overturns everything said before it; so does a
  later sentence that is only a remedy ("All sorted.", "Erledigt.", "Parfait.");
- ``classes``: word classes a phrase may name: ``"{number} {period} to get"`` stands for "# days to get",
  "three weeks to get", ... (a number written in digits is the word ``#``).

- ``persistence``, ``trouble`` and ``remedies``: a clause that says the trouble persists ("the error
  message *still* shows", "l'errore compare *ancora*", "die Fehlermeldung kommt *immer noch*") is
  unresolved without a phrase for it: a persistence word and a trouble word (a word ending in ``*`` is a
  stem: ``greš*`` is "greška", "grešci", "grešku") in the same clause, a contrast word ("but") ending a
  clause too, with no negator and no remedy ("fixed", "works") in it. This is what lets the lexicon hear
  the many ways customers say "it is still there" that no phrase list foresees.

A phrase may hold a gap, written ``...``: up to ``MAX_GAP_TOKENS`` words of the same clause
("nobody ... called" matches "nobody has ever called").

What a match means for an answer (the verdict, and how it combines with Amazon Comprehend) is decided in
``closeloop.domain.judgment``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources

# How many filler words may separate a negator from the complaint word it negates ("not at all bad").
MAX_FILLERS_AFTER_NEGATOR = 4
# How many words a phrase's gap ("nobody ... called") may stand for, within one clause.
MAX_GAP_TOKENS = 3
# How far before a negator an emphatic one may stand ("mai no m'havia sentit tan decebut").
EMPHASIS_REACH = 2
# How far after a phrase opened by "never" an intensifier makes it praise ("never got a reply *so* fast").
PRAISE_REACH = 3
# Phrases of another language than the comment's are tried only when this long and without a gap:
# explicit statements ("still not working") that cannot be mistaken across languages.
MIN_CROSS_LANGUAGE_TOKENS = 3


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
# Emoji are words too: an eye roll (🙄) says as much as a sentence, in any language.
_EMOJI = "\u2600-\u27bf\U0001f300-\U0001faff"
_TOKEN = re.compile(rf"\w+|#|[.,;:!?¡¿…]|[{_EMOJI}]")
_CLAUSE_BREAK = frozenset(".,;:!?¡¿…")
# What ends a sentence (a setup's story starts after the last one).
_SENTENCE_BREAK = frozenset(".!?…")
_MASKED = ""
# A line quoted from an earlier message, as mail clients mark it ("> ...", ">> ..."); not ">3 days".
_QUOTED_LINE = re.compile(r"\s*>(?!\s*\d)")
# What a number written in digits becomes, in comments and in phrases alike.
NUMBER = "#"
# A word class in a phrase: "{number} {period} to get" stands for every member of both classes.
_CLASS_REFERENCE = re.compile(r"\{(\w+)\}")
_GAP_MARK = "..."
_GAP = "\x00gap"


def without_quoted_lines(comment: str) -> str:
    """The comment without the lines quoted from an earlier message ("> We have reset your account"): they
    are the agent's words, not the customer's. The reply parser removes quotes from replies by email, and a
    comment pasted with one is read alike."""
    return "\n".join(line for line in comment.splitlines() if not _QUOTED_LINE.match(line))


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
        if token.isdecimal():
            tokens.append(NUMBER)  # "9 days" and "15 giorni" read like "{number} days"
            continue
        tokens.extend(expansions.get(token, (token,)))
    return tuple(tokens)


# ---- the lexicon ---------------------------------------------------------------------------------------

LEXICON_KEYS = frozenset(
    {
        "unresolved",
        "complaint",
        "not_negative",
        "negators",
        "fillers",
        "emphatic_negators",
        "intensifiers",
        "setup",
        "contrast",
        "resolution",
        "expansions",
        "diacritics",
        "persistence",
        "trouble",
        "remedies",
        "positives",
        "functions",
        "asides",
        "spells",
        "working",
        "ellipses",
        "classes",
        "conditionals",
        "consequences",
        "epilogues",
        "suppositions",
        "beginnings",
    }
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
    tokens: tuple[str, ...]  # _GAP stands for a gap
    self_negated: bool  # holds a negator of its language ("not working"): never negated again
    # A word read only when negated: praise ("not at all satisfied"), a function ("doesn't activate").
    needs_negation: bool = False
    # An emoji (🙄): the same in every language, and read whether or not the comment has accents.
    symbol: bool = False

    @property
    def crosses_languages(self) -> bool:
        """Whether this phrase is tried in comments of another language (see MIN_CROSS_LANGUAGE_TOKENS)."""
        return (
            self.kind is PhraseKind.UNRESOLVED
            and len(self.tokens) >= MIN_CROSS_LANGUAGE_TOKENS
            and _GAP not in self.tokens
        )


@dataclass(frozen=True)
class LexiconMatch:
    """One lexicon phrase found in a comment."""

    phrase: str
    language: str
    kind: PhraseKind


@dataclass(frozen=True)
class LexiconReading:
    """What the lexicon made of a comment: the phrases found, and whether it found one and discounted it
    (negated, praised, overturned by a story's end, supposed, a minor remark). A comment whose complaint
    words the lexicon read and set aside is not one for a reader of tone to overrule."""

    matches: tuple[LexiconMatch, ...]
    discounted: bool


# Markers of one kind in one language, by first word: a comment is searched only for the markers whose
# first word it holds.
_Markers = dict[str, list[tuple[str, ...]]]


@dataclass(frozen=True)
class _Form:
    """Phrases and markers in one normalization (plain: accents stripped; marked: accents kept)."""

    phrases: dict[str, list[_Phrase]] = field(default_factory=dict)  # indexed by first token
    # The phrases tried for a known locale (its own, and other languages' that cross languages), by first
    # token: most phrases are another language's, and a comment need not walk past them.
    by_locale: dict[str, dict[str, list[_Phrase]]] = field(default_factory=dict)
    masks: dict[str, _Markers] = field(default_factory=dict)  # per language
    setups: dict[str, _Markers] = field(default_factory=dict)  # per language
    contrasts: dict[str, _Markers] = field(default_factory=dict)  # per language
    resolutions: dict[str, _Markers] = field(default_factory=dict)  # per language
    persistence: dict[str, _Markers] = field(default_factory=dict)  # per language
    trouble: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # per language
    remedies: dict[str, _Markers] = field(default_factory=dict)  # per language
    asides: dict[str, _Markers] = field(default_factory=dict)  # per language
    spells: dict[str, _Markers] = field(default_factory=dict)  # per language
    working: dict[str, _Markers] = field(default_factory=dict)  # per language
    conditionals: dict[str, _Markers] = field(default_factory=dict)  # per language
    consequences: dict[str, _Markers] = field(default_factory=dict)  # per language
    epilogues: dict[str, _Markers] = field(default_factory=dict)  # per language
    suppositions: dict[str, _Markers] = field(default_factory=dict)  # per language
    beginnings: dict[str, _Markers] = field(default_factory=dict)  # per language
    # Bare negators that end a sentence elliptically ("the scanner doesn't."), per language.
    ellipses: dict[str, frozenset[str]] = field(default_factory=dict)
    # The first words of each language's persistence markers: most comments hold none, and skip the rule.
    persistence_heads: dict[str, set[str]] = field(default_factory=dict)
    # Likewise for beginnings, which the reversal rule ("at first it worked, but now ...") starts from.
    beginning_heads: dict[str, set[str]] = field(default_factory=dict)
    # The first words of each language's trouble words, and the stems among them ("greš" for "greš*").
    trouble_heads: dict[str, set[str]] = field(default_factory=dict)
    trouble_stems: dict[str, tuple[str, ...]] = field(default_factory=dict)


# A rule read over a language's reading of the whole comment: a match as (start, end, phrase), or None.
_SentenceRule = Callable[
    [tuple[str, ...], "_Positions", "_Form", str, "_Language"], "tuple[int, int, _Phrase] | None"
]

# Where each word of a text stands: a marker is looked for only where its first word is.
_Positions = Mapping[str, list[int]]
# The comment as one language reads it: tokens with its masks blanked out, where their words stand, the
# spans its stories overturn, and its minor remarks (asides).
_Reading = tuple[tuple[str, ...], _Positions, list[tuple[int, int]], list[tuple[int, int]]]


@dataclass(frozen=True)
class _Language:
    """How one language marks negation and emphasis, and which words a phrase may skip."""

    negators: frozenset[str]
    fillers: frozenset[str]
    marks_significant: bool
    emphatic_negators: frozenset[str] = frozenset()
    intensifiers: frozenset[str] = frozenset()


class Lexicon:
    """The built-in multilingual rule set: phrases that mean "not solved" or a complaint, per language.

    With a known locale the comment is read with that language's rules, plus other languages'
    explicit "unresolved" statements (see ``MIN_CROSS_LANGUAGE_TOKENS``), for a customer who answers an
    Italian survey in English. With no locale, or one the lexicon lacks, every language's phrases are
    tried, each with its own language's rules. See the module docstring for masks, negation, emphasis and
    contrast.
    """

    def __init__(self, lexicon: Mapping[str, object]) -> None:
        languages = lexicon.get("languages")
        if not isinstance(languages, Mapping) or not languages:
            raise ValueError("lexicon needs a non-empty 'languages' object")
        self._languages: dict[str, _Language] = {}
        self._expansions: dict[str, tuple[str, ...]] = {}
        self._word_tokens: dict[tuple[str, bool], tuple[str, ...]] = {}
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
                emphatic_negators=self._words(entry, "emphatic_negators", language),
                intensifiers=self._words(entry, "intensifiers", language),
            )
            classes = _classes(entry, language)
            for kind in PhraseKind:
                for template in _strings(entry, kind.value, language):
                    for text in _expanded(template, classes, language):
                        self._add_phrase(text, language, kind, marks_significant)
            # Words that say something bad only when negated: praise ("not satisfied") is a complaint,
            # a device's function ("doesn't activate", "no carga") says the problem is there.
            for key, kind in (
                ("positives", PhraseKind.COMPLAINT),
                ("functions", PhraseKind.UNRESOLVED),
                ("remedies", PhraseKind.UNRESOLVED),
            ):
                for template in _strings(entry, key, language):
                    for text in _expanded(template, classes, language):
                        if key == "remedies" and self._holds_negator(text, language):
                            continue  # "no more errors" says the remedy itself
                        self._add_phrase(text, language, kind, marks_significant, needs_negation=True)
            for key, table in (
                ("not_negative", "masks"),
                ("setup", "setups"),
                ("contrast", "contrasts"),
                ("resolution", "resolutions"),
                ("persistence", "persistence"),
                ("trouble", "trouble"),
                ("remedies", "remedies"),
                ("asides", "asides"),
                ("spells", "spells"),
                ("working", "working"),
                ("conditionals", "conditionals"),
                ("consequences", "consequences"),
                ("epilogues", "epilogues"),
                ("suppositions", "suppositions"),
                ("beginnings", "beginnings"),
            ):
                for text in (
                    expanded
                    for template in _strings(entry, key, language)
                    for expanded in _expanded(template, classes, language)
                ):
                    stem = key == "trouble" and text.endswith("*")
                    for form, marked in ((self._plain, False), (self._marked, True)):
                        tokens = self._phrase_tokens(text.removesuffix("*") if stem else text, marked=marked)
                        if stem:
                            tokens = (*tokens[:-1], tokens[-1] + "*")
                        if _GAP in tokens and key != "resolution":
                            raise ValueError(f"lexicon entry {language!r}: {key} {text!r} cannot hold a gap")
                        if key == "trouble":
                            form.trouble.setdefault(language, []).append(tokens)
                        else:
                            markers = getattr(form, table).setdefault(language, {})
                            markers.setdefault(tokens[0], []).append(tokens)
                        if key == "persistence":
                            form.persistence_heads.setdefault(language, set()).add(tokens[0])
                        elif key == "beginnings":
                            form.beginning_heads.setdefault(language, set()).add(tokens[0])
                        elif key == "trouble" and len(tokens) == 1 and stem:
                            form.trouble_stems[language] = (
                                *form.trouble_stems.get(language, ()),
                                tokens[0][:-1],
                            )
                        elif key == "trouble":
                            form.trouble_heads.setdefault(language, set()).add(tokens[0])
        # Faces that say the customer is annoyed or ironic ("🙄", "😡"), whatever the language.
        for symbol in _strings(lexicon, "emoji", "emoji"):
            if _TOKEN.fullmatch(symbol) is None or symbol[0].isalnum():
                raise ValueError(f"lexicon: emoji {symbol!r} must be one emoji")
            for language in self._languages:
                self._add_phrase(symbol, language, PhraseKind.COMPLAINT, marks_significant=False, symbol=True)
        for form in (self._plain, self._marked):
            for language, entry in entries.items():
                form.ellipses[language] = self._words(entry, "ellipses", language)
            crossing = {
                id(phrase)
                for phrases in form.phrases.values()
                for phrase in phrases
                if phrase.crosses_languages
            }
            for name in self._languages:
                form.by_locale[name] = {
                    head: tried
                    for head, phrases in form.phrases.items()
                    if (
                        tried := [
                            phrase for phrase in phrases if phrase.language == name or id(phrase) in crossing
                        ]
                    )
                }
        rule_sets = self._languages.values()
        self._any_language = _Language(
            negators=frozenset().union(*(rules.negators for rules in rule_sets)),
            fillers=frozenset().union(*(rules.fillers for rules in rule_sets)),
            marks_significant=False,
            emphatic_negators=frozenset().union(*(rules.emphatic_negators for rules in rule_sets)),
            intensifiers=frozenset().union(*(rules.intensifiers for rules in rule_sets)),
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
        return self.read(comment, locale).matches

    def read(self, comment: str, locale: str | None) -> LexiconReading:
        """The phrases present in ``comment`` (see ``find_matches``), and whether a phrase was found but
        discounted: negated, praised, in a story the customer overturned, supposed, or a minor remark."""
        if not comment or not comment.strip():
            return LexiconReading((), discounted=False)
        language = language_of(locale)
        known = language in self._languages
        comment = without_quoted_lines(comment)
        prepared = _prepare(comment)
        marked_text = _has_marks(prepared)
        readings = (
            (_tokenize(_strip_marks(prepared), self._expansions), self._plain, False),
            (_tokenize(prepared, self._expansions), self._marked, True),
        )
        candidates: list[tuple[int, int, _Phrase]] = []
        discounted = False
        for raw_tokens, form, in_marked_form in readings:
            words = frozenset(raw_tokens)
            # Each language's phrases are read in the comment as that language's masks leave it.
            by_language: dict[str, _Reading] = {}
            raw_positions = _positions(raw_tokens)
            index_of = form.by_locale[language] if known and language is not None else form.phrases
            for index in range(len(raw_tokens)):
                following = raw_tokens[index + 1] if index + 1 < len(raw_tokens) else None
                for phrase in index_of.get(raw_tokens[index], ()):
                    # a masked word is blank, never a phrase's word: the raw text rules most phrases out
                    second = phrase.tokens[1] if len(phrase.tokens) > 1 else _GAP
                    if second != _GAP and second != following:
                        continue
                    if not self._form_applies(phrase, in_marked_form, marked_text):
                        continue
                    if phrase.language not in by_language:
                        by_language[phrase.language] = self._reading(
                            raw_tokens, raw_positions, form, phrase.language
                        )
                    tokens, _, overturned, asides = by_language[phrase.language]
                    end = _match_at(tokens, index, phrase.tokens)
                    if end is None:
                        continue
                    if any(start <= index and end <= stop for start, stop in overturned):
                        discounted = True
                        continue
                    if not known and phrase.kind is PhraseKind.COMPLAINT and not asides:
                        # without a locale, a remark in any language is a remark ("una pega: ... horrible")
                        asides = [
                            span
                            for name in self._languages
                            for span in _aside_spans(raw_tokens, raw_positions, form, name)
                        ]
                    if phrase.kind is PhraseKind.COMPLAINT and any(
                        start <= index and end <= stop for start, stop in asides
                    ):
                        # a minor remark ("small thing: ..."), not a complaint about the help
                        discounted = True
                        continue
                    # A known locale's own rules decide; otherwise any language's negator counts.
                    rules = self._languages[phrase.language] if known else self._any_language
                    if phrase.needs_negation:
                        negator = _negator_before(tokens, index, rules)
                        if negator is not None and not _praised(tokens, negator, end, rules):
                            candidates.append((negator, end, _negated_word(tokens, negator, index, phrase)))
                        continue
                    if not phrase.self_negated and (
                        _negated(tokens, index, rules)
                        or any(token in rules.negators for token in tokens[index:end])
                    ):
                        # negated before it, or in its gap ("the problem never came back")
                        discounted = True
                        continue
                    if _praised(tokens, index, end, rules):
                        discounted = True
                        continue
                    candidates.append((index, end, phrase))
            # The sentence rules, for the languages whose phrases were tried (no cross-language pairs).
            for name in [language] if known and language is not None else list(self._languages):
                if not self._form_applies_to_rule(name, in_marked_form, marked_text):
                    continue
                if not words.isdisjoint(form.ellipses[name]):
                    discounted |= self._apply_rule(
                        _partial_fix, name, raw_tokens, raw_positions, form, by_language, candidates
                    )
                if not words.isdisjoint(form.beginning_heads.get(name, ())):
                    discounted |= self._apply_rule(
                        _reversal, name, raw_tokens, raw_positions, form, by_language, candidates
                    )
                stems = form.trouble_stems.get(name, ())
                if words.isdisjoint(form.persistence_heads.get(name, ())) or (
                    words.isdisjoint(form.trouble_heads.get(name, ()))
                    and not any(word.startswith(stems) for word in words)
                ):
                    continue  # cheap tests first: masks and stories cost more
                if any(
                    phrase.kind is PhraseKind.UNRESOLVED and phrase.language == name
                    for *_, phrase in candidates
                ):
                    continue  # a phrase already says it, in words the lead will recognize
                discounted |= self._apply_rule(
                    _persisting_trouble, name, raw_tokens, raw_positions, form, by_language, candidates
                )
            # an idiom masked ("no problem", "the problem never came back") was read and set aside too; a
            # language whose reading is made already has its masks applied
            discounted = discounted or any(
                (
                    by_language[name][0]
                    if name in by_language
                    else _masked(raw_tokens, raw_positions, form.masks.get(name, {}))
                )
                != raw_tokens
                for name in ([language] if known and language is not None else self._languages)
            )
        return LexiconReading(_longest_first(candidates, language), discounted=discounted)

    def _apply_rule(
        self,
        rule: _SentenceRule,
        name: str,
        raw_tokens: tuple[str, ...],
        raw_positions: _Positions,
        form: _Form,
        by_language: dict[str, _Reading],
        candidates: list[tuple[int, int, _Phrase]],
    ) -> bool:
        """Add a sentence rule's match in one language's reading to ``candidates``; True when the rule
        matched inside a story the customer closed (the match is discounted, not added)."""
        if name not in by_language:
            by_language[name] = self._reading(raw_tokens, raw_positions, form, name)
        tokens, positions, overturned, _ = by_language[name]
        found = rule(tokens, positions, form, name, self._languages[name])
        if found is None:
            return False
        if any(start <= found[0] and found[1] <= stop for start, stop in overturned):
            return True
        candidates.append(found)
        return False

    def _reading(
        self, raw_tokens: tuple[str, ...], raw_positions: _Positions, form: _Form, language: str
    ) -> _Reading:
        """The comment as one language reads it: its masks blanked out, where its words stand, the spans its
        stories overturn, and its minor remarks."""
        tokens = _masked(raw_tokens, raw_positions, form.masks.get(language, {}))
        positions = _positions(tokens) if tokens != raw_tokens else raw_positions
        return (
            tokens,
            positions,
            _overturned(tokens, positions, form, language, self._languages[language]),
            _aside_spans(tokens, positions, form, language),
        )

    def _form_applies_to_rule(self, language: str, in_marked_form: bool, marked_text: bool) -> bool:
        """The persistence rule pairs single words: for a language whose marks carry meaning, only a comment
        written with them is read (a lone "loi" may be "lỗi", an error, or "lời", words)."""
        if self._languages[language].marks_significant:
            return in_marked_form and marked_text
        return not in_marked_form

    def _form_applies(self, phrase: _Phrase, in_marked_form: bool, marked_text: bool) -> bool:
        if phrase.symbol or not self._languages[phrase.language].marks_significant:
            # Accents are optional: the plain form already matches with and without them.
            return not in_marked_form
        if in_marked_form:
            return True
        # Typed without any diacritics: only multi-syllable phrases are unambiguous enough.
        return not marked_text and len([token for token in phrase.tokens if token != _GAP]) > 1

    def _add_phrase(
        self,
        text: str,
        language: str,
        kind: PhraseKind,
        marks_significant: bool,
        *,
        needs_negation: bool = False,
        symbol: bool = False,
    ) -> None:
        forms = ((self._plain, False), (self._marked, True)) if marks_significant else ((self._plain, False),)
        for form, marked in forms:
            tokens = self._phrase_tokens(text, marked=marked)
            if tokens[0] == _GAP or tokens[-1] == _GAP:
                raise ValueError(f"lexicon phrase {text!r} cannot start or end with a gap")
            rules = self._languages[language]
            self_negated = any(token in rules.negators | rules.emphatic_negators for token in tokens)
            if needs_negation and self_negated:
                raise ValueError(
                    f"lexicon entry {language!r}: {text!r} is read negated and cannot hold a negator"
                )
            form.phrases.setdefault(tokens[0], []).append(
                _Phrase(text, language, kind, tokens, self_negated, needs_negation, symbol)
            )

    def _phrase_tokens(self, text: str, *, marked: bool) -> tuple[str, ...]:
        tokens: list[str] = []
        for number, part in enumerate(text.split(_GAP_MARK)):
            if number:
                tokens.append(_GAP)
            # Word by word, remembered: word classes repeat the same words in thousands of phrases.
            for word in part.split():
                key = (word, marked)
                if key not in self._word_tokens:
                    prepared = _prepare(word)
                    self._word_tokens[key] = _tokenize(
                        prepared if marked else _strip_marks(prepared), self._expansions
                    )
                tokens.extend(self._word_tokens[key])
        if not [token for token in tokens if token != _GAP]:
            raise ValueError(f"lexicon phrase {text!r} has no words")
        return tuple(tokens)

    def _holds_negator(self, text: str, language: str) -> bool:
        rules = self._languages[language]
        return any(
            token in rules.negators or token in rules.emphatic_negators
            for marked in (False, True)
            for token in self._phrase_tokens(text, marked=marked)
        )

    @staticmethod
    def _words(entry: Mapping[str, object], key: str, language: str) -> frozenset[str]:
        words: set[str] = set()
        for word in _strings(entry, key, language):
            prepared = _prepare(word)
            words.update({prepared, _strip_marks(prepared)})
        return frozenset(words)


def _masked(
    tokens: tuple[str, ...], positions: _Positions, masks: Mapping[str, Sequence[tuple[str, ...]]]
) -> tuple[str, ...]:
    """``tokens`` with every occurrence of a mask blanked out. Masks are found in the text as written, so
    one that overlaps another ("ne mogu reć ništa loše" over "ništa loše") applies whichever is met first."""
    masked = list(tokens)
    for head in positions.keys() & masks.keys():
        for mask in masks[head]:
            width = len(mask)
            for index in positions[head]:
                if tuple(tokens[index : index + width]) == mask:
                    masked[index : index + width] = [_MASKED] * width
    return tuple(masked)


def _positions(tokens: Sequence[str]) -> _Positions:
    """Where each word stands, computed once per reading: it looks for many marker lists in the same words."""
    positions: dict[str, list[int]] = {}
    for index, token in enumerate(tokens):
        positions.setdefault(token, []).append(index)
    return positions


def _match_at(tokens: Sequence[str], start: int, pattern: Sequence[str]) -> int | None:
    """Where ``pattern`` ends if it matches at ``start`` (a gap taking as few words as it can), else None."""
    if not pattern:
        return start
    head, rest = pattern[0], pattern[1:]
    if head == _GAP:
        for skipped in range(MAX_GAP_TOKENS + 1):
            position = start + skipped
            if position > len(tokens):
                return None
            end = _match_at(tokens, position, rest)
            if end is not None:
                return end
            if position < len(tokens) and tokens[position] in _CLAUSE_BREAK:
                return None
        return None
    if start < len(tokens) and tokens[start] == head:
        return _match_at(tokens, start + 1, rest)
    return None


def _occurrences(
    tokens: tuple[str, ...], positions: _Positions, markers: Mapping[str, Sequence[tuple[str, ...]]]
) -> list[tuple[int, int]]:
    """Where each marker occurs, as (start, end) spans, in order."""
    found = [
        (index, end)
        for head in positions.keys() & markers.keys()
        for marker in markers[head]
        for index in positions[head]
        if (end := _match_at(tokens, index, marker)) is not None
    ]
    return sorted(found)


def _overturned(
    tokens: tuple[str, ...], positions: _Positions, form: _Form, language: str, rules: _Language
) -> list[tuple[int, int]]:
    """The spans a later contrast overturns: from the start of a setup's sentence ("It didn't work at
    first") to the first contrast word after the setup ("but", "now"); and from the start of a
    resolution's sentence to its end ("sửa xong"; "the refund ... arrived", whose gap may hold the
    double charge), unless the resolution is negated ("still haven't received the refund")."""
    contrasts = _occurrences(tokens, positions, form.contrasts.get(language, {}))
    spans: list[tuple[int, int]] = []
    for setup_start, setup_end in _occurrences(tokens, positions, form.setups.get(language, {})):
        # the contrast comes in the setup's sentence or the next one ("It failed at first. But now ..."),
        # not in a quoted message further down ("... A partir d'ara hauries de veure ...")
        reach = _sentence_end(tokens, _sentence_end(tokens, setup_end) + 1)
        following = [start for start, _ in contrasts if setup_end <= start < reach]
        if following:
            spans.append((_sentence_start(tokens, setup_start), following[0]))
    # A long spell ("for weeks") is a story only when a remedy ends it in the same sentence, unnegated:
    # "it had been crashing for weeks, you sorted it in one call".
    remedies = _occurrences(tokens, positions, form.remedies.get(language, {}))
    for spell_start, spell_end in _occurrences(tokens, positions, form.spells.get(language, {})):
        sentence = _sentence_start(tokens, spell_start)
        for remedy_start, _ in remedies:
            if remedy_start >= spell_end and _sentence_start(tokens, remedy_start) == sentence:
                if not _negated(tokens, remedy_start, rules):
                    spans.append((sentence, remedy_start))
                break
    # A recurrence supposed ("if it happens again", "nếu lần sau còn bị trừ tiền thì ...") is no complaint:
    # from the conditional word to the end of its clause, or to its consequence word ("then", "thì").
    conditionals = _occurrences(tokens, positions, form.conditionals.get(language, {}))
    # "In case ..." (en caso de que, u slučaju da, trường hợp) only ever supposes: no persistence word needed.
    suppositions = _occurrences(tokens, positions, form.suppositions.get(language, {}))
    if conditionals or suppositions:
        persistence = [
            start for start, _ in _occurrences(tokens, positions, form.persistence.get(language, {}))
        ]
        consequences = {
            start for start, _ in _occurrences(tokens, positions, form.consequences.get(language, {}))
        }
        supposed = set(suppositions)
        for start, end in sorted({*conditionals, *suppositions}):
            stop = next(
                (
                    index
                    for index in range(end, len(tokens))
                    if tokens[index] in _CLAUSE_BREAK or index in consequences
                ),
                len(tokens),
            )
            if (start, end) in supposed or any(end <= word < stop for word in persistence):
                spans.append((start, stop))
    # The end of a story told over several sentences ("... lo pasé fatal. Al final se completó y ya funciona
    # todo"): an epilogue word followed in its sentence by an unnegated remedy overturns all said before it.
    for epilogue_start, epilogue_end in _occurrences(tokens, positions, form.epilogues.get(language, {})):
        sentence = _sentence_start(tokens, epilogue_start)
        for remedy_start, remedy_end in remedies:
            # the remedy may be the epilogue's own word ("c'est réparé", "all sorted now"), or come right
            # before an epilogue that ends the sentence ("passt jetzt.", "fine ever since.")
            if (
                remedy_start >= epilogue_start
                or (remedy_end == epilogue_start and _sentence_end(tokens, epilogue_start) == epilogue_end)
            ) and _sentence_start(tokens, remedy_start) == sentence:
                if not _negated(tokens, remedy_start, rules) and not _asked(tokens, remedy_start):
                    # not the epilogue's own clause: "Unable to print since your fix" is no story's end
                    spans.append((0, _clause_start(tokens, min(epilogue_start, remedy_start))))
                break
    # A closing verdict: a later sentence that is only a remedy ("All sorted.", "Erledigt.", "Parfait.")
    # ends the story told before it.
    for remedy_start, remedy_end in remedies:
        if (
            remedy_start > 0
            and _sentence_start(tokens, remedy_start) == remedy_start
            and (remedy_end == len(tokens) or tokens[remedy_end] in ".!…")
            and not _negated(tokens, remedy_start, rules)
        ):
            spans.append((0, remedy_start))
    for start, end in _occurrences(tokens, positions, form.resolutions.get(language, {})):
        # negated before it, or in its gap ("the refund never arrived"), or asked ("khi nào mới sửa xong?")
        if (
            not _negated(tokens, start, rules)
            and not any(
                token in rules.negators or token in rules.emphatic_negators for token in tokens[start:end]
            )
            and not _asked(tokens, end)
        ):
            # what the customer says after the resolution still counts ("refunded me only half")
            spans.append((_sentence_start(tokens, start), end))
    return spans


def _persisting_trouble(
    tokens: tuple[str, ...], positions: _Positions, form: _Form, language: str, rules: _Language
) -> tuple[int, int, _Phrase] | None:
    """The first clause that pairs a persistence word ("still") with a trouble word ("error"), without a
    negator or a remedy ("fixed") in it, as a candidate match; clauses end at punctuation and at contrast
    words ("works now, but the printer still fails"), but for a contrast that only leads to the persistence
    word after trouble ("fehlen aber weiterhin")."""
    persistence = _occurrences(tokens, positions, form.persistence.get(language, {}))
    if not persistence:
        return None
    troubles = form.trouble.get(language, ())
    remedies = _occurrences(tokens, positions, form.remedies.get(language, {}))
    remedy_starts = {start for start, _ in remedies}
    persistence_starts = {start for start, _ in persistence}
    persistence_ends = {end for _, end in persistence}
    punctuation = {index for index, token in enumerate(tokens) if token in _CLAUSE_BREAK}
    contrasts = sorted(
        start
        for start, _ in _occurrences(tokens, positions, form.contrasts.get(language, {}))
        if start not in remedy_starts  # "fixed" is a contrast too, but vetoes its own clause
    )
    breaks = sorted(punctuation | {len(tokens)})
    for contrast in contrasts:
        previous = max((index for index in breaks if index < contrast), default=-1)
        # "Die Augentropfen fehlen aber weiterhin": a contrast right before the persistence word, after
        # nothing that works, joins the trouble to its persistence rather than parting them
        # ("bleibt aber kalt": likewise right after it)
        if (contrast + 1 in persistence_starts or contrast in persistence_ends) and not any(
            previous < start < contrast for start in remedy_starts
        ):
            continue
        breaks = sorted({*breaks, contrast})
    clause_start = 0
    for clause_end in breaks:
        clause = range(clause_start, clause_end)
        kept = [(start, end) for start, end in persistence if start in clause and end <= clause_end]
        # a negator inside a persistence marker is the marker's own ("sans arrêt", "sin parar")
        marked = {index for start, end in kept for index in range(start, end)}
        if (
            kept
            and not any(start in clause for start, _ in remedies)
            and not any(
                (tokens[index] in rules.negators or tokens[index] in rules.emphatic_negators)
                and index not in marked
                for index in clause
            )
        ):
            for index in clause:
                for trouble in troubles:
                    end = _trouble_at(tokens, index, trouble)
                    if end is not None and end <= clause_end:
                        start, stop = min(index, kept[0][0]), max(end, kept[0][1])
                        words = (" ".join(tokens[kept[0][0] : kept[0][1]]), " ".join(tokens[index:end]))
                        text = " ... ".join(words if kept[0][0] < index else reversed(words))
                        phrase = _Phrase(text, language, PhraseKind.UNRESOLVED, tokens[start:stop], True)
                        return start, stop, phrase
        clause_start = (
            clause_end + 1 if clause_end < len(tokens) and tokens[clause_end] in _CLAUSE_BREAK else clause_end
        )
    return None


def _reversal(
    tokens: tuple[str, ...], positions: _Positions, form: _Form, language: str, rules: _Language
) -> tuple[int, int, _Phrase] | None:
    """A story told the other way round: a beginning ("at first", "al principi") whose sentence says
    something worked (a remedy), then a contrast ("but now", "però ara") after which nothing works again:
    "At first the QR code showed fine, but now the app is blank." What follows the contrast, to its
    sentence's end, is the problem (a question, or a remedy there, "but now it works even better", ends
    nothing)."""
    setups = _occurrences(tokens, positions, form.beginnings.get(language, {}))
    if not setups:
        return None
    remedies = [
        start
        for start, _ in _occurrences(tokens, positions, form.remedies.get(language, {}))
        if not _negated(tokens, start, rules)
    ]
    # after the contrast, "it works" in any words ends nothing; before it, only a remedy says it worked
    working = remedies + [
        start
        for start, _ in _occurrences(tokens, positions, form.working.get(language, {}))
        if not _negated(tokens, start, rules)
    ]
    contrasts = [
        (start, end)
        for start, end in _occurrences(tokens, positions, form.contrasts.get(language, {}))
        if start not in working
    ]
    for setup_start, setup_end in setups:
        sentence = _sentence_start(tokens, setup_start)
        reach = _sentence_end(tokens, _sentence_end(tokens, setup_end) + 1)
        following = [(start, end) for start, end in contrasts if setup_end <= start < reach]
        if not following:
            continue
        contrast_start, contrast_end = following[0]
        stop = _sentence_end(tokens, contrast_end)
        if (
            any(sentence <= start < contrast_start for start in remedies)
            and not any(contrast_end <= start < stop for start in working)
            and stop > contrast_end
            and not _asked(tokens, contrast_end)
        ):
            setup, contrast = (
                " ".join(tokens[setup_start:setup_end]),
                " ".join(tokens[contrast_start:contrast_end]),
            )
            phrase = _Phrase(
                f"{setup} ... {contrast}", language, PhraseKind.UNRESOLVED, tokens[contrast_start:stop], True
            )
            return contrast_start, stop, phrase
    return None


def _partial_fix(
    tokens: tuple[str, ...], positions: _Positions, form: _Form, language: str, _rules: _Language
) -> tuple[int, int, _Phrase] | None:
    """A sentence that says one thing works and ends on a bare negation about another: "Printer works,
    scanner doesn't.", "Drucker geht, Scanner nicht.", "La impresora va, el escáner no.", "Devolveram o
    valor do produto mas o frete não." (a question, "works, no?", is not one)."""
    working = _occurrences(tokens, positions, form.working.get(language, {}))
    if not working:
        return None
    # the two halves are two clauses: a comma between them, or a contrast word ("works but ... not")
    contrasts = [start for start, _ in _occurrences(tokens, positions, form.contrasts.get(language, {}))]
    for index, token in enumerate(tokens):
        if token not in form.ellipses[language] or (
            index + 1 < len(tokens) and tokens[index + 1] not in ".!…"
        ):
            continue
        sentence = _sentence_start(tokens, index)
        for start, end in working:
            if (
                sentence <= start
                and end < index
                and (
                    any(word in _CLAUSE_BREAK for word in tokens[end:index])
                    or any(end <= contrast < index for contrast in contrasts)
                )
            ):
                text = f"{' '.join(tokens[start:end])} ... {token}"
                return (
                    start,
                    index + 1,
                    _Phrase(text, language, PhraseKind.UNRESOLVED, tokens[start : index + 1], True),
                )
    return None


def _trouble_at(tokens: Sequence[str], start: int, trouble: tuple[str, ...]) -> int | None:
    """Where ``trouble`` ends if it is at ``start``; its last word may be a stem (``greš*``)."""
    end = start + len(trouble)
    if end > len(tokens):
        return None
    for token, word in zip(tokens[start:end], trouble, strict=True):
        if word.endswith("*") and len(word) > 1:
            if not token.startswith(word[:-1]):
                return None
        elif token != word:
            return None
    return end


def _asked(tokens: Sequence[str], position: int) -> bool:
    """Whether the sentence around ``position`` ends with a question mark."""
    while position < len(tokens) and tokens[position] not in _SENTENCE_BREAK:
        position += 1
    return position < len(tokens) and tokens[position] == "?"


def _sentence_end(tokens: Sequence[str], position: int) -> int:
    """Where the sentence around ``position`` ends: its closing punctuation, or the end of the text."""
    while position < len(tokens) and tokens[position] not in _SENTENCE_BREAK:
        position += 1
    return position


def _clause_start(tokens: Sequence[str], position: int) -> int:
    while position > 0 and tokens[position - 1] not in _CLAUSE_BREAK:
        position -= 1
    return position


def _sentence_start(tokens: Sequence[str], position: int) -> int:
    while position > 0 and tokens[position - 1] not in _SENTENCE_BREAK:
        position -= 1
    return position


def _negated(tokens: Sequence[str], start: int, rules: _Language) -> bool:
    """True when a negator precedes ``start``, with at most a few filler words and no clause break between.

    An emphatic negator ("never") with an intensifier between it and the word ("never been so
    disappointed") is emphasis: the word is not negated.
    """
    return _negator_before(tokens, start, rules) is not None


def _negator_before(tokens: Sequence[str], start: int, rules: _Language) -> int | None:
    """Where the negator that negates the word at ``start`` stands (see ``_negated``), or None."""
    position = start - 1
    fillers_seen = 0
    intensified = False
    while position >= 0 and fillers_seen <= MAX_FILLERS_AFTER_NEGATOR:
        token = tokens[position]
        if token in rules.negators or token in rules.emphatic_negators:
            reach = tokens[max(0, position - EMPHASIS_REACH) : position + 1]
            if intensified and any(word in rules.emphatic_negators for word in reach):
                return None
            # "not at all": the negator may stand before the fillers that intensify it
            return position
        if token in rules.intensifiers:
            intensified = True
        elif token not in rules.fillers:
            return None
        fillers_seen += 1
        position -= 1
    return None


def _negated_word(tokens: Sequence[str], negator: int, start: int, phrase: _Phrase) -> _Phrase:
    """A negated word as the match it makes, quoted as written: "not satisfied", "pas ... satisfait"."""
    text = f"{tokens[negator]} {'... ' if start > negator + 1 else ''}{phrase.text}"
    covered = tuple(tokens[negator : start + len(phrase.tokens)])
    return _Phrase(text, phrase.language, phrase.kind, covered, True)


def _aside_spans(
    tokens: tuple[str, ...], positions: _Positions, form: _Form, language: str
) -> list[tuple[int, int]]:
    """The minor remarks: from an aside ("small thing", "kleine Anmerkung") to the next contrast word ("but
    whatever") or the end of its sentence."""
    asides = _occurrences(tokens, positions, form.asides.get(language, {}))
    if not asides:
        return []
    contrasts = [start for start, _ in _occurrences(tokens, positions, form.contrasts.get(language, {}))]
    spans: list[tuple[int, int]] = []
    for start, end in asides:
        stop = end
        while stop < len(tokens) and tokens[stop] not in _SENTENCE_BREAK and stop not in contrasts:
            stop += 1
        spans.append((start, stop))
    return spans


def _praised(tokens: Sequence[str], start: int, end: int, rules: _Language) -> bool:
    """True when an emphatic negator opens the phrase and an intensifier follows it closely, in the same
    clause: "never received *such* fast help", "nikad nisam dobio *tako* brz odgovor" is praise."""
    opening = tokens[max(0, start - EMPHASIS_REACH) : start + 1]
    if not any(word in rules.emphatic_negators for word in opening):
        return False
    for token in tokens[end : end + PRAISE_REACH]:
        if token in _CLAUSE_BREAK:
            return False
        if token in rules.intensifiers:
            return True
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
        # an emoji is every language's: found once, whichever language's reading found it
        found.setdefault(
            (phrase.text, "" if phrase.symbol else phrase.language),
            LexiconMatch(phrase.text, phrase.language, phrase.kind),
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


def _classes(entry: Mapping[str, object], language: str) -> dict[str, list[str]]:
    """A language's word classes (``{"number": ["#", "two"]}``), named in phrases as ``{number}``."""
    classes = entry.get("classes", {})
    if not isinstance(classes, Mapping):
        raise ValueError(f"lexicon entry {language!r}: 'classes' must be an object")
    return {str(name): _strings(classes, str(name), language) for name in classes}


def _expanded(template: str, classes: Mapping[str, list[str]], language: str) -> list[str]:
    """Every phrase a template stands for: ``"{number} weeks"`` gives ``"# weeks"``, ``"two weeks"``, ..."""
    reference = _CLASS_REFERENCE.search(template)
    if reference is None:
        return [template]
    members = classes.get(reference[1])
    if members is None:
        raise ValueError(f"lexicon entry {language!r}: {template!r} names the unknown class {reference[1]!r}")
    head, tail = template[: reference.start()], template[reference.end() :]
    return [text for member in members for text in _expanded(head + member + tail, classes, language)]


@cache
def _default_lexicon() -> Lexicon:
    text = resources.files(__package__ or "closeloop.domain").joinpath("lexicon.json").read_text("utf-8")
    return Lexicon(json.loads(text))
