"""``closeloop erase`` against the stack in moto: a customer's data gone from the table, the inbound bucket,
the dead-letter queues and the event archive's tickets; anonymous counts and a wish not to be contacted
kept."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest

from closeloop import wiring
from closeloop.adapters.archive import archive_row, parquet_bytes, partition_key
from closeloop.adapters.archive_reader import ArchiveFiles, ArchiveReport
from closeloop.adapters.dynamodb.items import survey_to_item, throttle_item
from closeloop.domain.reports import ReportPeriod
from closeloop.domain.surveys import SurveyStatus, customer_key
from closeloop_cli.erase import (
    ERASED_SK,
    NotErasedError,
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


def erase(
    stack: Stack,
    address: str,
    *,
    dry_run: bool = False,
    suppress: bool = False,
    survey_ids: list[str] | None = None,
) -> dict[str, Any]:
    """What ``closeloop erase`` does, returning its report."""
    now = datetime.now(UTC)
    plan = plan_erasure(access(stack), address, now, survey_ids)
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


# ---------------------------------------------------------------------------------------- the archive

ANA = "ana.lima@example.com"
HER_TICKET, HER_HELPDESK_TICKET = "T-GIULIA-4521", "HT-GIULIA-9001"
ANA_TICKET = "T-ANA-4600"
ANA_SURVEY = "a" * 32


def archived_survey(stack: Stack, survey_id: str, ticket_id: str, address: str, sent: datetime) -> None:
    """A sent survey as the table holds it: found by its customer through GSI1."""
    survey = replace(
        the_survey(sent + timedelta(days=28)),
        survey_id=survey_id,
        ticket_id=ticket_id,
        customer_email=address,
        closed_at=sent - timedelta(minutes=30),
        planned_at=sent - timedelta(minutes=30),
        send_at=sent,
        sent_at=sent,
        status=SurveyStatus.SENT,
    )
    item = survey_to_item(survey, timedelta(days=400))
    stack.clients["dynamodb"].put_item(TableName=stack.table, Item=item)


def event(detail_type: str, when: datetime, survey_id: str | None, ticket_id: str, **detail: Any) -> Any:
    body = {"version": 1, "helpdesk": "zendesk", "ticket_id": ticket_id} | detail
    if survey_id is not None:
        body["survey_id"] = survey_id
    moment = when.isoformat().replace("+00:00", "Z")
    return archive_row(
        {
            "id": f"{detail_type}-{survey_id}-{moment}",
            "time": moment,
            "detail-type": detail_type,
            "detail": body,
        }
    )


def sent_event(survey_id: str, ticket_id: str, when: datetime, agent: str) -> Any:
    return event(
        "Survey Sent", when, survey_id, ticket_id, survey_type="csat", locale="en",
        sent_at=when.isoformat(), expires_at=(when + timedelta(days=28)).isoformat(),
        agent_id=agent.lower(), agent_name=agent, team_id="t-1", team_name="Billing",
    )  # fmt: skip


def answer_event(survey_id: str, ticket_id: str, when: datetime, score: int) -> Any:
    return event(
        "Survey Response Received", when, survey_id, ticket_id, response_id=f"r-{survey_id}-{score}",
        survey_type="csat", score=score, resolved=score >= 4, reasons=["slow"] if score <= 2 else [],
        negative=score <= 2, verdict=[], action="reopen" if score <= 2 else "none", has_comment=True,
        received_at=when.isoformat(), source="page",
    )  # fmt: skip


def put_archive_file(s3: Any, bucket: str, rows: list[Any]) -> str:
    key = partition_key("events/", rows[0].day, [row.event_id for row in rows])
    s3.put_object(Bucket=bucket, Key=key, Body=parquet_bytes(rows))
    return key


def archive_objects(s3: Any, bucket: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="events/").get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}


def archive_rows(files: dict[str, bytes], folder: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Each file's rows (every column, in order) and, under ``"schema"``, each file's columns and types."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for index, (key, body) in enumerate(sorted(files.items())):
        path = folder / f"{index}.parquet"
        path.write_bytes(body)
        with duckdb.connect() as connection:
            rows[key] = connection.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
            rows[f"schema {key}"] = connection.execute(
                "DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]
            ).fetchall()
    return rows


def report_of(s3: Any, bucket: str, folder: Path, today: date) -> tuple[Any, ...]:
    """``closeloop report``'s figures over the archive as it is in the bucket now."""
    files = ArchiveFiles(s3, bucket, "events/").download(
        [today - timedelta(days=offset) for offset in range(10)], folder
    )
    report = ArchiveReport(files, today=today)
    period = ReportPeriod(since=today - timedelta(days=9), until=today)
    return (
        report.figures(period),
        report.figures(period, by=("agent", "day")),
        report.top_reasons(period),
        report.score_distribution(period),
        [(r.survey_id, r.response_id, r.score) for r in report.negative_answers(period)],
        [(r.survey_id, r.reopened_at) for r in report.reopened(period)],
    )


