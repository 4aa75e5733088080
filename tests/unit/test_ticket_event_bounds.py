"""Ticket events are checked where they enter: what parses can be planned, whatever a sender puts in it."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closeloop.domain.messages import mailbox_problem
from closeloop.domain.planning import PlanResult
from closeloop.domain.surveys import SkipReason
from closeloop.domain.tickets import InvalidTicketEventError, TicketClosed, parse_ticket_event
from tests import strategies
from tests.conftest import load_event
from tests.fakes import in_memory_domain

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def closed(**detail: Any) -> dict[str, Any]:
    event = load_event("canonical/ticket_closed.json")
    event["detail"].update(detail)
    return event


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00", "1999-12-31T23:59:59+00:00"]
)
def test_a_closed_at_outside_plausible_time_is_a_validation_error_naming_the_bound(moment: str) -> None:
    # GIVEN a Ticket Closed whose closed_at planning's date arithmetic would overflow on (or is absurd)
    # WHEN it is parsed THEN it is refused at the edge, naming the field and the rule
    with pytest.raises(InvalidTicketEventError, match=r"closed_at: Value error, must not be"):
        parse_ticket_event(closed(closed_at=moment))


def test_a_reopened_at_far_in_the_future_is_a_validation_error() -> None:
    event = load_event("canonical/ticket_reopened.json")
    event["detail"]["reopened_at"] = "9999-12-31T23:59:59+00:00"
    with pytest.raises(InvalidTicketEventError, match="reopened_at"):
        parse_ticket_event(event)


@pytest.mark.parametrize(
    "address",
    ["a,b@example.com", 'a"b@example.com', "<a>@example.com", "ü@example.com", "a..b@example.com"],
)
def test_a_ticket_whose_address_can_never_be_mailed_is_skipped_as_invalid_address(address: str) -> None:
    # GIVEN a valid event whose address passes the contract's check but no email header can carry
    domain = in_memory_domain()
    ticket = parse_ticket_event(closed(closed_at=NOW.isoformat(), customer={"email": address}))
    assert isinstance(ticket, TicketClosed)
    # WHEN it is planned
    outcome = domain.planner.plan_followup(ticket, NOW)
    # THEN it is skipped with its own reason, recorded like any other skip, and nothing is scheduled
    assert outcome.result is PlanResult.SKIPPED
    assert outcome.reason is SkipReason.INVALID_ADDRESS
    assert domain.store.skips == [("zendesk#4521", SkipReason.INVALID_ADDRESS)]
    assert domain.store.surveys == {}


def test_a_name_with_line_breaks_is_planned_on_one_line() -> None:
    domain = in_memory_domain()
    ticket = parse_ticket_event(
        closed(closed_at=NOW.isoformat(), customer={"email": "ann@example.com", "name": "Ann\r\nBcc: x"})
    )
    assert isinstance(ticket, TicketClosed)
    outcome = domain.planner.plan_followup(ticket, NOW)
    assert outcome.survey_id is not None
    assert domain.store.surveys[outcome.survey_id].customer_name == "Ann Bcc: x"


# --- property: any JSON a sender may put on the bus --------------------------------------------------

# EventBridge carries JSON text: no NaN.
json_values = strategies.json_values(allow_nan=False, max_leaves=12)
moments = st.one_of(
    st.datetimes(timezones=st.sampled_from([UTC, None]) | st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00", "2025-02-30T00:00:00Z"]),
    st.text(max_size=30),
    st.integers(),
)
addresses = st.one_of(
    st.emails().map(str),
    st.from_regex(r"[^@\s]{1,20}@[^@\s]{1,20}\.[^@\s]{1,6}", fullmatch=True),
    st.text(max_size=40),
)
customers = st.fixed_dictionaries(
    {"email": addresses},
    optional={
        "name": st.none() | st.text(max_size=250),
        "locale": st.none() | st.text(max_size=40) | st.sampled_from(["pt-BR", "it", "xx-YY", "e\u0301n"]),
        "timezone": st.none()
        | st.text(max_size=70)
        | st.sampled_from(["Europe/Rome", "Etc/GMT+12", "Nowhere"]),
    },
)
closed_details = st.fixed_dictionaries(
    {
        "ticket_id": st.one_of(st.text(max_size=140), st.integers(), st.booleans()),
        "helpdesk": st.one_of(st.sampled_from(["zendesk", "freshdesk", "acme-desk"]), st.text(max_size=40)),
        "closed_at": moments,
        "status": st.sampled_from(["solved", "closed", "open"]),
        "customer": customers | json_values,
    },
    optional={
        "subject": st.none() | st.text(max_size=600),
        "tags": st.lists(st.text(max_size=20), max_size=5) | json_values,
        "url": st.none() | st.text(max_size=80),
        "agent": st.none() | st.fixed_dictionaries({}, optional={"id": st.integers(), "name": st.text()}),
        "team": st.none() | st.fixed_dictionaries({}, optional={"id": st.text(), "name": st.text()}),
        "version": st.sampled_from([1, 2, "1"]),
        "extra": json_values,
    },
)
reopened_details = st.fixed_dictionaries(
    {"ticket_id": st.one_of(st.text(max_size=140), st.integers()), "helpdesk": st.text(max_size=40)},
    optional={"reopened_at": moments | st.none()},
)
events = st.one_of(
    closed_details.map(
        lambda d: {"source": "closeloop.tickets", "detail-type": "Ticket Closed", "detail": d}
    ),
    reopened_details.map(
        lambda d: {"source": "closeloop.tickets", "detail-type": "Ticket Reopened", "detail": d}
    ),
    st.fixed_dictionaries(
        {"source": st.text(max_size=20), "detail-type": st.text(max_size=20), "detail": json_values}
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events)
def test_any_event_parses_or_is_refused_and_what_parses_can_be_planned(event: dict[str, Any]) -> None:
    # GIVEN any JSON shape, size, datetime and text a sender may put on the bus
    try:
        ticket = parse_ticket_event(copy.deepcopy(event))
    except InvalidTicketEventError:
        return  # the documented refusal: dead-lettered with its reason
    # WHEN what parsed is planned (or cancelled) THEN nothing but an outcome comes back: no overflow,
    # no unknown zone or locale, no address the mail builder would refuse later
    domain = in_memory_domain()
    if isinstance(ticket, TicketClosed):
        outcome = domain.planner.plan_followup(ticket, NOW)
        if outcome.result is PlanResult.PLANNED:
            assert outcome.survey_id is not None
            assert mailbox_problem(ticket.customer.email) is None
            stored = domain.store.surveys[outcome.survey_id]
            assert mailbox_problem(stored.customer_email, stored.customer_name) is None
    else:
        assert domain.planner.cancel_followup(ticket, NOW) == []
