"""The rules document: strict validation, the first matching rule, and deterministic sampling."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from closeloop.adapters.rules import ParameterRules
from closeloop.domain.policies import (
    MAX_DOCUMENT_BYTES,
    PolicyDefaults,
    RulesDocumentError,
    RulesUnavailableError,
    apply_rules,
    in_sample,
    parse_rules_document,
)
from closeloop.domain.tickets import TicketClosed
from tests.conftest import load_event

EVENTS = Path(__file__).resolve().parents[2] / "events"
DEFAULTS = PolicyDefaults(survey_type="csat", delay=timedelta(hours=24))


def ticket(**detail: Any) -> TicketClosed:
    event = load_event("canonical/ticket_closed.json")
    event["detail"] |= detail
    return TicketClosed.model_validate(event["detail"])


def example_rules() -> str:
    return (EVENTS / "rules" / "rules.json").read_text(encoding="utf-8")


# --- validation ------------------------------------------------------------------------------------------


def test_the_example_rules_document_is_valid() -> None:
    document = parse_rules_document(example_rules())
    assert [rule.name for rule in document.rules] == [
        "no-survey-chat",
        "pilot-billing",
        "acme-pro-nps",
        "vip-note",
        "acme",
    ]


def test_a_broken_document_is_refused_with_every_problem_listed() -> None:
    # GIVEN a document with an unknown top-level key, unknown rule and match keys and bad values
    text = (EVENTS / "rules" / "rules_invalid.json").read_text(encoding="utf-8")
    # WHEN it is read
    with pytest.raises(RulesDocumentError) as refused:
        parse_rules_document(text)
    # THEN each problem is named, where it is and what is allowed
    problems = refused.value.problems
    assert "document.colour: unknown key (allowed: version, rules)" in problems
    assert any(p.startswith("rules[0].match.region: unknown key") for p in problems)
    assert any(p.startswith("rules[0].negative_answer: must be one of reopen, alert, note") for p in problems)
    assert any(p.startswith("rules[1].sample: must be a number from 0 to 1") for p in problems)
    assert any(
        p.startswith("rules[1].survey_type: must be one of csat, nps, ces, resolved") for p in problems
    )
    assert any(p.startswith("rules[1].delay: unknown key") for p in problems)
    assert len(problems) == 6


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("not json", "document: not JSON"),
        ("[]", "document: must be an object"),
        ('{"version": 2, "rules": []}', "document.version: must be 1"),
        ('{"version": 1}', "document.rules: must be a list of rules"),
        ('{"version": 1, "rules": [{"match": {}}]}', "rules[0].name: required"),
        ('{"version": 1, "rules": [{"name": "a"}]}', "rules[0].match: required"),
        (
            '{"version": 1, "rules": [{"name": "a", "match": {"team": []}}]}',
            "rules[0].match.team: a non-empty",
        ),
        ('{"version": 1, "rules": [{"name": "a", "match": {}, "survey": "no"}]}', "rules[0].survey: must be"),
        ('{"version": 1, "rules": [{"name": "a", "match": {}, "sample": true}]}', "rules[0].sample: must be"),
        (
            '{"version": 1, "rules": [{"name": "a", "match": {}, "delay_minutes": -1}]}',
            "rules[0].delay_minutes: must be",
        ),
        (
            '{"version": 1, "rules": [{"name": "a", "match": {}, "sender_name": "A\\nBcc: x"}]}',
            "rules[0].sender_name: 1-100 printable",
        ),
        (
            '{"version": 1, "rules": [{"name": "a", "match": {}}, {"name": "a", "match": {}}]}',
            "rules[1].name: 'a' is used by an earlier rule",
        ),
    ],
)
def test_each_kind_of_mistake_is_named(document: str, problem: str) -> None:
    with pytest.raises(RulesDocumentError) as refused:
        parse_rules_document(document)
    assert any(p.startswith(problem) for p in refused.value.problems), refused.value.problems


def test_a_document_larger_than_an_advanced_parameter_is_refused() -> None:
    rules = [{"name": f"r{i}", "match": {"tag": "x" * 100}} for i in range(90)]
    with pytest.raises(RulesDocumentError, match=f"at most {MAX_DOCUMENT_BYTES}"):
        parse_rules_document(json.dumps({"version": 1, "rules": rules}))


# --- the first matching rule -----------------------------------------------------------------------------


def test_no_rules_means_the_deployment_parameters() -> None:
    applied = apply_rules(ticket(), parse_rules_document('{"version": 1, "rules": []}'), DEFAULTS)
    assert applied.to_dict() == {
        "rule": None,
        "survey": True,
        "survey_type": "csat",
        "delay_minutes": 1440,
        "sender_name": None,
        "negative_answer": "reopen",
        "sample": 1.0,
    }


def test_the_first_matching_rule_applies_over_the_defaults() -> None:
    # GIVEN the example rules; the canonical ticket is team Billing, brand Acme, channel email
    document = parse_rules_document(example_rules())
    # WHEN its policy is chosen
    applied = apply_rules(ticket(), document, DEFAULTS)
    # THEN the Billing pilot applies (before the Acme brand rule), the rest from the defaults
    assert (applied.rule, applied.negative_answer, applied.sample) == ("pilot-billing", "alert", 0.3)
    assert (applied.survey_type, applied.delay) == ("csat", timedelta(hours=24))


def test_two_brands_get_different_survey_types() -> None:
    document = parse_rules_document(example_rules())
    pro = apply_rules(ticket(brand="Acme Pro", team=None), document, DEFAULTS)
    plain = apply_rules(ticket(brand="ACME", team=None), document, DEFAULTS)
    assert (pro.rule, pro.survey_type, pro.delay, pro.sender_name) == (
        "acme-pro-nps",
        "nps",
        timedelta(minutes=120),
        "Acme Pro Care",
    )
    assert (plain.rule, plain.survey_type) == ("acme", "csat")


def test_a_team_matches_by_id_or_name_and_a_tag_by_any_of_the_tickets_tags() -> None:
    document = parse_rules_document(
        '{"version": 1, "rules": [{"name": "by-id", "match": {"team": "20455932"}, "sample": 0.5},'
        ' {"name": "vip", "match": {"tag": ["VIP"]}, "negative_answer": "note"}]}'
    )
    assert apply_rules(ticket(), document, DEFAULTS).rule == "by-id"
    vip = apply_rules(ticket(team=None, tags=["billing", "vip"]), document, DEFAULTS)
    assert (vip.rule, vip.negative_answer) == ("vip", "note")


def test_every_key_of_a_match_must_fit() -> None:
    document = parse_rules_document(
        '{"version": 1, "rules": [{"name": "chat-billing", "match": {"team": "Billing", "channel": "chat"}}]}'
    )
    assert apply_rules(ticket(channel="email"), document, DEFAULTS).rule is None
    assert apply_rules(ticket(channel="Chat"), document, DEFAULTS).rule == "chat-billing"


# --- sampling --------------------------------------------------------------------------------------------


def test_sampling_is_decided_by_the_ticket_never_at_random() -> None:
    decisions = [in_sample("zendesk", str(n), 0.3) for n in range(1000)]
    assert decisions == [in_sample("zendesk", str(n), 0.3) for n in range(1000)]
    assert 0.25 <= sum(decisions) / len(decisions) <= 0.35


def test_the_same_ticket_id_at_another_helpdesk_is_another_ticket() -> None:
    differing = [
        n for n in range(200) if in_sample("zendesk", str(n), 0.5) != in_sample("freshdesk", str(n), 0.5)
    ]
    assert differing


def test_a_share_of_one_surveys_all_and_of_zero_none() -> None:
    assert all(in_sample("zendesk", str(n), 1.0) for n in range(100))
    assert not any(in_sample("zendesk", str(n), 0.0) for n in range(100))


# --- the rules parameter, read at most once a cache period (closeloop.adapters.rules) -------------------


class FlakySsm:
    """An SSM client whose parameter value can be changed, or whose next calls fail."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.failing = False
        self.calls = 0

    def get_parameter(self, Name: str) -> dict[str, Any]:
        self.calls += 1
        if self.failing:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetParameter"
            )
        return {"Parameter": {"Name": Name, "Value": self.value}}


def test_the_parameter_is_read_once_per_cache_period() -> None:
    ssm, moment = FlakySsm(example_rules()), [0.0]
    rules = ParameterRules(ssm, "rules", max_age=60, clock=lambda: moment[0])
    first = rules.current()
    moment[0] += 59
    assert rules.current() is first
    assert ssm.calls == 1
    moment[0] += 2
    rules.current()
    assert ssm.calls == 2


def test_an_unreachable_parameter_keeps_the_last_good_rules_and_asks_again_later() -> None:
    ssm, moment = FlakySsm(example_rules()), [0.0]
    rules = ParameterRules(ssm, "rules", max_age=60, clock=lambda: moment[0])
    good = rules.current()
    ssm.failing = True
    moment[0] += 61
    assert rules.current() is good
    assert rules.current() is good
    assert ssm.calls == 2  # not on every ticket: once more per cache period


def test_an_unreachable_parameter_at_cold_start_makes_planning_wait() -> None:
    ssm = FlakySsm(example_rules())
    ssm.failing = True
    with pytest.raises(RulesUnavailableError, match="ClientError"):
        ParameterRules(ssm, "rules").current()
