"""SendFunction: due surveys (SendQueue) become emails, at most once each."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from closeloop import wiring
from closeloop.adapters.queues import PartialBatchResponse, QueueMessage, process_batch
from closeloop.domain.sending import (
    MailRetryableError,
    SendOutcomeUnknownError,
    SendRejectedError,
)
from closeloop.domain.surveys import UnknownSurveyError
from closeloop.observability import logger, metrics, trace_handler

# What this function needs from its environment, checked before the first message is touched.
REQUIRED_SETTINGS = (
    "event_bus_name",
    "surveys_table",
    "send_queue_url",
    "send_dlq_url",
    "signing_keys_secret_arn",
    "ses_configuration_set",
    "templates_path",
    "sender_address",
    "public_base_url",
)
# A record is started only when its worst case fits in what is left of the invocation: SES's one attempt
# (connect + read timeouts) and a few seconds for the writes around it, which take milliseconds. So the
# Lambda timeout never cuts a send in two, whatever the batch size.
RECORD_BUDGET_SECONDS = wiring.SES_CONNECT_TIMEOUT + wiring.SES_READ_TIMEOUT + 3


class MalformedSendRequestError(Exception):
    """The queue message is not ``{"survey_id": "…"}``."""


class InvocationEndingError(Exception):
    """Too little of the invocation is left to send one survey safely; the message goes back untouched."""


def _survey_id(body: str) -> str:
    try:
        survey_id = json.loads(body)["survey_id"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise MalformedSendRequestError('message is not {"survey_id": ...}') from error
    if not isinstance(survey_id, str) or not survey_id:
        raise MalformedSendRequestError("survey_id is not a string")
    return survey_id


def send_record(record: QueueMessage, lambda_context: LambdaContext) -> None:
    disposal = wiring.send_queue_disposal()
    if lambda_context.get_remaining_time_in_millis() < RECORD_BUDGET_SECONDS * 1000:
        disposal.return_now(record.receipt_handle)
        logger.warning(
            "send deferred", extra={"message_id": record.message_id, "reason": "invocation ending"}
        )
        metrics.add_metric(name="SendsDeferred", unit=MetricUnit.Count, value=1)
        raise InvocationEndingError(record.message_id)
    try:
        survey_id = _survey_id(record.body)
        result = wiring.survey_sender().send_survey(survey_id, datetime.now(UTC))
    except MailRetryableError as error:
        delay = disposal.retry_later(record.receipt_handle, record.receive_count)
        logger.warning(
            "send deferred",
            extra={"message_id": record.message_id, "reason": str(error), "retry_in_seconds": delay},
        )
        metrics.add_metric(name="SendsDeferred", unit=MetricUnit.Count, value=1)
        raise
    except (
        MalformedSendRequestError,
        UnknownSurveyError,
        SendRejectedError,
        SendOutcomeUnknownError,
    ) as error:
        reason = f"{type(error).__name__}: {error}"
        logger.error("send request dead-lettered", extra={"message_id": record.message_id, "reason": reason})
        metrics.add_metric(name="SendsDeadLettered", unit=MetricUnit.Count, value=1)
        disposal.dead_letter(record.body, reason, record.message_id)
        return
    logger.info("send request handled", extra={"survey_id": survey_id, "result": result.value})
    metrics.add_metric(name=f"Surveys{result.value.title().replace('_', '')}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    wiring.settings().require(*REQUIRED_SETTINGS)
    # Failures are reported per record, and each one that goes back to the queue is logged with its cause.
    return process_batch(event, lambda record: send_record(record, context), logger)
