"""The labeled judgment corpus (tests/corpus/judgment): the goals of issue 9, per shipped language.

The corpus is split:

- ``<lang>.jsonl`` is the part the lexicon is tuned on;
- ``holdout/<lang>.jsonl`` was kept apart for the first tuning and used in the second;
- ``holdout/second/<lang>.jsonl`` was written before the second tuning and never used to choose rules;
- ``holdout/blind-N/<lang>.jsonl`` were each written by someone who never saw the lexicon or this corpus,
  measured blind once, then tuned on in the next tuning (docs/judgment.md says which); the newest batch is
  never tuned on, so its figures are the shipped lexicon's on unseen text.

The goals (at least 90 % of clear negatives caught, at most 5 % of positive or neutral comments flagged)
are held on the tuning part; on every part, no happy explicit answer ("resolved" without a low score) is
ever reopened, and no language falls below the figures docs/judgment.md records. ``closeloop judge
--evaluate`` prints each part's figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from closeloop.domain.lexicon import language_of
from closeloop_cli.judge import FALSE_ALARM_GOAL, RECALL_GOAL, corpus_files, corpus_scores

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "judgment"
HOLDOUT = CORPUS / "holdout"
SECOND_HOLDOUT = HOLDOUT / "second"
# Written without sight of the lexicon or this corpus; tuned on in the third tuning (docs/judgment.md).
FIRST_BLIND = HOLDOUT / "blind-1"
# Likewise, by someone else, during the third tuning; tuned on in the fourth (docs/judgment.md).
SECOND_BLIND = HOLDOUT / "blind-2"
# Likewise, by someone else, after the fifth tuning; tuned on in the sixth (docs/judgment.md).
THIRD_BLIND = HOLDOUT / "blind-3"
# Likewise, after the sixth tuning; tuned on in the seventh (docs/judgment.md).
FOURTH_BLIND = HOLDOUT / "blind-4"
# Likewise, after the seventh tuning; tuned on in the eighth (docs/judgment.md).
FIFTH_BLIND = HOLDOUT / "blind-5"
# Likewise, after the eighth tuning; tuned on in the ninth (docs/judgment.md).
SIXTH_BLIND = HOLDOUT / "blind-6"
# Likewise, after the ninth tuning; tuned on in the tenth (docs/judgment.md).
SEVENTH_BLIND = HOLDOUT / "blind-7"
# Likewise, after the tenth tuning; tuned on in the eleventh (docs/judgment.md).
EIGHTH_BLIND = HOLDOUT / "blind-8"
# Likewise, after the eleventh tuning; tuned on in the twelfth (docs/judgment.md).
NINTH_BLIND = HOLDOUT / "blind-9"
# Likewise, after the twelfth tuning; tuned on in the thirteenth (docs/judgment.md).
TENTH_BLIND = HOLDOUT / "blind-10"
# Likewise, after the thirteenth tuning; tuned on in the fourteenth (docs/judgment.md).
ELEVENTH_BLIND = HOLDOUT / "blind-11"
# Likewise, after the fourteenth tuning; tuned on in the fifteenth.
TWELFTH_BLIND = HOLDOUT / "blind-12"
# Likewise, after the fourteenth and fifteenth tunings; tuned on in the sixteenth.
THIRTEENTH_BLIND = HOLDOUT / "blind-13"
# Likewise, after the sixteenth tuning; tuned on in the seventeenth.
FOURTEENTH_BLIND = HOLDOUT / "blind-14"
# Likewise, after the seventeenth tuning; then trained on by the comment model (never tuned on).
FIFTEENTH_BLIND = HOLDOUT / "blind-15"
# Likewise; never tuned on; trained on by the comment model since its thresholds were chosen.
SIXTEENTH_BLIND = HOLDOUT / "blind-16"
# Likewise; never tuned on; trained on by the comment model after its one measure.
SEVENTEENTH_BLIND = HOLDOUT / "blind-17"
# Likewise; never tuned on; trained on by the comment model after its one measure.
EIGHTEENTH_BLIND = HOLDOUT / "blind-18"
# Likewise; never tuned on; trained on by the comment model after its one measure.
NINETEENTH_BLIND = HOLDOUT / "blind-19"
# Likewise; phrases from its misses added after its one measure; trained on by the comment model since.
TWENTIETH_BLIND = HOLDOUT / "blind-20"
# Likewise; phrases from its misses added after its one measure; trained on by the comment model since.
TWENTY_FIRST_BLIND = HOLDOUT / "blind-21"
# Likewise; phrases from its misses added after its one measure; trained on by the comment model since.
TWENTY_SECOND_BLIND = HOLDOUT / "blind-22"
# Likewise; phrases from its misses added after its one measure; trained on by the comment model since.
TWENTY_THIRD_BLIND = HOLDOUT / "blind-23"
# Likewise; phrases from its misses added after its one measure; trained on by the comment model since.
TWENTY_FOURTH_BLIND = HOLDOUT / "blind-24"
# Likewise; never tuned on before its one measure, and never trained on by the comment model.
TWENTY_FIFTH_BLIND = HOLDOUT / "blind-25"
# Batches written for the comment model's training (a-c after the sixteenth tuning, d-zm after the
# seventeenth); the lexicon is not tuned on them (the phrases for quiet defection were written after
# t-v were measured, those for escalation and formal complaints after za). Retraining the model moves
# their figures either way.
EXTRA = CORPUS / "extra"
SHIPPED = ("en", "it", "vi", "ca", "hr", "es", "fr", "de", "pt")
TUNING_SCORES = corpus_scores([CORPUS])


def rows(*paths: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for path in corpus_files(paths)
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    ]


@pytest.mark.parametrize("language", SHIPPED)
def test_the_corpus_has_at_least_30_labeled_comments_with_both_labels(language: str) -> None:
    mine = [
        row for row in rows(CORPUS, HOLDOUT, SECOND_HOLDOUT) if language_of(str(row["locale"])) == language
    ]

    assert len(mine) >= 30
    assert sum(row["negative"] is True for row in mine) >= 12
    assert sum(row["negative"] is False for row in mine) >= 12
    assert any("score" in row for row in mine)  # explicit answers with a comment


@pytest.mark.parametrize("language", SHIPPED)
def test_at_least_90_percent_of_clear_negatives_are_caught(language: str) -> None:
    scores = TUNING_SCORES[language]

    assert scores.recall is not None
    assert scores.recall >= RECALL_GOAL, scores.missed


@pytest.mark.parametrize("language", SHIPPED)
def test_at_most_5_percent_of_positive_or_neutral_comments_are_flagged(language: str) -> None:
    scores = TUNING_SCORES[language]

    assert scores.false_alarm_rate is not None
    assert scores.false_alarm_rate <= FALSE_ALARM_GOAL, scores.false_alarms


# The figures reached by the twelfth tuning, per part and language: (caught, negatives, flagged, others).
# A change to the lexicon may improve them, never worsen them (docs/judgment.md has the history).
REACHED = {
    "tuning": (
        CORPUS,
        {
            "ca": (134, 134, 1, 129),
            "de": (134, 134, 0, 128),
            "en": (136, 136, 0, 130),
            "es": (134, 134, 0, 132),
            "fr": (134, 134, 0, 128),
            "hr": (134, 134, 1, 129),
            "it": (135, 135, 0, 140),
            "pt": (134, 134, 0, 132),
            "vi": (138, 138, 0, 127),
        },
    ),
    "holdout": (HOLDOUT, dict.fromkeys(SHIPPED, (9, 9, 0, 9))),
    "second-holdout": (SECOND_HOLDOUT, dict.fromkeys(SHIPPED, (12, 12, 0, 6))),
    # the flagged answer in each language said "not resolved" (en: CSAT 2), which reopens whatever the comment
    "first-blind": (FIRST_BLIND, dict.fromkeys(SHIPPED, (20, 20, 1, 20)) | {"en": (20, 20, 2, 20)}),
    # after the fourth tuning and the sixth (blind before the third: see docs/judgment.md)
    "second-blind": (SECOND_BLIND, dict.fromkeys(SHIPPED, (20, 20, 0, 20))),
    # after the sixth tuning (blind after the fifth: see docs/judgment.md)
    "third-blind": (
        THIRD_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    # after the seventh tuning (blind after the sixth: see docs/judgment.md)
    "fourth-blind": (
        FOURTH_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    # after the eighth tuning (blind after the seventh: see docs/judgment.md)
    "fifth-blind": (FIFTH_BLIND, dict.fromkeys(SHIPPED, (20, 20, 0, 20))),
    # after the ninth, tenth and fourteenth tunings (blind after the eighth: see docs/judgment.md)
    "sixth-blind": (
        SIXTH_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (19, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    # after the tenth tuning (blind after the ninth: see docs/judgment.md)
    "seventh-blind": (
        SEVENTH_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    # after the eleventh tuning (blind after the tenth: see docs/judgment.md)
    "eighth-blind": (EIGHTH_BLIND, dict.fromkeys(SHIPPED, (20, 20, 0, 20))),
    # after the twelfth tuning (blind after the eleventh: see docs/judgment.md)
    "ninth-blind": (
        NINTH_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    # after the thirteenth tuning (blind after the twelfth: see docs/judgment.md)
    "tenth-blind": (
        TENTH_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (19, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    # after the fourteenth tuning (blind after the thirteenth: see docs/judgment.md)
    "eleventh-blind": (
        ELEVENTH_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    # after the fifteenth tuning (blind after the fourteenth: see docs/judgment.md)
    "twelfth-blind": (
        TWELFTH_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    # after the sixteenth and seventeenth tunings (blind after the fourteenth and fifteenth)
    "thirteenth-blind": (
        THIRTEENTH_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 1, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    # after the seventeenth tuning (blind after the sixteenth: see docs/judgment.md)
    "fourteenth-blind": (
        FOURTEENTH_BLIND,
        {
            "ca": (20, 20, 1, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (19, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    # written for the comment model, never tuned on by the lexicon (docs/judgment.md)
    "extra-a": (
        EXTRA / "a",
        {
            "ca": (20, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (18, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (19, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    "extra-b": (
        EXTRA / "b",
        {
            "ca": (19, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (19, 20, 0, 20),
            "fr": (18, 20, 0, 20),
            "hr": (20, 20, 1, 20),
            "it": (20, 20, 0, 20),
            "pt": (18, 20, 0, 20),
            "vi": (20, 20, 1, 20),
        },
    ),
    "extra-c": (
        EXTRA / "c",
        {
            "ca": (18, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 1, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    "extra-d": (
        EXTRA / "d",
        {
            "ca": (19, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (19, 20, 0, 20),
            "hr": (19, 20, 0, 20),
            "it": (19, 20, 0, 20),
            "pt": (19, 20, 0, 20),
            "vi": (18, 20, 0, 20),
        },
    ),
    "extra-e": (
        EXTRA / "e",
        {
            "ca": (20, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (18, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (19, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    "extra-f": (
        EXTRA / "f",
        {
            "ca": (19, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (19, 20, 0, 20),
            "hr": (19, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (18, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-g": (
        EXTRA / "g",
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (19, 20, 0, 20),
            "fr": (20, 20, 1, 20),
            "hr": (20, 20, 0, 20),
            "it": (19, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    # blind, after the seventeenth tuning and the model trained through blind-14 (docs/judgment.md)
    "fifteenth-blind": (
        FIFTEENTH_BLIND,
        {
            "ca": (19, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 1, 20),
            "it": (20, 20, 0, 20),
            "pt": (18, 20, 2, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-h": (
        EXTRA / "h",
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (19, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (19, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (19, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-i": (
        EXTRA / "i",
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 1, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (19, 20, 0, 20),
            "hr": (19, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (19, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-j": (
        EXTRA / "j",
        {
            "ca": (19, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (18, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    "extra-k": (
        EXTRA / "k",
        {
            "ca": (19, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 1, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-l": (
        EXTRA / "l",
        {
            "ca": (20, 20, 0, 20),
            "de": (18, 20, 1, 20),
            "en": (20, 20, 1, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 1, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-m": (
        EXTRA / "m",
        {
            "ca": (20, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (19, 20, 0, 20),
            "hr": (17, 20, 0, 20),
            "it": (19, 20, 0, 20),
            "pt": (20, 20, 1, 20),
            "vi": (20, 20, 1, 20),
        },
    ),
    "extra-n": (
        EXTRA / "n",
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (19, 20, 1, 20),
            "es": (20, 20, 0, 20),
            "fr": (19, 20, 1, 20),
            "hr": (19, 20, 1, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-o": (
        EXTRA / "o",
        {
            "ca": (20, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (19, 20, 0, 20),
            "hr": (19, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-p": (
        EXTRA / "p",
        {
            "ca": (18, 20, 0, 20),
            "de": (18, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (19, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-q": (
        EXTRA / "q",
        {
            "ca": (20, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (20, 20, 2, 20),
            "es": (18, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 2, 20),
            "it": (20, 20, 1, 20),
            "pt": (20, 20, 1, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-r": (
        EXTRA / "r",
        {
            "ca": (20, 20, 0, 20),
            "de": (17, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (20, 20, 1, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 1, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-s": (
        EXTRA / "s",
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (19, 20, 1, 20),
            "it": (19, 20, 0, 20),
            "pt": (19, 20, 1, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-t": (
        EXTRA / "t",
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 1, 20),
            "es": (19, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (19, 20, 1, 20),
            "vi": (20, 20, 1, 20),
        },
    ),
    "extra-u": (
        EXTRA / "u",
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (18, 20, 1, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 1, 20),
            "pt": (19, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    "extra-v": (
        EXTRA / "v",
        {
            "ca": (19, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (19, 20, 1, 20),
            "fr": (19, 20, 0, 20),
            "hr": (20, 20, 1, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    "extra-w": (
        EXTRA / "w",
        {
            "ca": (19, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 1, 20),
            "fr": (20, 20, 0, 20),
            "hr": (19, 20, 0, 20),
            "it": (19, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    "extra-x": (
        EXTRA / "x",
        {
            "ca": (20, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (18, 20, 0, 20),
            "vi": (18, 20, 0, 20),
        },
    ),
    "extra-y": (
        EXTRA / "y",
        {
            "ca": (20, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (19, 20, 0, 20),
            "hr": (19, 20, 0, 20),
            "it": (19, 20, 0, 20),
            "pt": (18, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    "extra-z": (
        EXTRA / "z",
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (19, 20, 0, 20),
            "fr": (19, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (19, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-za": (
        EXTRA / "za",
        {
            "ca": (18, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (19, 20, 0, 20),
            "fr": (19, 20, 0, 20),
            "hr": (19, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    "extra-zb": (
        EXTRA / "zb",
        {
            "ca": (19, 20, 0, 20),
            "de": (17, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (19, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (18, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-zc": (
        EXTRA / "zc",
        {
            "ca": (20, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (20, 20, 1, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-zd": (
        EXTRA / "zd",
        {
            "ca": (19, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (17, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-ze": (
        EXTRA / "ze",
        {
            "ca": (19, 20, 1, 20),
            "de": (19, 20, 1, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (19, 20, 1, 20),
            "hr": (19, 20, 0, 20),
            "it": (18, 20, 0, 20),
            "pt": (19, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-zf": (
        EXTRA / "zf",
        {
            "ca": (59, 60, 0, 60),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (19, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 1, 20),
            "it": (19, 20, 0, 20),
            "pt": (19, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-zg": (
        EXTRA / "zg",
        {
            "ca": (59, 60, 0, 60),
            "de": (20, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (20, 20, 1, 20),
            "fr": (18, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-zh": (
        EXTRA / "zh",
        {
            "ca": (59, 60, 0, 60),
            "de": (18, 20, 0, 20),
            "en": (20, 20, 1, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (19, 20, 0, 20),
            "pt": (19, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    "extra-zi": (
        EXTRA / "zi",
        {
            "ca": (20, 20, 1, 20),
            "de": (18, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (19, 20, 0, 20),
            "fr": (20, 20, 2, 20),
            "hr": (59, 60, 2, 60),
            "it": (57, 60, 4, 60),
            "pt": (17, 20, 1, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-zj": (
        EXTRA / "zj",
        {
            "ca": (20, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (58, 60, 0, 60),
            "fr": (19, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (57, 60, 1, 60),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-zk": (
        EXTRA / "zk",
        {
            "ca": (60, 60, 0, 60),
            "de": (20, 20, 1, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (58, 60, 0, 60),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-zl": (
        EXTRA / "zl",
        {
            "ca": (20, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (19, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    "extra-zm": (
        EXTRA / "zm",
        {
            "ca": (19, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (77, 80, 1, 80),
            "it": (19, 20, 0, 20),
            "pt": (20, 20, 1, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    # blind, after the seventeenth tuning; the model trained through blind-19 (docs/judgment.md)
    "sixteenth-blind": (
        SIXTEENTH_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (18, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (19, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    # blind, after the seventeenth tuning and the model trained through blind-19 (docs/judgment.md)
    "seventeenth-blind": (
        SEVENTEENTH_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 2, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 1, 20),
            "hr": (20, 20, 0, 20),
            "it": (19, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 1, 20),
        },
    ),
    # blind, after the seventeenth tuning, resigned waiting and the model trained through blind-19
    "eighteenth-blind": (
        EIGHTEENTH_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (18, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (19, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    # blind, after quiet defection, intensifier masks and the model trained through blind-19
    "nineteenth-blind": (
        NINETEENTH_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (18, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 1, 20),
        },
    ),
    # blind, after the phrases from blind-19 and the model trained through blind-19
    "twentieth-blind": (
        TWENTIETH_BLIND,
        {
            "ca": (19, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (18, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    # blind, after the phrases from blind-15..20 and the model trained through blind-20
    "twenty-first-blind": (
        TWENTY_FIRST_BLIND,
        {
            "ca": (19, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (19, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    # blind, after the Catalan phrases and the model trained through blind-21 with its new bar (0.80)
    "twenty-second-blind": (
        TWENTY_SECOND_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (19, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 1, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 1, 20),
            "pt": (20, 20, 0, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    # blind, after the Croatian phrases and the model trained through blind-22
    "twenty-third-blind": (
        TWENTY_THIRD_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (20, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 1, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
    # blind, after blind-23's phrases and the model trained through blind-23
    "twenty-fourth-blind": (
        TWENTY_FOURTH_BLIND,
        {
            "ca": (20, 20, 0, 20),
            "de": (20, 20, 0, 20),
            "en": (20, 20, 0, 20),
            "es": (20, 20, 0, 20),
            "fr": (19, 20, 0, 20),
            "hr": (20, 20, 0, 20),
            "it": (20, 20, 0, 20),
            "pt": (20, 20, 0, 20),
            "vi": (19, 20, 0, 20),
        },
    ),
    # blind, after blind-24's phrases and the model trained through blind-24
    "twenty-fifth-blind": (
        TWENTY_FIFTH_BLIND,
        {
            "ca": (19, 20, 1, 20),
            "de": (20, 20, 1, 20),
            "en": (19, 20, 1, 20),
            "es": (20, 20, 0, 20),
            "fr": (18, 20, 1, 20),
            "hr": (18, 20, 0, 20),
            "it": (17, 20, 1, 20),
            "pt": (18, 20, 1, 20),
            "vi": (20, 20, 0, 20),
        },
    ),
}


@pytest.mark.parametrize("part", list(REACHED))
def test_no_happy_explicit_answer_is_reopened(part: str) -> None:
    folder, _ = REACHED[part]

    scores = corpus_scores([folder])

    assert {language: item.happy_reopened for language, item in scores.items()} == dict.fromkeys(SHIPPED, 0)


@pytest.mark.parametrize("part", list(REACHED))
def test_no_language_falls_below_the_figures_reached(part: str) -> None:
    folder, reached = REACHED[part]

    scores = corpus_scores([folder])

    assert sorted(scores) == sorted(SHIPPED)
    for language, (caught, negatives, flagged, others) in reached.items():
        now = scores[language]
        assert (now.negatives, now.others) == (negatives, others), language
        assert now.caught >= caught, (language, now.missed)
        assert now.flagged <= flagged, (language, now.false_alarms)
