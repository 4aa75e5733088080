"""The steps integration tests share to bring a survey where they need it: solved, planned, sent."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from moto.backends import get_backend

from closeloop import wiring
from closeloop.domain.surveys import Survey, SurveyResponse
from closeloop.handlers import plan, send
from tests.conftest import load_event
from tests.fakes import LambdaContext
from tests.integration.conftest import Stack


def solved_ticket(path: str = "canonical/ticket_closed.json", **detail: Any) -> dict[str, Any]:
    """An example event, solved five minutes ago (examples carry fixed dates; rules depend on 'now')."""
    event = load_event(path)
    event["detail"]["closed_at"] = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    event["detail"].update(detail)
    return event


def deliver(stack: Stack, *events: dict[str, Any]) -> dict[str, Any]:
    """Put events on the plan queue as the EventBridge rule does, then run the handler on one batch."""
    for event in events:
        stack.clients["sqs"].send_message(QueueUrl=stack.plan_queue, MessageBody=json.dumps(event))
    result: dict[str, Any] = plan.lambda_handler(stack.sqs_event(stack.plan_queue), LambdaContext())
    return result


def surveys(stack: Stack) -> list[dict[str, Any]]:
    items = stack.clients["dynamodb"].scan(TableName=stack.table)["Items"]
    return [item for item in items if item["SK"]["S"] == "SURVEY"]


def run_send(stack: Stack) -> dict[str, Any]:
    result: dict[str, Any] = send.lambda_handler(stack.sqs_event(stack.send_queue), LambdaContext())
    return result


def sent_messages() -> list[EmailMessage]:
    """Every raw message moto's SES received, parsed as a mail client would."""
    backend = get_backend("ses")["123456789012"]["eu-west-1"]
    return [
        email.message_from_string(m.raw_data, policy=email.policy.default)  # type: ignore[misc]
        for m in backend.sent_messages
        if hasattr(m, "raw_data")
    ]


def sent_survey(stack: Stack, ticket_id: str = "4521", **detail: Any) -> Survey:
    """A survey planned for a freshly solved ticket and recorded as sent (without rendering an email)."""
    deliver(stack, solved_ticket(ticket_id=ticket_id, **detail))
    helpdesk = detail.get("helpdesk", "zendesk")
    planned_surveys = wiring.planning_store().surveys_of_ticket(f"{helpdesk}#{ticket_id}")
    [survey] = [s for s in planned_surveys if s.status == "planned"]
    now = datetime.now(UTC)
    sending = wiring.sending_store()
    sending.claim_for_sending(survey.survey_id, now)
    sending.mark_sent(survey.survey_id, "ses-id", now, now + timedelta(days=28))
    stack.drain(stack.send_queue)
    stack.drain(stack.bus_tap)
    return survey


def planned(stack: Stack, **detail: Any) -> str:
    """A survey planned (and queued for sending) for a freshly solved ticket; its id."""
    deliver(stack, solved_ticket(**detail))
    return str(surveys(stack)[-1]["survey_id"]["S"])


def answer(survey: Survey, score: int, comment: str | None = None, minutes: int = 0) -> SurveyResponse:
    """A stored answer to a sent survey: negative for scores of 2 or less."""
    negative = score <= 2
    response = SurveyResponse(
        response_id=f"r-{survey.survey_id[:8]}-{score}-{minutes}", survey_id=survey.survey_id,
        received_at=datetime.now(UTC) + timedelta(minutes=minutes), score=score, resolved=not negative,
        comment=comment, reasons=("not_resolved",) if negative else (), locale="it", negative=negative,
        verdict_reasons=("low_score",) if negative else (),
    )  # fmt: skip
    wiring.answer_store().add_response(survey, response)
    return response
