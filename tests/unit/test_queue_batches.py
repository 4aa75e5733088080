"""A queue function's batch: each record handled on its own, failures reported per record and logged.

No AWS: ``process_batch`` is given SQS events as Lambda delivers them and a record handler.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from closeloop.adapters.queues import QueueMessage, process_batch


def sqs_event(*bodies: str, receive_count: str = "1") -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{index}",
                "receiptHandle": f"r-{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": receive_count},
                "eventSource": "aws:sqs",
            }
            for index, body in enumerate(bodies)
        ]
    }


def failing_on(*bad: str) -> tuple[list[QueueMessage], Any]:
    handled: list[QueueMessage] = []

    def handle(message: QueueMessage) -> None:
        handled.append(message)
        if message.body in bad:
            raise RuntimeError(f"cannot handle {message.message_id}")

    return handled, handle


@pytest.fixture
def logger() -> Logger:
    return Logger(service="closeloop-test")


def test_every_record_is_handled_and_only_the_failed_ones_go_back(logger: Logger) -> None:
    # GIVEN three records of which the second fails
    handled, handle = failing_on("b")
    # WHEN the batch is processed THEN all three were handled, and only the second is reported
    assert process_batch(sqs_event("a", "b", "c"), handle, logger) == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}]
    }
    assert [message.body for message in handled] == ["a", "b", "c"]


def test_a_batch_that_fails_entirely_reports_each_record_rather_than_raising(logger: Logger) -> None:
    # (a raise would retry the whole batch and undo the backoff a handler set on each message)
    _, handle = failing_on("a", "b")
    assert process_batch(sqs_event("a", "b"), handle, logger) == {
        "batchItemFailures": [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-1"}]
    }


def test_an_empty_batch_has_no_failures(logger: Logger) -> None:
    assert process_batch({"Records": []}, failing_on()[1], logger) == {"batchItemFailures": []}


@pytest.mark.parametrize("event", [{}, {"Records": "x"}, {"detail": {}}])
def test_an_event_that_is_not_an_sqs_batch_is_refused(logger: Logger, event: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not an SQS event"):
        process_batch(event, failing_on()[1], logger)


def test_a_record_carries_what_handlers_read() -> None:
    message = QueueMessage.of(sqs_event('{"survey_id": "s"}', receive_count="4")["Records"][0])
    assert message == QueueMessage(
        message_id="m-0", body='{"survey_id": "s"}', receipt_handle="r-0", receive_count=4
    )


@pytest.mark.parametrize("count", ["", "x", "-1"])
def test_an_unreadable_receive_count_counts_as_the_first_receive(count: str) -> None:
    assert QueueMessage.of(sqs_event("a", receive_count=count)["Records"][0]).receive_count == 1


def test_a_returned_record_is_logged_with_its_id_and_cause_but_not_its_body() -> None:
    # GIVEN a record whose body holds a customer's address, and a handler that fails on it
    output = io.StringIO()
    # A service of its own: Powertools reuses the handler of a logger with the same name.
    logger = Logger(service="queue-batch-log-test", logger_handler=logging.StreamHandler(output))
    _, handle = failing_on("customer@example.com")
    process_batch(sqs_event("customer@example.com", receive_count="3"), handle, logger)
    # THEN one warning names the message, its receive count and the error, never the body
    lines = [json.loads(line) for line in output.getvalue().splitlines()]
    returned = [line for line in lines if line["message"] == "record returned to the queue"]
    assert len(returned) == 1
    assert returned[0]["message_id"] == "m-0"
    assert returned[0]["receive_count"] == 3
    assert returned[0]["error"] == "RuntimeError"
    assert "customer@example.com" not in json.dumps(returned[0])
