"""The comment model: how a trained model scores a comment, and that the shipped one is the corpus's.

What it adds to the lexicon on real comments is held in ``test_judgment_corpus.py`` and ``test_judgment.py``.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any

import pytest
from tools import train_comment_model

from closeloop.domain.comment_model import MODEL_FILE, CommentModel, char_grams, prepared, word_grams


def shipped_document() -> dict[str, Any]:
    text = resources.files("closeloop.domain").joinpath(MODEL_FILE).read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def tiny(**weights: float) -> CommentModel:
    """A model over words only, every idf 1: a comment's probability follows from the weights by hand."""
    return CommentModel(
        {
            "thresholds": {
                "no_phrase": 0.9,
                "phrase_found": 0.5,
                "words_to_overrule": 3,
            },
            "intercept": -1.0,
            "blocks": {"char": {}, "word": {word: [1.0, weight] for word, weight in weights.items()}},
        }
    )


def sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value))


def test_character_grams_are_taken_inside_each_word_padded_with_spaces() -> None:
    assert char_grams("ok") == [" o", "ok", "k ", " ok", "ok ", " ok "]
    # a short word gives every n-gram that fits, itself padded last
    assert char_grams("a b")[:3] == [" a", "a ", " a "]


def test_word_grams_are_the_words_and_each_pair_of_neighbours() -> None:
    assert word_grams("still not working") == [
        "still",
        "not",
        "working",
        "still not",
        "not working",
    ]
    # one-letter words are left out, as the trainer counted them
    assert word_grams("a b ok") == ["ok"]


def test_a_comment_is_read_without_its_quoted_lines_in_lower_case() -> None:
    assert prepared("Still BROKEN\n> We fixed it\n>3 days") == "still broken\n>3 days"


def test_the_probability_is_the_logistic_of_the_weighted_normalized_features() -> None:
    model = tiny(broken=6.0, thanks=-4.0)

    # one known word: its normalized value is 1, the decision is -1 + 6
    assert model.probability("It is broken") == pytest.approx(sigmoid(5.0))
    # two known words, once each: each is 1/sqrt(2) of the vector
    assert model.probability("broken, thanks") == pytest.approx(sigmoid(-1.0 + (6.0 - 4.0) / math.sqrt(2)))
    # nothing known: the intercept alone
    assert model.probability("hello") == pytest.approx(sigmoid(-1.0))


def test_the_bar_a_comment_must_reach_depends_on_what_the_lexicon_found() -> None:
    thresholds = tiny().thresholds

    comment = "it kept crashing"
    assert thresholds.bar(comment, phrase_found=False, set_aside=False) == 0.9
    # a complaint phrase lowers the bar; words the lexicon set aside stay aside, whatever the model reads
    assert thresholds.bar(comment, phrase_found=True, set_aside=False) == 0.5
    assert thresholds.bar(comment, phrase_found=True, set_aside=True) == 0.5
    assert thresholds.bar(comment, phrase_found=False, set_aside=True) == math.inf
    # in a comment shorter than words_to_overrule, a phrase found stands whatever the model reads
    assert thresholds.bar("kept crashing", phrase_found=True, set_aside=False) == 0.0


BARS = {"no_phrase": 0.9, "phrase_found": 0.5, "words_to_overrule": 3}


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({"intercept": 0.0, "blocks": {"char": {}, "word": {}}}, "thresholds"),
        (
            {"thresholds": {"no_phrase": 0.9}, "intercept": 0.0, "blocks": {"char": {}, "word": {}}},
            "thresholds",
        ),
        (
            {
                "thresholds": {**BARS, "no_phrase": "high"},
                "intercept": 0.0,
                "blocks": {"char": {}, "word": {}},
            },
            "numbers",
        ),
        (
            {"thresholds": {**BARS, "no_phrase": 1.5}, "intercept": 0.0, "blocks": {"char": {}, "word": {}}},
            "probabilities",
        ),
        # a phrase the lexicon found must never raise the bar
        (
            {
                "thresholds": {**BARS, "phrase_found": 0.99},
                "intercept": 0.0,
                "blocks": {"char": {}, "word": {}},
            },
            "<=",
        ),
        ({"thresholds": BARS, "intercept": "x", "blocks": {"char": {}, "word": {}}}, "intercept"),
        ({"thresholds": BARS, "intercept": 0.0, "blocks": {"word": {}}}, "blocks"),
        ({"thresholds": BARS, "intercept": 0.0, "blocks": {"char": {}, "word": {"x": [1.0]}}}, "idf, weight"),
        ({"thresholds": BARS, "intercept": 0.0, "blocks": {"char": {}, "word": {"x": [0.0, 1.0]}}}, "idf"),
    ],
)
def test_a_malformed_model_is_refused(document: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        CommentModel(document)


def test_the_shipped_model_scores_as_the_trainer_did() -> None:
    document = shipped_document()
    model = CommentModel.default()

    assert document["checks"], "the trainer ships probabilities to check against"
    for text, expected in document["checks"]:
        assert model.probability(text) == pytest.approx(expected, abs=1e-5), text


def test_the_shipped_model_was_trained_on_the_corpus_as_it_is_and_never_on_the_newest_blind_batch() -> None:
    trained = shipped_document()["trained_on"]
    parts = train_comment_model.corpus_parts()
    newest = train_comment_model.newest_blind(parts)

    assert newest not in trained["parts"], "the newest blind batch is the honest measure: never train on it"
    assert trained["parts"] == [name for name in parts if name != newest], "run make comment-model"
    assert trained["sha256"] == train_comment_model.fingerprint([parts[name] for name in trained["parts"]]), (
        "the corpus changed since the model was trained: run make comment-model"
    )
