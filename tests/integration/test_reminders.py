"""The one reminder against moto: its one-time schedule, fired as the sandbox fires it, becomes one email
with the first one's links, or a recorded skip; and never a second reminder, whatever fails around SES."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

from closeloop import wiring
from closeloop.adapters.scheduler import reminder_schedule_name
from closeloop.domain.surveys import ReminderNotClaimableError
from closeloop.handlers import send
from closeloop_cli.scheduler_pump import SchedulerPump
from tests.conftest import load_event
from tests.fakes import LambdaContext
from tests.integration.conftest import Stack
from tests.integration.journeys import answer, deliver, planned, run_send, sent_messages, surveys


def survey_item(stack: Stack, survey_id: str) -> dict[str, Any]:
    [item] = [item for item in surveys(stack) if item["survey_id"]["S"] == survey_id]
    return item


def sent_with_its_reminder_scheduled(stack: Stack) -> str:
    """Giulia's survey, sent by SendFunction (which schedules its reminder); its id."""
    survey_id = planned(stack)
    assert run_send(stack) == {"batchItemFailures": []}
    stack.drain(stack.send_queue)
    stack.drain(stack.bus_tap)
    return survey_id


def fire_due_schedules(stack: Stack, at: datetime) -> int:
    """What the sandbox's scheduler pump does when ``at`` comes (moto's Scheduler never fires)."""
    clients = stack.clients
    pump = SchedulerPump(
        scheduler_client=clients["scheduler"],
        sqs_client=clients["sqs"],
        events_client=clients["events"],
        sns_client=None,
        groups=[wiring.settings().schedule_group],
        runner=None,  # type: ignore[arg-type]  (the reminder's target is a queue, never a function)
        function_arns={},
        stop=threading.Event(),
    )
    return pump.pump_once(at)


def reminder_schedule(survey_id: str) -> dict[str, Any]:
    schedule: dict[str, Any] = wiring.scheduler_client().get_schedule(
        GroupName=wiring.settings().schedule_group, Name=reminder_schedule_name(survey_id)
    )
    return schedule


def answer_links(message: EmailMessage) -> list[str]:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return [word for word in text.split() if word.startswith("https://surveys.acme.example/s/")]


def test_sending_a_survey_schedules_its_reminder_on_the_send_queue_three_days_later(stack: Stack) -> None:
    before = datetime.now(UTC)
    survey_id = sent_with_its_reminder_scheduled(stack)
    # THEN a one-time schedule will put the reminder's request on the send queue, and deletes itself
    schedule = reminder_schedule(survey_id)
    assert json.loads(schedule["Target"]["Input"]) == {"survey_id": survey_id, "reminder": True}
    assert schedule["Target"]["Arn"].endswith(":" + stack.send_queue.rsplit("/", 1)[1])
    assert schedule["ActionAfterCompletion"] == "DELETE"
    due = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
    # (QuietHours may move it to the next morning in Rome)
    assert before + timedelta(days=3) - timedelta(seconds=1) <= due < before + timedelta(days=4)
    item = survey_item(stack, survey_id)
    assert item["reminder"]["S"] == "scheduled"
    assert item["reminder_scheduled"]["BOOL"] is True


def test_the_fired_reminder_is_one_email_with_the_first_ones_links_in_the_customers_language(
    stack: Stack,
) -> None:
    # GIVEN Giulia's survey was sent and she has not answered
    survey_id = sent_with_its_reminder_scheduled(stack)
    # WHEN the reminder's schedule fires and SendFunction handles the request it queued
    assert fire_due_schedules(stack, datetime.now(UTC) + timedelta(days=4)) == 1
    assert run_send(stack) == {"batchItemFailures": []}
    # THEN she has a second email, a reminder in Italian, with the same answer, unsubscribe and reply links
    first, reminder = sent_messages()
    assert reminder["Subject"].startswith("Promemoria: ")
    assert reminder["Content-Language"] == "it"
    assert reminder["X-Closeloop-Survey-Id"] == survey_id
    assert answer_links(reminder) == answer_links(first)
    assert answer_links(first)
    assert reminder["List-Unsubscribe"] == first["List-Unsubscribe"]
    assert reminder["Reply-To"] == first["Reply-To"]
    # AND it is recorded, with its message id's lookup (so a reply quoting it finds the survey), and announced
    item = survey_item(stack, survey_id)
    assert item["reminder"]["S"] == "sent"
    lookups = [
        entry
        for entry in stack.clients["dynamodb"].scan(TableName=stack.table)["Items"]
        if entry["SK"]["S"] == "MESSAGE" and entry["survey_id"]["S"] == survey_id
    ]
    assert len(lookups) == 2
    [event] = stack.published("Reminder Sent")
    assert event["detail"]["survey_id"] == survey_id
    # AND the schedule is gone, and a second delivery of the request sends nothing more
    assert fire_due_schedules(stack, datetime.now(UTC) + timedelta(days=5)) == 0
    stack.clients["sqs"].send_message(
        QueueUrl=stack.send_queue, MessageBody=json.dumps({"survey_id": survey_id, "reminder": True})
    )
    assert run_send(stack) == {"batchItemFailures": []}
    assert len(sent_messages()) == 2


