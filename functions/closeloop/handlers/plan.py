"""PlanFunction: ticket events (EventBridge → PlanQueue) become planned surveys or cancellations."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from closeloop import wiring
from closeloop.adapters.queues import PartialBatchResponse, QueueMessage, process_batch
from closeloop.domain.tickets import InvalidTicketEventError, TicketClosed, parse_ticket_event
from closeloop.observability import logger, metrics, trace_handler

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
)


def plan_record(record: QueueMessage) -> None:
    try:
        ticket_event = parse_ticket_event(json.loads(record.body))
    except (InvalidTicketEventError, json.JSONDecodeError) as error:
        # Like every handler's reasons: the error class first (docs/operations.md lists each one).
        reason = f"{type(error).__name__}: {error}"
        logger.warning("ticket event rejected", extra={"message_id": record.message_id, "reason": reason})
        metrics.add_metric(name="TicketEventsRejected", unit=MetricUnit.Count, value=1)
        wiring.plan_queue_disposal().dead_letter(record.body, reason, record.message_id)
        return
    planner = wiring.follow_up_planner()
    now = datetime.now(UTC)
    context = {"helpdesk": ticket_event.helpdesk, "ticket_id": ticket_event.ticket_id}
    if isinstance(ticket_event, TicketClosed):
        outcome = planner.plan_followup(ticket_event, now)
        logger.info(
            "follow-up planned",
            extra=context
            | {
                "result": outcome.result.value,
                "survey_id": outcome.survey_id,
                "reason": outcome.reason.value if outcome.reason else None,
                "send_at": outcome.send_at.isoformat() if outcome.send_at else None,
            },
        )
        metrics.add_metric(name=f"Surveys{outcome.result.value.title()}", unit=MetricUnit.Count, value=1)
    else:
        cancelled = planner.cancel_followup(ticket_event, now)
        logger.info("ticket reopened", extra=context | {"cancelled_surveys": cancelled})
        metrics.add_metric(name="SurveysCancelled", unit=MetricUnit.Count, value=len(cancelled))


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    wiring.settings().require(*REQUIRED_SETTINGS)
    # Failures are reported per record, and each one that goes back to the queue is logged with its cause.
    return process_batch(event, plan_record, logger)
