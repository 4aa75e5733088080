"""Policies a business sets per brand, channel, team or tag: the rules document.

A rules document is a small JSON object (docs/configuration.md, "Policies")::

    {"version": 1, "rules": [
        {"name": "pilot-billing", "match": {"team": "Billing"}, "negative_answer": "alert", "sample": 0.3},
        {"name": "acme-pro", "match": {"brand": ["acme-pro"]}, "survey_type": "nps", "delay_minutes": 120},
        {"name": "no-chat", "match": {"channel": "chat"}, "survey": false}
    ]}

The first rule whose ``match`` fits a ticket applies (every key given must fit; one of a key's values
is enough; an empty ``match`` fits every ticket); what it does not set comes from the deployment's
parameters. The document is validated strictly: an unknown key or a bad value is a
:class:`RulesDocumentError` listing every problem, so a broken document is refused before it is stored
(``closeloop rules validate``) and, should one be stored anyway, never replaces the last good one.

Sampling is decided per ticket from a hash of its helpdesk and id, never at random: every redelivery of a
ticket's event, and every retry, comes to the same decision.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from closeloop.domain.surveys import (
    NEGATIVE_ANSWER_POLICIES,
    SURVEY_TYPES,
    NegativeAnswerPolicy,
    SurveyType,
    ticket_key,
)
from closeloop.domain.tickets import TicketClosed

RULES_VERSION = 1
# An SSM parameter of the Advanced tier holds at most 8 KB; a document is read on every cold start.
MAX_DOCUMENT_BYTES = 8192
MAX_RULES = 100
MAX_MATCH_VALUES = 50
MAX_VALUE_CHARS = 128
MAX_SENDER_NAME_CHARS = 100
MAX_DELAY_MINUTES = 30 * 24 * 60
MATCH_KEYS = ("brand", "channel", "team", "tag")
_RULE_KEYS = (
    "name",
    "match",
    "survey",
    "survey_type",
    "delay_minutes",
    "sender_name",
    "negative_answer",
    "sample",
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class RulesDocumentError(ValueError):
    """The rules document is not valid; ``problems`` lists every problem found (where, then what)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid rules document: " + "; ".join(self.problems))


class RulesUnavailableError(Exception):
    """No valid rules document could be read yet (the store failed, or only a broken document was ever
    found): planning waits and retries rather than planning without the business's rules."""


@dataclass(frozen=True)
class Rule:
    """One rule: when it matches (``match``: lower-cased values per key) and what it sets (None: unset)."""

    name: str
    match: Mapping[str, frozenset[str]]
    survey: bool | None = None
    survey_type: SurveyType | None = None
    delay_minutes: int | None = None
    sender_name: str | None = None
    negative_answer: NegativeAnswerPolicy | None = None
    sample: float | None = None

    def matches(self, ticket: TicketClosed) -> bool:
        """Every key of ``match`` fits the ticket (brand, channel, team id or name, any tag)."""
        facts = ticket_facts(ticket)
        return all(values & facts[key] for key, values in self.match.items())


@dataclass(frozen=True)
class RulesDocument:
    """A validated rules document: its rules in order (the first matching one applies)."""

    rules: tuple[Rule, ...] = ()

    def rule_for(self, ticket: TicketClosed) -> Rule | None:
        return next((rule for rule in self.rules if rule.matches(ticket)), None)


EMPTY_RULES = RulesDocument()


@dataclass(frozen=True)
class PolicyDefaults:
    """The deployment's parameters: what applies where no rule (or the matching rule) sets a value."""

    survey_type: SurveyType
    delay: timedelta
    negative_answer: NegativeAnswerPolicy = "reopen"
    sample: float = 1.0