def test_an_answered_survey_gets_no_reminder_and_the_skip_is_recorded(stack: Stack) -> None:
    # GIVEN Giulia answered her survey after it was sent
    survey_id = sent_with_its_reminder_scheduled(stack)
    survey = wiring.sending_store().get_survey(survey_id)
    assert survey is not None
    answer(survey, 5)
    # WHEN the reminder's schedule fires
    fire_due_schedules(stack, datetime.now(UTC) + timedelta(days=4))
    assert run_send(stack) == {"batchItemFailures": []}
    # THEN no reminder is sent, and the skip is stored and announced with its reason
    assert len(sent_messages()) == 1
    item = survey_item(stack, survey_id)
    assert (item["reminder"]["S"], item["reminder_skip_reason"]["S"]) == ("skipped", "answered")
    [event] = stack.published("Reminder Skipped")
    assert event["detail"]["reason"] == "answered"


def test_a_reopened_ticket_deletes_the_reminders_schedule_and_records_why(stack: Stack) -> None:
    survey_id = sent_with_its_reminder_scheduled(stack)
    # WHEN the helpdesk reopens the ticket
    assert deliver(stack, load_event("canonical/ticket_reopened.json")) == {"batchItemFailures": []}
    # THEN the reminder is skipped (what stops it) and its schedule deleted (what saves a delivery)
    item = survey_item(stack, survey_id)
    assert (item["reminder"]["S"], item["reminder_skip_reason"]["S"]) == ("skipped", "reopened")
    assert fire_due_schedules(stack, datetime.now(UTC) + timedelta(days=4)) == 0
    # AND a request already on its way sends nothing
    stack.clients["sqs"].send_message(
        QueueUrl=stack.send_queue, MessageBody=json.dumps({"survey_id": survey_id, "reminder": True})
    )
    assert run_send(stack) == {"batchItemFailures": []}
    assert len(sent_messages()) == 1


