"""``closeloop judge``: how closeloop judges a comment, for the people who tune the lexicon.

- ``closeloop judge --locale it [--score N] [--resolved yes|no] "text"`` prints one verdict as JSON:
  ``negative``, ``action`` (``reopen`` | ``alert`` | ``none``), ``reasons`` and ``evidence``.
- ``closeloop judge --jsonl FILE [--out FILE]`` reads one ``{"text", "locale", "score"?, "resolved"?,
  "survey_type"?}`` object per line and writes one verdict per line, in order, each with its ``line``
  number. A line that cannot be judged gets ``{"line": N, "error": "..."}`` instead, and the rest goes on.
- ``closeloop judge --evaluate PATH...`` reads labeled lines (the same objects with ``"negative": true``
  or ``false``; a folder means every ``*.jsonl`` in it) and prints precision and recall per language.
  :func:`corpus_scores` computes the same figures for other tools (``make bench``).

Verdicts are the deployed rules (``closeloop.domain.judgment``) with the default thresholds and the
shipped lexicon; Amazon Comprehend is not called.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from closeloop.domain.judgment import NegativityThresholds, Verdict, VerdictAction, judge_answer
from closeloop.domain.lexicon import language_of
from closeloop.domain.surveys import SURVEY_TYPES, SurveyAnswer, survey_type_of

DEFAULT_SURVEY_TYPE = "csat"
# Goals of issue 9, per language: most clear negatives caught, few happy customers flagged.
RECALL_GOAL = 0.90
FALSE_ALARM_GOAL = 0.05


class BadLineError(ValueError):
    """A line of a JSONL file that cannot be judged; the message says why."""


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """A verdict as ``closeloop judge`` prints it."""
    return {
        "negative": verdict.negative,
        "action": verdict.action.value,
        "reasons": list(verdict.reasons),
        "evidence": list(verdict.evidence),
    }


def answer_of(item: object) -> SurveyAnswer:
    """The answer one JSONL object describes; ``BadLineError`` saying what is wrong otherwise."""
    if not isinstance(item, Mapping):
        raise BadLineError("expected a JSON object")
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadLineError('"text" must be a non-empty string')
    locale = item.get("locale")
    if locale is not None and not isinstance(locale, str):
        raise BadLineError('"locale" must be a string such as "it" or "pt-BR"')
    kind = item.get("survey_type", DEFAULT_SURVEY_TYPE)
    if kind not in SURVEY_TYPES:
        raise BadLineError(f'"survey_type" must be one of {", ".join(SURVEY_TYPES)}')
    score = item.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int)):
        raise BadLineError('"score" must be an integer')
    try:
        resolved = _resolved(item.get("resolved"))
        return SurveyAnswer(
            survey_type=survey_type_of(str(kind)),
            score=score,
            resolved=resolved,
            comment=text,
            reasons=(),
            locale=locale,
        )
    except ValueError as error:
        raise BadLineError(str(error)) from error


def _resolved(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return value.strip().lower() == "yes"
    raise BadLineError('"resolved" must be true, false, "yes" or "no"')


def judge_line(line: str, thresholds: NegativityThresholds) -> Verdict:
    """The verdict on one JSONL line; ``BadLineError`` when it is not a judgeable object."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        raise BadLineError(f"not JSON: {error.msg} at column {error.colno}") from error
    return judge_answer(answer_of(item), thresholds)


def judge_jsonl(lines: Iterable[str], out: IO[str], thresholds: NegativityThresholds) -> int:
    """One output line per input line, in order; the number of lines that could not be judged."""
    bad = 0
    for number, line in enumerate(lines, start=1):
        try:
            result: dict[str, Any] = {"line": number} | verdict_json(judge_line(line, thresholds))
        except BadLineError as error:
            bad += 1
            result = {"line": number, "error": str(error)}
            print(f"closeloop judge: line {number}: {error}", file=sys.stderr)
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return bad


# ---- measuring on a labeled corpus ----------------------------------------------------------------------


