"""What helpdesk payloads mean: Zendesk and Freshdesk events become canonical ticket events."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from closeloop.domain.tickets import TicketClosed, TicketReopened
from closeloop.domain.webhook_errors import UnknownProviderError, WebhookPayloadError, WebhookTooLargeError
from closeloop.domain.webhooks import (
    MAX_EVENT_DETAIL_BYTES,
    MAX_WEBHOOK_BODY_BYTES,
    HelpdeskGroup,
    HelpdeskUser,
    Ignored,
    ZendeskStatusChange,
    event_detail,
    interpret_zendesk_event,
    normalize_freshdesk,
    parse_json_object,
    provider_of,
    zendesk_ticket_closed,
    zendesk_ticket_reopened,
)
from tests.conftest import load_event

BASE_URL = "https://example.zendesk.com"
NOW = datetime(2025, 1, 8, 17, 0, tzinfo=UTC)
REQUESTER = HelpdeskUser(
    id="8447388090500",
    email="giulia.rossi@example.com",
    name="Giulia Rossi",
    locale="it",
    time_zone="Europe/Rome",
)
AGENT = HelpdeskUser(id="8447388090494", email="ana.agent@example.com", name="Ana Agent")
GROUP = HelpdeskGroup(id="8447346622334", name="Returns and damages")


def zendesk_change(name: str) -> ZendeskStatusChange:
    change = interpret_zendesk_event(load_event(f"zendesk/{name}"))
    assert isinstance(change, ZendeskStatusChange)
    return change


def test_zendesk_solved_event_asks_for_a_close_with_the_ids_to_look_up() -> None:
    change = zendesk_change("ticket_solved.json")
    assert (change.action, change.ticket_id, change.status) == ("closed", "5158", "solved")
    assert (change.requester_id, change.assignee_id, change.group_id) == (
        "8447388090500",
        "8447388090494",
        "8447346622334",
    )


def test_zendesk_solved_ticket_becomes_a_complete_ticket_closed_event() -> None:
    # GIVEN a solved event and the requester, assignee and group fetched from the Zendesk API
    change = zendesk_change("ticket_solved.json")
    # WHEN it is normalized
    closed = zendesk_ticket_closed(change, REQUESTER, AGENT, GROUP, BASE_URL)
    # THEN the canonical event describes the ticket, the customer, the agent and the team
    assert closed.model_dump(mode="json", exclude_none=True) == {
        "version": 1,
        "ticket_id": "5158",
        "helpdesk": "zendesk",
        "closed_at": "2025-01-08T16:45:20.987654Z",
        "status": "solved",
        "customer": {
            "email": "giulia.rossi@example.com",
            "name": "Giulia Rossi",
            "locale": "it",
            "timezone": "Europe/Rome",
        },
        "agent": {"id": "8447388090494", "name": "Ana Agent", "email": "ana.agent@example.com"},
        "team": {"id": "8447346622334", "name": "Returns and damages"},
        "subject": "Order 1042 arrived damaged",
        "channel": "web_form",
        "tags": ["damaged_item", "vip"],
        "brand": "8447346621310",
        "url": "https://example.zendesk.com/agent/tickets/5158",
    }


def test_zendesk_ticket_without_assignee_or_group_still_closes() -> None:
    closed = zendesk_ticket_closed(zendesk_change("ticket_solved.json"), REQUESTER, None, None, BASE_URL)
    assert (closed.agent, closed.team) == (None, None)


def test_zendesk_rails_time_zone_is_mapped_to_iana() -> None:
    requester = HelpdeskUser(id="1", email="a@example.com", time_zone="Eastern Time (US & Canada)")
    closed = zendesk_ticket_closed(zendesk_change("ticket_solved.json"), requester, None, None, BASE_URL)
    assert closed.customer.timezone == "America/New_York"


def test_zendesk_unknown_rails_time_zone_is_left_out_rather_than_guessed() -> None:
    requester = HelpdeskUser(id="1", email="a@example.com", time_zone="Middle of Nowhere")
    closed = zendesk_ticket_closed(zendesk_change("ticket_solved.json"), requester, None, None, BASE_URL)
    assert closed.customer.timezone is None


def test_zendesk_ticket_closed_directly_is_announced_with_status_closed() -> None:
    change = zendesk_change("ticket_closed.json")
    closed = zendesk_ticket_closed(change, REQUESTER, None, None, BASE_URL)
    assert closed.status == "closed"


def test_zendesk_solved_ticket_being_archived_as_closed_is_ignored() -> None:
    result = interpret_zendesk_event(load_event("zendesk/ticket_solved_to_closed.json"))
    assert result == Ignored("status changed from solved to closed", "5158")


def test_zendesk_ticket_moved_back_to_open_becomes_ticket_reopened() -> None:
    reopened = zendesk_ticket_reopened(zendesk_change("ticket_reopened.json"))
    assert reopened == TicketReopened(
        ticket_id="5158", helpdesk="zendesk", reopened_at=datetime(2025, 1, 9, 8, 2, 11, 402113, tzinfo=UTC)
    )


def test_zendesk_status_change_to_pending_is_ignored() -> None:
    result = interpret_zendesk_event(load_event("zendesk/ticket_pending.json"))
    assert result == Ignored("status changed from open to pending", "5158")


def test_zendesk_event_that_is_not_a_status_change_is_ignored() -> None:
    result = interpret_zendesk_event(load_event("zendesk/ticket_comment_added.json"))
    assert isinstance(result, Ignored)
    assert result.reason == "event type is not a ticket status change"


def test_zendesk_event_without_detail_is_malformed() -> None:
    payload = load_event("zendesk/ticket_solved.json")
    del payload["detail"]
    with pytest.raises(WebhookPayloadError, match="missing detail"):
        interpret_zendesk_event(payload)


def test_zendesk_event_without_time_is_malformed() -> None:
    payload = load_event("zendesk/ticket_solved.json")
    del payload["time"]
    with pytest.raises(WebhookPayloadError, match="missing event time"):
        interpret_zendesk_event(payload)


def test_zendesk_requester_with_an_invalid_email_is_a_payload_error_without_the_address() -> None:
    requester = HelpdeskUser(id="1", email="giulia.rossi-at-example")
    with pytest.raises(WebhookPayloadError) as raised:
        zendesk_ticket_closed(zendesk_change("ticket_solved.json"), requester, None, None, BASE_URL)
    assert "customer.email" in raised.value.reason
    assert "giulia" not in raised.value.reason


def test_freshdesk_resolved_ticket_becomes_ticket_closed_from_the_payload_alone() -> None:
    result = normalize_freshdesk(load_event("freshdesk/ticket_resolved.json"), NOW)
    assert isinstance(result, TicketClosed)
    assert result.model_dump(mode="json", exclude_none=True) == {
        "version": 1,
        "ticket_id": "2741",
        "helpdesk": "freshdesk",
        "closed_at": "2025-01-08T17:00:00Z",
        "status": "solved",
        "customer": {
            "email": "tran.minh@example.com",
            "name": "Trần Minh",
            "locale": "vi",
            "timezone": "Asia/Bangkok",
        },
        "agent": {"name": "Marta Puig", "email": "marta.puig@example.com"},
        "team": {"name": "Billing"},
        "subject": "Cannot download my invoice",
        "channel": "email",
        "tags": ["billing", "invoice"],
        "url": "https://example.freshdesk.com/a/tickets/2741",
    }


def test_freshdesk_closed_ticket_has_status_closed() -> None:
    result = normalize_freshdesk(load_event("freshdesk/ticket_closed.json"), NOW)
    assert isinstance(result, TicketClosed)
    assert result.status == "closed"


def test_freshdesk_numeric_status_is_understood() -> None:
    payload = load_event("freshdesk/ticket_resolved.json") | {"status": 4}
    result = normalize_freshdesk(payload, NOW)
    assert isinstance(result, TicketClosed)
    assert result.status == "solved"


def test_freshdesk_url_is_built_from_the_base_url_when_the_rule_sends_none() -> None:
    payload = load_event("freshdesk/ticket_resolved.json") | {"url": ""}
    result = normalize_freshdesk(payload, NOW, "https://acme.freshdesk.com")
    assert isinstance(result, TicketClosed)
    assert result.url == "https://acme.freshdesk.com/a/tickets/2741"


def test_freshdesk_reopened_rule_becomes_ticket_reopened() -> None:
    result = normalize_freshdesk(load_event("freshdesk/ticket_reopened.json"), NOW)
    assert result == TicketReopened(ticket_id="2741", helpdesk="freshdesk", reopened_at=NOW)


@pytest.mark.parametrize(
    "ticket_id",
    [10**240, "9" * 300, 1e308],
    ids=["240-digit integer", "300-character id", "float"],
)
def test_a_freshdesk_reopened_rule_with_a_hostile_ticket_id_is_a_payload_error(ticket_id: object) -> None:
    # GIVEN the reopened rule's body with an id no helpdesk issues (found by the fuzzing campaign: a 500)
    payload = load_event("freshdesk/ticket_reopened.json") | {"ticket_id": ticket_id}

    # THEN it is refused with a reason naming the field (a 400), not an unhandled validation error
    with pytest.raises(WebhookPayloadError, match="ticket_id"):
        normalize_freshdesk(payload, NOW)


def test_a_freshdesk_reopened_rule_dated_far_in_the_future_is_a_payload_error() -> None:
    payload = load_event("freshdesk/ticket_reopened.json") | {"occurred_at": "9999-12-31T23:59:59Z"}

    with pytest.raises(WebhookPayloadError, match="reopened_at"):
        normalize_freshdesk(payload, NOW)


def test_freshdesk_open_status_without_the_reopened_event_is_ignored() -> None:
    payload = load_event("freshdesk/ticket_resolved.json") | {"status": "Open"}
    assert normalize_freshdesk(payload, NOW) == Ignored("status open is not resolved or closed", "2741")


def test_freshdesk_payload_without_requester_email_is_malformed() -> None:
    payload = load_event("freshdesk/ticket_resolved.json") | {"requester_email": ""}
    with pytest.raises(WebhookPayloadError, match="missing requester_email"):
        normalize_freshdesk(payload, NOW)


def test_freshdesk_payload_with_a_bad_email_is_malformed_without_echoing_it() -> None:
    payload = load_event("freshdesk/ticket_resolved.json") | {"requester_email": "tran.minh"}
    with pytest.raises(WebhookPayloadError) as raised:
        normalize_freshdesk(payload, NOW)
    assert "not an email address" in raised.value.reason
    assert "tran.minh" not in raised.value.reason


def test_freshdesk_payload_without_ticket_id_is_malformed() -> None:
    payload = load_event("freshdesk/ticket_resolved.json")
    del payload["ticket_id"]
    with pytest.raises(WebhookPayloadError, match="missing ticket_id"):
        normalize_freshdesk(payload, NOW)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_body_that_is_not_a_json_object_is_malformed(body: bytes) -> None:
    with pytest.raises(WebhookPayloadError):
        parse_json_object(body)


def test_unknown_provider_is_refused() -> None:
    with pytest.raises(UnknownProviderError):
        provider_of("servicenow")


# Hostile but well-signed bodies: each is refused with a reason, never a crash (a 500) ---------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "body is nested too deeply"),
        (b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "body is nested too deeply"),
        (b'{"ticket_id": ' + b"9" * 5_000 + b"}", "body is not valid JSON"),  # over int()'s 4300 digits
        (b'{"ticket_id": NaN}', "body holds NaN, which is not a JSON number"),
        (b'{"ticket_id": -Infinity}', "body holds -Infinity, which is not a JSON number"),
    ],
)
def test_a_hostile_body_is_a_payload_error_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookPayloadError) as raised:
        parse_json_object(body)
    assert raised.value.reason == reason


def test_a_body_over_the_limit_is_too_large_before_it_is_parsed() -> None:
    with pytest.raises(WebhookTooLargeError) as raised:
        parse_json_object(b" " * (MAX_WEBHOOK_BODY_BYTES + 1))
    assert raised.value.reason == f"body is over {MAX_WEBHOOK_BODY_BYTES} bytes"


@pytest.mark.parametrize("field", ["ticket_id", "agent_id", "group_id"])
def test_an_integer_beyond_any_float_is_read_as_digits_not_overflowed(field: str) -> None:
    # GIVEN an id of 10**400 (float() of it raised OverflowError: a 500)
    payload = load_event("freshdesk/ticket_resolved.json") | {field: 10**400}
    # WHEN normalized THEN it is read as its digits: an event naming them, or a payload error (ids are
    # bounded in length), never OverflowError
    try:
        result: object = normalize_freshdesk(payload, NOW)
    except WebhookPayloadError as error:
        result = error
    if isinstance(result, WebhookPayloadError):
        assert result.reason.startswith("invalid ticket: ")
    else:
        assert str(10**400) in json.dumps(result.model_dump(mode="json"))  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", ["²", "٤", "4" * 5_000, 10**400])
def test_a_freshdesk_status_that_only_looks_numeric_is_ignored_not_a_crash(status: object) -> None:
    # GIVEN a status str.isdigit() accepts but int() does not (superscripts, other scripts, 5,000 digits)
    payload = load_event("freshdesk/ticket_resolved.json") | {"status": status}
    # WHEN normalized THEN it is just a status closeloop does not act on
    result = normalize_freshdesk(payload, NOW)
    assert isinstance(result, Ignored)
    assert result.reason.endswith("is not resolved or closed")
    assert len(result.reason) < 100


@pytest.mark.parametrize("field", ["requester_id", "assignee_id", "group_id"])
@pytest.mark.parametrize("value", ["../users/1", "12a", "9" * 21, "١٢"])
def test_a_zendesk_id_that_is_not_a_number_is_a_payload_error(field: str, value: str) -> None:
    # GIVEN a solved event whose id could not name a Zendesk user or group (it would reach an API path)
    payload = load_event("zendesk/ticket_solved.json")
    payload["detail"][field] = value
    # WHEN interpreted THEN it is refused for good (a 400), not tried against the API (once a 503)
    with pytest.raises(WebhookPayloadError) as raised:
        interpret_zendesk_event(payload)
    assert raised.value.reason == f"{field} is not a zendesk id"


def test_an_event_too_large_for_the_bus_is_refused_as_too_large() -> None:
    # GIVEN a ticket whose tags make its event larger than EventBridge takes
    tags = [f"tag{index:06d}" for index in range(MAX_EVENT_DETAIL_BYTES // 10)]
    closed = normalize_freshdesk(load_event("freshdesk/ticket_resolved.json") | {"tags": tags}, NOW)
    assert isinstance(closed, TicketClosed)
    # WHEN its detail is built THEN it is refused as too large: permanent, never "retry later"
    with pytest.raises(WebhookTooLargeError):
        event_detail(closed)


def test_an_ordinary_event_detail_is_the_json_model() -> None:
    closed = normalize_freshdesk(load_event("freshdesk/ticket_resolved.json"), NOW)
    assert isinstance(closed, TicketClosed)
    assert event_detail(closed) == closed.model_dump(mode="json", exclude_none=True)


# --- the requester's role: agents and admins are internal (closeloop.domain.eligibility) -----------------


@pytest.mark.parametrize(
    ("role", "canonical"), [("agent", "agent"), ("admin", "admin"), ("end-user", "end-user")]
)
def test_zendesk_requesters_role_reaches_the_event(role: str, canonical: str) -> None:
    # GIVEN a ticket whose requester, as the Zendesk API returns them, has a role
    requester = HelpdeskUser(id="8447388090494", email="ana.agent@example.com", role=role)
    # WHEN it is solved
    result = zendesk_ticket_closed(zendesk_change("ticket_solved.json"), requester, AGENT, GROUP, BASE_URL)
    # THEN the canonical event names the role
    assert result.customer.role == canonical


def test_a_zendesk_role_closeloop_does_not_know_is_left_out() -> None:
    requester = HelpdeskUser(id="1", email="a@example.com", role="light-agent-ish")
    result = zendesk_ticket_closed(zendesk_change("ticket_solved.json"), requester, AGENT, GROUP, BASE_URL)
    assert result.customer.role is None


@pytest.mark.parametrize(("role", "canonical"), [("Agent", "agent"), ("contact", "end-user"), ("", None)])
def test_freshdesk_requester_role_is_read_when_the_payload_carries_it(
    role: str, canonical: str | None
) -> None:
    payload = load_event("freshdesk/ticket_resolved.json") | {"requester_role": role}
    result = normalize_freshdesk(payload, NOW)
    assert isinstance(result, TicketClosed)
    assert result.customer.role == canonical
