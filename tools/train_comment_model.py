"""Train the comment model (functions/closeloop/domain/comment_model.json) on the labeled comment corpus.

    make comment-model              # train and write the model
    make comment-model-validate     # each extra batch held out in turn, judged with the lexicon

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
4. the thresholds: the probability a comment needs to count as negative, by what the lexicon found in it.

``--held-out FILE`` writes, for each extra batch (which the lexicon was never tuned on) and for the newest
blind batch, the probabilities a model trained without it gives its comments.
``tools/validate_comment_model.py`` then judges those batches with the lexicon and those probabilities,
for a grid of thresholds: that is how the shipped ``THRESHOLDS`` were chosen (``make
comment-model-validate``; docs/judgment.md has the figures).
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
# Chosen by ``make comment-model-validate`` on the extra batches, each held out in turn (docs/judgment.md).
THRESHOLDS = {"no_phrase": 0.8, "phrase_found": 0.5, "words_to_overrule": 12}
MIN_CHAR_GRAM_COMMENTS = 2
# Probabilities the trainer computed, shipped with the model: the scorer's unit test recomputes them.
CHECKS = 24
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
        "thresholds": THRESHOLDS,
        "intercept": round(float(regression.intercept_[0]), 6),
        "checks": [[text, round(value, 6)] for text, value in zip(samples, expected, strict=True)],
        "blocks": blocks,
    }


def held_out_probabilities(parts: dict[str, Path], newest: str) -> dict[str, dict[str, float]]:
    """For each extra batch and the newest blind batch, the probability each of its comments gets from a model
    trained on every other part but the newest blind batch: ``{part: {comment: probability}}``."""
    folds = [name for name in parts if name.startswith("extra-")] + [newest]
    result = {}
    for fold in folds:
        rows = [row for name in parts if name not in (fold, newest) for row in labeled(parts[name])]
        texts = [text for text, _ in labeled(parts[fold])]
        result[fold] = dict(zip(texts, probabilities(train(rows), texts), strict=True))
        print(f"  {fold} held out", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--held-out",
        type=Path,
        metavar="FILE",
        help="write held-out probabilities for each extra batch and the newest blind batch, and stop",
    )
    parser.add_argument("--out", type=Path, default=OUTPUT)
    arguments = parser.parse_args(argv)
    parts = corpus_parts()
    held_out = newest_blind(parts)
    if arguments.held_out:
        document = {"folds": held_out_probabilities(parts, held_out), "newest_blind": held_out}
        arguments.held_out.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
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
