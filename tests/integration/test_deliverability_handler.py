"""DeliverabilityFunction against moto: SES bounces and complaints about surveys suppress the address."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest

from closeloop import wiring
from closeloop.domain.surveys import customer_key
from closeloop.handlers import deliverability
from tests.conftest import load_event
from tests.fakes import LambdaContext
from tests.integration.conftest import ReopenStack, Stack, record_ses_sends, ses_event_for
from tests.integration.journeys import (
    answer,
    deliver,
    planned,
    run_send,
    sent_messages,
    sent_survey,
    solved_ticket,
    surveys,
)

GIULIA = "giulia.rossi@example.com"


@dataclass
class DeliveryStack:
    stack: Stack
    queue: str
    dlq: str
    ses_requests: list[dict[str, Any]]

    def receive(self, *events: dict[str, Any] | str) -> dict[str, Any]:
        """Put events on the delivery queue as the default bus's rule does, then run the handler once."""
        for event in events:
            body = event if isinstance(event, str) else json.dumps(event)
            self.stack.clients["sqs"].send_message(QueueUrl=self.queue, MessageBody=body)
        batch = self.stack.sqs_event(self.queue)
        result: dict[str, Any] = deliverability.lambda_handler(batch, LambdaContext())
        return result

    def about_last_email(self, example: str) -> dict[str, Any]:
        """The SES event ``example`` (events/ses/), about the last email closeloop sent."""
        return ses_event_for(load_event(example), self.ses_requests[-1])

    def suppression(self, address: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = (
            self.stack.clients["dynamodb"]
            .get_item(
                TableName=self.stack.table,
                Key={"PK": {"S": f"SUPPRESSION#{customer_key(address)}"}, "SK": {"S": "SUPPRESSION"}},
            )
            .get("Item")
        )
        return item


def _delivery_queues() -> tuple[str, str]:
    """The stack's delivery events queue and its dead-letter queue, as the function is given them."""
    return os.environ["DELIVERY_QUEUE_URL"], os.environ["DELIVERY_DLQ_URL"]


@pytest.fixture
def delivery(stack: Stack) -> DeliveryStack:
    queue, dlq = _delivery_queues()
    return DeliveryStack(stack, queue, dlq, record_ses_sends(wiring.sesv2_client()))


def test_a_permanent_bounce_suppresses_the_customer_and_their_next_ticket_is_skipped(
    delivery: DeliveryStack,
) -> None:
    stack = delivery.stack
    # GIVEN a survey was emailed to Giulia
    survey_id = planned(stack)
    run_send(stack)
    stack.drain(stack.bus_tap)
    # WHEN SES reports that the email bounced for good
    bounce = delivery.about_last_email("ses/bounce_permanent.json")
    assert delivery.receive(bounce) == {"batchItemFailures": []}
    # THEN her address is suppressed, for the bounce
    suppression = delivery.suppression(GIULIA)
    assert suppression is not None
    assert suppression["reason"]["S"] == "bounce"
    # AND the survey is marked bounced, its status untouched
    [survey] = surveys(stack)
    assert (survey["survey_id"]["S"], survey["status"]["S"]) == (survey_id, "sent")
    assert survey["delivery"]["S"] == "bounced"
    assert survey["delivery_at"]["S"]
    # AND a Customer Suppressed event names the ticket and the survey, not the address
    [event] = stack.published("Customer Suppressed")
    assert event["detail"] | {"suppressed_at": None} == {
        "version": 1,
        "helpdesk": "zendesk",
        "ticket_id": "4521",
        "survey_id": survey_id,
        "reason": "bounce",
        "suppressed_at": None,
    }
    assert "@" not in json.dumps(event)
    # AND her next solved ticket gets no survey, skipped as suppressed
    deliver(stack, solved_ticket(ticket_id="4600"))
    [skipped] = stack.published("Survey Skipped")
    assert (skipped["detail"]["ticket_id"], skipped["detail"]["reason"]) == ("4600", "suppressed")
    assert len(surveys(stack)) == 1


def test_a_complaint_suppresses_the_customer_and_marks_the_survey_complained(delivery: DeliveryStack) -> None:
    planned(delivery.stack)
    run_send(delivery.stack)
    delivery.receive(delivery.about_last_email("ses/complaint.json"))
    suppression = delivery.suppression(GIULIA)
    assert suppression is not None
    assert suppression["reason"]["S"] == "complaint"
    assert surveys(delivery.stack)[0]["delivery"]["S"] == "complained"


def test_a_transient_bounce_suppresses_nothing(delivery: DeliveryStack) -> None:
    # GIVEN a survey emailed to Giulia, whose mailbox is full
    planned(delivery.stack)
    run_send(delivery.stack)
    delivery.stack.drain(delivery.stack.bus_tap)
    # WHEN SES reports a transient bounce
    bounce = delivery.about_last_email("ses/bounce_transient.json")
    assert delivery.receive(bounce) == {"batchItemFailures": []}
    # THEN her address is not suppressed, the survey is not marked and nothing is announced
    assert delivery.suppression(GIULIA) is None
    assert "delivery" not in surveys(delivery.stack)[0]
    assert delivery.stack.published("Customer Suppressed") == []


def test_a_redelivered_bounce_is_announced_once(delivery: DeliveryStack) -> None:
    planned(delivery.stack)
    run_send(delivery.stack)
    bounce = delivery.about_last_email("ses/bounce_permanent.json")
    delivery.receive(bounce)
    delivery.receive(bounce)
    assert len(delivery.stack.published("Customer Suppressed")) == 1


def test_an_untagged_ses_event_is_ignored(delivery: DeliveryStack) -> None:
    # GIVEN a permanent bounce of some other mail of the account, for Giulia's address
    event = load_event("ses/bounce_permanent.json")
    event["detail"]["mail"]["tags"] = {"ses:configuration-set": ["closeloop"]}
    # WHEN it reaches the handler
    assert delivery.receive(event) == {"batchItemFailures": []}
    # THEN nothing is suppressed, and the event is not parked either: it was understood
    assert delivery.suppression(GIULIA) is None
    assert delivery.stack.drain(delivery.dlq) == []


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps({"source": "aws.ses", "detail-type": "Email Bounced", "detail": {"eventType": "Bounce"}}),
    ],
    ids=["not-json", "no-mail-no-bounce"],
)
def test_a_malformed_event_goes_to_the_dead_letter_queue_with_a_reason(
    delivery: DeliveryStack, body: str
) -> None:
    # WHEN a message that is no SES bounce or complaint arrives, beside a good one
    planned(delivery.stack)
    run_send(delivery.stack)
    result = delivery.receive(body, delivery.about_last_email("ses/bounce_permanent.json"))
    # THEN it is parked, untouched, with a reason, and the rest of the batch is processed
    assert result == {"batchItemFailures": []}
    [parked] = delivery.stack.drain(delivery.dlq)
    assert parked["body"] == (body if body == "not json" else json.loads(body))
    reason = parked["attributes"]["reason"]["StringValue"]
    assert reason.startswith(("JSONDecodeError", "InvalidDeliveryEventError"))
    assert delivery.suppression(GIULIA) is not None


