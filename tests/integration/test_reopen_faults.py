"""ReopenFunction when things fail in between: each side effect of a reopen happens once, none is left owed.

Each side effect (the helpdesk write, the SNS alert, the SES alert email, the ``Case Reopened`` event) is
made to fail before the remote call (certainly not taken), during it (the remote side took it, then the
client saw a timeout) and after it (the call succeeded, then recording it failed). The message is then
redelivered until it succeeds, and each effect is counted where it landed: the fake helpdesk's stored
comments, the SQS queue subscribed to the alert topic, moto's SES outbox, the bus tap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from closeloop import wiring
from closeloop.adapters.helpdesks import http
from closeloop.domain.reopening import LOOK_STEPS, REOPEN_STEPS, ReopenStep
from closeloop.domain.surveys import VerdictAction
from closeloop.handlers import reopen
from tests.fakes import LambdaContext
from tests.integration.conftest import ReopenStack
from tests.integration.journeys import answer, sent_messages, sent_survey

EVERY_STEP = {step.value for step in REOPEN_STEPS}


class FailOnce:
    """A botocore event handler that raises ``error`` the first time ``applies`` says yes."""

    def __init__(self, error: Exception, applies: Callable[[dict[str, Any]], bool] = lambda _: True) -> None:
        self.error, self.applies, self.fired = error, applies, False

    def __call__(self, params: dict[str, Any] | None = None, **_: Any) -> None:
        if not self.fired and self.applies(params or {}):
            self.fired = True
            raise self.error


def fail_before(client: Any, operation: str) -> FailOnce:
    """The request never reaches the service (no connection)."""
    fault = FailOnce(EndpointConnectionError(endpoint_url="https://aws.example"))
    client.meta.events.register(
        f"provide-client-params.{client.meta.service_model.service_name}.{operation}", fault
    )
    return fault


def fail_during(client: Any, operation: str) -> FailOnce:
    """The service took the request, then the client saw a read timeout."""
    fault = FailOnce(ReadTimeoutError(endpoint_url="https://aws.example"))
    client.meta.events.register(f"after-call.{client.meta.service_model.service_name}.{operation}", fault)
    return fault


def fail_recording(step: ReopenStep) -> FailOnce:
    """The step's effect succeeded, then writing it down as done failed."""
    fault = FailOnce(
        ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, "UpdateItem"),
        lambda params: params.get("ExpressionAttributeValues", {}).get(":step", {}).get("S") == step.value,
    )
    wiring.dynamodb_client().meta.events.register("provide-client-params.dynamodb.UpdateItem", fault)
    return fault


def deliver_until_done(reopen_stack: ReopenStack, attempts: int = 6) -> int:
    """Run the handler as Lambda would, making a failed message visible again at once; the deliveries."""
    sqs = reopen_stack.stack.clients["sqs"]
    for delivery in range(1, attempts + 1):
        event = reopen_stack.stack.sqs_event(reopen_stack.queue)
        if not event["Records"]:
            return delivery - 1
        result = reopen.lambda_handler(event, LambdaContext())
        failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
        for record in event["Records"]:
            if record["messageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=reopen_stack.queue, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=reopen_stack.queue, ReceiptHandle=record["receiptHandle"])
    raise AssertionError(f"still failing after {attempts} deliveries")


def reopen_record(reopen_stack: ReopenStack, survey_id: str, ticket: str = "zendesk#4521") -> dict[str, Any]:
    item = reopen_stack.stack.clients["dynamodb"].get_item(
        TableName=reopen_stack.stack.table,
        Key={"PK": {"S": f"TICKET#{ticket}"}, "SK": {"S": f"REOPEN#{survey_id}"}},
        ConsistentRead=True,
    )["Item"]
    return {
        "state": item["state"]["S"],
        "done": set(item.get("steps_done", {}).get("SS", [])),
        "started": set(item.get("steps_started", {}).get("SS", [])),
    }


def assert_each_effect_happened_once(reopen_stack: ReopenStack, survey_id: str) -> None:
    notes = [c for c in reopen_stack.helpdesk.zendesk_comments("4521") if f"reopen-{survey_id}" in c["body"]]
    assert len(notes) == 1
    assert len(reopen_stack.sns_messages()) == 1
    assert len(sent_messages()) == 1
    assert len(reopen_stack.stack.published("Case Reopened")) == 1
    record = reopen_record(reopen_stack, survey_id)
    assert record["state"] == "done"
    assert record["done"] == EVERY_STEP  # nothing left owed
    assert reopen_stack.stack.drain(reopen_stack.dlq) == []


AWS_EFFECTS = {
    "sns": (ReopenStep.SNS_ALERT, wiring.sns_client, "Publish"),
    "ses": (ReopenStep.EMAIL_ALERT, wiring.sesv2_client, "SendEmail"),
    "eventbridge": (ReopenStep.EVENT, wiring.events_client, "PutEvents"),
}


@pytest.mark.parametrize("effect", sorted(AWS_EFFECTS))
def test_an_aws_call_that_never_reached_the_service_is_made_again(
    reopen_stack: ReopenStack, effect: str
) -> None:
    # GIVEN a negative answer, and this step's call fails before reaching the service, once
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, answer(survey, 1, "Rotto"))
    _, client, operation = AWS_EFFECTS[effect]
    fault = fail_before(client(), operation)
    # WHEN the request is delivered until it succeeds
    assert deliver_until_done(reopen_stack) == 2
    # THEN every effect happened exactly once
    assert fault.fired
    assert_each_effect_happened_once(reopen_stack, survey.survey_id)


