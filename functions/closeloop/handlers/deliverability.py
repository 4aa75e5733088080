"""DeliverabilityFunction: SES bounces and complaints (DeliveryEventsQueue) suppress the address."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from closeloop import wiring
from closeloop.adapters.queues import PartialBatchResponse, QueueMessage, process_batch
from closeloop.domain.deliverability import InvalidDeliveryEventError, parse_delivery_event
from closeloop.observability import logger, metrics, trace_handler

# What this function needs from its environment, checked before the first message is touched.
REQUIRED_SETTINGS = ("event_bus_name", "surveys_table", "delivery_queue_url", "delivery_dlq_url")


def delivery_record(record: QueueMessage) -> None:
    try:
        event = parse_delivery_event(json.loads(record.body))
    except (InvalidDeliveryEventError, json.JSONDecodeError) as error:
        reason = f"{type(error).__name__}: {error}"
        logger.warning(
            "delivery event dead-lettered", extra={"message_id": record.message_id, "reason": reason}
        )
        metrics.add_metric(name="DeliveryEventsDeadLettered", unit=MetricUnit.Count, value=1)
        wiring.delivery_queue_disposal().dead_letter(record.body, reason, record.message_id)
        return
    outcome = wiring.deliverability_recorder().record_delivery_event(event, datetime.now(UTC))
    # Ids, types and counts only: the recipients are addresses.
    logger.info(
        "delivery event recorded",
        extra={
            "ses_message_id": event.message_id,
            "event_type": event.event_type,
            "bounce_type": event.bounce_type,
            "bounce_sub_type": event.bounce_sub_type,
            "feedback_type": event.feedback_type,
            "survey_id": outcome.survey_id,
            "result": outcome.result.value,
            "reason": outcome.reason.value if outcome.reason else None,
            "newly_suppressed": outcome.newly_suppressed,
        },
    )
    metrics.add_metric(
        name=f"Delivery{outcome.result.value.title().replace('_', '')}", unit=MetricUnit.Count, value=1
    )
    if outcome.newly_suppressed:
        metrics.add_metric(name="AddressesSuppressed", unit=MetricUnit.Count, value=outcome.newly_suppressed)


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    wiring.settings().require(*REQUIRED_SETTINGS)
    # Failures are reported per record, and each one that goes back to the queue is logged with its cause.
    return process_batch(event, delivery_record, logger)
