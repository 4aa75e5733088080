"""The messages on closeloop's queues: what producers build is what consumers read, and nothing else is.

No AWS: builders and parsers are pure. The queue bodies are a contract across deployments (a message
sent by the old code is read by the new one), so the exact bytes are pinned here.
"""

from __future__ import annotations

import json

import pytest

from closeloop.domain.deliverability import InvalidDeliveryEventError, parse_delivery_event_message
from closeloop.domain.queue_messages import (
    MalformedMessageError,
    MalformedReopenRequestError,
    MalformedSendRequestError,
    ReopenRequest,
    SendRequest,
)
from closeloop.domain.tickets import InvalidTicketEventError, TicketClosed, parse_ticket_event_message
from tests.conftest import load_event

SURVEY_ID = "0f8e9a4c1b2d4e6f8a0b1c2d3e4f5a6b"
RESPONSE_ID = "9a8b7c6d5e4f30211f2e3d4c5b6a7980"
# Bodies as earlier versions sent them (json.dumps with its default separators): still in flight during a
# deployment, so they must keep parsing, and new producers keep sending the same bytes.
SEND_BODY = '{"survey_id": "0f8e9a4c1b2d4e6f8a0b1c2d3e4f5a6b"}'
REOPEN_BODY = (
    '{"survey_id": "0f8e9a4c1b2d4e6f8a0b1c2d3e4f5a6b", "response_id": "9a8b7c6d5e4f30211f2e3d4c5b6a7980"}'
)


def test_a_send_request_is_built_as_it_always_was() -> None:
    assert SendRequest(SURVEY_ID).to_body() == SEND_BODY


def test_a_reminder_request_names_its_survey_and_asks_for_the_reminder() -> None:
    request = SendRequest(SURVEY_ID, reminder=True)
    assert json.loads(request.to_body()) == {"survey_id": SURVEY_ID, "reminder": True}
    assert SendRequest.from_body(request.to_body()) == request


def test_a_send_request_whose_reminder_is_not_a_boolean_is_refused() -> None:
    with pytest.raises(MalformedSendRequestError, match="reminder is not true or false"):
        SendRequest.from_body(json.dumps({"survey_id": SURVEY_ID, "reminder": "yes"}))


def test_a_reopen_request_is_built_as_it_always_was() -> None:
    assert ReopenRequest(SURVEY_ID, RESPONSE_ID).to_body() == REOPEN_BODY


def test_a_send_request_reads_back_what_was_built() -> None:
    assert SendRequest.from_body(SendRequest(SURVEY_ID).to_body()) == SendRequest(SURVEY_ID)


def test_a_reopen_request_reads_back_what_was_built() -> None:
    request = ReopenRequest(SURVEY_ID, RESPONSE_ID)
    assert ReopenRequest.from_body(request.to_body()) == request


def test_fields_a_later_version_adds_are_ignored() -> None:
    # GIVEN a body from a newer producer, with a field this version does not know, in compact JSON
    body = json.dumps({"response_id": RESPONSE_ID, "survey_id": SURVEY_ID, "v": 2}, separators=(",", ":"))
    # THEN both messages read the fields they know
    assert SendRequest.from_body(body) == SendRequest(SURVEY_ID)
    assert ReopenRequest.from_body(body) == ReopenRequest(SURVEY_ID, RESPONSE_ID)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "the body is not JSON (Expecting value at character 0)"),
        ("[" * 100_000, "the body is JSON closeloop cannot read (RecursionError)"),
        ("1" * 5_000, "the body is JSON closeloop cannot read (ValueError)"),
        ('["survey_id"]', "the body is a JSON list, not an object"),
        ('"survey_id"', "the body is a JSON str, not an object"),
        ("{}", "survey_id is missing"),
        ('{"survey": "x"}', "survey_id is missing"),
        ('{"survey_id": ""}', "survey_id is not a non-empty string"),
        ('{"survey_id": 42}', "survey_id is not a non-empty string"),
        ('{"survey_id": null}', "survey_id is not a non-empty string"),
    ],
)
def test_a_body_that_is_no_send_request_is_refused_saying_what_is_wrong(body: str, problem: str) -> None:
    with pytest.raises(MalformedSendRequestError) as refused:
        SendRequest.from_body(body)
    assert str(refused.value) == f'{problem}: {{"survey_id": "...", "reminder"?: true}}'


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('{"survey_id": "s"}', "response_id is missing"),
        ('{"response_id": "r"}', "survey_id is missing"),
        ('{"survey_id": "s", "response_id": ["r"]}', "response_id is not a non-empty string"),
    ],
)
def test_a_body_that_is_no_reopen_request_is_refused_saying_what_is_wrong(body: str, problem: str) -> None:
    with pytest.raises(MalformedReopenRequestError) as refused:
        ReopenRequest.from_body(body)
    assert str(refused.value).startswith(f"{problem}: ")


def test_a_refusal_never_repeats_the_body() -> None:
    # GIVEN bodies holding a customer's address where ids belong, or beside broken JSON
    bodies = [
        '{"survey_id": {"email": "giulia.rossi@example.com"}}',
        '{"survey_id": "x", "response_id": "giulia.rossi@example.com"',
        '"giulia.rossi@example.com"',
    ]
    for body in bodies:
        for parse in (SendRequest.from_body, ReopenRequest.from_body):
            # WHEN it is refused THEN the reason names the problem, not the address
            with pytest.raises(MalformedMessageError) as refused:
                parse(body)
            assert "giulia" not in str(refused.value)


def test_the_plan_queue_reads_the_ticket_event_as_eventbridge_delivers_it() -> None:
    body = json.dumps(load_event("canonical/ticket_closed.json"))
    assert isinstance(parse_ticket_event_message(body), TicketClosed)


def test_the_delivery_queue_reads_the_ses_event_as_eventbridge_delivers_it() -> None:
    body = json.dumps(load_event("ses/bounce_permanent.json"))
    assert parse_delivery_event_message(body).event_type == "Bounce"


@pytest.mark.parametrize("body", ["not json", "[]", '"Ticket Closed"', "[" * 100_000])
def test_a_plan_queue_body_that_is_no_json_object_is_an_invalid_ticket_event(body: str) -> None:
    with pytest.raises(InvalidTicketEventError, match=r"^the body is"):
        parse_ticket_event_message(body)


def test_a_ticket_event_whose_detail_type_is_not_text_is_an_invalid_ticket_event() -> None:
    event = load_event("canonical/ticket_closed.json") | {"detail-type": ["Ticket Closed"]}
    with pytest.raises(InvalidTicketEventError, match="not a ticket event"):
        parse_ticket_event_message(json.dumps(event))


@pytest.mark.parametrize("body", ["not json", "[]", "null"])
def test_a_delivery_queue_body_that_is_no_json_object_is_an_invalid_delivery_event(body: str) -> None:
    with pytest.raises(InvalidDeliveryEventError, match=r"^the body is"):
        parse_delivery_event_message(body)
