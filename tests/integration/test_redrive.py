"""``closeloop redrive`` against the stack's queues in moto: reasons shown, messages replayed once, safely."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError

from closeloop import wiring
from closeloop_cli.main import main
from closeloop_cli.redrive import NO_REASON, QUEUES_BY_NAME, redrive_queue, render_text
from closeloop_cli.stack_access import StackAccess
from tests.integration.conftest import REGION, Stack
from tests.integration.journeys import planned, sent_messages, solved_ticket, surveys
from tests.integration.test_send_faults import run_send_as_lambda

SEND = QUEUES_BY_NAME["send"]


def access(stack: Stack) -> StackAccess:
    """The stack as the command finds it: its outputs, and clients for its account and region."""
    return StackAccess(stack.outputs, boto3.session.Session(region_name=REGION), None, "the test stack")


def park(stack: Stack, queue_url: str, body: str, reason: str | None) -> None:
    """A message parked as closeloop parks one (with a reason), or as SQS's redrive does (without)."""
    attributes = {"reason": {"DataType": "String", "StringValue": reason}} if reason else {}
    stack.clients["sqs"].send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=attributes)


def visible(stack: Stack, queue_url: str) -> int:
    attributes = stack.clients["sqs"].get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def ses_sends_then_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """SES accepts (and sends) the email, but its answer never arrives: the outcome is unknown."""
    client = wiring.sesv2_client()
    real_send = client.send_email

    def sent_but_unanswered(**request: Any) -> Any:
        real_send(**request)
        raise ReadTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com")

    monkeypatch.setattr(client, "send_email", sent_but_unanswered)


