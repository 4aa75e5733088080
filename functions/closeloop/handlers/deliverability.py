"""DeliverabilityFunction: SES bounces and complaints (DeliveryEventsQueue) suppress the address."""

from __future__ import annotations

from datetime import UTC, datetime

from closeloop import wiring
from closeloop.adapters.queues import QueueConsumer, Report
from closeloop.domain.deliverability import DeliveryEvent, parse_delivery_event_message
from closeloop.handlers.queue_function import queue_function
from closeloop.observability import count, logger

# What this function needs from its environment, checked before the first message is touched.
REQUIRED_SETTINGS = ("event_bus_name", "surveys_table", "delivery_queue_url", "delivery_dlq_url")


def record_delivery_event(event: DeliveryEvent) -> None:
    outcome = wiring.deliverability_recorder().record_delivery_event(event, datetime.now(UTC))
    # Ids, types and counts only: the recipients are addresses.
    logger.info("delivery event recorded", extra=event.log_fields() | outcome.log_fields())
    count(f"Delivery{outcome.result.value.title().replace('_', '')}")
    if outcome.newly_suppressed:
        count("AddressesSuppressed", outcome.newly_suppressed)


DELIVERY_EVENTS = QueueConsumer(
    parse=parse_delivery_event_message,
    handle=record_delivery_event,
    disposal=wiring.delivery_queue_disposal,
    # What is no SES bounce or complaint closeloop understands (InvalidDeliveryEventError) is parked.
    dead_lettered=Report("delivery event dead-lettered", "DeliveryEventsDeadLettered"),
)
lambda_handler = queue_function(DELIVERY_EVENTS, REQUIRED_SETTINGS)