@pytest.mark.parametrize("effect", sorted(AWS_EFFECTS))
def test_an_aws_call_taken_by_the_service_but_timed_out_is_not_made_again(
    reopen_stack: ReopenStack, effect: str
) -> None:
    # GIVEN the service takes this step's call, then the client sees a read timeout, once
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, answer(survey, 1, "Rotto"))
    _, client, operation = AWS_EFFECTS[effect]
    fault = fail_during(client(), operation)
    # WHEN the request is delivered until it succeeds
    assert deliver_until_done(reopen_stack) == 2
    # THEN every effect happened exactly once
    assert fault.fired
    assert_each_effect_happened_once(reopen_stack, survey.survey_id)


@pytest.mark.parametrize("step", REOPEN_STEPS, ids=lambda step: step.value)
def test_an_effect_whose_record_failed_is_not_repeated(reopen_stack: ReopenStack, step: ReopenStep) -> None:
    # GIVEN the step's effect succeeds, then recording it as done fails, once
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, answer(survey, 1, "Rotto"))
    fault = fail_recording(step)
    # WHEN the request is delivered until it succeeds
    assert deliver_until_done(reopen_stack) == 2
    # THEN every effect happened exactly once
    assert fault.fired
    assert_each_effect_happened_once(reopen_stack, survey.survey_id)


@pytest.mark.parametrize("step", LOOK_STEPS, ids=lambda step: step.value)
def test_a_please_look_alert_whose_record_failed_is_not_repeated(
    reopen_stack: ReopenStack, step: ReopenStep
) -> None:
    # GIVEN a mixed answer (a "please look" alert), and recording one of its steps as done fails, once
    survey = sent_survey(reopen_stack.stack)
    mixed = replace(
        answer(survey, 5, "Risolto, ma nessuno mi ha mai richiamato."),
        response_id="r-mixed", negative=True, verdict_reasons=("negative_comment",),
        action=VerdictAction.ALERT,
    )  # fmt: skip
    wiring.answer_store().add_response(survey, mixed)
    reopen_stack.request(survey, mixed)
    fault = fail_recording(step)
    # WHEN the request is delivered until it succeeds
    assert deliver_until_done(reopen_stack) == 2
    # THEN the lead was alerted once on each channel, the skip announced once, the helpdesk never called
    assert fault.fired
    assert len(reopen_stack.sns_messages()) == 1
    assert len(sent_messages()) == 1
    assert [e["detail"]["reason"] for e in reopen_stack.stack.published("Reopen Skipped")] == ["please_look"]
    assert reopen_stack.helpdesk.requests == []
    item = reopen_stack.stack.clients["dynamodb"].get_item(
        TableName=reopen_stack.stack.table,
        Key={"PK": {"S": "TICKET#zendesk#4521"}, "SK": {"S": f"ALERT#{survey.survey_id}"}},
        ConsistentRead=True,
    )["Item"]
    assert set(item["steps_done"]["SS"]) == {step.value for step in LOOK_STEPS}
    assert reopen_stack.stack.drain(reopen_stack.dlq) == []


