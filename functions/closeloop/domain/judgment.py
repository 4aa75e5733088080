"""Whether a survey answer is negative, and why.

An answer is negative when any of these holds (each adds one stable reason code to the verdict):

- ``low_score``: the score is at or past the deployment's threshold for the survey type
  (CSAT 1-2 of 5, NPS 0-6, CES 5-7 of 7 by default; see ``NegativityThresholds``);
- ``not_resolved``: the customer answered that the problem is not resolved, or picked the reason
  code ``not_resolved``;
- ``negative_comment``: the comment is judged negative. The built-in multilingual lexicon always
  reads it, and when none of its phrases is found, the built-in comment model
  (``closeloop.domain.comment_model``, trained on the labeled corpus) reads its tone. When an extra
  classifier is given (Amazon Comprehend, or a model on Amazon Bedrock) and can judge the comment, the
  lexicon's explicit "not solved / still not working" phrases still count on their own, and the
  classifier's judgement replaces the built-in reading of tone (complaint words such as "worst",
  "useless", and the comment model); when the classifier cannot judge (unsupported language, service
  error, a slow or unreadable answer) the built-in reading decides alone.

A negative answer carries an **action** (:class:`VerdictAction`), stored with the answer:

- ``reopen`` when the customer's explicit answer is bad (``low_score``, ``not_resolved``), or the comment
  alone is negative and nothing explicit contradicts it: no score (an email reply, judged on its text),
  or a comment saying the problem is still there ("it still doesn't work", "keeps crashing") under a score
  that is not low;
- ``alert`` ("please look": the lead is alerted, the ticket stays as it is) for mixed signals: a negative
  comment from a customer who answered that the problem is resolved, or a complaint in tone ("nobody called
  me back", "terrible") under a score that is not low. A comment alone never reopens a ticket whose
  customer said it is resolved;
- ``none`` when the answer is not negative.

A later per-team policy can turn a ``reopen`` into ``alert`` (or another action) where the verdict is
acted on, without changing how answers are judged.

The lexicon (its phrases, and how a comment is matched against them) is ``closeloop.domain.lexicon``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from closeloop.domain.comment_model import CommentModel
from closeloop.domain.lexicon import Lexicon, PhraseKind
from closeloop.domain.surveys import SCORE_RANGES, SurveyAnswer, SurveyType, VerdictAction

__all__ = [
    "CommentClassifier",
    "CommentSignal",
    "NegativityThresholds",
    "Verdict",
    "VerdictAction",
    "VerdictReason",
    "judge_answer",
]

NOT_RESOLVED_REASON_CODE = "not_resolved"

# How many matched phrases a lexicon signal quotes; the lead needs the gist, not an inventory.
MAX_QUOTED_PHRASES = 3


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
    """Whether an answer is negative, what closeloop should do about it, the stable reason codes, and short
    explanations for the lead."""

    negative: bool
    action: VerdictAction
    reasons: tuple[str, ...]
    evidence: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.negative == (self.action is VerdictAction.NONE):
            kind = "negative" if self.negative else "non-negative"
            raise ValueError(f"a {kind} verdict cannot have the action {self.action.value!r}")


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


# ---- the verdict ---------------------------------------------------------------------------------------


def judge_answer(
    answer: SurveyAnswer, thresholds: NegativityThresholds, classifier: CommentClassifier | None = None
) -> Verdict:
    """Whether ``answer`` is negative, with stable reason codes and evidence for the lead alert.

    ``classifier`` is an optional second opinion on the comment (Amazon Comprehend); see the module
    docstring for how it combines with the lexicon.
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

    comment = _CommentReading(evidence=[], unresolved=False)
    if answer.comment and answer.comment.strip():
        comment = _judge_comment(answer.comment, answer.locale, classifier)
        if comment.evidence:
            reasons.append(VerdictReason.NEGATIVE_COMMENT)
            evidence.extend(comment.evidence)

    if reasons:
        other_reasons = [code for code in answer.reasons if code != NOT_RESOLVED_REASON_CODE]
        if other_reasons:
            evidence.append("customer also picked: " + ", ".join(_unique(other_reasons)))

    return Verdict(
        negative=bool(reasons),
        action=_action(answer, reasons, comment),
        reasons=tuple(str(reason) for reason in _unique(reasons)),  # plain strings, ready for events and logs
        evidence=tuple(_unique(evidence)),
    )


