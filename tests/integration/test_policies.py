"""Policies on moto: the rules document in the template's SSM parameter, put by ``closeloop rules put`` and
read by the plan function; internal requesters and sampling as skips with their reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from closeloop import wiring
from closeloop.adapters.rules import ParameterRules
from closeloop.domain.policies import RulesUnavailableError
from closeloop_cli.main import main
from tests.integration.conftest import ReopenStack, Stack
from tests.integration.journeys import answer, deliver, sent_messages, sent_survey, solved_ticket, surveys

EXAMPLE_RULES = Path(__file__).resolve().parents[2] / "events" / "rules" / "rules.json"
NPS_FOR_BILLING = {
    "version": 1,
    "rules": [
        {"name": "billing-nps", "match": {"team": "Billing"}, "survey_type": "nps", "sender_name": "Billing"}
    ],
}


def put_rules(stack: Stack, tmp_path: Path, document: object) -> int:
    """``closeloop rules put`` on the stack's parameter (its ``RulesParameterName`` output)."""
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return main(["rules", "put", str(path), "--parameter", stack.outputs["RulesParameterName"]])


def stored_rules(stack: Stack) -> str:
    ssm = wiring.ssm_client()
    value: str = ssm.get_parameter(Name=stack.outputs["RulesParameterName"])["Parameter"]["Value"]
    return value


def test_the_template_starts_with_an_empty_valid_rules_document(stack: Stack) -> None:
    assert json.loads(stored_rules(stack)) == {"version": 1, "rules": []}
    assert main(["rules", "get", "--parameter", stack.outputs["RulesParameterName"]]) == 0


def test_rules_put_with_the_cli_apply_to_the_next_ticket(stack: Stack, tmp_path: Path) -> None:
    # GIVEN Billing's tickets asked NPS, put with the CLI
    assert put_rules(stack, tmp_path, NPS_FOR_BILLING) == 0
    # WHEN a Billing ticket is solved
    result = deliver(stack, solved_ticket())
    # THEN its survey asks NPS, and the stored survey records the rule, its policy and sender name
    assert result == {"batchItemFailures": []}
    [survey] = surveys(stack)
    assert survey["survey_type"]["S"] == "nps"
    assert survey["rule"]["S"] == "billing-nps"
    assert survey["negative_answer"]["S"] == "reopen"
    assert survey["sender_name"]["S"] == "Billing"