@dataclass(frozen=True)
class LanguageScores:
    """How the verdicts of one language compare with the labels of a corpus.

    ``caught`` of ``negatives`` labeled negative were judged negative; ``flagged`` of ``others`` (labeled
    not negative) were judged negative; ``happy_reopened`` counts answers that said "resolved" without a
    low score and still got the action ``reopen`` (the goal is none).
    """

    language: str
    negatives: int
    caught: int
    others: int
    flagged: int
    happy_reopened: int
    missed: tuple[str, ...]
    false_alarms: tuple[str, ...]

    @property
    def recall(self) -> float | None:
        return self.caught / self.negatives if self.negatives else None

    @property
    def precision(self) -> float | None:
        judged_negative = self.caught + self.flagged
        return self.caught / judged_negative if judged_negative else None

    @property
    def false_alarm_rate(self) -> float | None:
        return self.flagged / self.others if self.others else None

    @property
    def meets_goals(self) -> bool:
        recall, false_alarms = self.recall, self.false_alarm_rate
        return (
            (recall is None or recall >= RECALL_GOAL)
            and (false_alarms is None or false_alarms <= FALSE_ALARM_GOAL)
            and self.happy_reopened == 0
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "negatives": self.negatives,
            "caught": self.caught,
            "others": self.others,
            "flagged": self.flagged,
            "recall": self.recall,
            "precision": self.precision,
            "false_alarm_rate": self.false_alarm_rate,
            "happy_reopened": self.happy_reopened,
            "meets_goals": self.meets_goals,
        }


def corpus_files(paths: Iterable[Path]) -> list[Path]:
    """The JSONL files named, a folder standing for the ``*.jsonl`` files directly in it."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.jsonl")) if path.is_dir() else [path])
    return files


def labeled_lines(paths: Iterable[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, item)`` for each labeled line; ``BadLineError`` naming the file and line otherwise."""
    for path in corpus_files(paths):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                raise BadLineError(f"{where}: not JSON: {error.msg}") from error
            if not isinstance(item, dict) or not isinstance(item.get("negative"), bool):
                raise BadLineError(f'{where}: a labeled line needs "negative": true or false')
            yield where, item


def corpus_scores(
    paths: Iterable[Path], thresholds: NegativityThresholds | None = None
) -> dict[str, LanguageScores]:
    """Precision, recall and false alarms per language (``pt-BR`` counts as ``pt``) on labeled JSONL files."""
    limits = thresholds or NegativityThresholds()
    tallies: dict[str, dict[str, Any]] = {}
    for where, item in labeled_lines(paths):
        try:
            answer = answer_of(item)
        except BadLineError as error:
            raise BadLineError(f"{where}: {error}") from error
        verdict = judge_answer(answer, limits)
        tally = tallies.setdefault(
            language_of(answer.locale) or "?",
            {"negatives": 0, "caught": 0, "others": 0, "flagged": 0, "happy": 0, "missed": [], "alarms": []},
        )
        if item["negative"]:
            tally["negatives"] += 1
            tally["caught"] += verdict.negative
            if not verdict.negative:
                tally["missed"].append(answer.comment)
        else:
            tally["others"] += 1
            tally["flagged"] += verdict.negative
            if verdict.negative:
                tally["alarms"].append(answer.comment)
        happy = answer.resolved is True and not (
            answer.score is not None and limits.is_low(answer.survey_type, answer.score)
        )
        tally["happy"] += happy and verdict.action is VerdictAction.REOPEN
    return {
        language: LanguageScores(
            language=language,
            negatives=tally["negatives"],
            caught=tally["caught"],
            others=tally["others"],
            flagged=tally["flagged"],
            happy_reopened=tally["happy"],
            missed=tuple(tally["missed"]),
            false_alarms=tuple(tally["alarms"]),
        )
        for language, tally in sorted(tallies.items())
    }


def scores_table(scores: Mapping[str, LanguageScores], *, details: bool = False) -> str:
    """The figures as a plain-text table (and, with ``details``, each miss and false alarm)."""
    lines = [
        f"{'lang':<5} {'caught':>9} {'recall':>7} {'flagged':>9} {'false+':>7} {'precision':>9} "
        f"{'happy reopened':>14}  goals"
    ]
    for item in scores.values():
        lines.append(
            f"{item.language:<5} {item.caught:>4}/{item.negatives:<4} {_percent(item.recall):>7} "
            f"{item.flagged:>4}/{item.others:<4} {_percent(item.false_alarm_rate):>7} "
            f"{_percent(item.precision):>9} {item.happy_reopened:>14}  "
            + ("met" if item.meets_goals else "MISSED")
        )
    if details:
        for item in scores.values():
            lines.extend(f"  missed      [{item.language}] {text}" for text in item.missed)
            lines.extend(f"  false alarm [{item.language}] {text}" for text in item.false_alarms)
    return "\n".join(lines) + "\n"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f} %"