def test_reminder_days_zero_schedules_no_reminder(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_DAYS", "0")
    wiring.reset()
    survey_id = sent_with_its_reminder_scheduled(stack)
    assert fire_due_schedules(stack, datetime.now(UTC) + timedelta(days=30)) == 0
    assert "reminder" not in survey_item(stack, survey_id)


# --- failures before, during and after the SES call: one reminder at most ---------------------------------


def reminder_request(stack: Stack, survey_id: str) -> None:
    stack.clients["sqs"].send_message(
        QueueUrl=stack.send_queue, MessageBody=json.dumps({"survey_id": survey_id, "reminder": True})
    )


def ses_transport_fails(error: type[Exception]) -> list[str]:
    """Every later SendEmail of the function's SES client fails in transport with ``error``."""
    attempts: list[str] = []

    def fail(request: Any, **_: Any) -> None:
        attempts.append(request.url)
        raise error(endpoint_url=request.url)

    wiring.sesv2_client().meta.events.register_first("before-send.sesv2.SendEmail", fail)
    return attempts


def test_a_reminder_ses_never_saw_waits_and_goes_out_once_later(stack: Stack) -> None:
    # GIVEN SES cannot be reached (the request never left: safe to send later)
    survey_id = sent_with_its_reminder_scheduled(stack)
    attempts = ses_transport_fails(ConnectTimeoutError)
    reminder_request(stack, survey_id)
    result = send.lambda_handler(stack.sqs_event(stack.send_queue), LambdaContext())
    # THEN the record comes back with backoff, and the reminder waits
    assert len(result["batchItemFailures"]) == 1
    assert len(attempts) == 1
    assert survey_item(stack, survey_id)["reminder"]["S"] == "scheduled"
    # WHEN SES is back and the request is delivered again THEN one reminder goes out
    wiring.reset()  # a new SES client, without the failing transport
    reminder_request(stack, survey_id)
    assert run_send(stack) == {"batchItemFailures": []}
    assert len(sent_messages()) == 2
    assert survey_item(stack, survey_id)["reminder"]["S"] == "sent"


def test_a_reminder_ses_may_have_sent_is_parked_and_never_sent_again(stack: Stack) -> None:
    # GIVEN SES takes the reminder's request but never answers
    survey_id = sent_with_its_reminder_scheduled(stack)
    attempts = ses_transport_fails(ReadTimeoutError)
    reminder_request(stack, survey_id)
    assert run_send(stack) == {"batchItemFailures": []}
    # THEN it is parked as an unknown outcome, and the reminder stays claimed
    [parked] = stack.drain(stack.send_dlq)
    assert parked["attributes"]["reason"]["StringValue"].startswith("SendOutcomeUnknownError: ")
    assert survey_item(stack, survey_id)["reminder"]["S"] == "sending"
    # WHEN the request is delivered again THEN SES is not called again
    reminder_request(stack, survey_id)
    assert run_send(stack) == {"batchItemFailures": []}
    assert len(attempts) == 1
    assert stack.drain(stack.send_dlq)


def test_a_reminder_sent_but_not_recorded_is_never_sent_again(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN SES sends the reminder, then recording it fails (DynamoDB unavailable)
    survey_id = sent_with_its_reminder_scheduled(stack)
    client = wiring.dynamodb_client()
    real_update = client.update_item

    def fails_to_record(**request: Any) -> Any:
        if "reminder_message_id" in request.get("UpdateExpression", ""):
            raise ConnectionError("table unavailable")
        return real_update(**request)

    monkeypatch.setattr(client, "update_item", fails_to_record)
    reminder_request(stack, survey_id)
    send.lambda_handler(stack.sqs_event(stack.send_queue), LambdaContext())
    assert len(sent_messages()) == 2
    # WHEN the request is delivered again (redrive, or the same message after its visibility timeout)
    monkeypatch.setattr(client, "update_item", real_update)
    reminder_request(stack, survey_id)
    assert run_send(stack) == {"batchItemFailures": []}
    # THEN it is parked as an unknown outcome: the customer got one reminder
    assert len(sent_messages()) == 2
    assert any(
        p["attributes"]["reason"]["StringValue"].startswith("SendOutcomeUnknownError: ")
        for p in stack.drain(stack.send_dlq)
    )


def test_a_concurrent_senders_reminder_claim_is_not_mistaken_for_ours(stack: Stack) -> None:
    survey_id = sent_with_its_reminder_scheduled(stack)
    store = wiring.sending_store()
    store.claim_reminder(survey_id, datetime.now(UTC))
    with pytest.raises(ReminderNotClaimableError):
        store.claim_reminder(survey_id, datetime.now(UTC))


# --- quiet hours, checked again when the request arrives ----------------------------------------------


def test_a_send_arriving_inside_quiet_hours_is_held_on_a_schedule_and_sent_when_they_end(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN Giulia's survey was planned for now, then its request arrived late, inside quiet hours that
    # began an hour ago in Rome and end in two hours
    survey_id = planned(stack)
    rome = datetime.now(ZoneInfo("Europe/Rome"))
    monkeypatch.setenv("QUIET_HOURS", f"{rome - timedelta(hours=1):%H:%M}-{rome + timedelta(hours=2):%H:%M}")
    wiring.reset()
    # WHEN SendFunction handles it
    assert run_send(stack) == {"batchItemFailures": []}
    # THEN nothing is sent or claimed; a one-time schedule puts the same request back when they end
    assert sent_messages() == []
    assert survey_item(stack, survey_id)["status"]["S"] == "planned"
    [held] = [
        schedule
        for schedule in stack.clients["scheduler"].list_schedules(GroupName=wiring.settings().schedule_group)[
            "Schedules"
        ]
        if schedule["Name"].startswith(f"held-survey-{survey_id}-")
    ]
    schedule = wiring.scheduler_client().get_schedule(
        GroupName=wiring.settings().schedule_group, Name=held["Name"]
    )
    assert json.loads(schedule["Target"]["Input"]) == {"survey_id": survey_id}
    # WHEN the schedule fires at their end THEN the survey goes out, once
    stack.drain(stack.send_queue)
    assert fire_due_schedules(stack, datetime.now(UTC) + timedelta(hours=2, minutes=1)) == 1
    monkeypatch.setenv("QUIET_HOURS", "off")  # the clock of this test does not move: now is still "inside"
    wiring.reset()
    assert run_send(stack) == {"batchItemFailures": []}
    assert len(sent_messages()) == 1
    assert survey_item(stack, survey_id)["status"]["S"] == "sent"
