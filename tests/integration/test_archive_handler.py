"""ArchiveFunction on the provisioned stack: events put on the bus reach the archive queue through ArchiveRule
and become one Parquet file per UTC day in the archive bucket; what is no event is parked with its reason;
a day S3 refuses goes back to the queue alone."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import duckdb
from botocore.exceptions import ClientError

from closeloop import wiring
from closeloop.adapters.archive import partition_key
from closeloop.handlers import archive
from tests.fakes import LambdaContext
from tests.integration.conftest import REGION, Stack


def put_on_bus(stack: Stack, detail_type: str, detail: dict[str, Any], when: datetime) -> None:
    response = stack.clients["events"].put_events(
        Entries=[
            {
                "EventBusName": stack.bus,
                "Source": "closeloop",
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "Time": when,
            }
        ]
    )
    assert response["FailedEntryCount"] == 0


def sent(survey_id: str, agent: str) -> dict[str, Any]:
    return {
        "version": 1,
        "helpdesk": "zendesk",
        "ticket_id": survey_id.removeprefix("s-"),
        "survey_id": survey_id,
        "survey_type": "csat",
        "locale": "it",
        "sent_at": "2026-11-30T10:00:00Z",
        "expires_at": "2026-12-28T10:00:00Z",
        "agent_id": agent.lower(),
        "agent_name": agent,
        "team_id": "t-1",
        "team_name": "Billing",
    }


def answered(survey_id: str, score: int) -> dict[str, Any]:
    return {
        "version": 1,
        "helpdesk": "zendesk",
        "ticket_id": survey_id.removeprefix("s-"),
        "survey_id": survey_id,
        "response_id": f"r-{survey_id}",
        "survey_type": "csat",
        "score": score,
        "resolved": score >= 4,
        "reasons": [],
        "negative": score <= 2,
        "verdict": [],
        "action": "none",
        "has_comment": False,
        "received_at": "2026-12-01T09:00:00Z",
        "source": "page",
    }


NOV_30 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
DEC_1 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def archive_queue(stack: Stack) -> str:
    return stack.outputs["ArchiveQueueUrl"]


def run_archive(stack: Stack) -> dict[str, Any]:
    event = stack.sqs_event(archive_queue(stack))
    result: dict[str, Any] = archive.lambda_handler(event, LambdaContext())
    return result


def archived_keys(stack: Stack) -> list[str]:
    s3 = boto3.client("s3", region_name=REGION)
    listed = s3.list_objects_v2(
        Bucket=stack.outputs["ArchiveBucketName"], Prefix=stack.outputs["ArchivePrefix"]
    )
    return sorted(item["Key"] for item in listed.get("Contents", []))


def read_rows(stack: Stack, key: str, folder: Path, columns: str) -> list[tuple[Any, ...]]:
    path = folder / key.replace("/", "_")
    boto3.client("s3", region_name=REGION).download_file(stack.outputs["ArchiveBucketName"], key, str(path))
    with duckdb.connect() as connection:
        rows: list[tuple[Any, ...]] = (
            connection.read_parquet(str(path)).order("time, survey_id").project(columns).fetchall()
        )
    return rows


def test_published_events_become_one_parquet_file_per_utc_day(stack: Stack, tmp_path: Path) -> None:
    # GIVEN two surveys sent on 30 November and one answered on 1 December, published on the stack's bus
    put_on_bus(stack, "Survey Sent", sent("s-1", "Marta"), NOV_30)
    put_on_bus(stack, "Survey Sent", sent("s-2", "Luca"), NOV_30)
    put_on_bus(stack, "Survey Response Received", answered("s-1", 5), DEC_1)
    # WHEN ArchiveFunction takes the batch ArchiveRule queued
    result = run_archive(stack)
    # THEN nothing goes back, and each day has one file under its dt= partition
    assert result == {"batchItemFailures": []}
    keys = archived_keys(stack)
    assert [key.split("/")[1] for key in keys] == ["dt=2026-11-30", "dt=2026-12-01"]
    # AND each file holds that day's events as rows
    assert read_rows(stack, keys[0], tmp_path, "detail_type, survey_id, agent_name, time") == [
        ("Survey Sent", "s-1", "Marta", datetime(2026, 11, 30, 10, 0)),
        ("Survey Sent", "s-2", "Luca", datetime(2026, 11, 30, 10, 0)),
    ]
    assert read_rows(stack, keys[1], tmp_path, "detail_type, survey_id, score, resolved, received_at") == [
        ("Survey Response Received", "s-1", 5, True, datetime(2026, 12, 1, 9, 0)),
    ]


def test_a_message_that_is_no_event_is_parked_with_its_reason_and_the_rest_archived(
    stack: Stack, tmp_path: Path
) -> None:
    sqs = stack.clients["sqs"]
    # GIVEN a good event, a message that is not JSON and an event without an id on the archive queue
    put_on_bus(stack, "Survey Sent", sent("s-1", "Marta"), NOV_30)
    sqs.send_message(QueueUrl=archive_queue(stack), MessageBody="not an event")
    headless = {"detail-type": "Survey Sent", "time": "2026-11-30T10:00:00Z", "detail": sent("s-9", "Ana")}
    sqs.send_message(QueueUrl=archive_queue(stack), MessageBody=json.dumps(headless))
    # WHEN the function takes the batch
    result = run_archive(stack)
    # THEN nothing goes back to the queue
    assert result == {"batchItemFailures": []}
    # AND the two are in the dead-letter queue, untouched, each with its reason
    parked = stack.drain(stack.outputs["ArchiveDeadLetterQueueUrl"])
    reasons = sorted(letter["attributes"]["reason"]["StringValue"] for letter in parked)
    assert reasons == [
        "InvalidArchiveEventError: the event has no id",
        "InvalidArchiveEventError: the message is not JSON (Expecting value at character 0)",
    ]
    assert headless in [letter["body"] for letter in parked]
    # AND the good event is archived
    [key] = archived_keys(stack)
    assert read_rows(stack, key, tmp_path, "survey_id") == [("s-1",)]


def test_a_day_s3_refuses_goes_back_alone_and_its_retry_writes_the_same_file(
    stack: Stack, tmp_path: Path
) -> None:
    # GIVEN events of two days, and S3 refusing every write to 30 November's partition
    put_on_bus(stack, "Survey Sent", sent("s-1", "Marta"), NOV_30)
    put_on_bus(stack, "Survey Sent", sent("s-2", "Luca"), NOV_30)
    put_on_bus(stack, "Survey Response Received", answered("s-1", 5), DEC_1)
    s3 = wiring.s3_client()

    def refuse_november(params: dict[str, Any], **_: Any) -> None:
        if "/dt=2026-11-30/" in params["Key"]:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "PutObject")

    s3.meta.events.register("provide-client-params.s3.PutObject", refuse_november)
    event = stack.sqs_event(archive_queue(stack))
    ids = {record["messageId"]: json.loads(record["body"]) for record in event["Records"]}
    # WHEN the function takes the batch
    result = archive.lambda_handler(event, LambdaContext())
    # THEN only 30 November's messages go back
    failed = {item["itemIdentifier"] for item in result["batchItemFailures"]}
    assert sorted(ids[message_id]["detail"]["survey_id"] for message_id in failed) == ["s-1", "s-2"]
    assert all(ids[message_id]["detail-type"] == "Survey Sent" for message_id in failed)
    # AND 1 December's file is written
    assert [key.split("/")[1] for key in archived_keys(stack)] == ["dt=2026-12-01"]

    # WHEN S3 takes writes again and the two come back (Lambda deletes the others; here, by hand)
    s3.meta.events.unregister("provide-client-params.s3.PutObject", refuse_november)
    sqs = stack.clients["sqs"]
    for record in event["Records"]:
        if record["messageId"] not in failed:
            sqs.delete_message(QueueUrl=archive_queue(stack), ReceiptHandle=record["receiptHandle"])
    retry = run_archive(stack)
    # THEN the retry writes 30 November's file, named by the same event ids as the first attempt's
    assert retry == {"batchItemFailures": []}
    november_ids = [ids[message_id]["id"] for message_id in failed]
    expected = partition_key(os.environ["ARCHIVE_PREFIX"], date(2026, 11, 30), november_ids)
    assert expected in archived_keys(stack)
    assert read_rows(stack, expected, tmp_path, "survey_id") == [("s-1",), ("s-2",)]
