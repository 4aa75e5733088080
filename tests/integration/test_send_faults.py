"""SendFunction when things fail in between: each survey is mailed once, and none is left claimed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from closeloop import wiring
from closeloop.handlers import send
from tests.fakes import LambdaContext
from tests.integration.conftest import Stack
from tests.integration.journeys import planned, sent_messages, surveys


def run_send_as_lambda(stack: Stack) -> dict[str, Any]:
    """One batch from the send queue, then what Lambda's event source mapping does: delete the successes."""
    event = stack.sqs_event(stack.send_queue)
    result: dict[str, Any] = send.lambda_handler(event, LambdaContext())
    failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
    for record in event["Records"]:
        if record["messageId"] not in failed:
            stack.clients["sqs"].delete_message(
                QueueUrl=stack.send_queue, ReceiptHandle=record["receiptHandle"]
            )
    return result


def set_customer(stack: Stack, survey_id: str, **values: str) -> None:
    """Change the stored survey as one planned before addresses were checked at planning would be."""
    names = {f"#{name}": name for name in values}
    stack.clients["dynamodb"].update_item(
        TableName=stack.table,
        Key={"PK": {"S": f"SURVEY#{survey_id}"}, "SK": {"S": "SURVEY"}},
        UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in values),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{name}": {"S": value} for name, value in values.items()},
    )


@pytest.mark.parametrize(
    "address",
    ["a,b@example.com", 'a"b@example.com', "<a>@example.com", "ü@example.com", "a..b@example.com"],
)
def test_an_address_no_email_can_carry_is_dead_lettered_before_the_survey_is_claimed(
    stack: Stack, address: str
) -> None:
    # GIVEN a planned survey whose stored address the MIME builder would refuse
    survey_id = planned(stack)
    set_customer(stack, survey_id, customer_email=address)
    # WHEN its send request is processed
    assert run_send_as_lambda(stack) == {"batchItemFailures": []}
    # THEN it is parked with the rule it broke (never the address), nothing was sent, and it is not claimed
    [parked] = stack.drain(stack.send_dlq)
    reason = parked["attributes"]["reason"]["StringValue"]
    assert reason.startswith("InvalidRecipientError: ")
    assert address not in reason
    assert sent_messages() == []
    assert surveys(stack)[0]["status"]["S"] == "planned"


def test_a_stored_name_with_a_line_break_is_sent_on_one_line(stack: Stack) -> None:
    survey_id = planned(stack)
    set_customer(stack, survey_id, customer_name="Giulia\r\nBcc: everyone@example.com")
    assert run_send_as_lambda(stack) == {"batchItemFailures": []}
    [message] = sent_messages()
    assert message["Bcc"] is None
    assert message["To"].addresses[0].display_name == "Giulia Bcc: everyone@example.com"
    assert surveys(stack)[0]["status"]["S"] == "sent"


def test_a_refused_send_redriven_as_operations_md_says_is_sent_exactly_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN SES refusing the message for good (MessageRejected)
    planned(stack)
    with monkeypatch.context() as refusing:

        def refuse(**_: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "MessageRejected", "Message": "Rejected"}, "ResponseMetadata": {}},
                "SendEmail",
            )

        refusing.setattr(wiring.sesv2_client(), "send_email", refuse)
        # WHEN the request is processed THEN it is dead-lettered with the reason the docs list
        assert run_send_as_lambda(stack) == {"batchItemFailures": []}
    dlq = stack.clients["sqs"].receive_message(
        QueueUrl=stack.send_dlq, MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    [parked] = dlq
    assert parked["MessageAttributes"]["reason"]["StringValue"].startswith("SendRejectedError: ")
    assert "MessageRejected" in parked["MessageAttributes"]["reason"]["StringValue"]
    # AND the original request is gone, the survey waits again
    assert stack.drain(stack.send_queue) == []
    assert surveys(stack)[0]["status"]["S"] == "planned"
    # WHEN the cause is fixed (the refusal is over) and the DLQ is redriven (start-message-move-task:
    # each message moved back, untouched, to its source queue)
    stack.clients["sqs"].send_message(QueueUrl=stack.send_queue, MessageBody=parked["Body"])
    stack.clients["sqs"].delete_message(QueueUrl=stack.send_dlq, ReceiptHandle=parked["ReceiptHandle"])
    assert run_send_as_lambda(stack) == {"batchItemFailures": []}
    # THEN the survey is sent, exactly once, and a second redrive sends nothing more
    assert len(sent_messages()) == 1
    assert surveys(stack)[0]["status"]["S"] == "sent"
    stack.clients["sqs"].send_message(QueueUrl=stack.send_queue, MessageBody=parked["Body"])
    assert run_send_as_lambda(stack) == {"batchItemFailures": []}
    assert len(sent_messages()) == 1


def test_a_claim_write_applied_but_answered_late_is_recognised_and_the_survey_sent_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN DynamoDB applies the claim (planned → sending) but the answer is lost, so the SDK retries the
    # same request, whose condition now fails (this is what botocore's retry of a timed-out call does)
    planned(stack)
    client = wiring.dynamodb_client()
    real_update = client.update_item
    retried: list[str] = []

    def applied_then_retried(**request: Any) -> Any:
        claims = ":claim" in request.get("ExpressionAttributeValues", {})
        if claims and request.get("ExpressionAttributeNames", {}).get("#state") == "status" and not retried:
            real_update(**request)  # applied; the answer never arrives
            retried.append(request["ExpressionAttributeValues"][":claim"]["S"])
        return real_update(**request)

    monkeypatch.setattr(client, "update_item", applied_then_retried)
    # WHEN the send request is processed
    assert run_send_as_lambda(stack) == {"batchItemFailures": []}
    # THEN our own claim is recognised: the email goes out once, the survey is sent, nothing is parked
    assert retried
    assert len(sent_messages()) == 1
    assert surveys(stack)[0]["status"]["S"] == "sent"
    assert stack.drain(stack.send_dlq) == []


def test_a_concurrent_senders_claim_is_not_mistaken_for_ours(stack: Stack) -> None:
    survey_id = planned(stack)
    repository = wiring.sending_store()
    from datetime import UTC, datetime

    repository.claim_for_sending(survey_id, datetime.now(UTC))
    from closeloop.domain.surveys import SurveyNotClaimableError

    with pytest.raises(SurveyNotClaimableError):
        repository.claim_for_sending(survey_id, datetime.now(UTC))


def test_a_message_the_mail_builder_refuses_gives_the_claim_back(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a message that fails while it is built, after the survey was claimed (the net under the check)
    planned(stack)

    def unbuildable(*_: Any, **__: Any) -> bytes:
        raise ValueError("invalid arguments; address parts cannot contain CR or LF")

    monkeypatch.setattr("closeloop.adapters.mail.build_mime", unbuildable)
    assert run_send_as_lambda(stack) == {"batchItemFailures": []}
    # THEN it is a definite refusal: parked with its reason, and the survey is not left claimed
    [parked] = stack.drain(stack.send_dlq)
    assert parked["attributes"]["reason"]["StringValue"].startswith("SendRejectedError: ")
    assert "could not be built" in parked["attributes"]["reason"]["StringValue"]
    assert surveys(stack)[0]["status"]["S"] == "planned"
    assert json.loads(json.dumps(parked["body"]))["survey_id"]
