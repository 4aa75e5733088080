"""What a queue consumer does with a message it cannot process now, or ever."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from mypy_boto3_sqs import SQSClient

# How much of an error's message a log line keeps: enough to tell causes apart.
LOGGED_ERROR_CHARS = 300


@dataclass(frozen=True)
class QueueMessage:
    """One record of an SQS event, as a record handler reads it."""

    message_id: str
    body: str
    receipt_handle: str
    receive_count: int

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> QueueMessage:
        attributes = record.get("attributes") or {}
        count = str(attributes.get("ApproximateReceiveCount", "1"))
        return cls(
            message_id=str(record.get("messageId", "")),
            body=str(record.get("body", "")),
            receipt_handle=str(record.get("receiptHandle", "")),
            receive_count=int(count) if count.isdigit() else 1,
        )


class ItemFailure(TypedDict):
    itemIdentifier: str


class PartialBatchResponse(TypedDict):
    batchItemFailures: list[ItemFailure]


def process_batch(
    event: Mapping[str, Any], handle: Callable[[QueueMessage], None], logger: Logger
) -> PartialBatchResponse:
    """Handle each record of an SQS event; the failed ones go back to the queue, the rest are deleted.

    The answer is Lambda's partial batch response (``ReportBatchItemFailures`` on the event source
    mapping), listing failures even when every record failed, so the backoff a handler set on one message
    is not undone by a retry of the whole batch. A record handler dead-letters what can never succeed
    (with its reason) and raises for the rest; a raised record goes back to its queue and, after
    ``maxReceiveCount`` receives, to the dead-letter queue by redrive, without a reason attribute. So
    every such failure gets a log line here, with the error's type and message and the message id: the
    operator looks that id up (docs/operations.md). Error messages in closeloop name ids and codes,
    never addresses or what customers wrote.

    Powertools' batch processor does the same, but loads asyncio and every event data class on each cold
    start (about a tenth of a queue function's start-up); this is all of it an SQS consumer needs.
    """
    records = event.get("Records")
    if not isinstance(records, list):
        raise ValueError("not an SQS event: no Records list")
    failures: list[ItemFailure] = []
    for record in records:
        message = QueueMessage.of(record)
        try:
            handle(message)
        except Exception as error:
            logger.warning(
                "record returned to the queue",
                extra={
                    "message_id": message.message_id,
                    "receive_count": message.receive_count,
                    "error": type(error).__name__,
                    "error_message": str(error)[:LOGGED_ERROR_CHARS],
                },
            )
            failures.append({"itemIdentifier": message.message_id})
    return {"batchItemFailures": failures}


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