def test_erasing_a_customer_removes_her_tickets_from_the_archive_and_keeps_the_report(
    stack: Stack, tmp_path: Path
) -> None:
    s3, bucket = boto3.client("s3"), stack.outputs["ArchiveBucketName"]
    assert stack.outputs["ArchivePrefix"] == "events/"
    now = datetime.now(UTC).replace(microsecond=0)
    today, sent = now.date(), now - timedelta(days=3)
    # GIVEN Giulia's survey and Ana's, both sent three days ago
    archived_survey(stack, SURVEY_ID, HER_TICKET, GIULIA, sent)
    archived_survey(stack, ANA_SURVEY, ANA_TICKET, ANA, sent)
    # AND their events in the archive over four days, Giulia's and Ana's sharing files: the sends, the
    # answers (Giulia's redelivered into a second file), Giulia's reopen, a later skip of her ticket, and a
    # file of Ana's only
    day = [sent + timedelta(days=offset) for offset in range(4)]
    her_answer = answer_event(SURVEY_ID, HER_TICKET, day[1], 1)
    reopen = event(
        "Case Reopened", day[1] + timedelta(hours=1), SURVEY_ID, HER_TICKET, response_id=f"r-{SURVEY_ID}-1",
        action="reopened", helpdesk_ticket_id=HER_HELPDESK_TICKET, verdict=["low_score"],
        reopened_at=(day[1] + timedelta(hours=1)).isoformat(),
    )  # fmt: skip
    skipped = event("Survey Skipped", day[3], None, HER_TICKET, reason="recent_survey")
    her_rows = {  # each shared file, and how many of its rows are hers
        put_archive_file(
            s3, bucket, [sent_event(SURVEY_ID, HER_TICKET, day[0], "Marta"),
                         sent_event(ANA_SURVEY, ANA_TICKET, day[0], "Joan")]
        ): 1,
        put_archive_file(
            s3, bucket, [her_answer, answer_event(ANA_SURVEY, ANA_TICKET, day[1], 5), reopen]
        ): 2,
        put_archive_file(s3, bucket, [her_answer, skipped]): 2,
    }  # fmt: skip
    anas_only = put_archive_file(
        s3, bucket, [event("Reminder Sent", day[2], ANA_SURVEY, ANA_TICKET, survey_type="csat")]
    )
    original = archive_objects(s3, bucket)
    before = archive_rows(original, tmp_path)
    figures_before = report_of(s3, bucket, tmp_path / "before", today)
    [overall] = figures_before[0]  # a guard: the fixture counts both answers and her reopen
    assert (overall.answers, overall.reopens) == (2, 1)

    # WHEN a dry run is asked for
    preview = erase(stack, GIULIA, dry_run=True)
    # THEN it names the three files holding her rows and how many rows, and the bucket is unchanged
    assert {item["key"]: item["rows"] for item in preview["archive_files_anonymised"]} == her_rows
    assert preview["archive_rows_anonymised"] == 5
    assert preview["archive_files_scanned"] == 4
    assert archive_objects(s3, bucket) == original

    # WHEN she is erased
    report = erase(stack, GIULIA)
    # THEN the summary says what was anonymised
    assert report["archive_rows_anonymised"] == 5
    assert {item["key"]: item["rows"] for item in report["archive_files_anonymised"]} == her_rows
    assert "archive: anonymised 5 rows in 3 of 4 files" in render_text(report)
    # AND no file holds her ticket or her helpdesk's ticket anywhere, in a column or in the detail JSON
    erased = archive_objects(s3, bucket)
    after = archive_rows(erased, tmp_path)
    assert set(erased) == set(original)
    for key, rows in after.items():
        for trace in (HER_TICKET, HER_HELPDESK_TICKET, "GIULIA"):
            assert trace not in repr(rows), (key, trace)
    # AND every file keeps its columns and types, its rows in order, Ana's rows as they were
    for key in original:
        assert after[f"schema {key}"] == before[f"schema {key}"]
        assert len(after[key]) == len(before[key])
        for old, new in zip(before[key], after[key], strict=True):
            if HER_TICKET in repr(old):
                assert [v for v, n in zip(old, new, strict=True) if v != n] != []
                survey_column = [name for name, *_ in before[f"schema {key}"]].index("survey_id")
                assert new[survey_column] == old[survey_column]
            else:
                assert new == old
    assert erased[anas_only] == original[anas_only]
    # AND her rows keep everything but the tickets: the report's figures are the same
    assert report_of(s3, bucket, tmp_path / "after", today) == figures_before

    # WHEN she is erased again
    again = erase(stack, GIULIA)
    # THEN nothing changes: the table no longer links her to a survey, the archive holds none of her tickets
    assert (again["surveys"], again["archive_rows_anonymised"]) == ([], 0)
    assert archive_objects(s3, bucket) == erased


