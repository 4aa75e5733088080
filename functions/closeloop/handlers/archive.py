"""ArchiveFunction: closeloop's published events (ArchiveQueue, fed by ArchiveRule) become Parquet files in
the archive bucket, one per UTC day of each batch."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from closeloop import wiring
from closeloop.adapters.archive_writer import queue_messages
from closeloop.adapters.queues import PartialBatchResponse
from closeloop.observability import logger, metrics, trace_handler

# What this function needs from its environment, checked before the first message is touched.
REQUIRED_SETTINGS = ("archive_bucket", "archive_prefix", "archive_queue_url", "archive_dlq_url")


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    wiring.settings().require(*REQUIRED_SETTINGS)
    # The batch is written as a whole (few, large files); failures are still reported per record.
    return wiring.event_archiver().archive(queue_messages(event))