def test_a_bounced_lead_alert_suppresses_no_customer(reopen_stack: ReopenStack) -> None:
    # GIVEN Giulia answered badly, and her ticket's lead was alerted by email
    stack = reopen_stack.stack
    queue, dlq = _delivery_queues()
    delivery = DeliveryStack(stack, queue, dlq, record_ses_sends(wiring.sesv2_client()))
    survey = sent_survey(stack)
    reopen_stack.request(survey, answer(survey, 1, "Di nuovo addebitato"))
    reopen_stack.run()
    [alert] = delivery.ses_requests
    assert alert["Destination"]["ToAddresses"] == ["ana@acme.example"]
    # WHEN the alert bounces for good
    delivery.receive(delivery.about_last_email("ses/bounce_permanent.json"))
    # THEN no one is suppressed and Giulia's survey is not marked
    assert delivery.suppression(GIULIA) is None
    assert delivery.suppression("ana@acme.example") is None
    assert all("delivery" not in item for item in surveys(stack))


def test_every_survey_email_names_its_survey_for_ses_events(delivery: DeliveryStack) -> None:
    survey_id = planned(delivery.stack)
    run_send(delivery.stack)
    [request] = delivery.ses_requests
    assert request["EmailTags"] == [
        {"Name": "closeloop", "Value": "survey"},
        {"Name": "survey_id", "Value": survey_id},
    ]
    assert len(sent_messages()) == 1
