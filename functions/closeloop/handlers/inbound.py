"""InboundFunction: replies by email (InboundQueue, fed by the inbound bucket's notifications) become
answers of their surveys."""

from __future__ import annotations

from closeloop import wiring
from closeloop.adapters.queues import QueueConsumer, Report
from closeloop.domain.replies import (
    InboundMessageMissingError,
    MailLocation,
    ReplyOutcome,
    parse_inbound_notification,
)
from closeloop.handlers.queue_function import queue_function
from closeloop.observability import count, count_by, logger

# What this function needs from its environment, checked before the first message is touched.
REQUIRED_SETTINGS = (
    "event_bus_name",
    "surveys_table",
    "inbound_queue_url",
    "inbound_dlq_url",
    "reopen_queue_url",
    "signing_keys_secret_arn",
    "reply_domain",
    "sender_address",
)


def record_replies(locations: tuple[MailLocation, ...]) -> None:
    for location in locations:
        result = wiring.reply_recorder().record_reply(location)
        # Ids and codes only: never an address, a subject or what the customer wrote.
        log = (
            logger.info
            if result.outcome in (ReplyOutcome.RECORDED, ReplyOutcome.DUPLICATE)
            else logger.warning
        )
        log("inbound message handled", extra=result.log_fields() | {"object_key": location.key})
        metric = "Replies" + result.outcome.value.title().replace("_", "")
        if result.outcome is ReplyOutcome.AUTOMATIC and result.reason:
            # Which sign: auto_submitted, out_of_office_subject, delivery_status, loop... (AutomaticReason)
            count_by(metric, "reason", result.reason)
        else:
            count(metric)


INBOUND_MAIL = QueueConsumer(
    parse=parse_inbound_notification,
    handle=record_replies,
    disposal=wiring.inbound_queue_disposal,
    # Besides a notification that is none (MalformedInboundNotificationError): an object deleted since.
    permanent=(InboundMessageMissingError,),
    dead_lettered=Report("inbound notification dead-lettered", "InboundDeadLettered", "error"),
)
lambda_handler = queue_function(INBOUND_MAIL, REQUIRED_SETTINGS)
