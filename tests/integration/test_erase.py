"""``closeloop erase`` against the stack in moto: a customer's data gone from the table, the inbound bucket
and the dead-letter queues; anonymous counts and a wish not to be contacted kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from closeloop import wiring
from closeloop.adapters.dynamodb.items import throttle_item
from closeloop.domain.surveys import customer_key
from closeloop_cli.erase import (
    ERASED_SK,
    apply_erasure,
    erase_dead_letters,
    plan_erasure,
    render,
    render_text,
)
from closeloop_cli.main import main
from tests.conftest import EVENTS
from tests.integration.conftest import Stack
from tests.integration.journeys import deliver, solved_ticket
from tests.integration.test_inbound_handler import PREFIX, SURVEY_ID, Inbound, the_survey
from tests.integration.test_inbound_handler import replies as replies  # the fixture
from tests.integration.test_redrive import access, park

GIULIA = "giulia.rossi@example.com"


def table_items(stack: Stack) -> list[dict[str, Any]]:
    return stack.clients["dynamodb"].scan(TableName=stack.table)["Items"]


def bucket_keys(inbound: Inbound) -> set[str]:
    listed = inbound.s3.list_objects_v2(Bucket=inbound.bucket, Prefix=PREFIX).get("Contents", [])
    return {entry["Key"] for entry in listed}


def erase(stack: Stack, address: str, *, dry_run: bool = False, suppress: bool = False) -> dict[str, Any]:
    """What ``closeloop erase`` does, returning its report."""
    now = datetime.now(UTC)
    plan = plan_erasure(access(stack), address, now)
    if not dry_run:
        apply_erasure(access(stack), plan, address, suppress, now)
    dead_letters = erase_dead_letters(access(stack), address, act=not dry_run)
    return render(plan, dead_letters, dry_run=dry_run, suppress=suppress)


def raw_reply(sender: str, *, to_her_survey: bool = True) -> bytes:
    """Giulia's Gmail reply as if ``sender`` had sent it (a colleague, an alias); to her survey, or (with
    ``to_her_survey`` false) to another survey's reply address, quoting another email."""
    raw = (EVENTS / "email" / "gmail_en_top_posted.eml").read_bytes()
    raw = raw.replace(b"Giulia Rossi <giulia.rossi@example.com>", sender.encode())
    raw = raw.replace(
        b"<giulia.rossi@example.com>", b"<" + sender.encode().split(b"<")[-1].rstrip(b">") + b">"
    )
    if not to_her_survey:
        raw = raw.replace(b"reply+h6ocw7sb3bfa7htllqosu7upsapyrzmfn4yhsbypkx", b"reply+" + b"a" * 42)
        raw = raw.replace(b"0102019a4c3e6b1d-5f2c8a91", b"0102019a4c3e6b1d-00000000")
    return raw


def test_raw_replies_of_others_name_neither_her_address_nor_her_survey() -> None:
    # A guard for the fixtures below: only what the erasure is meant to find links them to her.
    other = raw_reply("Ana <ana@example.com>", to_her_survey=False)
    assert b"giulia" not in other.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].lower()
    assert b"h6ocw7sb3bfa7htllqosu7upsapyrzmfn4yhsbypkx" not in other
    assert b"5f2c8a91" not in other


