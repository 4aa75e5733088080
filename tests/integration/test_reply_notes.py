"""The note of an email reply at each helpdesk (the local fake helpdesk over real HTTP): a private note,
the ticket's status left alone, and written once whatever the redeliveries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from closeloop.adapters.helpdesks.freshdesk import FreshdeskClient, FreshdeskCredentials
from closeloop.adapters.helpdesks.generic import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    GenericWebhookReopener,
    verify_signature,
)
from closeloop.adapters.helpdesks.zendesk import ZendeskClient, ZendeskCredentials
from closeloop.domain.helpdesk_errors import HelpdeskRefusedError
from closeloop.domain.reopening import TicketNote
from closeloop.domain.surveys import ResponseSource, Survey, SurveyResponse, SurveyStatus
from closeloop_cli.fake_helpdesk import (
    DEFAULT_FRESHDESK_KEY,
    DEFAULT_ZENDESK_EMAIL,
    DEFAULT_ZENDESK_TOKEN,
    FakeHelpdesk,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SECRET = "generic-webhook-secret"


def a_note(helpdesk: str) -> TicketNote:
    survey = Survey(
        survey_id="3f9c2b7e41d84a0f9e6b5c1d2a7e8f90", helpdesk=helpdesk, ticket_id="4521",
        closed_at=NOW - timedelta(days=1), customer_email="giulia.rossi@example.com", customer_name="Giulia",
        locale="it", timezone="Europe/Rome", survey_type="csat", planned_at=NOW - timedelta(days=1),
        send_at=NOW, expires_at=NOW + timedelta(days=28), status=SurveyStatus.SENT,
    )  # fmt: skip
    reply = SurveyResponse(
        response_id="171b7be2c88b7a885e25ded647663cde", survey_id=survey.survey_id, received_at=NOW,
        score=None, resolved=None, comment="Grazie, ora funziona.", reasons=(), locale="it", negative=False,
        source=ResponseSource.EMAIL,
    )  # fmt: skip
    note = "Ticket: #4521\n> Grazie, ora funziona.\n\ncloseloop-ref: reply-171b7be2c88b7a885e25ded647663cde"
    return TicketNote(survey=survey, response=reply, note=note)


@pytest.fixture
def helpdesk() -> Iterator[FakeHelpdesk]:
    with FakeHelpdesk() as fake:
        yield fake


def test_a_zendesk_note_is_a_private_comment_that_leaves_the_status_alone(helpdesk: FakeHelpdesk) -> None:
    client = ZendeskClient(helpdesk.url, ZendeskCredentials(DEFAULT_ZENDESK_EMAIL, DEFAULT_ZENDESK_TOKEN))
    assert client.add_note(a_note("zendesk")) is True
    assert client.add_note(a_note("zendesk")) is False
    [comment] = helpdesk.zendesk_comments("4521")
    assert comment["public"] is False
    assert "> Grazie, ora funziona." in comment["body"]
    assert helpdesk.zendesk_ticket("4521") == {
        "id": 4521,
        "status": "solved",
        "updated_at": comment["created_at"],
    }


def test_a_closed_zendesk_ticket_takes_no_note(helpdesk: FakeHelpdesk) -> None:
    helpdesk.add_zendesk_ticket({"id": 4521, "status": "closed"})
    client = ZendeskClient(helpdesk.url, ZendeskCredentials(DEFAULT_ZENDESK_EMAIL, DEFAULT_ZENDESK_TOKEN))
    with pytest.raises(HelpdeskRefusedError) as refused:
        client.add_note(a_note("zendesk"))
    assert refused.value.status == 422


def test_a_freshdesk_note_is_private_and_added_once(helpdesk: FakeHelpdesk) -> None:
    helpdesk.add_freshdesk_ticket({"id": 4521, "status": 4})
    client = FreshdeskClient(helpdesk.url, FreshdeskCredentials(DEFAULT_FRESHDESK_KEY))
    assert client.add_note(a_note("freshdesk")) is True
    assert client.add_note(a_note("freshdesk")) is False
    [note] = helpdesk.freshdesk_notes("4521")
    assert note["private"] is True
    assert "&gt; Grazie, ora funziona." in note["body"]
    assert helpdesk.freshdesk_ticket("4521")["status"] == 4  # type: ignore[index]


def test_the_generic_webhook_gets_a_signed_note_with_a_stable_delivery_id(helpdesk: FakeHelpdesk) -> None:
    client = GenericWebhookReopener(f"{helpdesk.url}/hooks/reopen", SECRET)
    assert client.add_note(a_note("acme-desk")) is True
    [request] = helpdesk.webhook_requests()
    assert request.json["type"] == "closeloop.note"
    assert request.json["answer"]["source"] == "email"
    assert request.json["answer"]["comment"] == "Grazie, ora funziona."
    assert request.headers[DELIVERY_HEADER] == "reply-171b7be2c88b7a885e25ded647663cde"
    assert verify_signature(
        SECRET,
        request.headers[TIMESTAMP_HEADER],
        request.body,
        request.headers[SIGNATURE_HEADER],
        time.time(),
    )
