"""The comment model: a small statistical reader of tone, trained on closeloop's labeled comment corpus.

The lexicon (``closeloop.domain.lexicon``) finds the phrases it knows; a complaint worded in a way no phrase
foresees ("great, another week of the inverter beeping at 3am") is missed. The comment model reads what
the lexicon cannot: a logistic regression over the comment's character n-grams (2-5 characters within a
word, so "arregla", "arreglado" and "arreglaron" share features and typos still match) and its words and
word pairs, each block weighted by TF-IDF and normalized. It is trained offline (``make comment-model``,
``tools/train_comment_model.py``) on the labeled corpus in ``tests/corpus/judgment``, all of it but the
newest blind batch, which stays the honest measure of what ships (docs/judgment.md).

The model has the last word on whether a comment is negative, with a bar that depends on what the lexicon
found (``Thresholds``): a complaint phrase lowers it, and complaint words the lexicon set aside ("not
disappointed at all", a story with its end) are never turned back into a complaint. A complaint only the
model reads is one of tone, never an explicit "not solved": alone it reopens only an answer without a score
(see ``closeloop.domain.judgment``). It needs nothing but the standard library: the trained weights are
``comment_model.json`` beside this module, read once per process.

The feature functions here are the ones the trainer counts with, so what is scored at run time is exactly
what was trained.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from closeloop.domain.lexicon import without_quoted_lines

MODEL_FILE = "comment_model.json"
# Character n-grams of 2 to 5 characters, taken inside each word padded with a space on both sides.
CHAR_GRAM_SIZES = (2, 5)
# Words of two characters or more, and each pair of neighbouring words.
_WORD = re.compile(r"\b\w\w+\b")


def prepared(comment: str) -> str:
    """The comment as both feature blocks read it: without quoted lines (as the lexicon reads it),
    normalized (NFC), lower case."""
    return unicodedata.normalize("NFC", without_quoted_lines(comment)).lower()


def char_grams(text: str) -> list[str]:
    """The character n-grams of each word of ``text`` (already ``prepared``), the word padded with spaces."""
    low, high = CHAR_GRAM_SIZES
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        length = len(padded)
        for size in range(low, min(high, length) + 1):
            grams.extend(padded[start : start + size] for start in range(length - size + 1))
    return grams


def word_grams(text: str) -> list[str]:
    """The words of ``text`` (already ``prepared``) and each pair of neighbouring words."""
    words = _WORD.findall(text)
    return [*words, *(f"{first} {second}" for first, second in itertools.pairwise(words))]


FEATURE_BLOCKS = {"char": char_grams, "word": word_grams}


@dataclass(frozen=True)
class _Block:
    """One block of features: each known feature's inverse document frequency and weight."""

    name: str
    idf: Mapping[str, float]
    weights: Mapping[str, float]

    def score(self, text: str) -> float:
        """This block's share of the decision: the normalized TF-IDF vector dotted with the weights."""
        counts = Counter(feature for feature in FEATURE_BLOCKS[self.name](text) if feature in self.idf)
        if not counts:
            return 0.0
        values = {feature: (1.0 + math.log(count)) * self.idf[feature] for feature, count in counts.items()}
        norm = math.sqrt(sum(value * value for value in values.values()))
        return sum(value * self.weights[feature] for feature, value in values.items()) / norm


