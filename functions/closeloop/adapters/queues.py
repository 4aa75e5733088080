"""How a queue function reads its records: one shape for all four, and what it does with a message it
cannot process now, or ever."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, TypedDict, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from closeloop import observability
from closeloop.domain.queue_messages import MalformedMessageError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
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


def dead_letter_reason(error: BaseException) -> str:
    """A parked message's ``reason``: the error's class, then its text (ids, fields and codes, never
    addresses or what customers wrote). docs/operations.md lists every class a handler parks with."""
    return f"{type(error).__name__}: {error}"


# What a failure's log line says about the error, besides the message id.
def with_reason(error: Exception) -> dict[str, object]:
    """The reason the message was parked with."""
    return {"reason": dead_letter_reason(error)}


def with_cause(error: Exception) -> dict[str, object]:
    """What went wrong, without the class (a retryable error's text is its cause: throttling, an outage)."""
    return {"reason": str(error)}


def with_type_and_status(error: Exception) -> dict[str, object]:
    """The class and the HTTP status only: for errors carrying text from outside (a helpdesk's answer),
    which may quote what a customer wrote. The full reason still travels with a parked message."""
    return {"error": type(error).__name__, "status": getattr(error, "status", None)}


@dataclass(frozen=True)
class Report:
    """How one way of failing is reported: its log line (message and level) and its metric."""

    log: str
    metric: str
    level: Literal["warning", "error"] = "warning"
    fields: Callable[[Exception], dict[str, object]] = with_reason


class InvocationEndingError(Exception):
    """Too little of the invocation is left to handle one record safely; it goes back untouched."""


Message = TypeVar("Message")


@dataclass(frozen=True)
class QueueConsumer(Generic[Message]):
    """A queue function's records, each read the same way: parse the body, handle the message.

    What fails is sorted, never swallowed. A body ``parse`` refuses (a ``MalformedMessageError``) or a
    ``permanent`` error can never succeed: the message is parked in the dead-letter queue with its
    reason, deleted from the work queue, and reported as ``dead_lettered``. A ``retryable`` error will
    succeed later: the message is hidden with exponential backoff, reported as ``deferred``, and goes
    back. Anything else goes back as it is (``process_batch`` logs it) and reaches the dead-letter queue
    by redrive. ``handle`` logs and counts what it did.

    With ``record_budget_seconds``, a record is only started while that much of the invocation is left;
    the others are handed back at once, untouched, and reported as ``deferred``.
    """

    parse: Callable[[str], Message]
    handle: Callable[[Message], None]
    disposal: Callable[[], MessageDisposal]
    dead_lettered: Report
    permanent: tuple[type[Exception], ...] = ()
    retryable: tuple[type[Exception], ...] = ()
    deferred: Report | None = None
    record_budget_seconds: float = 0
    logger: Logger = observability.logger
    metrics: Metrics = observability.metrics

    def __post_init__(self) -> None:
        if (self.retryable or self.record_budget_seconds) and self.deferred is None:
            raise ValueError("records handed back need a deferred report")

    @property
    def dead_letters(self) -> tuple[type[Exception], ...]:
        """The errors whose messages are parked: their class names start the reasons."""
        return (MalformedMessageError, *self.permanent)

    def process(self, event: Mapping[str, Any], context: LambdaContext) -> PartialBatchResponse:
        """Lambda's SQS batch, each record consumed; the answer lists the records that go back."""
        return process_batch(event, lambda record: self.consume(record, context), self.logger)

    def consume(self, record: QueueMessage, context: LambdaContext | None = None) -> None:
        budget_ms = self.record_budget_seconds * 1000
        if budget_ms and context is not None and context.get_remaining_time_in_millis() < budget_ms:
            self._hand_back(record)
        try:
            self.handle(self.parse(record.body))
        except self.retryable as error:
            delay = self.disposal().retry_later(record.receipt_handle, record.receive_count)
            self._report(self.deferred, record, error, retry_in_seconds=delay)
            raise
        except self.dead_letters as error:
            # Parked first: only a message that was parked is reported dead-lettered.
            self.disposal().dead_letter(record.body, dead_letter_reason(error), record.message_id)
            self._report(self.dead_lettered, record, error)

    def _hand_back(self, record: QueueMessage) -> NoReturn:
        self.disposal().return_now(record.receipt_handle)
        error = InvocationEndingError("invocation ending")
        self._report(self.deferred, record, error)
        raise error

    def _report(self, report: Report | None, record: QueueMessage, error: Exception, **more: object) -> None:
        if report is None:
            return
        extra = {"message_id": record.message_id, **report.fields(error), **more}
        log = self.logger.error if report.level == "error" else self.logger.warning
        log(report.log, extra=extra)
        self.metrics.add_metric(name=report.metric, unit=MetricUnit.Count, value=1)
