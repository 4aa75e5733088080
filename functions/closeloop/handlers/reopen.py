"""ReopenFunction: reopen requests (ReopenQueue, delayed by the grace period) reopen tickets, at most once."""

from __future__ import annotations

from datetime import UTC, datetime

from closeloop import wiring
from closeloop.adapters.queues import QueueConsumer, Report, with_type_and_status
from closeloop.domain.helpdesk_errors import HelpdeskRefusedError, HelpdeskUnavailableError
from closeloop.domain.queue_messages import ReopenRequest
from closeloop.domain.reopening import ReopenStepError, UnknownResponseError
from closeloop.domain.surveys import UnknownSurveyError
from closeloop.handlers.queue_function import queue_function
from closeloop.observability import count, logger

# What this function needs from its environment, checked before the first message is touched.
REQUIRED_SETTINGS = (
    "event_bus_name",
    "surveys_table",
    "reopen_queue_url",
    "reopen_dlq_url",
    "lead_alert_topic_arn",
    "zendesk_secret_arn",
    "freshdesk_secret_arn",
    "generic_secret_arn",
    "ses_configuration_set",
    "templates_path",
    "sender_address",
)


def reopen_case(request: ReopenRequest) -> None:
    if request.reply:
        follow_up_reply(request)
        return
    result = wiring.case_reopener().reopen_case(request.survey_id, request.response_id, datetime.now(UTC))
    logger.info("reopen request handled", extra={"survey_id": request.survey_id, "result": result.value})
    count(_metric("Reopen", result.value))


def follow_up_reply(request: ReopenRequest) -> None:
    """An email reply: its note, and its reopen when negative."""
    done = wiring.case_reopener().follow_up_reply(request.survey_id, request.response_id, datetime.now(UTC))
    extra = {"survey_id": request.survey_id, "response_id": request.response_id, "note": done.note.value}
    if done.reopen is not None:
        extra["result"] = done.reopen.value
        count(_metric("Reopen", done.reopen.value))
    logger.info("reply follow-up handled", extra=extra)
    count(_metric("Reply", done.note.value))


def _metric(prefix: str, value: str) -> str:
    return prefix + value.title().replace("_", "")


REOPEN_REQUESTS = QueueConsumer(
    parse=ReopenRequest.from_body,
    handle=reopen_case,
    disposal=wiring.reopen_queue_disposal,
    # Besides a malformed request (MalformedReopenRequestError): requests that can never succeed. The reason
    # (with the helpdesk's own error text) goes to the DLQ; the logs keep type and status only.
    permanent=(UnknownSurveyError, UnknownResponseError, HelpdeskRefusedError),
    dead_lettered=Report(
        "reopen request dead-lettered", "ReopensDeadLettered", "error", with_type_and_status
    ),
    # A helpdesk 5xx, 429 or timeout, or a step after the reopen that failed.
    retryable=(HelpdeskUnavailableError, ReopenStepError),
    deferred=Report("reopen deferred", "ReopensDeferred", fields=with_type_and_status),
)
lambda_handler = queue_function(REOPEN_REQUESTS, REQUIRED_SETTINGS)
