"""What a queue consumer does with a message it cannot process now, or ever."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

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
