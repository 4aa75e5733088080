"""ReopenFunction against moto and the local fake helpdesk: negative answers reopen tickets, once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from closeloop import wiring
from closeloop.adapters.helpdesks.generic import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from closeloop.domain.leads import team_lead
from closeloop.domain.surveys import Survey, SurveyResponse, VerdictAction
from closeloop.handlers import reopen
from tests.fakes import LambdaContext
from tests.integration.conftest import GENERIC_SECRET, ReopenStack
from tests.integration.journeys import answer, sent_messages, sent_survey


def test_a_solved_zendesk_ticket_is_reopened_with_a_private_note(reopen_stack: ReopenStack) -> None:
    # GIVEN Giulia answered 1 star with a comment
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, answer(survey, 1, "Mi hanno addebitato di nuovo due volte."))
    # WHEN the grace period is over and the request is handled
    assert reopen_stack.run() == {"batchItemFailures": []}
    # THEN Zendesk received one update: status open, a private comment with her words
    [update] = [r for r in reopen_stack.helpdesk.requests if r.method == "PUT"]
    assert update.path == "/api/v2/tickets/4521.json"
    assert update.json["ticket"]["status"] == "open"
    assert update.json["ticket"]["comment"]["public"] is False
    assert "> Mi hanno addebitato di nuovo due volte." in update.json["ticket"]["comment"]["body"]
    assert reopen_stack.helpdesk.zendesk_ticket("4521")["status"] == "open"  # type: ignore[index]
    # AND Case Reopened is on the bus
    [event] = reopen_stack.stack.published("Case Reopened")
    assert event["detail"]["action"] == "reopened"
    assert event["detail"]["helpdesk_ticket_id"] == "4521"
    assert event["detail"]["survey_id"] == survey.survey_id


def test_a_closed_zendesk_ticket_gets_a_follow_up_ticket(reopen_stack: ReopenStack) -> None:
    reopen_stack.helpdesk.add_zendesk_ticket(
        {"id": 4521, "status": "closed", "requester_id": 777, "group_id": 5}
    )
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, answer(survey, 2, "Ancora rotto"))
    assert reopen_stack.run() == {"batchItemFailures": []}
    [created] = [r for r in reopen_stack.helpdesk.requests if r.method == "POST"]
    ticket = created.json["ticket"]
    assert ticket["via_followup_source_id"] == 4521
    assert ticket["requester_id"] == 777
    assert ticket["group_id"] == 5
    assert ticket["comment"]["public"] is False
    assert "> Ancora rotto" in ticket["comment"]["body"]
    assert (
        ticket["subject"] == "Seguimiento: Doppio addebito sulla fattura di ottobre"
    )  # the lead reads Spanish
    assert created.headers["Idempotency-Key"] == f"closeloop-follow-up-{survey.survey_id}"
    [event] = reopen_stack.stack.published("Case Reopened")
    assert event["detail"]["action"] == "follow_up_created"
    assert event["detail"]["helpdesk_ticket_id"] != "4521"


def test_a_freshdesk_ticket_is_set_open_with_a_private_note(reopen_stack: ReopenStack) -> None:
    survey = sent_survey(reopen_stack.stack, ticket_id="812", helpdesk="freshdesk")
    reopen_stack.request(survey, answer(survey, 1, "Non funziona <ancora>"))
    assert reopen_stack.run() == {"batchItemFailures": []}
    assert reopen_stack.helpdesk.freshdesk_ticket("812")["status"] == 2  # type: ignore[index]
    [note] = reopen_stack.helpdesk.freshdesk_notes("812")
    assert note["private"] is True
    assert "&gt; Non funziona &lt;ancora&gt;" in note["body"]
    [event] = reopen_stack.stack.published("Case Reopened")
    assert event["detail"]["action"] == "reopened"


def test_another_helpdesk_gets_a_signed_webhook(reopen_stack: ReopenStack) -> None:
    survey = sent_survey(reopen_stack.stack, ticket_id="HS-77", helpdesk="helpscout")
    reopen_stack.request(survey, answer(survey, 1, "Nessuna risposta"))
    assert reopen_stack.run() == {"batchItemFailures": []}
    [hook] = reopen_stack.helpdesk.webhook_requests()
    # THEN the receiver can verify it with the documented recipe
    assert verify_signature(
        GENERIC_SECRET, hook.headers[TIMESTAMP_HEADER], hook.body, hook.headers[SIGNATURE_HEADER], time.time()
    )
    assert not verify_signature(
        "wrong", hook.headers[TIMESTAMP_HEADER], hook.body, hook.headers[SIGNATURE_HEADER], time.time()
    )
    assert hook.json["ticket"]["id"] == "HS-77"
    assert hook.json["answer"]["comment"] == "Nessuna risposta"
    [event] = reopen_stack.stack.published("Case Reopened")
    assert event["detail"]["action"] == "webhook_delivered"


def test_a_redelivered_request_never_reopens_twice(reopen_stack: ReopenStack) -> None:
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, answer(survey, 1, "No"))
    reopen_stack.run()
    # WHEN the same message is delivered again (it is still on the queue: nothing deleted it)
    assert reopen_stack.run() == {"batchItemFailures": []}
    assert len([r for r in reopen_stack.helpdesk.requests if r.method == "PUT"]) == 1
    events = reopen_stack.stack.published()
    assert [e["detail-type"] for e in events] == ["Case Reopened", "Reopen Skipped"]
    assert events[1]["detail"]["reason"] == "already_reopened"
    assert len(sent_messages()) == 1


def test_a_positive_answer_after_the_negative_one_cancels_the_reopen(reopen_stack: ReopenStack) -> None:
    survey = sent_survey(reopen_stack.stack)
    negative = answer(survey, 1, "Sbagliato")
    answer(survey, 5, "Scusate, ho sbagliato a cliccare", minutes=1)
    reopen_stack.request(survey, negative)
    assert reopen_stack.run() == {"batchItemFailures": []}
    assert reopen_stack.helpdesk.requests == []
    [skipped] = reopen_stack.stack.published("Reopen Skipped")
    assert skipped["detail"]["reason"] == "answer_changed"
    assert sent_messages() == []
    assert reopen_stack.sns_messages() == []


def mixed_answer(survey: Survey) -> SurveyResponse:
    """Five stars and "problem solved" with an angry comment, stored as the survey page stores it."""
    response = SurveyResponse(
        response_id=f"r-{survey.survey_id[:8]}-mixed", survey_id=survey.survey_id,
        received_at=datetime.now(UTC),
        score=5, resolved=True, comment="Risolto, ma nessuno mi ha mai richiamato.", reasons=(), locale="it",
        negative=True, verdict_reasons=("negative_comment",), action=VerdictAction.ALERT,
    )  # fmt: skip
    wiring.answer_store().add_response(survey, response)
    return response


def test_mixed_signals_alert_the_lead_once_and_leave_the_ticket_alone(reopen_stack: ReopenStack) -> None:
    # GIVEN a happy explicit answer with an angry comment (action alert)
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, mixed_answer(survey))
    # WHEN the request is handled, then delivered again
    assert reopen_stack.run() == {"batchItemFailures": []}
    assert reopen_stack.run() == {"batchItemFailures": []}
    # THEN the helpdesk never heard of it
    assert reopen_stack.helpdesk.requests == []
    # AND the "please look" case is announced, published on SNS and emailed to the lead, once each
    [skipped] = reopen_stack.stack.published("Reopen Skipped")
    assert skipped["detail"]["reason"] == "please_look"
    assert reopen_stack.stack.published("Case Reopened") == []
    [notification] = reopen_stack.sns_messages()
    assert notification["MessageAttributes"]["result"]["Value"] == "please_look"
    [email] = sent_messages()
    assert "Por revisar" in email["Subject"]  # the Billing lead reads Spanish
    assert "nessuno mi ha mai richiamato" in email.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_at_the_cap_the_helpdesk_is_left_alone_and_the_lead_is_alerted(
    reopen_stack: ReopenStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a cap of 1, a deployment that surveys a ticket again after each solve, and a first reopen done
    monkeypatch.setenv("REOPEN_CAP", "1")
    monkeypatch.setenv("RESURVEY_AFTER_REOPEN", "true")
    wiring.reset()
    first = sent_survey(reopen_stack.stack)
    reopen_stack.request(first, answer(first, 1, "Primo"))
    reopen_stack.run()
    reopen_stack.stack.drain(reopen_stack.queue)
    reopen_stack.helpdesk.clear_requests()
    reopen_stack.stack.drain(reopen_stack.stack.bus_tap)
    reopen_stack.sns_messages()
    # WHEN the ticket is solved again and the new survey comes back negative
    second_close = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    second = sent_survey(reopen_stack.stack, closed_at=second_close)
    reopen_stack.request(second, answer(second, 1, "Secondo"))
    assert reopen_stack.run() == {"batchItemFailures": []}
    # THEN the helpdesk is not called, the skip is announced, and the lead hears of the cap
    assert reopen_stack.helpdesk.requests == []
    [skipped] = reopen_stack.stack.published("Reopen Skipped")
    assert skipped["detail"]["reason"] == "cap_reached"
    [notification] = reopen_stack.sns_messages()
    assert notification["MessageAttributes"]["result"]["Value"] == "cap_reached"
    assert "límite de reaperturas" in sent_messages()[-1]["Subject"]


def test_a_helpdesk_outage_is_retried_with_backoff(reopen_stack: ReopenStack) -> None:
    # GIVEN Zendesk answers 503 twice, then works
    reopen_stack.helpdesk.fail_next(2, 503)
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, answer(survey, 1, "Rotto"))
    sqs = reopen_stack.stack.clients["sqs"]
    for attempt in (1, 2):
        event = reopen_stack.stack.sqs_event(reopen_stack.queue)
        [record] = event["Records"]
        result = reopen.lambda_handler(event, LambdaContext())
        # THEN the message fails and is hidden for the backoff (nothing visible on the queue)...
        assert result == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}, attempt
        assert sqs.receive_message(QueueUrl=reopen_stack.queue).get("Messages", []) == []
        # ...until the backoff is over (simulated)
        sqs.change_message_visibility(
            QueueUrl=reopen_stack.queue, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
        )
    assert reopen_stack.run() == {"batchItemFailures": []}
    assert reopen_stack.helpdesk.zendesk_ticket("4521")["status"] == "open"  # type: ignore[index]
    assert len(reopen_stack.stack.published("Case Reopened")) == 1
    assert reopen_stack.stack.drain(reopen_stack.dlq) == []


def test_a_helpdesk_refusal_goes_to_the_dead_letter_queue_with_the_reason(reopen_stack: ReopenStack) -> None:
    reopen_stack.helpdesk.fail_next(1, 403)
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, answer(survey, 1, "Rotto"))
    assert reopen_stack.run() == {"batchItemFailures": []}
    [parked] = reopen_stack.stack.drain(reopen_stack.dlq)
    assert parked["body"] == {"survey_id": survey.survey_id, "response_id": parked["body"]["response_id"]}
    assert parked["attributes"]["reason"]["StringValue"].startswith(
        "HelpdeskRefusedError: zendesk answered 403"
    )
    assert reopen_stack.stack.published("Case Reopened") == []


def test_a_malformed_request_goes_to_the_dead_letter_queue(reopen_stack: ReopenStack) -> None:
    reopen_stack.stack.clients["sqs"].send_message(QueueUrl=reopen_stack.queue, MessageBody="not json")
    assert reopen_stack.run() == {"batchItemFailures": []}
    [parked] = reopen_stack.stack.drain(reopen_stack.dlq)
    assert parked["attributes"]["reason"]["StringValue"].startswith("MalformedReopenRequestError")


def test_the_lead_is_emailed_in_their_language_with_the_customers_history(reopen_stack: ReopenStack) -> None:
    # GIVEN Giulia answered an earlier survey about another ticket
    # (ticket links are shown only on the configured Zendesk's host: here the fake helpdesk's)
    ticket_url = f"{reopen_stack.helpdesk.url}/agent/tickets/4521"
    earlier = sent_survey(reopen_stack.stack, ticket_id="4410", subject="Fattura mancante")
    answer(earlier, 4, "Grazie, tutto bene")
    survey = sent_survey(reopen_stack.stack, url=ticket_url)
    reopen_stack.request(survey, answer(survey, 1, "Di nuovo addebitato"))
    reopen_stack.run()
    # THEN Billing's lead gets one email, in Spanish, with the answer and the history
    [message] = sent_messages()
    assert message["To"].addresses[0].addr_spec == "ana@acme.example"
    assert message["Content-Language"] == "es"
    assert message["Subject"] == "Ticket #4521 reabierto tras una respuesta negativa"
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert "Di nuovo addebitato" in part
        assert "1 de 5 (satisfacción; 5 es lo mejor)" in part
        assert ticket_url in part
        assert "Marta Puig" in part
        assert "Billing" in part
        assert "4410" in part
        assert "Grazie, tutto bene" in part


def test_the_lead_alert_topic_gets_a_short_message_without_the_customers_address(
    reopen_stack: ReopenStack,
) -> None:
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, answer(survey, 1, "Di nuovo addebitato"))
    reopen_stack.run()
    [notification] = reopen_stack.sns_messages()
    assert notification["Subject"] == "Ticket #4521 reabierto tras una respuesta negativa"
    assert "Giulia Rossi" in notification["Message"]
    assert "Di nuovo addebitato" in notification["Message"]
    assert "giulia.rossi@example.com" not in notification["Message"]
    attributes = notification["MessageAttributes"]
    assert attributes["team_id"]["Value"] == "20455932"
    assert attributes["helpdesk"]["Value"] == "zendesk"
    assert attributes["result"]["Value"] == "reopened"


# --- who gets the alert: the team's lead from the surveys table, else LeadAlertAddress -----------------


def test_a_lead_set_for_the_team_id_wins_over_the_one_set_for_its_name(reopen_stack: ReopenStack) -> None:
    # GIVEN the Billing team (id 20455932) has a lead by name and another by id
    wiring.team_lead_repository().put(team_lead("20455932", "marc@acme.example"), datetime.now(UTC))
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, answer(survey, 1, "Di nuovo addebitato"))
    # WHEN the reopen fires
    reopen_stack.run()
    # THEN the lead set for the id is alerted, in LeadLocale (none was set for them): here DefaultLocale
    [message] = sent_messages()
    assert message["To"].addresses[0].addr_spec == "marc@acme.example"
    assert message["Content-Language"] == "en"


def test_a_team_without_a_lead_alerts_the_default_lead(reopen_stack: ReopenStack) -> None:
    # GIVEN Billing's lead was removed (closeloop leads remove Billing)
    assert wiring.team_lead_repository().remove("billing") is not None
    survey = sent_survey(reopen_stack.stack)
    reopen_stack.request(survey, answer(survey, 1, "Di nuovo addebitato"))
    reopen_stack.run()
    # THEN LeadAlertAddress is alerted
    [message] = sent_messages()
    assert message["To"].addresses[0].addr_spec == "leads@acme.example"
