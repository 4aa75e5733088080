"""A queue function's batch: each record handled on its own, failures reported per record and logged;
and the shape every queue function reads its records with (``QueueConsumer``).

No AWS: ``process_batch`` is given SQS events as Lambda delivers them and a record handler; the consumer's
disposal talks to a fake SQS client that records what it was asked.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics

from closeloop.adapters.queues import (
    MessageDisposal,
    QueueConsumer,
    QueueMessage,
    Report,
    process_batch,
    with_cause,
)
from closeloop.domain.queue_messages import SendRequest
from tests.conftest import published_metrics as emf_metrics


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


# --- the shape every queue function shares: parse, handle, and sort what fails ---------------------------

_CONSUMER_LOG = io.StringIO()
# One logger for these tests: Powertools reuses the handler of a logger with the same service name.
CONSUMER_LOGGER = Logger(service="queue-consumer-test", logger_handler=logging.StreamHandler(_CONSUMER_LOG))
CONSUMER_METRICS = Metrics(namespace="closeloop-test", service="queue-consumer-test")


class FakeSqs:
    """The two SQS calls a disposal makes, recorded as SQS would receive them."""

    def __init__(self) -> None:
        self.visibility: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []

    def change_message_visibility(self, **request: Any) -> None:
        self.visibility.append(request)

    def send_message(self, **request: Any) -> None:
        self.sent.append(request)


class RefusedSqs(FakeSqs):
    def send_message(self, **request: Any) -> None:
        raise ConnectionError("the DLQ is unreachable")


@dataclass
class Observed:
    sqs: FakeSqs
    handled: list[SendRequest]

    def logs(self, message: str) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in _CONSUMER_LOG.getvalue().splitlines()]
        return [line for line in lines if line["message"] == message]

    def parked(self) -> list[tuple[str, str]]:
        return [
            (sent["MessageBody"], sent["MessageAttributes"]["reason"]["StringValue"]) for sent in self.sent
        ]

    @property
    def sent(self) -> list[dict[str, Any]]:
        return self.sqs.sent


@pytest.fixture
def observed() -> Observed:
    _CONSUMER_LOG.seek(0)
    _CONSUMER_LOG.truncate()
    CONSUMER_METRICS.clear_metrics()
    return Observed(FakeSqs(), [])


def requests_consumer(
    observed: Observed, failure: Exception | None = None, **changes: Any
) -> QueueConsumer[Any]:
    """A consumer of send requests whose handler records each request, then raises ``failure`` if given."""

    def handle(request: SendRequest) -> None:
        observed.handled.append(request)
        if failure is not None:
            raise failure

    disposal = MessageDisposal(observed.sqs, "https://sqs/requests", "https://sqs/requests-dlq")  # type: ignore[arg-type]
    settings: dict[str, Any] = {
        "parse": SendRequest.from_body,
        "handle": handle,
        "disposal": lambda: disposal,
        "permanent": (LookupError,),
        "dead_lettered": Report("request dead-lettered", "RequestsDeadLettered", level="error"),
        "retryable": (TimeoutError,),
        "deferred": Report("request deferred", "RequestsDeferred", fields=with_cause),
        "logger": CONSUMER_LOGGER,
        "metrics": CONSUMER_METRICS,
    }
    return QueueConsumer(**(settings | changes))


def published_metrics(capsys: pytest.CaptureFixture[str]) -> dict[str, list[float]]:
    """What the invocation publishes when it ends: each metric and its values."""
    capsys.readouterr()
    CONSUMER_METRICS.flush_metrics()
    return {name: metric.values for name, metric in emf_metrics(capsys.readouterr().out).items()}


class Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


ENOUGH_TIME = Context(60_000)


def test_a_message_is_parsed_and_handled_and_nothing_else_happens(
    observed: Observed, capsys: pytest.CaptureFixture[str]
) -> None:
    result = requests_consumer(observed).process(sqs_event('{"survey_id": "s-1"}'), ENOUGH_TIME)  # type: ignore[arg-type]

    assert result == {"batchItemFailures": []}
    assert observed.handled == [SendRequest("s-1")]
    assert observed.sent == []
    assert observed.sqs.visibility == []
    assert published_metrics(capsys) == {}


def test_a_body_the_parser_refuses_is_parked_with_its_reason_then_logged_and_counted(
    observed: Observed, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a body that names no survey, holding a customer's address
    body = '{"survey": "giulia.rossi@example.com"}'
    # WHEN it is consumed
    result = requests_consumer(observed).process(sqs_event(body), ENOUGH_TIME)  # type: ignore[arg-type]
    # THEN it is parked untouched with the parser's reason, and deleted from the queue (not a failure)
    assert result == {"batchItemFailures": []}
    assert observed.handled == []
    assert observed.parked() == [
        (body, 'MalformedSendRequestError: survey_id is missing: {"survey_id": "...", "reminder"?: true}')
    ]
    # AND one error line names the message and the reason, never the body; one metric counts it
    [line] = observed.logs("request dead-lettered")
    assert line["level"] == "ERROR"
    assert line["message_id"] == "m-0"
    assert line["reason"].startswith("MalformedSendRequestError: survey_id is missing")
    assert "giulia" not in json.dumps(line)
    assert published_metrics(capsys) == {"RequestsDeadLettered": [1.0]}


def test_a_permanent_error_of_the_handler_parks_the_message(
    observed: Observed, capsys: pytest.CaptureFixture[str]
) -> None:
    consumer = requests_consumer(observed, failure=KeyError("survey s-1 is unknown"))

    result = consumer.process(sqs_event('{"survey_id": "s-1"}'), ENOUGH_TIME)  # type: ignore[arg-type]

    assert result == {"batchItemFailures": []}
    assert observed.parked() == [('{"survey_id": "s-1"}', "KeyError: 'survey s-1 is unknown'")]
    assert published_metrics(capsys) == {"RequestsDeadLettered": [1.0]}


def test_a_retryable_error_hides_the_message_with_backoff_and_reports_it_failed(
    observed: Observed, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a handler that times out, on the third receive of the message
    consumer = requests_consumer(observed, failure=TimeoutError("SES throttled"))
    # WHEN it is consumed
    result = consumer.process(sqs_event('{"survey_id": "s-1"}', receive_count="3"), ENOUGH_TIME)  # type: ignore[arg-type]
    # THEN it goes back, hidden for 30 s doubled per earlier receive, and is not parked
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert observed.sqs.visibility == [
        {"QueueUrl": "https://sqs/requests", "ReceiptHandle": "r-0", "VisibilityTimeout": 120}
    ]
    assert observed.sent == []
    [line] = observed.logs("request deferred")
    assert line["level"] == "WARNING"
    assert (line["message_id"], line["reason"], line["retry_in_seconds"]) == ("m-0", "SES throttled", 120)
    assert published_metrics(capsys) == {"RequestsDeferred": [1.0]}


def test_an_unexpected_error_returns_the_message_as_it_is(
    observed: Observed, capsys: pytest.CaptureFixture[str]
) -> None:
    consumer = requests_consumer(observed, failure=RuntimeError("a bug"))

    result = consumer.process(sqs_event('{"survey_id": "s-1"}'), ENOUGH_TIME)  # type: ignore[arg-type]

    # Back to the queue by its own visibility timeout, to the DLQ by redrive; process_batch logs it.
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert observed.sent == []
    assert observed.sqs.visibility == []
    assert published_metrics(capsys) == {}


def test_with_too_little_of_the_invocation_left_a_record_is_handed_back_untouched(
    observed: Observed, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a consumer that needs 10 s per record, and an invocation with 9.999 s left
    consumer = requests_consumer(observed, record_budget_seconds=10)
    # WHEN a batch arrives
    result = consumer.process(sqs_event('{"survey_id": "s-1"}', "not even json"), Context(9_999))  # type: ignore[arg-type]
    # THEN no record is read or handled: each is visible again at once, reported failed and deferred
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-1"}]}
    assert observed.handled == []
    assert observed.sent == []
    assert [call["VisibilityTimeout"] for call in observed.sqs.visibility] == [0, 0]
    lines = observed.logs("request deferred")
    assert [(line["message_id"], line["reason"]) for line in lines] == [
        ("m-0", "invocation ending"),
        ("m-1", "invocation ending"),
    ]
    assert "retry_in_seconds" not in lines[0]
    assert published_metrics(capsys) == {"RequestsDeferred": [1.0, 1.0]}


def test_with_enough_of_the_invocation_left_a_budgeted_record_is_handled(observed: Observed) -> None:
    consumer = requests_consumer(observed, record_budget_seconds=10)

    consumer.process(sqs_event('{"survey_id": "s-1"}'), Context(10_000))  # type: ignore[arg-type]

    assert observed.handled == [SendRequest("s-1")]


def test_a_message_the_dead_letter_queue_refuses_goes_back_and_is_not_reported_parked(
    observed: Observed, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a dead-letter queue that cannot be reached
    observed.sqs = RefusedSqs()
    # WHEN a malformed message is consumed
    result = requests_consumer(observed).process(sqs_event("not json"), ENOUGH_TIME)  # type: ignore[arg-type]
    # THEN it stays on the work queue, and nothing says it was dead-lettered
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert observed.logs("request dead-lettered") == []
    assert published_metrics(capsys) == {}


def test_a_consumer_that_retries_must_say_how_retries_are_reported() -> None:
    with pytest.raises(ValueError, match="deferred report"):
        QueueConsumer(
            parse=SendRequest.from_body,
            handle=lambda request: None,
            disposal=lambda: None,  # type: ignore[arg-type,return-value]
            dead_lettered=Report("parked", "Parked"),
            retryable=(TimeoutError,),
        )
