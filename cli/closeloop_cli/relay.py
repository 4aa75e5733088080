"""The SQS event source mapping: poll a queue, invoke the function with a Lambda SQS event, delete.

Semantics follow Lambda's poller: messages of a successful batch are deleted; with
``ReportBatchItemFailures`` only the items not listed in ``batchItemFailures`` are; a handler exception
fails the whole batch. Failed messages stay in the queue, come back after their visibility timeout, and
moto's SQS moves them to the dead-letter queue after ``maxReceiveCount`` receives.
"""

from __future__ import annotations

import base64
import logging
import threading
from typing import Any

from closeloop_cli.runtime import FunctionRunner
from closeloop_cli.stack import SqsSource

logger = logging.getLogger(__name__)

POLL_WAIT_SECONDS = 1


def sqs_event(messages: list[dict[str, Any]], source: SqsSource, region: str) -> dict[str, Any]:
    """A Lambda SQS event for messages as ``ReceiveMessage`` returns them."""
    return {"Records": [_record(message, source, region) for message in messages]}


def _record(message: dict[str, Any], source: SqsSource, region: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": source.queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "dataType": value.get("DataType", "String"),
        "stringListValues": list(value.get("StringListValues") or []),
        "binaryListValues": [_b64(item) for item in value.get("BinaryListValues") or []],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = _b64(value["BinaryValue"])
    return attribute


def _b64(value: bytes | str) -> str:
    return base64.b64encode(value if isinstance(value, bytes) else value.encode()).decode()


class SqsRelay(threading.Thread):
    """One poller per (function, queue), like one Lambda event source mapping."""

    def __init__(
        self,
        *,
        runner: FunctionRunner,
        function_id: str,
        source: SqsSource,
        sqs_client: Any,
        region: str,
        stop: threading.Event,
    ) -> None:
        super().__init__(name=f"relay-{function_id}", daemon=True)
        self.runner = runner
        self.function_id = function_id
        self.source = source
        self.sqs = sqs_client
        self.region = region
        self.stop_event = stop

    def run(self) -> None:
        logger.debug("relaying %s to %s", self.source.queue_url, self.function_id)
        while not self.stop_event.is_set():
            try:
                self.poll_once()
            except Exception:
                if self.stop_event.is_set():
                    break
                logger.exception("relay %s: polling %s failed", self.function_id, self.source.queue_url)
                self.stop_event.wait(1)

    def poll_once(self) -> int:
        """Receive one batch and hand it to the function; returns how many messages it received."""
        response = self.sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=max(1, min(self.source.batch_size, 10)),
            WaitTimeSeconds=POLL_WAIT_SECONDS,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages") or []
        # A batch larger than one receive (BatchSize above 10, as Lambda allows with a batching window) is
        # filled from what is waiting now: the sandbox does not wait out MaximumBatchingWindowInSeconds.
        while messages and len(messages) < self.source.batch_size and not self.stop_event.is_set():
            more = (
                self.sqs.receive_message(
                    QueueUrl=self.source.queue_url,
                    MaxNumberOfMessages=min(self.source.batch_size - len(messages), 10),
                    WaitTimeSeconds=0,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages")
                or []
            )
            if not more:
                break
            messages += more
        if messages:
            self.deliver(messages)
        return len(messages)

    def deliver(self, messages: list[dict[str, Any]]) -> None:
        event = sqs_event(messages, self.source, self.region)
        try:
            result = self.runner.invoke(self.function_id, event)
        except Exception:
            logger.exception(
                "%s failed on a batch of %d; the messages return after their visibility timeout",
                self.function_id,
                len(messages),
            )
            return
        failed = self._failed_ids(result, messages)
        done = [message for message in messages if message["MessageId"] not in failed]
        if failed:
            logger.warning(
                "%s reported %d of %d messages as failed; they return after their visibility timeout",
                self.function_id,
                len(failed),
                len(messages),
            )
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.source.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(chunk)
                ],
            )

    def _failed_ids(self, result: Any, messages: list[dict[str, Any]]) -> set[str]:
        failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        if not failures:
            return set()
        if not self.source.report_batch_item_failures:
            logger.warning(
                "%s returned batchItemFailures but its SQS event has no FunctionResponseTypes: "
                "[ReportBatchItemFailures]; Lambda ignores them and deletes the whole batch",
                self.function_id,
            )
            return set()
        received = {message["MessageId"] for message in messages}
        failed = {str(item.get("itemIdentifier") or "") for item in failures if isinstance(item, dict)}
        if not failed <= received:
            # Lambda treats an empty or unknown identifier as a failure of the whole batch.
            logger.warning("%s returned an unknown itemIdentifier; the whole batch fails", self.function_id)
            return received
        return failed