@dataclass(frozen=True)
class AppliedPolicy:
    """What a ticket gets: the matched rule's values over the defaults. ``rule`` is None when none matched."""

    rule: str | None
    survey: bool
    survey_type: SurveyType
    delay: timedelta
    sender_name: str | None
    negative_answer: NegativeAnswerPolicy
    sample: float

    def to_dict(self) -> dict[str, Any]:
        """As ``closeloop preview`` shows it."""
        return {
            "rule": self.rule,
            "survey": self.survey,
            "survey_type": self.survey_type,
            "delay_minutes": int(self.delay.total_seconds() // 60),
            "sender_name": self.sender_name,
            "negative_answer": self.negative_answer,
            "sample": self.sample,
        }


def ticket_facts(ticket: TicketClosed) -> dict[str, frozenset[str]]:
    """What a rule can match on, lower-cased: the brand, the channel, the team's id and name, the tags."""

    def values(*items: str | None) -> frozenset[str]:
        return frozenset(item.strip().casefold() for item in items if item and item.strip())

    team = ticket.team
    return {
        "brand": values(ticket.brand),
        "channel": values(ticket.channel),
        "team": values(team.id, team.name) if team else frozenset(),
        "tag": values(*ticket.tags),
    }


def apply_rules(ticket: TicketClosed, document: RulesDocument, defaults: PolicyDefaults) -> AppliedPolicy:
    """The policy for ``ticket``: the first matching rule of ``document`` over ``defaults``."""
    rule = document.rule_for(ticket)
    if rule is None:
        return AppliedPolicy(
            rule=None,
            survey=True,
            survey_type=defaults.survey_type,
            delay=defaults.delay,
            sender_name=None,
            negative_answer=defaults.negative_answer,
            sample=defaults.sample,
        )
    return AppliedPolicy(
        rule=rule.name,
        survey=rule.survey if rule.survey is not None else True,
        survey_type=rule.survey_type or defaults.survey_type,
        delay=timedelta(minutes=rule.delay_minutes) if rule.delay_minutes is not None else defaults.delay,
        sender_name=rule.sender_name,
        negative_answer=rule.negative_answer or defaults.negative_answer,
        sample=rule.sample if rule.sample is not None else defaults.sample,
    )


def in_sample(helpdesk: str, ticket_id: str, share: float) -> bool:
    """Whether a ticket is among the ``share`` (0 to 1) of tickets surveyed: decided by a hash of its key,
    so the same ticket always gets the same answer, whoever asks and however often."""
    if share >= 1:
        return True
    if share <= 0:
        return False
    digest = hashlib.sha256(ticket_key(helpdesk, ticket_id).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


# ---- reading a document -------------------------------------------------------------------------------


def parse_rules_document(text: str | bytes) -> RulesDocument:
    """A rules document from its JSON text; ``RulesDocumentError`` lists every problem."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise RulesDocumentError([f"document: {len(raw)} bytes, at most {MAX_DOCUMENT_BYTES}"])
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise RulesDocumentError([f"document: not JSON ({type(error).__name__}: {error})"]) from error
    return rules_document_from(value)


def rules_document_from(value: Any) -> RulesDocument:
    """A rules document from its decoded JSON value; ``RulesDocumentError`` lists every problem."""
    problems: list[str] = []
    if not isinstance(value, dict):
        raise RulesDocumentError(["document: must be an object with version and rules"])
    for key in value:
        if key not in ("version", "rules"):
            problems.append(f"document.{_shown(key)}: unknown key (allowed: version, rules)")
    if value.get("version") != RULES_VERSION or isinstance(value.get("version"), bool):
        problems.append(f"document.version: must be {RULES_VERSION}")
    items = value.get("rules")
    rules: list[Rule] = []
    if not isinstance(items, list):
        problems.append("document.rules: must be a list of rules")
    elif len(items) > MAX_RULES:
        problems.append(f"document.rules: {len(items)} rules, at most {MAX_RULES}")
    else:
        names: set[str] = set()
        for index, item in enumerate(items):
            rule = _rule(item, f"rules[{index}]", problems)
            if rule is None:
                continue
            if rule.name in names:
                problems.append(f"rules[{index}].name: {rule.name!r} is used by an earlier rule")
            names.add(rule.name)
            rules.append(rule)
    if problems:
        raise RulesDocumentError(problems)
    return RulesDocument(tuple(rules))


def _shown(key: Any) -> str:
    text = str(key)
    return repr(text[:40]) if not _NAME.match(text) else text


def _rule(item: Any, where: str, problems: list[str]) -> Rule | None:
    if not isinstance(item, dict):
        problems.append(f"{where}: must be an object")
        return None
    before = len(problems)
    for key in item:
        if key not in _RULE_KEYS:
            problems.append(f"{where}.{_shown(key)}: unknown key (allowed: {', '.join(_RULE_KEYS)})")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(f"{where}.name: required, 1-64 letters, digits, '_', '.' or '-'")
    match = _match(item.get("match"), f"{where}.match", problems)
    survey = item.get("survey")
    if survey is not None and not isinstance(survey, bool):
        problems.append(f"{where}.survey: must be true or false")
    survey_type = item.get("survey_type")
    if survey_type is not None and survey_type not in SURVEY_TYPES:
        problems.append(f"{where}.survey_type: must be one of {', '.join(SURVEY_TYPES)}")
    delay = item.get("delay_minutes")
    if delay is not None and (
        isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_MINUTES
    ):
        problems.append(f"{where}.delay_minutes: must be a whole number from 0 to {MAX_DELAY_MINUTES}")
    sender_name = item.get("sender_name")
    if sender_name is not None and (
        not isinstance(sender_name, str)
        or not sender_name.strip()
        or len(sender_name) > MAX_SENDER_NAME_CHARS
        or not sender_name.isprintable()
    ):
        problems.append(f"{where}.sender_name: 1-{MAX_SENDER_NAME_CHARS} printable characters on one line")
    negative = item.get("negative_answer")
    if negative is not None and negative not in NEGATIVE_ANSWER_POLICIES:
        problems.append(f"{where}.negative_answer: must be one of {', '.join(NEGATIVE_ANSWER_POLICIES)}")
    sample = item.get("sample")
    if sample is not None and (
        isinstance(sample, bool) or not isinstance(sample, int | float) or not 0 <= sample <= 1
    ):
        problems.append(f"{where}.sample: must be a number from 0 to 1 (0.3 surveys 30 % of tickets)")
    if len(problems) > before or match is None or not isinstance(name, str):
        return None
    return Rule(
        name=name,
        match=match,
        survey=survey,
        survey_type=survey_type,
        delay_minutes=delay,
        sender_name=sender_name.strip() if sender_name else None,
        negative_answer=negative,
        sample=float(sample) if sample is not None else None,
    )


def _match(value: Any, where: str, problems: list[str]) -> dict[str, frozenset[str]] | None:
    if value is None:
        problems.append(f"{where}: required (an empty object matches every ticket)")
        return None
    if not isinstance(value, dict):
        problems.append(f"{where}: must be an object with keys among {', '.join(MATCH_KEYS)}")
        return None
    match: dict[str, frozenset[str]] = {}
    for key, wanted in value.items():
        if key not in MATCH_KEYS:
            problems.append(f"{where}.{_shown(key)}: unknown key (allowed: {', '.join(MATCH_KEYS)})")
            continue
        values = [wanted] if isinstance(wanted, str) else wanted
        if (
            not isinstance(values, list)
            or not 1 <= len(values) <= MAX_MATCH_VALUES
            or not all(isinstance(v, str) and 0 < len(v.strip()) <= MAX_VALUE_CHARS for v in values)
        ):
            problems.append(
                f"{where}.{key}: a non-empty text or a list of 1-{MAX_MATCH_VALUES} such texts "
                f"(each at most {MAX_VALUE_CHARS} characters)"
            )
            continue
        match[key] = frozenset(v.strip().casefold() for v in values)
    return match


class RulesSource(Protocol):
    def current(self) -> RulesDocument:
        """The rules document in force: the stored one when valid, else the last valid one read.

        Raises ``RulesUnavailableError`` when no valid document has been read yet.
        """
        ...


@dataclass(frozen=True)
class FixedRules:
    """A rules source that never changes (no document configured, tests, ``closeloop preview``)."""

    document: RulesDocument = EMPTY_RULES

    def current(self) -> RulesDocument:
        return self.document
