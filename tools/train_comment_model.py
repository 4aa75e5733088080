"""Train the comment model (functions/closeloop/domain/comment_model.json) on the labeled comment corpus.

    make comment-model                                   # train and write the model
    .tools/comment-model/bin/python tools/train_comment_model.py --validate    # leave one batch out

Runs in its own environment (.tools/comment-model, scikit-learn pinned in tools/comment-model.txt): the
functions never import scikit-learn, and neither does this module until it trains (the unit tests read
its corpus helpers). They score with ``closeloop.domain.comment_model``, whose feature
functions this script counts with, so the model is scored at run time exactly as it was trained.

Training reads every labeled part of tests/corpus/judgment but the newest blind batch (``holdout/blind-N``
with the highest N), which stays unseen: its figures are the honest ones for what ships. Steps:

1. TF-IDF (sublinear term frequency) over two blocks, each normalized: character n-grams of 2-5 inside
   words (seen in two comments at least), and words and word pairs;
2. a logistic regression (L2, C=16, classes balanced) on both;
3. the 20,000 features of largest weight kept, the vectorizers refitted on them and the regression
   retrained, so the shipped file holds exactly what scores;
4. the threshold: the shipped probability above which a comment counts as negative.

C, the 20,000 features and the 0.95 threshold were chosen by ``--validate``: each of blind-1..blind-11 held
out in turn and scored by a model trained on the rest; 0.95 is the lowest threshold whose false alarms
stay under 1 % of the held-out positives (docs/judgment.md has the figures).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "functions"))

from closeloop.domain.comment_model import FEATURE_BLOCKS, MODEL_FILE, prepared  # noqa: E402

CORPUS = REPO / "tests" / "corpus" / "judgment"
OUTPUT = REPO / "functions" / "closeloop" / "domain" / MODEL_FILE
REGULARIZATION = 16.0
KEPT_FEATURES = 20_000
THRESHOLD = 0.95
MIN_CHAR_GRAM_COMMENTS = 2
# Probabilities the trainer computed, shipped with the model: the scorer's unit test recomputes them.
CHECKS = 24
VALIDATION_THRESHOLDS = (0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97)
_BLIND = re.compile(r"blind-(\d+)$")


def corpus_parts() -> dict[str, Path]:
    """Every labeled part, by name: tuning, holdout, second, the extra batches written for the model
    (``extra/<name>``, the lexicon is not tuned on them), blind-1 ... blind-N."""
    holdout = CORPUS / "holdout"
    parts = {"tuning": CORPUS, "holdout": holdout, "second": holdout / "second"}
    extra = CORPUS / "extra"
    if extra.is_dir():
        parts.update({f"extra-{path.name}": path for path in sorted(extra.iterdir()) if path.is_dir()})
    blinds = sorted(
        (int(match[1]), path)
        for path in holdout.iterdir()
        if path.is_dir() and (match := _BLIND.match(path.name))
    )
    parts.update({f"blind-{number}": path for number, path in blinds})
    return parts


def newest_blind(parts: dict[str, Path]) -> str:
    return max((name for name in parts if _BLIND.match(name)), key=lambda name: int(name.split("-")[1]))


def labeled(path: Path) -> list[tuple[str, bool]]:
    """``(text, negative)`` for each line of the part's own JSONL files (not its subfolders')."""
    rows = []
    for file in sorted(path.glob("*.jsonl")):
        for line in file.read_text("utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                rows.append((str(item["text"]), bool(item["negative"])))
    return rows


def fingerprint(paths: Sequence[Path]) -> str:
    """SHA-256 over the training files, in order: the model's test checks it against the corpus."""
    digest = hashlib.sha256()
    for path in paths:
        for file in sorted(path.glob("*.jsonl")):
            digest.update(file.relative_to(REPO).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def _vectorizers(vocabularies: dict[str, list[str]] | None = None) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    def analyzer(block: str) -> Any:
        extract = FEATURE_BLOCKS[block]
        return lambda text: extract(prepared(text))

    return {
        block: TfidfVectorizer(
            analyzer=analyzer(block),
            sublinear_tf=True,
            min_df=MIN_CHAR_GRAM_COMMENTS if block == "char" and vocabularies is None else 1,
            vocabulary=None if vocabularies is None else vocabularies[block],
        )
        for block in FEATURE_BLOCKS
    }


def _matrix(vectorizers: dict[str, Any], texts: list[str], *, fit: bool) -> Any:
    from scipy.sparse import hstack

    blocks = [
        vectorizer.fit_transform(texts) if fit else vectorizer.transform(texts)
        for vectorizer in vectorizers.values()
    ]
    return hstack(blocks).tocsr()


def _regression(matrix: Any, labels: list[bool]) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=REGULARIZATION, max_iter=5000, class_weight="balanced").fit(matrix, labels)