@dataclass(frozen=True)
class Thresholds:
    """The probability a comment needs to count as negative, by what the lexicon found in it.

    Chosen with the model and the lexicon together, on batches the model never trained on and the lexicon
    was never tuned on (``make comment-model-validate``, docs/judgment.md)."""

    no_phrase: float
    """The lexicon found nothing: the model alone reads the tone."""
    phrase_found: float
    """The lexicon found a complaint phrase: below this, the model overrules it (a happy story told with
    complaint words)."""
    words_to_overrule: int
    """A phrase found in a shorter comment stands whatever the model reads: a few words give it too little
    to go on ("It broke again the next day." reads to it as a happy story's ending)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.phrase_found <= self.no_phrase < 1.0:
            raise ValueError(
                "comment model 'thresholds' must be probabilities with phrase_found <= no_phrase"
            )
        if self.words_to_overrule < 0:
            raise ValueError("comment model 'words_to_overrule' must be a count of words")

    @classmethod
    def parse(cls, document: object) -> Thresholds:
        """From ``{"no_phrase": p, "phrase_found": p, "words_to_overrule": n}``."""
        names = ("no_phrase", "phrase_found", "words_to_overrule")
        if not isinstance(document, Mapping) or set(document) != set(names):
            raise ValueError(f"comment model needs 'thresholds' with {', '.join(names)}")
        values = [document[name] for name in names]
        if not _numbers(values, len(names)) or not isinstance(values[-1], int):
            raise ValueError("comment model 'thresholds' must be numbers, 'words_to_overrule' a whole one")
        return cls(float(values[0]), float(values[1]), words_to_overrule=int(values[2]))

    def bar(self, comment: str, *, phrase_found: bool, set_aside: bool) -> float:
        """The probability ``comment`` needs to count as negative, given what the lexicon found in it."""
        if phrase_found:
            short = len(prepared(comment).split()) < self.words_to_overrule
            return 0.0 if short else self.phrase_found
        # words set aside stay aside: on comments nobody tuned for, asking the model there too caught
        # fewer than 1 % more complaints and read "Never once felt frustrated." as one
        return math.inf if set_aside else self.no_phrase


class CommentModel:
    """Trained weights, the probability that a comment is negative, and the bars it must reach."""

    def __init__(self, document: Mapping[str, object]) -> None:
        bars, intercept, blocks = (
            document.get("thresholds"),
            document.get("intercept"),
            document.get("blocks"),
        )
        if not isinstance(intercept, (int, float)) or isinstance(intercept, bool):
            raise ValueError("comment model needs a numeric 'intercept'")
        if not isinstance(blocks, Mapping) or set(blocks) != set(FEATURE_BLOCKS):
            raise ValueError(f"comment model needs the feature blocks {sorted(FEATURE_BLOCKS)}")
        self.thresholds = Thresholds.parse(bars)
        self._intercept = float(intercept)
        self._blocks = tuple(_block(name, table) for name, table in blocks.items())

    @classmethod
    def default(cls) -> CommentModel:
        """The shipped model (``comment_model.json``), read once per process."""
        return _default_model()

    def probability(self, comment: str) -> float:
        """How likely the comment is negative, by the trained weights (0 to 1)."""
        text = prepared(comment)
        decision = self._intercept + sum(block.score(text) for block in self._blocks)
        if decision < -40:  # exp would overflow; the probability is 0 for every purpose
            return 0.0
        return 1.0 / (1.0 + math.exp(-decision))


def _block(name: object, table: object) -> _Block:
    """A block from ``{"feature": [idf, weight], ...}``."""
    if not isinstance(name, str) or not isinstance(table, Mapping):
        raise ValueError("a comment model block maps features to [idf, weight]")
    idf: dict[str, float] = {}
    weights: dict[str, float] = {}
    for feature, pair in table.items():
        if not _numbers(pair, 2):
            raise ValueError(f"comment model block {name!r}: {feature!r} needs [idf, weight]")
        idf[feature], weights[feature] = float(pair[0]), float(pair[1])
        if idf[feature] <= 0:
            raise ValueError(f"comment model block {name!r}: {feature!r} has a non-positive idf")
    return _Block(name, idf, weights)


def _numbers(value: object, count: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) == count
        and all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in value)
    )


@cache
def _default_model() -> CommentModel:
    text = resources.files(__package__ or "closeloop.domain").joinpath(MODEL_FILE).read_text("utf-8")
    return CommentModel(json.loads(text))
