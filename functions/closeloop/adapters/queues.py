"""What a queue consumer does with a message it cannot process now, or ever."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.base import FailureResponse
from aws_lambda_powertools.utilities.batch.exceptions import ExceptionInfo

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from mypy_boto3_sqs import SQSClient

# How much of an error's message a log line keeps: enough to tell causes apart.
LOGGED_ERROR_CHARS = 300


class LoggedBatchProcessor(BatchProcessor):
    """Powertools' SQS batch processor, reporting failures per record, that logs why each one failed.

    A record handler dead-letters what can never succeed (with its reason) and raises for the rest; a
    raised record goes back to its queue and, after ``maxReceiveCount`` receives, to the dead-letter queue
    by redrive, without a reason attribute. So every such failure gets a log line here, with the error's
    type and message and the message id: the operator looks that id up (docs/operations.md). Error
    messages in closeloop name ids and codes, never addresses or what customers wrote.
    """

    def __init__(self, logger: Logger) -> None:
        # Per-record failures even when all fail, so backoff set per message is not undone by a retry of all.
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self._log = logger

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> FailureResponse:
        error_type, error, _ = exception
        attributes = getattr(record, "attributes", None)
        self._log.warning(
            "record returned to the queue",
            extra={
                "message_id": getattr(record, "message_id", None),
                "receive_count": getattr(attributes, "approximate_receive_count", None),
                "error": error_type.__name__ if error_type else None,
                "error_message": str(error)[:LOGGED_ERROR_CHARS],
            },
        )
        return super().failure_handler(record, exception)


# Backoff for messages that will succeed later (SES throttling, a helpdesk outage): 30 s doubling to
# SQS's 12-hour visibility maximum, so a long outage is waited out instead of burning receives.
BASE_BACKOFF_SECONDS = 30
MAX_VISIBILITY_SECONDS = 12 * 3600


def backoff_seconds(receive_count: int) -> int:
    return int(min(MAX_VISIBILITY_SECONDS, BASE_BACKOFF_SECONDS * 2 ** max(0, receive_count - 1)))


class MessageDisposal:
    """Backoff for retryable failures; a dead-letter queue with a reason for messages that never will."""

    def __init__(self, client: SQSClient, queue_url: str, dead_letter_url: str) -> None:
        self._client = client
        self._queue_url = queue_url
        self._dead_letter_url = dead_letter_url

    def retry_later(self, receipt_handle: str, receive_count: int) -> int:
        delay = backoff_seconds(receive_count)
        self._client.change_message_visibility(
            QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay
        )
        return delay

    def return_now(self, receipt_handle: str) -> None:
        """Hand a message back at once, untouched, for another invocation to take."""
        self._client.change_message_visibility(
            QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0
        )

    def dead_letter(self, body: str, reason: str, message_id: str) -> None:
        """Park the message, untouched, with why it was parked; the caller then deletes the original."""
        self._client.send_message(
            QueueUrl=self._dead_letter_url,
            MessageBody=body,
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": reason[:1000]},
                "original_message_id": {"DataType": "String", "StringValue": message_id},
            },
        )