def test_preview_matches_a_ticket_against_the_rules_stored_in_the_stack(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN Billing's tickets asked NPS, in the stack's rules parameter
    assert put_rules(stack, tmp_path, NPS_FOR_BILLING) == 0
    capsys.readouterr()
    ticket = Path(__file__).resolve().parents[2] / "events" / "canonical" / "ticket_closed.json"
    # WHEN the example (Billing) ticket is previewed against the stored rules
    parameter = stack.outputs["RulesParameterName"]
    assert main(["preview", "--ticket", str(ticket), "--stored-rules", parameter]) == 0
    # THEN the stored rule is the one that applies
    shown = json.loads(capsys.readouterr().out)
    assert (shown["policy"]["rule"], shown["outcome"]["survey_type"]) == ("billing-nps", "nps")


def test_preview_names_the_missing_parameter_it_was_asked_to_read(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    ticket = Path(__file__).resolve().parents[2] / "events" / "canonical" / "ticket_closed.json"
    assert main(["preview", "--ticket", str(ticket), "--stored-rules", "no-such-parameter"]) == 1
    assert "the stored rules: " in capsys.readouterr().err


def test_a_broken_document_is_refused_by_the_cli_and_nothing_is_stored(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = stored_rules(stack)
    broken = {"version": 1, "rules": [{"name": "x", "match": {"team": "Billing"}, "sample": 3}]}
    assert put_rules(stack, tmp_path, broken) == 2
    assert "rules[0].sample: must be a number from 0 to 1" in capsys.readouterr().err
    assert stored_rules(stack) == before


def test_a_broken_document_stored_anyway_never_replaces_the_last_good_one(
    stack: Stack, tmp_path: Path
) -> None:
    # GIVEN a container that read a good document
    assert put_rules(stack, tmp_path, NPS_FOR_BILLING) == 0
    moment = [0.0]
    rules = ParameterRules(wiring.ssm_client(), stack.outputs["RulesParameterName"], clock=lambda: moment[0])
    good = rules.current()
    # WHEN someone stores a broken one by hand (not through the CLI), and the cache period passes
    wiring.ssm_client().put_parameter(
        Name=stack.outputs["RulesParameterName"],
        Value='{"version": 1, "rules": [{"nme": "x"}]}',
        Overwrite=True,
    )
    moment[0] += 61
    # THEN the good rules stay in force
    assert rules.current() == good
    # AND a fixed document is picked up after the next cache period
    assert put_rules(stack, tmp_path, {"version": 1, "rules": []}) == 0
    moment[0] += 61
    assert rules.current().rules == ()


def test_a_ticket_waits_when_no_good_document_was_ever_read(stack: Stack) -> None:
    # GIVEN a broken document in the parameter, and a cold container
    wiring.ssm_client().put_parameter(Name=stack.outputs["RulesParameterName"], Value="{", Overwrite=True)
    with pytest.raises(RulesUnavailableError):
        ParameterRules(wiring.ssm_client(), stack.outputs["RulesParameterName"]).current()
    # WHEN a ticket event arrives
    result = deliver(stack, solved_ticket())
    # THEN it goes back to its queue (not to the dead-letter queue), and nothing is planned or skipped
    assert len(result["batchItemFailures"]) == 1
    assert surveys(stack) == []
    assert stack.drain(stack.plan_dlq) == []
    assert stack.published("Survey Skipped") == []


def test_an_agent_requester_and_an_internal_domain_are_skipped_with_their_reasons(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERNAL_DOMAINS", "acme.example")
    wiring.reset()
    deliver(
        stack,
        solved_ticket("canonical/ticket_closed_by_agent.json"),
        solved_ticket(ticket_id="7001", customer={"email": "luca@eu.acme.example"}),
    )
    assert surveys(stack) == []
    reasons = sorted(e["detail"]["reason"] for e in stack.published("Survey Skipped"))
    assert reasons == ["internal_domain", "internal_requester"]


def test_the_example_rules_document_is_accepted_by_the_stack(stack: Stack) -> None:
    assert main(["rules", "put", str(EXAMPLE_RULES), "--parameter", stack.outputs["RulesParameterName"]]) == 0
    assert json.loads(stored_rules(stack)) == json.loads(EXAMPLE_RULES.read_text(encoding="utf-8"))


# --- what a negative answer does, through the reopen function and the fake Zendesk ---------------------


def test_under_the_alert_policy_the_lead_is_alerted_and_zendesk_is_not_touched(
    reopen_stack: ReopenStack, tmp_path: Path
) -> None:
    # GIVEN Billing set to "alert" in the rules document, and a sent Billing survey answered 1 star
    rules = {
        "version": 1,
        "rules": [{"name": "pilot", "match": {"team": "Billing"}, "negative_answer": "alert"}],
    }
    assert put_rules(reopen_stack.stack, tmp_path, rules) == 0
    survey = sent_survey(reopen_stack.stack)
    assert (survey.rule, survey.negative_answer) == ("pilot", "alert")
    reopen_stack.request(survey, answer(survey, 1, "Ancora addebitato due volte."))
    # WHEN the reopen function handles the request
    assert reopen_stack.run() == {"batchItemFailures": []}
    # THEN Zendesk is not written to, the lead's alert names the policy, and the skip says why
    assert [r for r in reopen_stack.helpdesk.requests if r.method in ("PUT", "POST")] == []
    [message] = reopen_stack.sns_messages()
    assert message["MessageAttributes"]["result"]["Value"] == "policy_alert"
    [alert] = sent_messages()  # to the Billing lead, who reads Spanish
    assert "usted decide (política «alert», no reabierto)" in alert["Subject"]
    [skipped] = reopen_stack.stack.published("Reopen Skipped")
    assert skipped["detail"]["reason"] == "policy_alert"


def test_under_the_note_policy_zendesk_gets_one_private_note_and_keeps_its_status(
    reopen_stack: ReopenStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the deployment's NegativeAnswerPolicy is "note" (no rule), and a sent survey answered 1 star
    monkeypatch.setenv("NEGATIVE_ANSWER_POLICY", "note")
    wiring.reset()
    survey = sent_survey(reopen_stack.stack)
    assert survey.negative_answer == "note"
    response = answer(survey, 1, "Ancora addebitato due volte.")
    # WHEN the request is handled, and delivered again
    reopen_stack.request(survey, response)
    assert reopen_stack.run() == {"batchItemFailures": []}
    reopen_stack.request(survey, response)
    assert reopen_stack.run() == {"batchItemFailures": []}
    # THEN Zendesk has one private comment with the answer, and the ticket is still solved
    [comment] = reopen_stack.helpdesk.zendesk_comments("4521")
    assert comment["public"] is False
    assert "> Ancora addebitato due volte." in comment["body"]
    assert f"closeloop-ref: note-{response.response_id}" in comment["body"]
    assert reopen_stack.helpdesk.zendesk_ticket("4521")["status"] == "solved"  # type: ignore[index]
    # AND nobody is alerted; one Reopen Skipped names the policy
    assert reopen_stack.sns_messages() == []
    assert [e["detail"]["reason"] for e in reopen_stack.stack.published("Reopen Skipped")] == ["policy_note"]
