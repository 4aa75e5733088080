"""events/invoke/: one sample event per function of template.yaml, in the shape `sam local invoke -e` takes.

Each SQS sample parses as Lambda's SQS event and carries the body its handler reads; each HTTP sample is
an HTTP API (payload 2.0) request for a route the template gives that function.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, SQSEvent

from closeloop.adapters.archive import archive_row_of_message
from closeloop.domain.deliverability import parse_delivery_event_message
from closeloop.domain.queue_messages import ReopenRequest, SendRequest
from closeloop.domain.replies import parse_inbound_notification
from closeloop.domain.tickets import TicketClosed, parse_ticket_event_message
from closeloop_cli.cfn import load_template
from tests.conftest import EVENTS, REPO, load_event

INVOKE = EVENTS / "invoke"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
TEMPLATE = load_template(REPO / "template.yaml")
FUNCTIONS: dict[str, Mapping[str, Any]] = {
    logical_id: resource.get("Properties") or {}
    for logical_id, resource in TEMPLATE["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}


def _sources(logical_id: str, kind: str) -> list[Mapping[str, Any]]:
    events = FUNCTIONS[logical_id].get("Events") or {}
    return [event["Properties"] for event in events.values() if event["Type"] == kind]


SQS_FUNCTIONS = sorted(logical_id for logical_id in FUNCTIONS if _sources(logical_id, "SQS"))
HTTP_FUNCTIONS = sorted(logical_id for logical_id in FUNCTIONS if _sources(logical_id, "HttpApi"))
HTTP_SAMPLES = sorted(path for logical_id in HTTP_FUNCTIONS for path in INVOKE.glob(f"{logical_id}*.json"))


def _plan_body(body: str) -> None:
    assert isinstance(parse_ticket_event_message(body), TicketClosed)


def _send_body(body: str) -> None:
    assert SendRequest.from_body(body)


def _reopen_body(body: str) -> None:
    request = ReopenRequest.from_body(body)
    assert request.survey_id
    assert request.response_id


def _inbound_body(body: str) -> None:
    [location] = parse_inbound_notification(body)
    assert location.key.startswith("inbound/")


def _archive_body(body: str) -> None:
    assert archive_row_of_message(body).values["detail_type"] in ("Survey Sent", "Survey Response Received")


def _deliverability_body(body: str) -> None:
    assert parse_delivery_event_message(body).event_type == "Bounce"


# How each SQS function reads a record's body: its handler's own parser, which raises on anything else.
BODY_READERS: dict[str, Callable[[str], None]] = {
    "PlanFunction": _plan_body,
    "SendFunction": _send_body,
    "ReopenFunction": _reopen_body,
    "DeliverabilityFunction": _deliverability_body,
    "InboundFunction": _inbound_body,
    "ArchiveFunction": _archive_body,
}


def _function_of(sample: Path) -> str:
    return sample.stem.split("_", 1)[0]


def test_every_function_of_the_template_has_its_sample_event() -> None:
    # GIVEN the functions template.yaml declares; WHEN events/invoke/ is listed
    missing = sorted(logical_id for logical_id in FUNCTIONS if not (INVOKE / f"{logical_id}.json").is_file())

    # THEN each has events/invoke/<LogicalId>.json
    assert missing == []


def test_every_sample_event_names_a_function_of_the_template() -> None:
    orphans = sorted(path.name for path in INVOKE.glob("*.json") if _function_of(path) not in FUNCTIONS)

    assert orphans == []


def test_every_sqs_function_has_a_body_reader_here() -> None:
    # A new SQS function needs its sample's body checked too: add it to BODY_READERS.
    assert sorted(BODY_READERS) == SQS_FUNCTIONS


@pytest.mark.parametrize("logical_id", SQS_FUNCTIONS)
def test_an_sqs_sample_is_a_complete_lambda_sqs_event_from_its_queue(logical_id: str) -> None:
    # GIVEN the function's sample and the queue the template subscribes it to
    event = load_event(f"invoke/{logical_id}.json")
    (source,) = _sources(logical_id, "SQS")
    queue_logical_id = source["Queue"]["Fn::GetAtt"][0]

    # WHEN Powertools reads it as the handler does
    records = list(SQSEvent(event).records)

    # THEN every record has every field Lambda sends, from that queue in eu-west-1 of account 123456789012
    assert records
    for record in records:
        assert set(record.raw_event) >= {
            "messageId",
            "receiptHandle",
            "body",
            "attributes",
            "messageAttributes",
            "md5OfBody",
            "eventSource",
            "eventSourceARN",
            "awsRegion",
        }
        assert record.event_source == "aws:sqs"
        assert record.aws_region == REGION
        assert re.fullmatch(
            rf"arn:aws:sqs:{REGION}:{ACCOUNT}:[\w-]*{queue_logical_id}-\w+", record.event_source_arn
        )
        assert int(record.attributes.approximate_receive_count) >= 1
        assert record.attributes.sent_timestamp.isdigit()


@pytest.mark.parametrize("logical_id", SQS_FUNCTIONS)
def test_an_sqs_sample_carries_the_body_its_handler_reads(logical_id: str) -> None:
    event = load_event(f"invoke/{logical_id}.json")

    for record in SQSEvent(event).records:
        BODY_READERS[logical_id](record.body)


@pytest.mark.parametrize("logical_id", SQS_FUNCTIONS)
def test_an_sqs_sample_md5_of_body_is_the_md5_of_its_body(logical_id: str) -> None:
    event = load_event(f"invoke/{logical_id}.json")

    for record in SQSEvent(event).records:
        assert record.md5_of_body == hashlib.md5(record.body.encode("utf-8")).hexdigest()  # noqa: S324


def test_the_plan_sample_carries_the_canonical_ticket_closed_event() -> None:
    # GIVEN the canonical example the bus receives
    canonical = load_event("canonical/ticket_closed.json")

    # WHEN the plan sample's body is read; THEN it is that event, as EventBridge delivers it to the queue
    (record,) = SQSEvent(load_event("invoke/PlanFunction.json")).records
    assert json.loads(record.body) == canonical


def test_the_deliverability_sample_carries_the_ses_permanent_bounce_example() -> None:
    (record,) = SQSEvent(load_event("invoke/DeliverabilityFunction.json")).records

    assert json.loads(record.body) == load_event("ses/bounce_permanent.json")


def _route_pattern(path: str) -> re.Pattern[str]:
    """An HTTP API path template (``/s/{token}``) as a regex capturing each parameter."""
    parts = re.split(r"\{(\w+)\}", path)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(regex)


@pytest.mark.parametrize("sample", HTTP_SAMPLES, ids=lambda path: path.name)
def test_an_http_sample_is_a_payload_2_request_for_a_route_of_its_function(sample: Path) -> None:
    # GIVEN the routes the template gives the sample's function
    event = json.loads(sample.read_text(encoding="utf-8"))
    routes = {
        f"{route['Method'].upper()} {route['Path']}": route
        for route in _sources(_function_of(sample), "HttpApi")
    }

    # WHEN Powertools reads the sample as the resolver does
    request = APIGatewayProxyEventV2(event)

    # THEN it is a complete HTTP API 2.0 event for one of those routes, its path and parameters agreeing
    assert set(event) >= {
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "headers",
        "requestContext",
        "pathParameters",
        "isBase64Encoded",
    }
    assert event["version"] == "2.0"
    assert request.route_key in routes
    route = routes[request.route_key]
    assert request.request_context.http.method == route["Method"].upper()
    assert request.request_context.route_key == request.route_key
    assert request.request_context.stage == "$default"
    assert request.request_context.account_id == ACCOUNT
    assert request.request_context.domain_name == request.headers["host"]
    assert request.request_context.http.path == request.raw_path
    match = _route_pattern(route["Path"]).fullmatch(request.raw_path)
    assert match is not None
    assert request.path_parameters == match.groupdict()
    assert dict(parse_qsl(request.raw_query_string)) == (request.query_string_parameters or {})


@pytest.mark.parametrize("sample", HTTP_SAMPLES, ids=lambda path: path.name)
def test_an_http_sample_declares_the_length_of_its_body(sample: Path) -> None:
    event = json.loads(sample.read_text(encoding="utf-8"))

    body = (event.get("body") or "").encode("utf-8")

    assert int(event["headers"]["content-length"]) == len(body)


def test_the_webhook_sample_carries_the_zendesk_solved_example() -> None:
    event = load_event("invoke/ApiFunction.json")

    assert json.loads(event["body"]) == load_event("zendesk/ticket_solved.json")


def test_the_survey_page_sample_asks_for_a_token_that_cannot_be_valid() -> None:
    event = load_event("invoke/ApiFunction_survey_page.json")

    # A signed token is "payload.signature" (itsdangerous); one without a dot is refused unsigned.
    assert "." not in event["pathParameters"]["token"]