def _action(answer: SurveyAnswer, reasons: list[str], comment: _CommentReading) -> VerdictAction:
    """Explicit answers first: see the module docstring."""
    if not reasons:
        return VerdictAction.NONE
    if VerdictReason.LOW_SCORE in reasons or VerdictReason.NOT_RESOLVED in reasons:
        return VerdictAction.REOPEN
    # Only the comment is negative.
    if answer.resolved is True:
        return VerdictAction.ALERT
    if answer.score is None or comment.unresolved:
        return VerdictAction.REOPEN
    # A score on the good side with a complaint in tone: mixed signals.
    return VerdictAction.ALERT


@dataclass(frozen=True)
class _CommentReading:
    """Evidence that a comment is negative (empty when it is not), and whether it says "not solved"."""

    evidence: list[str]
    unresolved: bool


def _judge_comment(comment: str, locale: str | None, classifier: CommentClassifier | None) -> _CommentReading:
    """The comment's reading: the lexicon's, combined with the classifier's when it can judge."""
    lexicon_signal = _built_in_reading(comment, locale)
    second = classifier.is_negative(comment, locale) if classifier is not None else None
    if second is None:
        if not lexicon_signal.negative:
            return _CommentReading(evidence=[], unresolved=False)
        return _CommentReading(evidence=[lexicon_signal.evidence], unresolved=lexicon_signal.unresolved)
    evidence: list[str] = []
    if lexicon_signal.unresolved:
        evidence.append(lexicon_signal.evidence)
    if second.negative:
        evidence.append(second.evidence)
    return _CommentReading(evidence=evidence, unresolved=lexicon_signal.unresolved or second.unresolved)


def _built_in_reading(comment: str, locale: str | None) -> CommentSignal:
    """The built-in reading, which always has one (unknown languages are tried against all). The comment
    model has the last word, with a bar set by what the lexicon found: a complaint phrase lowers it (in a
    short comment, the phrase stands), and complaint words the lexicon set aside ("not disappointed at all",
    a story with its end) stay aside."""
    reading = Lexicon.default().read(comment, locale)
    matches = reading.matches
    model = CommentModel.default()
    bar = model.thresholds.bar(comment, phrase_found=bool(matches), set_aside=reading.discounted)
    # the model is asked only where its reading can change the verdict: not for a short comment's phrase
    # (bar 0, it stands) nor for words set aside (no bar it could reach)
    asked = 0.0 < bar <= 1.0
    probability = model.probability(comment) if asked else 0.0
    negative = probability >= bar if asked else bar == 0.0
    if not matches:
        if negative:
            # tone, never an explicit "not solved": alone, it reopens only an answer without a score
            return CommentSignal(
                negative=True, evidence=f"the comment model reads a complaint ({probability:.0%} likely)"
            )
        return CommentSignal(negative=False, evidence="no negative phrase in the comment")
    quoted = "; ".join(f'"{match.phrase}" ({match.language})' for match in matches[:MAX_QUOTED_PHRASES])
    if not negative:
        # a happy story told with complaint words ("it kept crashing all week; since your fix, not one crash")
        return CommentSignal(
            negative=False,
            evidence=f"comment matches {quoted}, but the comment model reads it as positive "
            f"({probability:.0%} likely a complaint)",
        )
    return CommentSignal(
        negative=True,
        evidence=f"comment matches {quoted}",
        unresolved=any(match.kind is PhraseKind.UNRESOLVED for match in matches),
    )


def _score_evidence(survey_type: SurveyType, score: int, thresholds: NegativityThresholds) -> str:
    low, high = SCORE_RANGES[survey_type]
    if survey_type == "ces":
        return f"CES {score} of {high} (customer effort; {thresholds.ces_min_negative} or more is negative)"
    limit = thresholds.csat_max_negative if survey_type == "csat" else thresholds.nps_max_negative
    scale = f"{score} of {high}" if low == 1 else f"{score} on {low}-{high}"
    return f"{survey_type.upper()} {scale} ({limit} or less is negative)"


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