# ---- the command ---------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", nargs="?", help="the comment (or reply) to judge")
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--jsonl", type=Path, metavar="FILE", help="judge one JSON object per line ('-': stdin)"
    )
    modes.add_argument(
        "--evaluate",
        type=Path,
        nargs="+",
        metavar="PATH",
        help="labeled JSONL files or folders: print precision and recall per language",
    )
    parser.add_argument("--locale", help="the language the text was written in (it, pt-BR, ...)")
    parser.add_argument("--score", type=int, help="the score given with it, if any")
    parser.add_argument("--resolved", choices=("yes", "no"), help="the customer's answer to 'resolved?'")
    parser.add_argument(
        "--survey-type", choices=SURVEY_TYPES, default=DEFAULT_SURVEY_TYPE, help="the scale of --score"
    )
    parser.add_argument("--thresholds", default="", help="score thresholds, e.g. 'csat<=2,nps<=6,ces>=5'")
    parser.add_argument("--out", type=Path, metavar="FILE", help="with --jsonl: write the verdicts there")
    parser.add_argument("--json", action="store_true", help="with --evaluate: print the figures as JSON")
    parser.add_argument(
        "--details", action="store_true", help="with --evaluate: list misses and false alarms"
    )
    parser.set_defaults(run=run)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``judge`` subcommand to the ``closeloop`` command."""
    parser = subparsers.add_parser(
        "judge",
        help="judge a comment as closeloop would (verdict as JSON)",
        description="Judge a comment as closeloop would, one at a time, a JSONL file, or a labeled corpus.",
    )
    add_arguments(parser)


def run(arguments: argparse.Namespace) -> int:
    """Judge, print, and return the exit code (1 when a line could not be judged, 2 for bad usage)."""
    try:
        thresholds = NegativityThresholds.parse(arguments.thresholds)
    except ValueError as error:
        return _usage(str(error))
    if arguments.evaluate is not None:
        return _evaluate(arguments.evaluate, thresholds, as_json=arguments.json, details=arguments.details)
    if arguments.jsonl is not None:
        if arguments.text is not None:
            return _usage("give either TEXT or --jsonl FILE, not both")
        return _judge_file(arguments.jsonl, arguments.out, thresholds)
    if arguments.text is None:
        return _usage("give the TEXT to judge, --jsonl FILE or --evaluate PATH")
    item = {
        "text": arguments.text,
        "locale": arguments.locale,
        "score": arguments.score,
        "resolved": arguments.resolved,
        "survey_type": arguments.survey_type,
    }
    try:
        verdict = judge_answer(answer_of(item), thresholds)
    except BadLineError as error:
        return _usage(str(error))
    print(json.dumps(verdict_json(verdict), ensure_ascii=False))
    return 0


def _judge_file(path: Path, out_path: Path | None, thresholds: NegativityThresholds) -> int:
    try:
        source = sys.stdin if str(path) == "-" else path.open(encoding="utf-8")
    except OSError as error:
        return _usage(f"cannot read {path}: {error.strerror}")
    with source:
        lines = (line.rstrip("\r\n") for line in source)
        if out_path is None:
            bad = judge_jsonl(lines, sys.stdout, thresholds)
        else:
            with out_path.open("w", encoding="utf-8") as out:
                bad = judge_jsonl(lines, out, thresholds)
    return 1 if bad else 0


def _evaluate(paths: list[Path], thresholds: NegativityThresholds, *, as_json: bool, details: bool) -> int:
    try:
        scores = corpus_scores(paths, thresholds)
    except (BadLineError, OSError) as error:
        print(f"closeloop judge: {error}", file=sys.stderr)
        return 1
    if not scores:
        # An empty table would read as "nothing missed"; a folder holds only the *.jsonl directly in it.
        named = ", ".join(str(path) for path in paths)
        print(
            f"closeloop judge: no labeled lines in {named} (a folder stands for its own *.jsonl files)",
            file=sys.stderr,
        )
        return 1
    if as_json:
        print(json.dumps([item.as_json() for item in scores.values()], indent=2))
    else:
        sys.stdout.write(scores_table(scores, details=details))
    return 0


def _usage(message: str) -> int:
    print(f"closeloop judge: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="closeloop judge", description=__doc__)
    add_arguments(parser)
    status: int = run(parser.parse_args(argv))
    return status


if __name__ == "__main__":
    sys.exit(main())
