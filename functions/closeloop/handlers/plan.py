"""PlanFunction: ticket events (EventBridge → PlanQueue) become planned surveys or cancellations."""

from __future__ import annotations

from datetime import UTC, datetime

from closeloop import wiring
from closeloop.adapters.queues import QueueConsumer, Report
from closeloop.domain.planning import PlanResult
from closeloop.domain.policies import RulesUnavailableError
from closeloop.domain.tickets import TicketClosed, TicketReopened, parse_ticket_event_message
from closeloop.handlers.queue_function import queue_function
from closeloop.observability import count, count_by, logger

# What this function needs from its environment, checked before the first message is touched.
REQUIRED_SETTINGS = (
    "event_bus_name",
    "surveys_table",
    "plan_queue_url",
    "plan_dlq_url",
    "schedule_group",
    "scheduler_role_arn",
    "send_queue_arn",
    "send_queue_url",
    "send_dlq_arn",
    "rules_parameter",
)


def plan_ticket_event(ticket_event: TicketClosed | TicketReopened) -> None:
    planner, now = wiring.follow_up_planner(), datetime.now(UTC)
    context = {"helpdesk": ticket_event.helpdesk, "ticket_id": ticket_event.ticket_id}
    if isinstance(ticket_event, TicketClosed):
        outcome = planner.plan_followup(ticket_event, now)
        logger.info("follow-up planned", extra=context | outcome.log_fields())
        count(f"Surveys{outcome.result.value.title()}")
        if outcome.reason is not None and outcome.result is PlanResult.SKIPPED:
            count_by("SurveysSkippedByReason", "reason", outcome.reason.value)
    else:
        cancelled = planner.cancel_followup(ticket_event, now)
        logger.info("ticket reopened", extra=context | {"cancelled_surveys": cancelled})
        count("SurveysCancelled", len(cancelled))


TICKET_EVENTS = QueueConsumer(
    parse=parse_ticket_event_message,
    handle=plan_ticket_event,
    disposal=wiring.plan_queue_disposal,
    # An event that breaks the contract (InvalidTicketEventError) is parked; docs/operations.md says why.
    dead_lettered=Report("ticket event rejected", "TicketEventsRejected"),
    # No valid rules document read yet (closeloop.adapters.rules): the ticket waits for one.
    retryable=(RulesUnavailableError,),
    deferred=Report("ticket event waits for the rules document", "TicketEventsDeferred"),
)
lambda_handler = queue_function(TICKET_EVENTS, REQUIRED_SETTINGS)
