"""SendFunction against moto: a due survey becomes exactly one good email, or a clear reason why not."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError

from closeloop import wiring
from closeloop.domain.links import LinkPurpose
from closeloop.handlers import send
from tests.fakes import LambdaContext
from tests.integration.conftest import Stack
from tests.integration.journeys import deliver, planned, run_send, sent_messages, solved_ticket, surveys


def test_a_due_survey_is_sent_as_a_localized_multipart_email(stack: Stack) -> None:
    # GIVEN a survey planned for Giulia (locale it-IT)
    survey_id = planned(stack)
    # WHEN the send request is processed
    assert run_send(stack) == {"batchItemFailures": []}
    # THEN one email reached SES, in Italian, with both parts and the one-click unsubscribe headers
    [message] = sent_messages()
    assert message["To"].addresses[0].addr_spec == "giulia.rossi@example.com"
    assert message["Content-Language"] == "it"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].startswith("<https://surveys.acme.example/u/")
    assert message["X-Closeloop-Survey-Id"] == survey_id
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Giulia" in text
    assert "Giulia" in html
    assert "4521" in message["Subject"]
    # AND the survey is recorded as sent with SES's message id
    [stored] = surveys(stack)
    assert stored["status"]["S"] == "sent"
    assert stored["message_id"]["S"]


def test_every_answer_link_is_signed_for_this_survey(stack: Stack) -> None:
    survey_id = planned(stack)
    run_send(stack)
    [message] = sent_messages()
    text = message.get_body(("plain",)).get_content()
    links = [w for w in text.split() if w.startswith("https://surveys.acme.example/s/")]
    assert [link.rsplit("=", 1)[1] for link in links] == ["1", "2", "3", "4", "5"]
    token = links[0].split("/s/")[1].split("?")[0]
    assert wiring.link_signer().verify(token, LinkPurpose.SURVEY, datetime.now(UTC)).survey_id == survey_id


def test_a_redelivered_send_request_never_sends_twice(stack: Stack) -> None:
    survey_id = planned(stack)
    run_send(stack)
    stack.clients["sqs"].send_message(
        QueueUrl=stack.send_queue, MessageBody=json.dumps({"survey_id": survey_id})
    )
    assert run_send(stack) == {"batchItemFailures": []}
    assert len(sent_messages()) == 1


def test_a_survey_cancelled_before_its_send_sends_nothing(stack: Stack) -> None:
    planned(stack)
    from tests.conftest import load_event

    deliver(stack, load_event("canonical/ticket_reopened.json"))
    run_send(stack)
    assert sent_messages() == []


def test_an_address_suppressed_after_planning_is_not_mailed(stack: Stack) -> None:
    planned(stack)
    wiring.deliverability_store().suppress("giulia.rossi@example.com", "complaint", datetime.now(UTC))
    run_send(stack)
    assert sent_messages() == []
    assert surveys(stack)[0]["status"]["S"] == "suppressed"


def test_ses_throttling_returns_the_message_with_backoff_and_sends_later(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN SES throttles the first attempt
    survey_id = planned(stack)
    client = wiring.sesv2_client()
    real_send = client.send_email
    calls = {"n": 0}

    def throttled_once(**request: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ClientError(
                {
                    "Error": {"Code": "TooManyRequestsException", "Message": "slow down"},
                    "ResponseMetadata": {"HTTPStatusCode": 429},
                },
                "SendEmail",
            )
        return real_send(**request)

    monkeypatch.setattr(client, "send_email", throttled_once)
    # WHEN the batch runs
    batch = stack.sqs_event(stack.send_queue)
    first = send.lambda_handler(batch, LambdaContext())
    # THEN the record is reported failed (it stays on the queue), nothing was sent, the survey still waits
    assert len(first["batchItemFailures"]) == 1
    assert sent_messages() == []
    assert surveys(stack)[0]["status"]["S"] == "planned"
    # AND it was hidden for a backoff period, not returned at once
    assert stack.clients["sqs"].receive_message(QueueUrl=stack.send_queue).get("Messages", []) == []
    # AND when it comes back (the backoff cut short for the test), it is sent once
    stack.clients["sqs"].change_message_visibility(
        QueueUrl=stack.send_queue, ReceiptHandle=batch["Records"][0]["receiptHandle"], VisibilityTimeout=0
    )
    assert run_send(stack) == {"batchItemFailures": []}
    assert len(sent_messages()) == 1
    assert surveys(stack)[0]["survey_id"]["S"] == survey_id


@pytest.mark.parametrize(
    "body", ["not json", json.dumps({"survey": 1}), json.dumps({"survey_id": "no-such-survey"})]
)
def test_poison_send_requests_are_dead_lettered_with_a_reason(stack: Stack, body: str) -> None:
    stack.clients["sqs"].send_message(QueueUrl=stack.send_queue, MessageBody=body)
    assert run_send(stack) == {"batchItemFailures": []}
    [parked] = stack.drain(stack.send_dlq)
    assert parked["attributes"]["reason"]["StringValue"]


def test_a_survey_left_mid_send_by_a_crash_is_dead_lettered_not_resent(stack: Stack) -> None:
    survey_id = planned(stack)
    wiring.sending_store().claim_for_sending(survey_id, datetime.now(UTC))
    run_send(stack)
    assert sent_messages() == []
    [parked] = stack.drain(stack.send_dlq)
    assert "SendOutcomeUnknownError" in parked["attributes"]["reason"]["StringValue"]


def test_a_customer_known_only_by_address_gets_a_warm_email_in_the_default_language(stack: Stack) -> None:
    # GIVEN the minimal canonical event: no name, no locale, no timezone, no agent
    deliver(stack, solved_ticket("canonical/ticket_closed_minimal.json"))
    assert run_send(stack) == {"batchItemFailures": []}
    [message] = sent_messages()
    assert message["Content-Language"] == "en"
    assert message.get_body(("plain",)).get_content().startswith(("Acme Support", "Hello"))


# --- SES that answers slowly, or not at all: never a second email ------------------------------------


def ses_transport_fails(error: type[Exception]) -> list[str]:
    """Make every SendEmail request of the function's SES client fail in transport with ``error``, as
    botocore reports it, before moto can answer; returns the list of attempts that reached the wire."""
    attempts: list[str] = []

    def fail(request: Any, **_: Any) -> None:
        attempts.append(request.url)
        raise error(endpoint_url=request.url)

    wiring.sesv2_client().meta.events.register_first("before-send.sesv2.SendEmail", fail)
    return attempts


@pytest.mark.parametrize("error", [ReadTimeoutError, ConnectionClosedError], ids=["read-timeout", "dropped"])
def test_an_unanswered_send_is_tried_once_and_dead_lettered_as_outcome_unknown(
    stack: Stack, error: type[Exception]
) -> None:
    # GIVEN a due survey, and SES that takes the request but never answers (or drops the connection)
    planned(stack)
    attempts = ses_transport_fails(error)
    # WHEN the send request is processed
    assert run_send(stack) == {"batchItemFailures": []}
    # THEN SES was called exactly once: the SDK did not retry a request that may have been sent
    assert len(attempts) == 1
    # AND the request is parked with the reason, and the survey stays claimed so nothing resends it
    [parked] = stack.drain(stack.send_dlq)
    reason = parked["attributes"]["reason"]["StringValue"]
    assert reason.startswith("SendOutcomeUnknownError: ")
    assert error.__name__ in reason
    assert surveys(stack)[0]["status"]["S"] == "sending"


def test_a_redelivered_request_after_an_unanswered_send_never_calls_ses_again(stack: Stack) -> None:
    # GIVEN a survey whose send timed out once (SES may have sent it)
    survey_id = planned(stack)
    attempts = ses_transport_fails(ReadTimeoutError)
    run_send(stack)
    stack.drain(stack.send_dlq)
    # WHEN the same request arrives again (a redrive, or a duplicate delivery)
    stack.clients["sqs"].send_message(
        QueueUrl=stack.send_queue, MessageBody=json.dumps({"survey_id": survey_id})
    )
    assert run_send(stack) == {"batchItemFailures": []}
    # THEN SES is not called a second time, and the request is parked again as outcome unknown
    assert len(attempts) == 1
    parked = stack.drain(stack.send_dlq)
    assert parked
    assert all(
        p["attributes"]["reason"]["StringValue"].startswith("SendOutcomeUnknownError: ") for p in parked
    )
    assert sent_messages() == []


def test_a_connection_that_never_opened_gives_the_survey_back_for_a_later_send(stack: Stack) -> None:
    # GIVEN a due survey, and SES that cannot be reached (no connection: the request never left)
    planned(stack)
    attempts = ses_transport_fails(ConnectTimeoutError)
    # WHEN the send request is processed
    batch = stack.sqs_event(stack.send_queue)
    result = send.lambda_handler(batch, LambdaContext())
    # THEN one attempt, the record is returned with backoff, and the survey waits to be sent again
    assert len(attempts) == 1
    assert len(result["batchItemFailures"]) == 1
    assert stack.drain(stack.send_dlq) == []
    assert surveys(stack)[0]["status"]["S"] == "planned"


def test_a_record_is_not_started_when_the_invocation_is_ending(stack: Stack) -> None:
    # GIVEN a due survey, and an invocation with less time left than one send can take in the worst case
    planned(stack)
    context = LambdaContext()
    context.get_remaining_time_in_millis = lambda: send.RECORD_BUDGET_SECONDS * 1000 - 1  # type: ignore[method-assign]
    # WHEN the batch runs
    result = send.lambda_handler(stack.sqs_event(stack.send_queue), context)
    # THEN the record is handed back untouched: not claimed, nothing sent, visible again for the next run
    assert len(result["batchItemFailures"]) == 1
    assert surveys(stack)[0]["status"]["S"] == "planned"
    assert sent_messages() == []
    assert run_send(stack) == {"batchItemFailures": []}
    assert len(sent_messages()) == 1


# --- SES refusals ------------------------------------------------------------------------------------


def ses_refuses(monkeypatch: pytest.MonkeyPatch, code: str, message: str) -> None:
    def refuse(**_: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}},
            "SendEmail",
        )

    monkeypatch.setattr(wiring.sesv2_client(), "send_email", refuse)


def test_an_unverified_recipient_in_the_ses_sandbox_is_dead_lettered_naming_the_sandbox(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an account still in the SES sandbox: SES refuses any recipient that is not verified
    planned(stack)
    with monkeypatch.context() as sandboxed:
        ses_refuses(
            sandboxed,
            "MessageRejected",
            "Email address is not verified. The following identities failed the check in region EU-WEST-1: "
            "Giulia Rossi <giulia.rossi@example.com>, giulia.rossi@example.com",
        )
        # WHEN the send request is processed
        assert run_send(stack) == {"batchItemFailures": []}
    # THEN it is parked with a reason that names the sandbox and what to do, and never the address
    [parked] = stack.drain(stack.send_dlq)
    reason = parked["attributes"]["reason"]["StringValue"]
    assert reason.startswith("RecipientNotVerifiedError: ")
    assert "SES sandbox" in reason
    assert "production access" in reason
    assert "eu-west-1" in reason
    assert "giulia" not in reason.lower()
    # AND nothing was sent, so the survey waits again: redriven once SES lets it through, it goes out
    assert surveys(stack)[0]["status"]["S"] == "planned"
    stack.drain(stack.send_queue)
    stack.clients["sqs"].send_message(QueueUrl=stack.send_queue, MessageBody=json.dumps(parked["body"]))
    assert run_send(stack) == {"batchItemFailures": []}
    assert len(sent_messages()) == 1


def test_an_unverified_sender_is_dead_lettered_naming_the_sender_parameter_not_the_sandbox(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned(stack)
    ses_refuses(
        monkeypatch,
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region EU-WEST-1: "
        "support@acme.example",
    )
    assert run_send(stack) == {"batchItemFailures": []}
    [parked] = stack.drain(stack.send_dlq)
    reason = parked["attributes"]["reason"]["StringValue"]
    assert reason.startswith("SendRejectedError: ")
    assert "SenderAddress" in reason
    assert "sandbox" not in reason
    assert "@" not in reason


def test_any_other_refusal_is_dead_lettered_with_the_ses_error_code(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned(stack)
    ses_refuses(monkeypatch, "AccountSuspendedException", "Your account is suspended")
    assert run_send(stack) == {"batchItemFailures": []}
    [parked] = stack.drain(stack.send_dlq)
    assert parked["attributes"]["reason"]["StringValue"].startswith("SendRejectedError: ")
    assert "AccountSuspendedException" in parked["attributes"]["reason"]["StringValue"]
