"""The sandbox's AWS endpoint: moto in a process of its own, with the outbox writer beside it.

These tests start ``AwsEmulator`` as the sandbox does and talk to it over HTTP with boto3: it listens,
writes sent mail to the outbox, lets go of what moto no longer holds, keeps DynamoDB's writes, and never
outlives whoever started it.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from moto.backends import get_backend
from moto.dynamodb.models.dynamo_type import DynamoType

from closeloop_cli.aws_emulator import AwsEmulator, AwsEmulatorError, TransactionBackups
from tests.e2e.sandbox_process import REGION, client_for, eventually, free_port, is_running

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"
SENDER = "surveys@acme.example"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[AwsEmulator]:
    running = AwsEmulator(
        host="127.0.0.1", port=free_port(), outbox=tmp_path / "outbox", account_id=ACCOUNT, region=REGION
    )
    running.start()
    yield running
    running.stop()


def _listens(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _send_survey_email(emulator: AwsEmulator, subject: str) -> None:
    ses = client_for(emulator.url, "sesv2")
    ses.create_email_identity(EmailIdentity=SENDER)
    ses.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["ana@example.org"]},
        Content={"Simple": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": "How did we do?"}}}},
    )


def _table(emulator: AwsEmulator, items: int) -> Any:
    dynamodb = client_for(emulator.url, "dynamodb")
    dynamodb.create_table(
        TableName="surveys",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for index in range(items):
        dynamodb.put_item(TableName="surveys", Item={"PK": {"S": f"survey-{index}"}, "status": {"S": "sent"}})
    return dynamodb


def _cancelled_transaction(dynamodb: Any, index: int) -> None:
    """A transaction whose condition fails: moto restores its copy of the table."""
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "surveys",
                        "Key": {"PK": {"S": f"survey-{index}"}},
                        "UpdateExpression": "SET #status = :answered",
                        "ConditionExpression": "#status = :sending",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":answered": {"S": "answered"},
                            ":sending": {"S": "sending"},
                        },
                    }
                }
            ]
        )


def test_sent_mail_is_written_to_the_outbox(emulator: AwsEmulator) -> None:
    # WHEN SES is asked to send an email
    _send_survey_email(emulator, "How did we do?")

    # THEN it lands in the outbox, as raw MIME and as text
    eml = eventually(lambda: next(iter(emulator.outbox.glob("*.eml")), None))
    assert "Subject: How did we do?" in eml.read_text(encoding="utf-8")
    assert eml.with_suffix(".txt").read_text(encoding="utf-8").strip() == "How did we do?"


def test_stopping_writes_the_last_mail_and_ends_the_process(emulator: AwsEmulator) -> None:
    # GIVEN an email sent just now
    _send_survey_email(emulator, "Sent last")
    pid = emulator.pid
    assert pid is not None

    # WHEN the emulator is stopped at once
    emulator.stop()

    # THEN the email is in the outbox, the process is gone and the port is free
    (eml,) = emulator.outbox.glob("*.eml")
    assert "Subject: Sent last" in eml.read_text(encoding="utf-8")
    assert not is_running(pid)
    assert not _listens(emulator.port)


def test_the_process_ends_when_whoever_started_it_dies(tmp_path: Path) -> None:
    # GIVEN a process that started an emulator (as the sandbox does) and then is killed outright
    port = free_port()
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from closeloop_cli.aws_emulator import AwsEmulator;"
            "e = AwsEmulator(host='127.0.0.1', port=int(sys.argv[1]), outbox=Path(sys.argv[2]),"
            " account_id='123456789012', region='eu-west-1'); e.start(); print(e.pid, flush=True);"
            " time.sleep(120)",
            str(port),
            str(tmp_path / "outbox"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert starter.stdout is not None
    emulator_pid = int(starter.stdout.readline())
    starter.stdout.close()
    assert _listens(port)

    starter.send_signal(signal.SIGKILL)
    starter.wait()

    # THEN the emulator stops by itself: no orphan keeps the port
    eventually(lambda: not is_running(emulator_pid) or None)
    assert not _listens(port)


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        emulator = AwsEmulator(
            host="127.0.0.1", port=port, outbox=tmp_path / "outbox", account_id=ACCOUNT, region=REGION
        )

        with pytest.raises(AwsEmulatorError, match=rf"port 127.0.0.1:{port} is not available"):
            emulator.start()


def test_moto_lets_go_of_the_table_copies_of_cancelled_transactions(emulator: AwsEmulator) -> None:
    # GIVEN a table of 20 items, and 30 transactions moto cancels (each copies the whole table first)
    dynamodb = _table(emulator, 20)
    for index in range(30):
        _cancelled_transaction(dynamodb, index % 20)

    # WHEN moto's dashboard data lists the DynamoDB items it holds
    with urllib.request.urlopen(f"{emulator.url}/moto-api/data.json", timeout=30) as response:
        data = json.load(response)

    # THEN it holds the table's 20 items, not 20 more for every copy
    assert len(data["dynamodb"]["Item"]) == 20


def test_a_cancelled_transaction_leaves_every_item_as_it_was(emulator: AwsEmulator) -> None:
    # GIVEN a table of 20 items
    dynamodb = _table(emulator, 20)

    # WHEN a transaction updates one item, adds one, deletes one, and then fails its condition check
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "surveys",
                        "Key": {"PK": {"S": "survey-1"}},
                        "UpdateExpression": "SET #status = :answered",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {":answered": {"S": "answered"}},
                    }
                },
                {"Put": {"TableName": "surveys", "Item": {"PK": {"S": "survey-new"}}}},
                {"Delete": {"TableName": "surveys", "Key": {"PK": {"S": "survey-2"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "surveys",
                        "Key": {"PK": {"S": "survey-3"}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )

    # THEN none of its writes stayed: the table holds the same 20 items, unchanged
    items = dynamodb.scan(TableName="surveys")["Items"]
    assert sorted(item["PK"]["S"] for item in items) == sorted(f"survey-{index}" for index in range(20))
    assert {item["status"]["S"] for item in items} == {"sent"}


def test_a_transaction_that_succeeds_writes_everything(emulator: AwsEmulator) -> None:
    dynamodb = _table(emulator, 3)

    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": "surveys",
                    "Key": {"PK": {"S": "survey-1"}},
                    "UpdateExpression": "SET #status = :answered",
                    "ConditionExpression": "#status = :sent",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":answered": {"S": "answered"}, ":sent": {"S": "sent"}},
                }
            },
            {"Delete": {"TableName": "surveys", "Key": {"PK": {"S": "survey-2"}}}},
        ]
    )

    items = {item["PK"]["S"]: item["status"]["S"] for item in dynamodb.scan(TableName="surveys")["Items"]}
    assert items == {"survey-0": "sent", "survey-1": "answered"}


def test_a_transactions_backup_copies_only_the_items_it_writes() -> None:
    # GIVEN a moto table of three items, and the backups of a transaction that writes one of them
    with mock_aws():
        dynamodb = client_for(None, "dynamodb")
        dynamodb.create_table(
            TableName="surveys",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for key in ("a", "b", "c"):
            dynamodb.put_item(TableName="surveys", Item={"PK": {"S": key}})
        table = get_backend("dynamodb")[ACCOUNT][REGION].tables["surveys"]
        backups = TransactionBackups(type(table))

        # WHEN the table is backed up for that transaction
        with backups.writing({"surveys": {(DynamoType({"S": "b"}), None)}}):
            backup = backups.deepcopy(table)

    # THEN the backup is a table of its own whose written item is a copy, the others shared
    live = {key.value: item for key, item in table.items.items()}
    kept = {key.value: item for key, item in backup.items.items()}
    assert backup is not table
    assert backup.items is not table.items
    assert kept["a"] is live["a"]
    assert kept["c"] is live["c"]
    assert kept["b"] is not live["b"]
    assert kept["b"] == live["b"]


def test_concurrent_writes_survive_cancelled_transactions(emulator: AwsEmulator) -> None:
    # GIVEN a table large enough that moto takes a while to copy it for each transaction
    dynamodb = _table(emulator, 300)
    writer = client_for(emulator.url, "dynamodb")
    failures: list[BaseException] = []

    def cancel_transactions() -> None:
        try:
            for index in range(15):
                _cancelled_transaction(dynamodb, index)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    # WHEN new items are written while transactions are cancelled and rolled back
    transactions = threading.Thread(target=cancel_transactions)
    transactions.start()
    written = [f"new-{index}" for index in range(60)]
    for key in written:
        writer.put_item(TableName="surveys", Item={"PK": {"S": key}, "status": {"S": "planned"}})
    transactions.join()

    # THEN every transaction was answered as cancelled (no 500) and no write was undone by a rollback
    assert failures == []
    found = {
        item["PK"]["S"]
        for page in writer.get_paginator("scan").paginate(TableName="surveys")
        for item in page["Items"]
    }
    assert set(written) <= found
