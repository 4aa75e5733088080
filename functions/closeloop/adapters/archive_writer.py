"""ArchiveFunction's work: one SQS batch of closeloop's events written to S3 as one Parquet file per UTC day.

The batch is written as a whole rather than record by record (``QueueConsumer``): the point is few, large
files. What fails is still sorted per record. A message that is no archivable event can never succeed: it is
parked in the dead-letter queue with its reason and the rest of the batch is written. A day whose file cannot
be written (S3 refused or timed out) sends only that day's records back to the queue; the other days' files
are written. A retried day is named by the same event ids, so it overwrites its own file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from closeloop import observability
from closeloop.adapters.archive import (
    ArchiveRow,
    InvalidArchiveEventError,
    archive_row_of_message,
    parquet_bytes,
    partition_key,
)
from closeloop.adapters.queues import (
    LOGGED_ERROR_CHARS,
    ItemFailure,
    MessageDisposal,
    PartialBatchResponse,
    QueueMessage,
    dead_letter_reason,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def queue_messages(event: Mapping[str, Any]) -> list[QueueMessage]:
    """The records of Lambda's SQS event."""
    records = event.get("Records")
    if not isinstance(records, list):
        raise ValueError("not an SQS event: no Records list")
    return [QueueMessage.of(record) for record in records]


@dataclass(frozen=True)
class DayFile:
    """The rows of one UTC day in one batch, and the messages they came from."""

    day: date
    rows: tuple[ArchiveRow, ...]
    message_ids: tuple[str, ...]


def day_files(rows: Sequence[tuple[str, ArchiveRow]]) -> list[DayFile]:
    """(message id, row) pairs grouped by the row's UTC day, each event once (the first of its copies)."""
    by_day: dict[date, dict[str, tuple[str, ArchiveRow]]] = {}
    message_ids: dict[date, list[str]] = {}
    for message_id, row in rows:
        by_day.setdefault(row.day, {}).setdefault(row.event_id, (message_id, row))
        message_ids.setdefault(row.day, []).append(message_id)
    return [
        DayFile(day, tuple(row for _, row in events.values()), tuple(message_ids[day]))
        for day, events in sorted(by_day.items())
    ]


class EventArchiver:
    """Writes a batch's events to ``s3://<bucket>/<prefix>dt=YYYY-MM-DD/<digest>.parquet``."""

    def __init__(
        self,
        s3_client: S3Client,
        bucket: str,
        prefix: str,
        disposal: Callable[[], MessageDisposal],
        logger: Logger = observability.logger,
        count: Callable[[str, float], None] = observability.count,
    ) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._prefix = prefix
        self._disposal = disposal
        self._logger = logger
        self._count = count

    def archive(self, messages: Sequence[QueueMessage]) -> PartialBatchResponse:
        """Archive the batch; the answer lists the records that go back to the queue (Lambda's partial
        batch response)."""
        failures: list[ItemFailure] = []
        rows: list[tuple[str, ArchiveRow]] = []
        for message in messages:
            try:
                rows.append((message.message_id, archive_row_of_message(message.body)))
            except InvalidArchiveEventError as error:
                if not self._park(message, error):
                    failures.append({"itemIdentifier": message.message_id})
        for day_file in day_files(rows):
            if not self._write(day_file):
                failures.extend({"itemIdentifier": message_id} for message_id in day_file.message_ids)
        return {"batchItemFailures": failures}

    def _park(self, message: QueueMessage, error: InvalidArchiveEventError) -> bool:
        """Dead-letter a message that is no archivable event; False when even that failed (it goes back)."""
        try:
            self._disposal().dead_letter(message.body, dead_letter_reason(error), message.message_id)
        except Exception as failure:
            self._logger.warning(
                "record returned to the queue",
                extra={
                    "message_id": message.message_id,
                    "error": type(failure).__name__,
                    "error_message": str(failure)[:LOGGED_ERROR_CHARS],
                },
            )
            return False
        # The reason names the envelope field at fault, never the event's content.
        self._logger.warning(
            "archive event dead-lettered",
            extra={"message_id": message.message_id, "reason": dead_letter_reason(error)},
        )
        self._count("ArchiveEventsDeadLettered", 1)
        return True

    def _write(self, day_file: DayFile) -> bool:
        key = partition_key(self._prefix, day_file.day, (row.event_id for row in day_file.rows))
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=parquet_bytes(day_file.rows),
                ContentType="application/vnd.apache.parquet",
            )
        except Exception as error:
            # S3 refused or timed out (or DuckDB failed): this day's records go back, the others are written.
            self._logger.error(
                "archive file not written; its records return to the queue",
                extra={
                    "day": day_file.day.isoformat(),
                    "events": len(day_file.rows),
                    "error": type(error).__name__,
                    "error_message": str(error)[:LOGGED_ERROR_CHARS],
                },
            )
            self._count("ArchiveWritesFailed", 1)
            return False
        extra = {"day": day_file.day.isoformat(), "events": len(day_file.rows), "key": key}
        self._logger.info("events archived", extra=extra)
        self._count("EventsArchived", len(day_file.rows))
        self._count("ArchiveFilesWritten", 1)
        return True
