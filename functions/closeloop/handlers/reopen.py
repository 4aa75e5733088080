"""ReopenFunction: reopen requests (ReopenQueue, delayed by the grace period) reopen tickets, at most once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from closeloop import wiring
from closeloop.adapters.queues import PartialBatchResponse, QueueMessage, process_batch
from closeloop.domain.helpdesk_errors import HelpdeskRefusedError, HelpdeskUnavailableError
from closeloop.domain.reopening import ReopenStepError, UnknownResponseError
from closeloop.domain.surveys import UnknownSurveyError
from closeloop.observability import logger, metrics, trace_handler

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


class MalformedReopenRequestError(Exception):
    """The queue message is not ``{"survey_id": "…", "response_id": "…"}``."""


def _request(body: str) -> tuple[str, str]:
    try:
        loaded = json.loads(body)
        survey_id, response_id = loaded["survey_id"], loaded["response_id"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise MalformedReopenRequestError('message is not {"survey_id": ..., "response_id": ...}') from error
    if not all(isinstance(value, str) and value for value in (survey_id, response_id)):
        raise MalformedReopenRequestError("survey_id and response_id must be non-empty strings")
    return survey_id, response_id


def reopen_record(record: QueueMessage) -> None:
    disposal = wiring.reopen_queue_disposal()
    try:
        survey_id, response_id = _request(record.body)
        result = wiring.case_reopener().reopen_case(survey_id, response_id, datetime.now(UTC))
    except (HelpdeskUnavailableError, ReopenStepError) as error:
        delay = disposal.retry_later(record.receipt_handle, record.receive_count)
        logger.warning(
            "reopen deferred",
            extra={
                "message_id": record.message_id,
                "error": type(error).__name__,
                "status": getattr(error, "status", None),
                "retry_in_seconds": delay,
            },
        )
        metrics.add_metric(name="ReopensDeferred", unit=MetricUnit.Count, value=1)
        raise
    except (
        MalformedReopenRequestError,
        UnknownSurveyError,
        UnknownResponseError,
        HelpdeskRefusedError,
    ) as error:
        # The reason (with the helpdesk's own error text) goes to the DLQ; the log keeps type and status only.
        disposal.dead_letter(record.body, f"{type(error).__name__}: {error}", record.message_id)
        logger.error(
            "reopen request dead-lettered",
            extra={
                "message_id": record.message_id,
                "error": type(error).__name__,
                "status": getattr(error, "status", None),
            },
        )
        metrics.add_metric(name="ReopensDeadLettered", unit=MetricUnit.Count, value=1)
        return
    logger.info("reopen request handled", extra={"survey_id": survey_id, "result": result.value})
    metrics.add_metric(name=f"Reopen{result.value.title().replace('_', '')}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    wiring.settings().require(*REQUIRED_SETTINGS)
    # Failures are reported per record, and each one that goes back to the queue is logged with its cause.
    return process_batch(event, reopen_record, logger)