def test_a_helpdesk_write_refused_before_processing_is_made_again(reopen_stack: ReopenStack) -> None:
    # GIVEN Zendesk answers 503 without processing the update, once
    reopen_stack.helpdesk.fail_next(1, 503)
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, answer(survey, 1, "Rotto"))
    # WHEN the request is delivered until it succeeds
    assert deliver_until_done(reopen_stack) == 2
    # THEN the note was added once, and every other effect happened once
    assert_each_effect_happened_once(reopen_stack, survey.survey_id)


@pytest.mark.parametrize("kind", ["status", "drop", "stall"])
def test_a_helpdesk_write_processed_but_not_confirmed_is_not_made_again(
    reopen_stack: ReopenStack, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    # GIVEN Zendesk processes the update, then answers 503, drops the connection, or answers too late
    monkeypatch.setattr(http, "WRITE_TIMEOUT_SECONDS", 0.5)
    reopen_stack.helpdesk.fault_next_writes(1, kind, seconds=1.5)
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, answer(survey, 1, "Rotto"))
    # WHEN the request is delivered until it succeeds
    assert deliver_until_done(reopen_stack) == 2
    # THEN the retry found the note's marker on the ticket and wrote nothing: one PUT, one note
    assert len([r for r in reopen_stack.helpdesk.requests if r.method == "PUT"]) == 1
    assert [r.path.partition("?")[0] for r in reopen_stack.helpdesk.requests if r.method == "GET"] == [
        "/api/v2/tickets/4521/comments.json"
    ]
    assert_each_effect_happened_once(reopen_stack, survey.survey_id)


def test_a_freshdesk_note_processed_but_not_confirmed_is_not_added_again(reopen_stack: ReopenStack) -> None:
    # GIVEN Freshdesk sets the status, then adds the note and answers 503
    reopen_stack.helpdesk.add_freshdesk_ticket({"id": 812, "status": 4})
    reopen_stack.helpdesk.fault_next_writes(2, "status")
    survey = sent_survey(reopen_stack.stack, ticket_id="812", helpdesk="freshdesk")
    reopen_stack.request(survey, answer(survey, 1, "Rotto"))
    # WHEN the request is delivered until it succeeds
    deliver_until_done(reopen_stack)
    # THEN the ticket has one note
    assert len(reopen_stack.helpdesk.freshdesk_notes("812")) == 1
    assert reopen_record(reopen_stack, survey.survey_id, "freshdesk#812")["done"] == EVERY_STEP


def test_a_closed_tickets_follow_up_created_but_not_confirmed_is_not_created_again(
    reopen_stack: ReopenStack,
) -> None:
    # GIVEN a closed Zendesk ticket, and Zendesk creates the follow-up, then answers 503
    reopen_stack.helpdesk.add_zendesk_ticket({"id": 4521, "status": "closed", "requester_id": 777})
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, answer(survey, 1, "Rotto"))
    reopen_stack.helpdesk.fault_next_writes(1, "status")
    # (the 422 of the PUT is not a success, so the fault falls on the POST that creates the follow-up)
    # WHEN the request is delivered until it succeeds
    deliver_until_done(reopen_stack)
    # THEN the retried creation carried the same Idempotency-Key and returned the first follow-up
    creations = [r for r in reopen_stack.helpdesk.requests if r.method == "POST"]
    assert len(creations) == 2
    assert len({r.headers["Idempotency-Key"] for r in creations}) == 1
    [event] = reopen_stack.stack.published("Case Reopened")
    follow_up = event["detail"]["helpdesk_ticket_id"]
    assert len(reopen_stack.helpdesk.zendesk_comments(follow_up)) == 1