def test_erasing_a_customer_leaves_no_trace_of_them_and_keeps_anonymous_counts(replies: Inbound) -> None:
    stack = replies.reopen.stack
    # GIVEN Giulia's sent survey, her negative reply by email (recorded, the ticket reopened), her
    # out-of-office (kept in the bucket), her throttle, her unsubscribe, and a ticket event of hers parked
    assert replies.deliver("gmail_en_top_posted.eml") == {"batchItemFailures": []}
    [request] = replies.reopen_requests()
    replies.requeue(request)
    assert replies.reopen.run() == {"batchItemFailures": []}
    assert replies.deliver("auto_x_autoreply_it.eml") == {"batchItemFailures": []}
    replies.s3.put_object(Bucket=replies.bucket, Key=f"{PREFIX}forwarded", Body=raw_reply("m@example.com"))
    stack.clients["dynamodb"].put_item(
        TableName=stack.table,
        Item=throttle_item(the_survey(datetime.now(UTC)), datetime.now(UTC) + timedelta(days=30)),
    )
    wiring.answer_store().suppress(GIULIA, "unsubscribed", datetime.now(UTC))
    park(stack, stack.plan_dlq, json.dumps(solved_ticket(ticket_id="77")), "InvalidTicketEventError: x")
    # AND someone else's reply to another survey, and someone else's parked event
    replies.s3.put_object(
        Bucket=replies.bucket,
        Key=f"{PREFIX}other",
        Body=raw_reply("Ana <ana@example.com>", to_her_survey=False),
    )
    other_event = solved_ticket(ticket_id="78", customer={"email": "ana@example.com", "name": "Ana"})
    park(stack, stack.plan_dlq, json.dumps(other_event), "InvalidTicketEventError: y")
    before = table_items(stack)

    # WHEN a dry run is asked for
    preview = erase(stack, GIULIA, dry_run=True)
    # THEN it says what would go, and nothing changed
    assert [(s["survey_id"], s["answers"], s["comments"]) for s in preview["surveys"]] == [(SURVEY_ID, 1, 1)]
    assert set(preview["inbound_objects_removed"]) == {
        f"{PREFIX}gmail_en_top_posted",
        f"{PREFIX}auto_x_autoreply_it",
        f"{PREFIX}forwarded",
    }
    assert preview["dead_letters_removed"] == {"plan": 1, "delivery": 0}
    assert table_items(stack) == before
    assert len(bucket_keys(replies)) == 4

    # WHEN she is erased
    report = erase(stack, GIULIA)
    # THEN no record of the table holds her address, her name, her words or her ticket's subject
    dump = json.dumps(table_items(stack)).lower()
    for trace in ("giulia", "rossi", "still doesn't work", "vat number", "crashes"):
        assert trace not in dump, trace
    # AND only her suppression holds her address's hash: she unsubscribed, so she is never surveyed again
    hashed = [item for item in table_items(stack) if customer_key(GIULIA) in json.dumps(item)]
    assert [item["PK"]["S"] for item in hashed] == [f"SUPPRESSION#{customer_key(GIULIA)}"]
    assert report["suppression"].startswith("kept (unsubscribed")
    # AND what is left of her survey is anonymous: its status, the agent and team, the score, the reopen
    [kept] = [item for item in table_items(stack) if item["PK"]["S"] == f"SURVEY#{SURVEY_ID}"]
    assert kept["SK"]["S"] == ERASED_SK
    assert kept["status"]["S"] == "sent"
    assert kept["team"]["M"]["name"]["S"] == "Billing"
    assert kept["reopened"]["BOOL"] is True
    [kept_answer] = kept["answers"]["L"]
    assert kept_answer["M"]["source"]["S"] == "email"
    assert "comment" not in kept_answer["M"]
    # AND the rest is the ticket's reopen counter (no survey, no customer in it) and the team's lead
    assert sorted((item["PK"]["S"], item["SK"]["S"]) for item in table_items(stack)) == [
        ("LEAD#billing", "LEAD"),
        (f"SUPPRESSION#{customer_key(GIULIA)}", "SUPPRESSION"),
        (f"SURVEY#{SURVEY_ID}", ERASED_SK),
        ("TICKET#zendesk#4521", "REOPENS"),
    ]
    # AND her mail is gone from the bucket, the other reply is kept
    assert bucket_keys(replies) == {f"{PREFIX}other"}
    # AND her parked event is gone, the other is still there
    parked = stack.drain(stack.plan_dlq)
    assert [message["body"]["detail"]["ticket_id"] for message in parked] == ["78"]
    # AND the report names no address
    assert "@" not in render_text(report)

    # WHEN she is erased again THEN there is nothing left to remove
    again = erase(stack, GIULIA)
    assert again["surveys"] == []
    assert again["inbound_objects_removed"] == []


def test_a_bounce_suppression_is_removed_and_suppress_keeps_her_from_being_surveyed_again(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a survey planned an hour ahead (its send is scheduled) and a bounce suppression of the address
    monkeypatch.setenv("FOLLOW_UP_DELAY_MINUTES", "60")
    wiring.reset()
    deliver(stack, solved_ticket(ticket_id="5", customer={"email": "Ana@Example.com", "name": "Ana"}))
    stack.drain(stack.plan_queue)  # handled (Lambda deletes what its handler did not report as failed)
    wiring.deliverability_store().suppress("ana@example.com", "bounce", datetime.now(UTC))
    scheduler, group = stack.clients["scheduler"], stack.outputs["ScheduleGroupName"]
    assert len(scheduler.list_schedules(GroupName=group)["Schedules"]) == 1
    # WHEN she is erased, asking never to be surveyed again
    report = erase(stack, "ana@example.com", suppress=True)
    # THEN the survey and its schedule are gone, and the bounce gave way to an erasure suppression
    assert [survey["status"] for survey in report["surveys"]] == ["planned"]
    assert scheduler.list_schedules(GroupName=group)["Schedules"] == []
    assert report["suppression"].startswith("written (erasure)")
    [suppression] = [item for item in table_items(stack) if item["PK"]["S"].startswith("SUPPRESSION#")]
    assert suppression["reason"]["S"] == "erasure"
    # AND a new solve of her ticket is skipped as suppressed
    deliver(stack, solved_ticket(ticket_id="6", customer={"email": "ana@example.com", "name": "Ana"}))
    skips = [item for item in table_items(stack) if item["SK"]["S"].startswith("CLOSE#")]
    assert [item["reason"]["S"] for item in skips] == ["suppressed"]


def test_erase_refuses_what_is_not_an_address_and_needs_a_stack(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert main(["erase", "--email", "not-an-address"]) == 2
    assert "is not an email address" in capsys.readouterr().err
    assert main(["erase", "--email", "a@example.com"]) == 2
    assert "pass --stack-name" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["erase"])
    assert usage.value.code == 2
