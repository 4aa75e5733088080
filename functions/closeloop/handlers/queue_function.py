"""The Lambda entry point of every queue function: configuration checked, records consumed, observed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from closeloop import wiring
from closeloop.adapters.queues import PartialBatchResponse, QueueConsumer
from closeloop.observability import logger, metrics, trace_handler

QueueHandler = Callable[[dict[str, Any], LambdaContext], PartialBatchResponse]


def queue_function(consumer: QueueConsumer[Any], required_settings: tuple[str, ...]) -> QueueHandler:
    """The ``lambda_handler`` of a function reading one SQS queue with ``consumer``.

    Its first invocation checks ``required_settings`` before touching the event; every invocation logs
    with Lambda's context, publishes its metrics when it ends, and is traced when tracing is on.
    """

    @logger.inject_lambda_context
    @metrics.log_metrics
    @trace_handler
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
        wiring.settings().require(*required_settings)
        # Failures are reported per record, and each one that goes back to the queue is logged with its cause.
        return consumer.process(event, context)

    return lambda_handler