def train(rows: list[tuple[str, bool]]) -> tuple[dict[str, Any], Any]:
    import numpy as np

    texts, labels = [text for text, _ in rows], [negative for _, negative in rows]
    vectorizers = _vectorizers()
    regression = _regression(_matrix(vectorizers, texts, fit=True), labels)
    names = [(block, name) for block, vec in vectorizers.items() for name in vec.get_feature_names_out()]
    strongest = np.argsort(-np.abs(regression.coef_[0]), kind="stable")[:KEPT_FEATURES]
    kept: dict[str, list[str]] = {block: [] for block in FEATURE_BLOCKS}
    for index in strongest:
        block, name = names[index]
        kept[block].append(name)
    vectorizers = _vectorizers({block: sorted(features) for block, features in kept.items()})
    return vectorizers, _regression(_matrix(vectorizers, texts, fit=True), labels)


def probabilities(model: tuple[dict[str, Any], Any], texts: list[str]) -> list[float]:
    vectorizers, regression = model
    return [float(value) for value in regression.predict_proba(_matrix(vectorizers, texts, fit=False))[:, 1]]


def exported(
    model: tuple[dict[str, Any], Any],
    parts: dict[str, Path],
    trained_on: list[str],
    rows: list[tuple[str, bool]],
) -> dict[str, Any]:
    vectorizers, regression = model
    weights = regression.coef_[0]
    blocks: dict[str, dict[str, list[float]]] = {}
    offset = 0
    for block, vectorizer in vectorizers.items():
        names = vectorizer.get_feature_names_out()
        blocks[block] = {
            str(name): [round(float(idf), 6), round(float(weights[offset + index]), 6)]
            for index, (name, idf) in enumerate(zip(names, vectorizer.idf_, strict=True))
        }
        offset += len(names)
    step = max(1, len(rows) // CHECKS)
    samples = [text for text, _ in rows[::step]][:CHECKS]
    expected = probabilities(model, samples)
    return {
        "version": 1,
        "trained_on": {
            "parts": trained_on,
            "comments": len(rows),
            "sha256": fingerprint([parts[name] for name in trained_on]),
        },
        "held_out": sorted(set(parts) - set(trained_on)),
        "regularization": REGULARIZATION,
        "threshold": THRESHOLD,
        "intercept": round(float(regression.intercept_[0]), 6),
        "checks": [[text, round(value, 6)] for text, value in zip(samples, expected, strict=True)],
        "blocks": blocks,
    }


def validate(parts: dict[str, Path], held_out: str) -> None:
    """Leave one blind batch out: train on the rest (never on the held-out newest batch), score it."""
    blinds = [name for name in parts if _BLIND.match(name) and name != held_out]
    base = [row for name in parts if name not in blinds and name != held_out for row in labeled(parts[name])]
    totals = {threshold: [0, 0] for threshold in VALIDATION_THRESHOLDS}
    negatives = others = 0
    for left_out in blinds:
        rows = base + [row for name in blinds if name != left_out for row in labeled(parts[name])]
        test = labeled(parts[left_out])
        scores = probabilities(train(rows), [text for text, _ in test])
        negatives += sum(negative for _, negative in test)
        others += sum(not negative for _, negative in test)
        for threshold, counts in totals.items():
            counts[0] += sum(1 for (_, bad), p in zip(test, scores, strict=True) if bad and p >= threshold)
            counts[1] += sum(
                1 for (_, bad), p in zip(test, scores, strict=True) if not bad and p >= threshold
            )
        print(f"  {left_out} done", file=sys.stderr, flush=True)
    print(f"model alone, each of {len(blinds)} blind batches held out in turn:")
    for threshold, (caught, flagged) in totals.items():
        print(
            f"  threshold {threshold:.2f}: caught {caught}/{negatives} ({100 * caught / negatives:.1f} %), "
            f"flagged {flagged}/{others} ({100 * flagged / others:.1f} %)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--validate", action="store_true", help="leave each blind batch out in turn")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    arguments = parser.parse_args(argv)
    parts = corpus_parts()
    held_out = newest_blind(parts)
    if arguments.validate:
        validate(parts, held_out)
        return 0
    trained_on = [name for name in parts if name != held_out]
    rows = [row for name in trained_on for row in labeled(parts[name])]
    document = exported(train(rows), parts, trained_on, rows)
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    arguments.out.write_text(text + "\n", encoding="utf-8")
    features = sum(len(block) for block in document["blocks"].values())
    print(
        f"{arguments.out.relative_to(REPO)}: {features} features, trained on {len(rows)} comments "
        f"({', '.join(trained_on)}); held out: {held_out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
