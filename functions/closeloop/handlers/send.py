"""SendFunction: due surveys and their due reminders (SendQueue) become emails, at most once each."""

from __future__ import annotations

from datetime import UTC, datetime

from closeloop import wiring
from closeloop.adapters.queues import QueueConsumer, Report, with_cause
from closeloop.domain.queue_messages import SendRequest
from closeloop.domain.sending import MailRetryableError, SendOutcomeUnknownError, SendRejectedError
from closeloop.domain.surveys import UnknownSurveyError
from closeloop.handlers.queue_function import queue_function
from closeloop.observability import count, logger

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
    # The reminder's one-time schedule targets the send queue.
    "schedule_group",
    "scheduler_role_arn",
    "send_queue_arn",
    "send_dlq_arn",
)
# A record is started only when its worst case fits in what is left of the invocation: SES's one attempt
# (connect + read timeouts) and a few seconds for the writes around it, which take milliseconds. So the
# Lambda timeout never cuts a send in two, whatever the batch size.
RECORD_BUDGET_SECONDS = wiring.SES_CONNECT_TIMEOUT + wiring.SES_READ_TIMEOUT + 3


def send_survey(request: SendRequest) -> None:
    sender = wiring.survey_sender()
    if request.reminder:
        result = sender.send_reminder(request.survey_id, datetime.now(UTC))
        kind = "Reminders"
    else:
        result = sender.send_survey(request.survey_id, datetime.now(UTC))
        kind = "Surveys"
    logger.info(
        "send request handled",
        extra={"survey_id": request.survey_id, "reminder": request.reminder, "result": result.value},
    )
    count(f"{kind}{result.value.title().replace('_', '')}")


SEND_REQUESTS = QueueConsumer(
    parse=SendRequest.from_body,
    handle=send_survey,
    disposal=wiring.send_queue_disposal,
    # Besides a malformed request (MalformedSendRequestError): requests that can never succeed.
    permanent=(UnknownSurveyError, SendRejectedError, SendOutcomeUnknownError),
    dead_lettered=Report("send request dead-lettered", "SendsDeadLettered", level="error"),
    # SES throttling or outage, and records the invocation has no time left for.
    retryable=(MailRetryableError,),
    deferred=Report("send deferred", "SendsDeferred", fields=with_cause),
    record_budget_seconds=RECORD_BUDGET_SECONDS,
)
lambda_handler = queue_function(SEND_REQUESTS, REQUIRED_SETTINGS)
