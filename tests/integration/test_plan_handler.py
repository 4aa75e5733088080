"""PlanFunction against moto: ticket events become stored, scheduled surveys, skips or cancellations."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from closeloop import wiring
from tests.conftest import load_event
from tests.integration.conftest import Stack
from tests.integration.journeys import deliver, solved_ticket, surveys


def test_a_solved_ticket_becomes_one_planned_survey_queued_for_sending(stack: Stack) -> None:
    # GIVEN no delay and no quiet hours (the fixture's settings)
    # WHEN a Ticket Closed event is delivered
    result = deliver(stack, solved_ticket())
    # THEN one survey is stored with the agent and team as they were at solve time
    assert result == {"batchItemFailures": []}
    [survey] = surveys(stack)
    assert survey["status"]["S"] == "planned"
    assert survey["agent"]["M"]["name"]["S"] == "Marta Puig"
    assert survey["team"]["M"]["name"]["S"] == "Billing"
    # AND its send request is on the send queue
    [request] = stack.drain(stack.send_queue)
    assert request["body"] == {"survey_id": survey["survey_id"]["S"]}
    # AND a Survey Planned event is published
    [planned] = stack.published("Survey Planned")
    assert planned["detail"]["survey_id"] == survey["survey_id"]["S"]


def test_the_same_solve_delivered_many_times_yields_one_survey(stack: Stack) -> None:
    event = solved_ticket()
    deliver(stack, event, event, event)
    deliver(stack, event)
    assert len(surveys(stack)) == 1
    assert len(stack.drain(stack.send_queue)) == 1


def test_a_later_survey_is_scheduled_with_eventbridge_scheduler(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the default one-day delay
    monkeypatch.setenv("FOLLOW_UP_DELAY_MINUTES", "1440")
    wiring.reset()
    deliver(stack, solved_ticket())
    [survey] = surveys(stack)
    # THEN a one-time schedule targets the send queue, and nothing is queued yet
    schedule = stack.clients["scheduler"].get_schedule(
        Name=f"survey-{survey['survey_id']['S']}", GroupName="closeloop"
    )
    assert schedule["ScheduleExpression"].startswith("at(")
    assert (
        schedule["Target"]["Arn"]
        == stack.clients["sqs"].get_queue_attributes(QueueUrl=stack.send_queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
    )
    assert json.loads(schedule["Target"]["Input"]) == {"survey_id": survey["survey_id"]["S"]}
    assert stack.drain(stack.send_queue) == []


def test_excluded_tag_records_a_skip_with_its_reason(stack: Stack) -> None:
    deliver(stack, solved_ticket(tags=["spam"]))
    assert surveys(stack) == []
    [skipped] = stack.published("Survey Skipped")
    assert skipped["detail"]["reason"] == "excluded_tag"
    markers = stack.clients["dynamodb"].scan(TableName=stack.table)["Items"]
    assert [m["reason"]["S"] for m in markers if m["SK"]["S"].startswith("CLOSE#")] == ["excluded_tag"]


def test_suppressed_customer_is_not_surveyed(stack: Stack) -> None:
    wiring.answer_store().suppress("giulia.rossi@example.com", "unsubscribed", datetime.now(UTC))
    deliver(stack, solved_ticket())
    assert surveys(stack) == []
    assert stack.published("Survey Skipped")[0]["detail"]["reason"] == "suppressed"


def test_a_customer_surveyed_recently_is_throttled_across_tickets(stack: Stack) -> None:
    deliver(stack, solved_ticket())
    deliver(stack, solved_ticket(ticket_id="4600"))
    assert len(surveys(stack)) == 1
    assert stack.published("Survey Skipped")[0]["detail"]["reason"] == "throttled"


def test_a_reopen_before_the_send_cancels_the_survey_and_its_schedule(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOLLOW_UP_DELAY_MINUTES", "1440")
    wiring.reset()
    deliver(stack, solved_ticket())
    deliver(stack, load_event("canonical/ticket_reopened.json"))
    [survey] = surveys(stack)
    assert survey["status"]["S"] == "cancelled"
    assert stack.clients["scheduler"].list_schedules(GroupName="closeloop")["Schedules"] == []
    # AND the customer's throttle is released, so the next solve can be surveyed
    deliver(stack, solved_ticket(ticket_id="4600"))
    assert sorted(s["status"]["S"] for s in surveys(stack)) == ["cancelled", "planned"]


def test_a_malformed_event_goes_to_the_dead_letter_queue_with_its_reason(stack: Stack) -> None:
    # GIVEN a batch with one invalid event between two good ones
    good = solved_ticket()
    other = solved_ticket(ticket_id="9", customer={"email": "ana@example.com"})
    result = deliver(stack, good, load_event("canonical/ticket_closed_invalid.json"), other)
    # THEN the good ones are planned, and the invalid one is parked with a reason naming the fields
    assert result == {"batchItemFailures": []}
    assert len(surveys(stack)) == 2
    [parked] = stack.drain(stack.plan_dlq)
    reason = parked["attributes"]["reason"]["StringValue"]
    assert "closed_at" in reason
    assert "customer.email" in reason
    assert "not-an-address" not in reason


def test_the_minimal_canonical_event_is_accepted(stack: Stack) -> None:
    deliver(stack, solved_ticket("canonical/ticket_closed_minimal.json"))
    [survey] = surveys(stack)
    assert survey["ticket_id"]["S"] == "88017"


def test_a_survey_stored_but_not_scheduled_is_scheduled_when_the_event_comes_back(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN scheduling fails once after the survey was stored (an outage, a timeout, a crash)
    scheduler = wiring.send_scheduler()
    real = scheduler.schedule_send
    failures = iter([RuntimeError("scheduler unavailable")])

    def flaky(*args: Any) -> None:
        if (error := next(failures, None)) is not None:
            raise error
        real(*args)

    monkeypatch.setattr(scheduler, "schedule_send", flaky)
    event = solved_ticket()
    # WHEN the event is delivered, fails, and is delivered again
    assert len(deliver(stack, event)["batchItemFailures"]) == 1
    assert stack.drain(stack.send_queue) == []
    deliver(stack, event)
    # THEN the one stored survey is now queued for sending, once
    [survey] = surveys(stack)
    assert survey["scheduled"]["BOOL"] is True
    assert len(stack.drain(stack.send_queue)) == 1