def test_a_send_parked_after_its_email_went_out_sends_nothing_when_redriven(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a survey whose email SES sent without answering: closeloop parked the request, outcome unknown
    planned(stack)
    with monkeypatch.context() as timing_out:
        ses_sends_then_times_out(timing_out)
        assert run_send_as_lambda(stack) == {"batchItemFailures": []}
    assert len(sent_messages()) == 1
    assert visible(stack, stack.send_dlq) == 1
    # WHEN the operator redrives the send dead-letter queue
    result = redrive_queue(access(stack), SEND, act=True)
    assert [letter.reason.split(":")[0] for letter in result.acted] == ["SendOutcomeUnknownError"]
    assert visible(stack, stack.send_dlq) == 0
    # AND the send function takes the replayed request
    assert run_send_as_lambda(stack) == {"batchItemFailures": []}
    # THEN no second email goes out: the survey is still claimed, and the request is parked again
    assert len(sent_messages()) == 1
    assert surveys(stack)[0]["status"]["S"] == "sending"
    assert visible(stack, stack.send_dlq) == 1


def test_a_send_request_redriven_for_a_survey_already_sent_sends_nothing(stack: Stack) -> None:
    # GIVEN a survey sent once, and a copy of its send request in the dead-letter queue
    survey_id = planned(stack)
    body = json.dumps({"survey_id": survey_id})
    assert run_send_as_lambda(stack) == {"batchItemFailures": []}
    park(stack, stack.send_dlq, body, "SendRejectedError: MessageRejected: Rejected")
    # WHEN it is redriven and the send function takes it
    redrive_queue(access(stack), SEND, act=True)
    assert run_send_as_lambda(stack) == {"batchItemFailures": []}
    # THEN the survey is still sent once, and nothing is left anywhere
    assert len(sent_messages()) == 1
    assert surveys(stack)[0]["status"]["S"] == "sent"
    assert visible(stack, stack.send_dlq) == visible(stack, stack.send_queue) == 0


def test_a_dry_run_shows_each_reason_and_hands_every_message_back(stack: Stack) -> None:
    # GIVEN two parked send requests: one closeloop parked with its reason, one SQS moved after 8 receives
    park(stack, stack.send_dlq, json.dumps({"survey_id": "s-1"}), "RecipientNotVerifiedError: SES sandbox")
    park(stack, stack.send_dlq, json.dumps({"survey_id": "s-2"}), None)
    # WHEN they are only shown
    result = redrive_queue(access(stack), SEND, act=False)
    # THEN each says why it is there (or where to look) and what it is about
    shown = {letter.about: letter.reason for letter in result.letters}
    assert shown == {"survey_id=s-1": "RecipientNotVerifiedError: SES sandbox", "survey_id=s-2": NO_REASON}
    assert result.acted == []
    # AND both are visible again at once, and nothing reached the send queue
    assert visible(stack, stack.send_dlq) == 2
    assert visible(stack, stack.send_queue) == 0


def test_only_the_messages_with_the_reason_given_are_replayed(stack: Stack) -> None:
    park(stack, stack.send_dlq, json.dumps({"survey_id": "s-1"}), "RecipientNotVerifiedError: SES sandbox")
    park(stack, stack.send_dlq, json.dumps({"survey_id": "s-2"}), "UnknownSurveyError: s-2")
    result = redrive_queue(access(stack), SEND, act=True, reason_prefix="RecipientNotVerifiedError")
    assert [letter.about for letter in result.acted] == ["survey_id=s-1"]
    assert [message["body"] for message in stack.drain(stack.send_queue)] == [{"survey_id": "s-1"}]
    assert [message["body"] for message in stack.drain(stack.send_dlq)] == [{"survey_id": "s-2"}]


def test_messages_that_can_never_succeed_are_deleted_not_replayed(stack: Stack) -> None:
    park(stack, stack.send_dlq, "not json", "MalformedSendRequestError: the body is not JSON")
    result = redrive_queue(access(stack), SEND, act=True, delete=True)
    assert len(result.acted) == 1
    assert visible(stack, stack.send_dlq) == visible(stack, stack.send_queue) == 0


def test_a_parked_ticket_event_is_shown_by_ticket_never_by_address_and_replayed_to_the_planner(
    stack: Stack,
) -> None:
    # GIVEN a ticket event in the plan dead-letter queue (its body holds the customer's address)
    event = solved_ticket(ticket_id="9001")
    address = event["detail"]["customer"]["email"]
    park(stack, stack.plan_dlq, json.dumps(event), "InvalidTicketEventError: invalid Ticket Closed: x")
    # WHEN it is shown, then replayed
    shown = redrive_queue(access(stack), QUEUES_BY_NAME["plan"], act=False)
    text = render_text([shown], act=False, delete=False)
    assert "Ticket Closed zendesk#9001" in text
    assert address not in text
    redrive_queue(access(stack), QUEUES_BY_NAME["plan"], act=True)
    # THEN the planner's queue has it, untouched
    assert [message["body"] for message in stack.drain(stack.plan_queue)] == [event]


@pytest.mark.parametrize("name", sorted(QUEUES_BY_NAME))
def test_every_dead_letter_queue_is_replayed_to_the_queue_that_feeds_it(stack: Stack, name: str) -> None:
    # GIVEN the stack's outputs, as the command reads them
    queue = QUEUES_BY_NAME[name]
    dead_letter_url = stack.outputs[queue.dead_letter_output]
    source_url = stack.outputs[queue.source_output]
    # THEN the work queue redrives (after its failures) to that dead-letter queue
    sqs = stack.clients["sqs"]
    policy = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    target = json.loads(policy["RedrivePolicy"])["deadLetterTargetArn"]
    arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])["Attributes"]
    assert target == arn["QueueArn"]


def test_replaying_needs_a_queue_and_a_stack(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert main(["redrive"]) == 2
    assert "needs --queue" in capsys.readouterr().err
    assert main(["redrive", "--queue", "send", "--dry-run"]) == 2
    assert "pass --stack-name" in capsys.readouterr().err
    assert main(["redrive", "--queue", "send", "--dry-run", "--delete"]) == 2
    with pytest.raises(SystemExit) as usage:
        main(["redrive", "--queue", "outbox"])
    assert usage.value.code == 2
