"""Who gets a survey, and the reason recorded when someone does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from closeloop.domain.eligibility import EligibilityRules, find_skip_reason, is_unattended_address
from closeloop.domain.surveys import SkipReason
from closeloop.domain.tickets import TicketClosed

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
RULES = EligibilityRules(
    excluded_tags=frozenset({"no_survey", "spam"}), max_ticket_age_days=14, resurvey_after_reopen=False
)


def ticket(**overrides: Any) -> TicketClosed:
    detail: dict[str, Any] = {
        "ticket_id": "4521",
        "helpdesk": "zendesk",
        "closed_at": NOW.isoformat(),
        "status": "solved",
        "customer": {"email": "giulia.rossi@example.com", "name": "Giulia Rossi"},
        "tags": ["billing"],
    }
    return TicketClosed.model_validate(detail | overrides)


def skip(
    t: TicketClosed, *, suppressed: bool = False, surveyed: bool = False, rules: EligibilityRules = RULES
) -> SkipReason | None:
    return find_skip_reason(t, rules, NOW, address_suppressed=suppressed, ticket_already_surveyed=surveyed)


def test_an_ordinary_solved_ticket_is_eligible() -> None:
    assert skip(ticket()) is None


def test_excluded_tag_skips_whatever_its_case() -> None:
    assert skip(ticket(tags=["VIP", "No_Survey"])) is SkipReason.EXCLUDED_TAG


@pytest.mark.parametrize(
    "address",
    [
        "noreply@shop.example",
        "no-reply@shop.example",
        "do_not_reply@x.example",
        "MAILER-DAEMON@mx.example",
        "postmaster@x.example",
        "bounce+123@x.example",
        "donotreply@x.example",
    ],
)
def test_unattended_addresses_are_skipped(address: str) -> None:
    assert is_unattended_address(address)
    assert skip(ticket(customer={"email": address})) is SkipReason.NO_REPLY_ADDRESS


@pytest.mark.parametrize("address", ["noreen@x.example", "replyguy@x.example", "postman@x.example"])
def test_people_whose_names_look_automated_are_still_surveyed(address: str) -> None:
    assert not is_unattended_address(address)


def test_suppressed_address_is_skipped() -> None:
    assert skip(ticket(), suppressed=True) is SkipReason.SUPPRESSED


def test_ticket_solved_longer_ago_than_the_limit_is_stale() -> None:
    assert skip(ticket(closed_at=(NOW - timedelta(days=15)).isoformat())) is SkipReason.STALE


def test_ticket_already_surveyed_is_skipped_unless_resurvey_is_enabled() -> None:
    assert skip(ticket(), surveyed=True) is SkipReason.ALREADY_SURVEYED
    resurvey = EligibilityRules(frozenset(), 14, resurvey_after_reopen=True)
    assert skip(ticket(), surveyed=True, rules=resurvey) is None


# --- internal requesters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_a_requester_who_is_an_agent_of_the_helpdesk_is_skipped(role: str) -> None:
    customer = {"email": "ana.agent@example.com", "role": role}
    assert skip(ticket(customer=customer)) is SkipReason.INTERNAL_REQUESTER


def test_an_end_user_requester_is_surveyed() -> None:
    assert skip(ticket(customer={"email": "giulia.rossi@example.com", "role": "end-user"})) is None


def test_a_ticket_solved_by_its_own_requester_is_skipped_whatever_the_case() -> None:
    # GIVEN an agent who opened a ticket and solved it themselves (no role in the event)
    solved_by_self = ticket(
        customer={"email": "Marta.Puig@acme.example"}, agent={"id": "1", "email": "marta.puig@ACME.example"}
    )
    assert skip(solved_by_self) is SkipReason.INTERNAL_REQUESTER


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("marta@acme.example", True),
        ("marta@ACME.Example", True),
        ("marta@support.acme.example", True),
        ("marta@notacme.example", False),
        ("marta@acme.example.org", False),
        ("acme.example@gmail.com", False),
    ],
)
def test_internal_domains_cover_their_subdomains_and_nothing_else(address: str, internal: bool) -> None:
    rules = EligibilityRules(
        excluded_tags=frozenset(),
        max_ticket_age_days=14,
        resurvey_after_reopen=False,
        internal_domains=frozenset({"acme.example"}),
    )
    reason = skip(ticket(customer={"email": address}), rules=rules)
    assert reason is (SkipReason.INTERNAL_DOMAIN if internal else None)
