"""How the lexicon and the comment model judge together on comments neither has learned from.

    make comment-model-validate

``tools/train_comment_model.py --held-out FILE`` (in the scikit-learn environment) writes, for each extra
batch and the newest blind batch, the probabilities a model trained without that batch gives its comments.
This script (in the project's environment) judges those batches as closeloop does, score and "resolved"
included, with the shipped lexicon and those probabilities, for a grid of thresholds. The lexicon was never
tuned on the extra batches, so their figures are honest for both readers; the thresholds are chosen on them,
and the newest blind batch, which nothing was chosen on, is reported at the shipped thresholds.

Printed: the grid's best trade-offs (no other point catches more complaints with no more false alarms),
the shipped thresholds' figures, and the newest blind batch's.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from train_comment_model import corpus_parts  # its sibling here in tools/: the parts, named as it names them

from closeloop.domain.comment_model import CommentModel, Thresholds
from closeloop_cli.judge import corpus_scores

GRID = {
    "no_phrase": (0.8, 0.85, 0.9),
    "phrase_found": (0.35, 0.5, 0.65),
    "words_to_overrule": (0, 8, 12, 16),
}


class HeldOutModel(CommentModel):
    """The probabilities a model trained without the batch gave, under the thresholds being tried."""

    def __init__(self, probabilities: Mapping[str, float], thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self._probabilities = probabilities

    def probability(self, comment: str) -> float:
        return self._probabilities[comment]


@dataclass(frozen=True)
class Figures:
    caught: int
    negatives: int
    flagged: int
    others: int
    languages_meeting_goals: int
    languages: int

    def line(self) -> str:
        return (
            f"caught {self.caught}/{self.negatives} ({100 * self.caught / self.negatives:.1f} %), "
            f"flagged {self.flagged}/{self.others} ({100 * self.flagged / self.others:.1f} %), "
            f"goal met {self.languages_meeting_goals}/{self.languages}"
        )


@contextmanager
def model_in_use(model: CommentModel) -> Iterator[None]:
    with mock.patch.object(CommentModel, "default", classmethod(lambda cls: model)):
        yield


def judged(folds: Mapping[str, Mapping[str, float]], parts: list[str], thresholds: Thresholds) -> Figures:
    folders = corpus_parts()
    totals = [0, 0, 0, 0, 0, 0]
    for part in parts:
        with model_in_use(HeldOutModel(folds[part], thresholds)):
            scores = corpus_scores(sorted(folders[part].glob("*.jsonl")))
        for language in scores.values():
            counts = (language.caught, language.negatives, language.flagged, language.others)
            for index, count in enumerate((*counts, language.meets_goals, 1)):
                totals[index] += int(count)
    return Figures(*totals)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("held_out", type=Path, help="the file train_comment_model.py --held-out wrote")
    arguments = parser.parse_args(argv)
    document = json.loads(arguments.held_out.read_text("utf-8"))
    folds, newest = document["folds"], document["newest_blind"]
    extras = sorted(part for part in folds if part.startswith("extra-"))
    results = []
    for bars in itertools.product(*GRID.values()):
        try:
            thresholds = Thresholds(**dict(zip(GRID, bars, strict=True)))
        except ValueError:  # out of order: a phrase found must never raise the bar
            continue
        results.append((thresholds, judged(folds, extras, thresholds)))
    print(f"Extra batches {', '.join(extras)}, each held out in turn; the best trade-offs of the grid:")
    best = -1
    for thresholds, figures in sorted(results, key=lambda result: (result[1].flagged, -result[1].caught)):
        if figures.caught > best:
            best = figures.caught
            print(f"  {_bars(thresholds)}: {figures.line()}")
    shipped = CommentModel.default().thresholds
    print(f"Shipped {_bars(shipped)}:")
    print(f"  extra batches: {judged(folds, extras, shipped).line()}")
    print(f"  {newest} (nothing chosen on it): {judged(folds, [newest], shipped).line()}")
    return 0


def _bars(thresholds: Thresholds) -> str:
    return (
        f"no phrase {thresholds.no_phrase:.2f}, phrase found {thresholds.phrase_found:.2f} "
        f"(from {thresholds.words_to_overrule} words)"
    )


if __name__ == "__main__":
    sys.exit(main())
