"""What ``closeloop redrive`` shows of a parked message: ids and reasons, never a body's addresses, and
never a crash on a body that is not what its queue carries."""

from __future__ import annotations

import json

import pytest

from closeloop_cli.redrive import NO_REASON, about, reason_of
from tests.conftest import load_event


def test_a_parked_ses_event_is_shown_by_event_type_and_survey_only() -> None:
    event = load_event("ses/bounce_permanent.json")
    event["detail"]["mail"]["tags"]["survey_id"] = ["s-1"]
    shown = about("delivery", json.dumps(event))
    assert shown == "Bounce survey_id=s-1"
    assert "@" not in shown


def test_an_s3_notification_is_shown_by_object_key() -> None:
    body = {"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "inbound/abc"}}}]}
    assert about("inbound", json.dumps(body)) == "object inbound/abc"


@pytest.mark.parametrize("queue", ["plan", "send", "reopen", "delivery", "inbound", "archive"])
@pytest.mark.parametrize(
    "body",
    ["", "not json", "[1, 2]", '{"detail": 3}', '{"detail": {"mail": {"tags": {"survey_id": "x"}}}}',
     '{"Records": [1, {"s3": 2}]}', '{"Records": 5}', "[" * 100_000],
)  # fmt: skip
def test_any_body_is_shown_without_an_error(queue: str, body: str) -> None:
    assert isinstance(about(queue, body), str)


def test_the_reason_is_closeloops_then_eventbridges_then_where_to_look() -> None:
    def message(**attributes: str) -> dict[str, object]:
        return {"MessageAttributes": {k: {"StringValue": v} for k, v in attributes.items()}}

    assert reason_of(message(reason="UnknownSurveyError: s-1")) == "UnknownSurveyError: s-1"
    assert reason_of(message(ERROR_CODE="SQS.AccessDenied", ERROR_MESSAGE="denied")) == (
        "EventBridge delivery failed: SQS.AccessDenied denied"
    )
    assert reason_of({}) == NO_REASON