def test_events_archived_after_an_erasure_are_anonymised_by_erasing_her_surveys_again(
    stack: Stack, tmp_path: Path
) -> None:
    s3, bucket = boto3.client("s3"), stack.outputs["ArchiveBucketName"]
    now = datetime.now(UTC).replace(microsecond=0)
    sent = now - timedelta(days=2)
    # GIVEN Giulia erased, her survey's send in the archive
    archived_survey(stack, SURVEY_ID, HER_TICKET, GIULIA, sent)
    put_archive_file(s3, bucket, [sent_event(SURVEY_ID, HER_TICKET, sent, "Marta")])
    first = erase(stack, GIULIA)
    assert [survey["survey_id"] for survey in first["surveys"]] == [SURVEY_ID]
    assert first["archive_rows_anonymised"] == 1
    # AND her answer, on its way to the archive during the erasure, archived after it
    late = put_archive_file(s3, bucket, [answer_event(SURVEY_ID, HER_TICKET, now - timedelta(hours=1), 2)])
    anonymised = archive_objects(s3, bucket)

    # WHEN she is erased again by address only
    # THEN the late file is not found: nothing in the table links her to the survey any more
    assert erase(stack, GIULIA)["archive_rows_anonymised"] == 0
    # WHEN she is erased again with the survey the first erasure listed, as a dry run
    preview = erase(stack, GIULIA, dry_run=True, survey_ids=[SURVEY_ID])
    # THEN it names the late file only, and changes nothing
    assert preview["archive_files_anonymised"] == [{"key": late, "rows": 1}]
    assert archive_objects(s3, bucket) == anonymised
    # WHEN it is run for real
    report = erase(stack, GIULIA, survey_ids=[SURVEY_ID])
    # THEN the late file holds her ticket no more, and the files anonymised before are as they were
    assert report["archive_files_anonymised"] == [{"key": late, "rows": 1}]
    now_stored = archive_objects(s3, bucket)
    assert HER_TICKET not in repr(archive_rows({late: now_stored[late]}, tmp_path))
    assert {key: body for key, body in now_stored.items() if key != late} == {
        key: body for key, body in anonymised.items() if key != late
    }


def test_erase_refuses_a_survey_id_that_no_erasure_left(stack: Stack) -> None:
    # GIVEN Ana's survey, not erased
    archived_survey(stack, ANA_SURVEY, ANA_TICKET, ANA, datetime.now(UTC) - timedelta(days=1))
    # WHEN Giulia's erasure names it THEN it is refused: it would anonymise someone else's events
    with pytest.raises(NotErasedError, match="no erased survey"):
        erase(stack, GIULIA, survey_ids=[ANA_SURVEY])
    with pytest.raises(NotErasedError, match="not a survey id"):
        erase(stack, GIULIA, survey_ids=["../x"])
