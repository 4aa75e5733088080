"""``closeloop status``, ``redrive`` and ``erase`` as an operator runs them against the sandbox: separate
processes finding the stack through ``AWS_ENDPOINT_URL`` and the sandbox's outputs file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_event
from tests.e2e.sandbox_process import RunningSandbox, eventually, put_ticket_event, start_story_sandbox

pytestmark = pytest.mark.e2e

ADDRESS = "giulia.rossi@example.com"


def closeloop(sandbox: RunningSandbox, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {
        "AWS_ENDPOINT_URL": sandbox.aws_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-west-1",
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "closeloop_cli.main",
            *arguments,
            "--outputs",
            str(sandbox.folder / "outputs.json"),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def table_dump(sandbox: RunningSandbox) -> str:
    items: list[dict[str, Any]] = []
    dynamodb = sandbox.client("dynamodb")
    for page in dynamodb.get_paginator("scan").paginate(TableName=sandbox.outputs()["SurveysTableName"]):
        items.extend(page["Items"])
    return json.dumps(items).lower()


def test_an_operator_sees_the_status_redrives_nothing_and_erases_a_customer(tmp_path: Path) -> None:
    # GIVEN the real template on the sandbox, and Giulia's solved ticket surveyed
    sandbox = start_story_sandbox(tmp_path, "http://127.0.0.1:9")
    try:
        detail = load_event("canonical/ticket_closed.json")["detail"]
        detail["closed_at"] = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        put_ticket_event(sandbox, detail)
        eventually(lambda: next(iter(sandbox.outbox.glob("*.eml")), None), timeout=60)
        eventually(lambda: ADDRESS in table_dump(sandbox) and '"sent"' in table_dump(sandbox), timeout=30)

        # WHEN the operator asks for the status THEN the survey is counted as sent, nothing is dead-lettered
        status = closeloop(sandbox, "status", "--format", "json")
        assert status.returncode == 0, status.stderr
        counts = json.loads(status.stdout)
        assert counts["surveys"] == {"sent": 1}
        assert set(counts["dead_lettered"].values()) == {0}

        # WHEN they look at the dead-letter queues THEN there is nothing to redrive
        redrive = closeloop(sandbox, "redrive", "--dry-run")
        assert redrive.returncode == 0, redrive.stderr
        assert "send: 0 dead-lettered" in redrive.stdout

        # WHEN Giulia asks to be erased
        erase = closeloop(sandbox, "erase", "--email", ADDRESS)
        assert erase.returncode == 0, erase.stderr
        # THEN the report names no address, and a search of the table for her finds nothing
        assert "@" not in erase.stdout
        assert "giulia" not in table_dump(sandbox)
        assert "erased_survey" in table_dump(sandbox)
    finally:
        assert sandbox.stop() == 0
