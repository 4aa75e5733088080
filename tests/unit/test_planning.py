"""FollowUpPlanner: a solved ticket becomes one stored, scheduled survey, or a skip with its reason.

Over the in-memory adapters (``closeloop_cli.in_memory``), which keep the repository's conditional rules,
with the production defaults (one-day delay, quiet hours 21:00-08:00, 30-day throttle) unless a test
says otherwise. The integration tests (``tests/integration/test_plan_handler.py``) run the same rules
against DynamoDB on moto.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from closeloop.domain.planning import PlanResult
from closeloop.domain.policies import FixedRules, RulesDocument, RulesUnavailableError, parse_rules_document
from closeloop.domain.surveys import SkipReason, SurveyStatus, SurveyType
from closeloop.domain.tickets import TicketClosed, TicketReopened, parse_ticket_event
from closeloop.domain.timing import QuietHours
from tests.conftest import load_event
from tests.fakes import InMemoryDomain, InMemorySurveyStore, in_memory_domain

# An afternoon in Rome (UTC+1 in November), outside the default quiet hours; in the past, since a ticket
# event may not be solved more than a day after the wall clock.
NOW = datetime(2025, 11, 20, 16, 0, tzinfo=UTC)
SOLVED_AT = NOW - timedelta(minutes=5)
ADDRESS = "giulia.rossi@example.com"


def solved(closed_at: datetime = SOLVED_AT, **detail: Any) -> TicketClosed:
    """The canonical Ticket Closed example (Giulia Rossi, it-IT, Europe/Rome), solved at ``closed_at``."""
    event = load_event("canonical/ticket_closed.json")
    event["detail"] |= {"closed_at": closed_at.isoformat(), **detail}
    ticket = parse_ticket_event(event)
    assert isinstance(ticket, TicketClosed)
    return ticket


def reopened(ticket_id: str = "4521") -> TicketReopened:
    event = load_event("canonical/ticket_reopened.json")
    event["detail"]["ticket_id"] = ticket_id
    reopen = parse_ticket_event(event)
    assert isinstance(reopen, TicketReopened)
    return reopen


def mark_sent(domain: InMemoryDomain, survey_id: str) -> None:
    """The survey went out (what SurveySender records), without rendering an email."""
    domain.store.claim_for_sending(survey_id, NOW)
    domain.store.mark_sent(survey_id, "message-1", NOW, NOW + timedelta(days=28))


def published_types(domain: InMemoryDomain) -> list[str]:
    return [detail_type for detail_type, _ in domain.publisher.events]


# --- a survey for an eligible solve, once ---------------------------------------------------------------


def test_an_eligible_solved_ticket_becomes_one_stored_scheduled_and_announced_survey() -> None:
    # GIVEN the production defaults
    domain = in_memory_domain()
    # WHEN a solved ticket is planned
    outcome = domain.planner.plan_followup(solved(), NOW)
    # THEN one survey waits to be sent, scheduled for its send time
    assert outcome.result is PlanResult.PLANNED
    assert outcome.survey_id is not None
    survey = domain.store.surveys[outcome.survey_id]
    assert survey.status is SurveyStatus.PLANNED
    assert survey.scheduled
    assert domain.scheduler.scheduled == {outcome.survey_id: survey.send_at}
    assert outcome.send_at == survey.send_at
    # AND one Survey Planned names it, with the agent and team ids for reports
    [planned] = domain.publisher.of("Survey Planned")
    assert planned["survey_id"] == outcome.survey_id
    assert (planned["ticket_id"], planned["helpdesk"]) == ("4521", "zendesk")
    assert (planned["agent_id"], planned["team_id"]) == ("361245", "20455932")
    assert planned["survey_type"] == "csat"


def test_the_survey_keeps_the_customer_ticket_agent_and_team_as_they_were_at_solve_time() -> None:
    domain = in_memory_domain()

    outcome = domain.planner.plan_followup(solved(), NOW)

    assert outcome.survey_id is not None
    survey = domain.store.surveys[outcome.survey_id]
    assert (survey.customer_email, survey.customer_name, survey.locale, survey.timezone) == (
        ADDRESS,
        "Giulia Rossi",
        "it-IT",
        "Europe/Rome",
    )
    assert (survey.ticket_key, survey.closed_at, survey.subject, survey.brand) == (
        "zendesk#4521",
        SOLVED_AT,
        "Doppio addebito sulla fattura di ottobre",
        "Acme",
    )
    assert survey.agent == {"id": "361245", "name": "Marta Puig", "email": "marta.puig@acme.example"}
    assert survey.team == {"id": "20455932", "name": "Billing"}
    assert survey.tags == ("billing", "refund")
    assert survey.planned_at == NOW


def test_the_survey_is_of_the_deployments_survey_type() -> None:
    survey_type: SurveyType = "nps"
    domain = in_memory_domain(survey_type=survey_type)

    outcome = domain.planner.plan_followup(solved(), NOW)

    assert outcome.survey_id is not None
    assert domain.store.surveys[outcome.survey_id].survey_type == "nps"
    assert domain.publisher.of("Survey Planned")[0]["survey_type"] == "nps"


def test_the_same_solve_delivered_again_plans_nothing_more() -> None:
    # GIVEN a solve already planned
    domain = in_memory_domain()
    first = domain.planner.plan_followup(solved(), NOW)
    # WHEN the same event arrives twice more (EventBridge and SQS deliver at least once)
    again = [domain.planner.plan_followup(solved(), NOW + timedelta(minutes=1)) for _ in range(2)]
    # THEN each redelivery is a duplicate of the same survey: one stored, one scheduled, one announced
    assert [outcome.result for outcome in again] == [PlanResult.DUPLICATE, PlanResult.DUPLICATE]
    assert {outcome.survey_id for outcome in again} == {first.survey_id}
    assert list(domain.store.surveys) == [first.survey_id]
    assert list(domain.scheduler.scheduled) == [first.survey_id]
    assert published_types(domain) == ["Survey Planned"]


def test_a_skipped_solve_delivered_again_is_a_duplicate_that_keeps_its_reason() -> None:
    domain = in_memory_domain()
    domain.planner.plan_followup(solved(tags=["spam"]), NOW)

    again = domain.planner.plan_followup(solved(tags=["spam"]), NOW)

    assert (again.result, again.reason) == (PlanResult.DUPLICATE, SkipReason.EXCLUDED_TAG)
    assert domain.store.skips == [("zendesk#4521", SkipReason.EXCLUDED_TAG)]
    assert published_types(domain) == ["Survey Skipped"]


class RaceLostStore(InMemorySurveyStore):
    """Answers ``find_close`` as read just before a concurrent delivery of the same solve was stored."""

    def __init__(self) -> None:
        super().__init__()
        self.concurrent_delivery: Callable[[], object] | None = None

    def find_close(self, ticket_key: str, closed_at: datetime) -> Any:
        earlier = super().find_close(ticket_key, closed_at)
        if self.concurrent_delivery is not None:
            deliver, self.concurrent_delivery = self.concurrent_delivery, None
            deliver()
        return earlier


@pytest.mark.parametrize(
    ("tags", "announced"), [([], "Survey Planned"), (["spam"], "Survey Skipped")], ids=["planned", "skipped"]
)
def test_two_deliveries_of_one_solve_at_the_same_moment_yield_one_outcome(
    tags: list[str], announced: str
) -> None:
    # GIVEN a delivery that found no earlier outcome, while a concurrent one stores its outcome first
    store = RaceLostStore()
    domain = in_memory_domain(store=store)
    store.concurrent_delivery = lambda: domain.planner.plan_followup(solved(tags=tags), NOW)
    # WHEN it goes on to store its own
    outcome = domain.planner.plan_followup(solved(tags=tags), NOW)
    # THEN the store's condition refuses it: a duplicate, and only the first outcome was announced
    assert outcome.result is PlanResult.DUPLICATE
    assert len(domain.store.surveys) + len(domain.store.skips) == 1
    assert len(domain.scheduler.scheduled) == len(domain.store.surveys)
    assert published_types(domain) == [announced]


def test_a_survey_stored_but_never_scheduled_is_scheduled_when_the_event_comes_back() -> None:
    # GIVEN the scheduler fails once, after the survey was stored (an outage, a timeout, a crash)
    domain = in_memory_domain()
    schedule = domain.scheduler.schedule_send
    failures = [RuntimeError("scheduler unavailable")]

    def flaky(*args: Any) -> None:
        if failures:
            raise failures.pop()
        schedule(*args)

    domain.scheduler.schedule_send = flaky  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="scheduler unavailable"):
        domain.planner.plan_followup(solved(), NOW)
    [survey_id] = domain.store.surveys
    assert not domain.store.surveys[survey_id].scheduled
    # WHEN the event is delivered again
    outcome = domain.planner.plan_followup(solved(), NOW)
    # THEN the stored survey is scheduled and announced, once, and no second survey is made
    assert (outcome.result, outcome.survey_id) == (PlanResult.RESUMED, survey_id)
    assert domain.store.surveys[survey_id].scheduled
    assert list(domain.scheduler.scheduled) == [survey_id]
    assert [detail["survey_id"] for detail in domain.publisher.of("Survey Planned")] == [survey_id]
    # AND a further delivery is an ordinary duplicate
    assert domain.planner.plan_followup(solved(), NOW).result is PlanResult.DUPLICATE


# --- who gets no survey, and why ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        ({"tags": ["billing", "SPAM"]}, SkipReason.EXCLUDED_TAG),
        ({"tags": ["no_survey"]}, SkipReason.EXCLUDED_TAG),
        ({"customer": {"email": "no-reply@shop.example"}}, SkipReason.NO_REPLY_ADDRESS),
        ({"customer": {"email": "a,b@example.com"}}, SkipReason.INVALID_ADDRESS),
        ({"closed_at": NOW - timedelta(days=15)}, SkipReason.STALE),
    ],
    ids=["excluded-tag-any-case", "no-survey-tag", "no-reply", "invalid-address", "stale"],
)
def test_an_ineligible_solve_is_recorded_and_announced_with_its_reason_and_nothing_is_scheduled(
    detail: dict[str, Any], reason: SkipReason
) -> None:
    # GIVEN the default rules (tags no_survey and spam excluded, tickets older than 14 days stale)
    domain = in_memory_domain()
    # WHEN a solve that breaks one of them is planned
    outcome = domain.planner.plan_followup(solved(**detail), NOW)
    # THEN it is a skip with its reason, stored as the solve's outcome
    assert (outcome.result, outcome.reason, outcome.survey_id) == (PlanResult.SKIPPED, reason, None)
    assert domain.store.skips == [("zendesk#4521", reason)]
    # AND nothing is stored or scheduled, and one Survey Skipped says why (without the address)
    assert domain.store.surveys == {}
    assert domain.scheduler.scheduled == {}
    [skipped] = domain.publisher.events
    assert skipped == (
        "Survey Skipped",
        {"version": 1, "helpdesk": "zendesk", "ticket_id": "4521", "reason": reason.value, "rule": None},
    )


def test_the_deployments_excluded_tags_replace_the_defaults() -> None:
    domain = in_memory_domain(excluded_tags=frozenset({"vip"}))

    assert domain.planner.plan_followup(solved(tags=["VIP"]), NOW).reason is SkipReason.EXCLUDED_TAG
    assert domain.planner.plan_followup(solved(ticket_id="4600", tags=["spam"]), NOW).result is (
        PlanResult.PLANNED
    )


def test_a_suppressed_address_is_skipped_whatever_its_case() -> None:
    # GIVEN Giulia unsubscribed (or her mail bounced, or she complained)
    domain = in_memory_domain()
    domain.store.suppress(ADDRESS)
    # WHEN a ticket of hers is solved, her address written in capitals
    outcome = domain.planner.plan_followup(solved(customer={"email": "Giulia.Rossi@Example.com"}), NOW)
    # THEN she gets no survey
    assert (outcome.result, outcome.reason) == (PlanResult.SKIPPED, SkipReason.SUPPRESSED)
    assert domain.store.surveys == {}


def test_a_ticket_surveyed_before_is_not_surveyed_again_when_solved_again() -> None:
    # GIVEN a ticket whose survey was sent, and no customer throttle in the way
    domain = in_memory_domain(throttle_days=0)
    first = domain.planner.plan_followup(solved(), NOW)
    assert first.survey_id is not None
    mark_sent(domain, first.survey_id)
    # WHEN it is reopened and solved again
    again = domain.planner.plan_followup(solved(NOW + timedelta(days=2)), NOW + timedelta(days=2))
    # THEN the second solve is skipped: the customer already had this ticket's survey
    assert (again.result, again.reason) == (PlanResult.SKIPPED, SkipReason.ALREADY_SURVEYED)


def test_a_ticket_solved_again_is_surveyed_again_when_the_deployment_resurveys_after_reopen() -> None:
    domain = in_memory_domain(throttle_days=0, resurvey_after_reopen=True)
    first = domain.planner.plan_followup(solved(), NOW)
    assert first.survey_id is not None
    mark_sent(domain, first.survey_id)

    again = domain.planner.plan_followup(solved(NOW + timedelta(days=2)), NOW + timedelta(days=2))

    assert again.result is PlanResult.PLANNED
    assert again.survey_id != first.survey_id


# --- the customer throttle ------------------------------------------------------------------------------


def test_a_customer_surveyed_recently_is_throttled_across_tickets() -> None:
    # GIVEN a survey planned for Giulia's ticket 4521
    domain = in_memory_domain()
    domain.planner.plan_followup(solved(), NOW)
    # WHEN another of her tickets is solved the next day, her address written in capitals
    other = solved(NOW + timedelta(days=1), ticket_id="4600", customer={"email": "GIULIA.ROSSI@example.com"})
    outcome = domain.planner.plan_followup(other, NOW + timedelta(days=1))
    # THEN it is skipped as throttled: one survey per customer per throttle period
    assert (outcome.result, outcome.reason) == (PlanResult.SKIPPED, SkipReason.THROTTLED)
    assert len(domain.store.surveys) == 1
    assert domain.store.skips == [("zendesk#4600", SkipReason.THROTTLED)]
    assert domain.publisher.of("Survey Skipped")[0]["reason"] == "throttled"


@pytest.mark.parametrize(("days", "result"), [(29, PlanResult.SKIPPED), (31, PlanResult.PLANNED)])
def test_the_throttle_lasts_the_configured_number_of_days_from_planning(
    days: int, result: PlanResult
) -> None:
    domain = in_memory_domain(throttle_days=30)
    domain.planner.plan_followup(solved(), NOW)
    later = NOW + timedelta(days=days)

    outcome = domain.planner.plan_followup(solved(later - timedelta(minutes=5), ticket_id="4600"), later)

    assert outcome.result is result


def test_a_throttle_of_zero_days_surveys_every_ticket() -> None:
    domain = in_memory_domain(throttle_days=0)
    domain.planner.plan_followup(solved(), NOW)

    outcome = domain.planner.plan_followup(solved(ticket_id="4600"), NOW)

    assert outcome.result is PlanResult.PLANNED
    assert len(domain.store.surveys) == 2


# --- when the survey goes out ---------------------------------------------------------------------------


def test_the_survey_is_sent_the_configured_delay_after_the_solve_and_taken_for_its_expiry() -> None:
    # GIVEN the default one-day delay and 28-day expiry; 16:55 in Rome tomorrow is outside quiet hours
    domain = in_memory_domain()
    # WHEN the ticket solved five minutes ago is planned
    outcome = domain.planner.plan_followup(solved(), NOW)
    # THEN it is sent a day after the solve, and answers are taken for 28 days from then
    assert outcome.survey_id is not None
    survey = domain.store.surveys[outcome.survey_id]
    assert survey.send_at == SOLVED_AT + timedelta(days=1)
    assert survey.expires_at == survey.send_at + timedelta(days=28)


def test_a_survey_due_in_the_customers_quiet_hours_waits_for_their_end_in_the_customers_zone() -> None:
    # GIVEN no delay, and quiet hours 21:00-08:00
    domain = in_memory_domain(follow_up_delay_minutes=0, quiet_hours=QuietHours.parse("21:00-08:00"))
    # WHEN a ticket is solved at 21:30 in Rome (20:30 UTC)
    late = datetime(2025, 11, 20, 20, 30, tzinfo=UTC)
    outcome = domain.planner.plan_followup(solved(late), late)
    # THEN the survey goes out at 08:00 the next morning in Rome (07:00 UTC)
    assert outcome.send_at == datetime(2025, 11, 21, 7, 0, tzinfo=UTC)


def test_a_customer_without_a_known_time_zone_gets_the_deployments_default_zone() -> None:
    # GIVEN no delay, quiet hours 21:00-08:00 and New York as the deployment's default zone
    domain = in_memory_domain(
        follow_up_delay_minutes=0,
        quiet_hours=QuietHours.parse("21:00-08:00"),
        default_timezone="America/New_York",
    )
    # WHEN a customer whose zone the helpdesk got wrong is solved at 03:00 UTC (22:00 in New York)
    solved_at = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)
    ticket = solved(solved_at, customer={"email": ADDRESS, "timezone": "Mars/Olympus_Mons"})
    outcome = domain.planner.plan_followup(ticket, solved_at)
    # THEN the survey keeps New York as its zone and waits for 08:00 there (13:00 UTC)
    assert outcome.survey_id is not None
    assert domain.store.surveys[outcome.survey_id].timezone == "America/New_York"
    assert outcome.send_at == datetime(2025, 11, 20, 13, 0, tzinfo=UTC)


def test_a_solve_that_arrives_after_its_delay_is_sent_now_not_in_the_past() -> None:
    domain = in_memory_domain(quiet_hours=QuietHours.parse("off"))
    solved_two_days_ago = solved(NOW - timedelta(days=2))

    outcome = domain.planner.plan_followup(solved_two_days_ago, NOW)

    assert outcome.send_at == NOW


# --- a reopen before the send ---------------------------------------------------------------------------


def test_a_reopen_before_the_send_cancels_the_survey_and_its_schedule_and_announces_it() -> None:
    # GIVEN a planned survey
    domain = in_memory_domain()
    survey_id = domain.planner.plan_followup(solved(), NOW).survey_id
    # WHEN the ticket is reopened
    cancelled = domain.planner.cancel_followup(reopened(), NOW)
    # THEN the survey is cancelled and unscheduled, and one Survey Cancelled says so
    assert cancelled == [survey_id]
    assert survey_id is not None
    assert domain.store.surveys[survey_id].status is SurveyStatus.CANCELLED
    assert domain.scheduler.scheduled == {}
    assert domain.publisher.of("Survey Cancelled") == [
        {
            "version": 1,
            "helpdesk": "zendesk",
            "ticket_id": "4521",
            "survey_id": survey_id,
            "reason": "ticket_reopened",
        }
    ]


def test_a_cancelled_survey_frees_the_customers_throttle() -> None:
    domain = in_memory_domain()
    domain.planner.plan_followup(solved(), NOW)
    domain.planner.cancel_followup(reopened(), NOW)

    outcome = domain.planner.plan_followup(solved(ticket_id="4600"), NOW)

    assert outcome.result is PlanResult.PLANNED


def test_a_redelivered_reopen_cancels_nothing_more() -> None:
    domain = in_memory_domain()
    domain.planner.plan_followup(solved(), NOW)
    domain.planner.cancel_followup(reopened(), NOW)

    assert domain.planner.cancel_followup(reopened(), NOW) == []
    assert len(domain.publisher.of("Survey Cancelled")) == 1


def test_a_reopen_after_the_send_leaves_the_sent_survey_alone() -> None:
    domain = in_memory_domain()
    survey_id = domain.planner.plan_followup(solved(), NOW).survey_id
    assert survey_id is not None
    mark_sent(domain, survey_id)

    assert domain.planner.cancel_followup(reopened(), NOW) == []
    assert domain.store.surveys[survey_id].status is SurveyStatus.SENT
    assert domain.publisher.of("Survey Cancelled") == []


def test_a_reopen_of_another_ticket_cancels_nothing() -> None:
    domain = in_memory_domain()
    survey_id = domain.planner.plan_followup(solved(), NOW).survey_id
    assert survey_id is not None

    assert domain.planner.cancel_followup(reopened("9999"), NOW) == []
    assert domain.store.surveys[survey_id].status is SurveyStatus.PLANNED


# --- policies: the rules document, internal requesters, sampling ----------------------------------------


def rules(text: str) -> FixedRules:
    return FixedRules(parse_rules_document(text))


def test_the_survey_records_the_rule_and_policy_that_applied() -> None:
    # GIVEN a rule for the Billing team (the canonical ticket's) asking NPS, sooner, from another name
    domain = in_memory_domain(
        rules=rules(
            '{"version": 1, "rules": [{"name": "billing", "match": {"team": "Billing"}, "survey_type": "nps",'
            ' "delay_minutes": 60, "sender_name": "Billing desk", "negative_answer": "alert"}]}'
        )
    )
    # WHEN a Billing ticket is planned (an afternoon in Rome: no quiet hours in the way)
    outcome = domain.planner.plan_followup(solved(), NOW)
    # THEN the survey asks NPS an hour after the solve, and remembers the rule and its policy
    assert outcome.survey_id is not None
    assert outcome.rule == "billing"
    survey = domain.store.surveys[outcome.survey_id]
    assert (survey.survey_type, survey.send_at) == ("nps", SOLVED_AT + timedelta(minutes=60))
    assert (survey.rule, survey.negative_answer, survey.sender_name) == ("billing", "alert", "Billing desk")
    [planned] = domain.publisher.of("Survey Planned")
    assert (planned["survey_type"], planned["rule"], planned["negative_answer"]) == (
        "nps",
        "billing",
        "alert",
    )


def test_without_a_matching_rule_the_global_negative_answer_policy_is_recorded() -> None:
    domain = in_memory_domain(negative_answer_policy="note")
    outcome = domain.planner.plan_followup(solved(), NOW)
    assert outcome.survey_id is not None
    survey = domain.store.surveys[outcome.survey_id]
    assert (survey.rule, survey.negative_answer, survey.sender_name) == (None, "note", None)


def test_a_rule_that_says_no_survey_skips_with_its_reason() -> None:
    domain = in_memory_domain(
        rules=rules(
            '{"version": 1, "rules": [{"name": "no-email", "match": {"channel": "email"}, "survey": false}]}'
        )
    )
    outcome = domain.planner.plan_followup(solved(), NOW)
    assert (outcome.result, outcome.reason, outcome.rule) == (
        PlanResult.SKIPPED,
        SkipReason.RULE_NO_SURVEY,
        "no-email",
    )
    [skipped] = domain.publisher.of("Survey Skipped")
    assert (skipped["reason"], skipped["rule"]) == ("rule_no_survey", "no-email")


def test_an_agent_requester_and_an_internal_domain_are_skipped_and_published() -> None:
    domain = in_memory_domain(internal_domains=frozenset({"acme.example"}))
    agent = domain.planner.plan_followup(
        solved(ticket_id="1", customer={"email": "ana.agent@example.com", "role": "agent"}), NOW
    )
    colleague = domain.planner.plan_followup(
        solved(ticket_id="2", customer={"email": "luca@eu.acme.example"}), NOW
    )
    assert (agent.reason, colleague.reason) == (SkipReason.INTERNAL_REQUESTER, SkipReason.INTERNAL_DOMAIN)
    assert [event["reason"] for event in domain.publisher.of("Survey Skipped")] == [
        "internal_requester",
        "internal_domain",
    ]


def test_a_sampled_team_surveys_its_share_and_redeliveries_agree() -> None:
    # GIVEN the Billing team sampled at 30 %, and no throttle (each ticket a different customer anyway)
    domain = in_memory_domain(
        rules=rules(
            '{"version": 1, "rules": [{"name": "billing", "match": {"team": "Billing"}, "sample": 0.3}]}'
        ),
    )
    tickets = [solved(ticket_id=str(n), customer={"email": f"c{n}@example.com"}) for n in range(400)]
    # WHEN 400 tickets are planned, then every event is delivered again
    first = [domain.planner.plan_followup(t, NOW) for t in tickets]
    again = [domain.planner.plan_followup(t, NOW) for t in tickets]
    # THEN about 30 % are planned, the rest skipped as sampled out, and the redeliveries change nothing
    planned = [o for o in first if o.result is PlanResult.PLANNED]
    sampled_out = [o for o in first if o.reason is SkipReason.SAMPLED_OUT]
    assert len(planned) + len(sampled_out) == 400
    assert 0.25 <= len(planned) / 400 <= 0.35
    assert all(o.result is PlanResult.DUPLICATE for o in again)
    assert len(domain.store.surveys) == len(planned)
    # AND a fresh deployment decides exactly the same tickets
    other = in_memory_domain(
        rules=rules(
            '{"version": 1, "rules": [{"name": "billing", "match": {"team": "Billing"}, "sample": 0.3}]}'
        ),
    )
    assert [other.planner.plan_followup(t, NOW).result for t in tickets] == [o.result for o in first]


def test_planning_waits_when_no_valid_rules_document_was_read() -> None:
    class Unavailable:
        def current(self) -> RulesDocument:
            raise RulesUnavailableError("rules parameter unreadable")

    domain = in_memory_domain(rules=Unavailable())
    with pytest.raises(RulesUnavailableError):
        domain.planner.plan_followup(solved(), NOW)
    # nothing was recorded, so the retried event plans normally
    assert not domain.store.surveys
    assert not domain.publisher.events


def test_the_rules_sender_name_is_the_from_name_of_the_survey_email() -> None:
    # GIVEN a rule giving the Billing team's surveys their own sender name, and no delay
    domain = in_memory_domain(
        rules=rules(
            '{"version": 1, "rules": [{"name": "billing", "match": {"team": "Billing"},'
            ' "sender_name": "Acme Billing"}]}'
        ),
        follow_up_delay_minutes=0,
        quiet_hours=QuietHours.parse("off"),
    )
    outcome = domain.planner.plan_followup(solved(), NOW)
    assert outcome.survey_id is not None
    # WHEN the survey is sent
    domain.sender.send_survey(outcome.survey_id, NOW)
    # THEN it comes from the rule's name, at the deployment's address
    [email] = domain.mailer.sent
    assert email.sender_name == "Acme Billing"
    assert "Acme Billing" in email.text
