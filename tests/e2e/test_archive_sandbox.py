"""The event archive on the sandbox: what the functions publish, and what ``closeloop seed`` puts on the bus,
reaches the archive bucket as Parquet through ArchiveRule, ArchiveQueue, the relay and ArchiveFunction."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import load_event
from tests.e2e.sandbox_process import RunningSandbox, eventually, put_ticket_event, start_story_sandbox

pytestmark = pytest.mark.e2e


def archive_files(sandbox: RunningSandbox, into: Path) -> list[Path]:
    """Every file of the archive, downloaded."""
    s3, outputs = sandbox.client("s3"), sandbox.outputs()
    listed = s3.list_objects_v2(Bucket=outputs["ArchiveBucketName"], Prefix=outputs["ArchivePrefix"])
    paths = []
    for item in listed.get("Contents", []):
        path = into / item["Key"].replace("/", "_")
        s3.download_file(outputs["ArchiveBucketName"], item["Key"], str(path))
        paths.append(path)
    return paths


def archived(sandbox: RunningSandbox, into: Path) -> list[dict[str, Any]]:
    """Every event of the archive, once by id."""
    files = archive_files(sandbox, into)
    if not files:
        return []
    with duckdb.connect() as connection:
        relation = connection.read_parquet([str(path) for path in files])
        rows = relation.project("id, detail_type, ticket_id, survey_id, detail").distinct().fetchall()
    names = ("id", "detail_type", "ticket_id", "survey_id", "detail")
    return [dict(zip(names, row, strict=True)) for row in rows]


def seed(sandbox: RunningSandbox, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {
        "AWS_ENDPOINT_URL": sandbox.aws_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-west-1",
    }
    command = [sys.executable, "-m", "closeloop_cli.main", "seed", *arguments]
    command += ["--outputs", str(sandbox.folder / "outputs.json"), "--format", "json"]
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300, check=False)


def test_published_and_seeded_events_are_archived_as_parquet(tmp_path: Path) -> None:
    # GIVEN the real template on the sandbox, and Giulia's solved ticket surveyed
    sandbox = start_story_sandbox(tmp_path, "http://127.0.0.1:9")
    files = tmp_path / "archive"
    files.mkdir()
    try:
        detail = load_event("canonical/ticket_closed.json")["detail"]
        detail["closed_at"] = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        put_ticket_event(sandbox, detail)
        # THEN the planner's and the sender's events are archived, by the relay running ArchiveFunction
        found = eventually(
            lambda: (
                {row["detail_type"] for row in archived(sandbox, files)} >= {"Survey Planned", "Survey Sent"}
            ),
            timeout=90,
        )
        assert found
        rows = archived(sandbox, files)
        assert {row["ticket_id"] for row in rows} == {detail["ticket_id"]}
        # AND the archive holds no address or name of the customer
        assert not [row for row in rows if "giulia" in row["detail"].lower() or "@" in row["detail"]]

        # WHEN a developer seeds the archive with a week of surveys
        result = seed(sandbox, "--surveys", "12", "--weeks", "1", "--seed", "3", "--wait", "240")
        # THEN it says what it put and that the archive took it all
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["archived"] is True
        assert summary["events"]["Survey Planned"] == 12
        # AND the archive holds exactly those events besides Giulia's, each in its day's partition
        seeded = [row for row in archived(sandbox, files) if row["survey_id"].startswith("seed-")]
        assert len(archived(sandbox, files)) == len(rows) + len(seeded)
        assert Counter(row["detail_type"] for row in seeded) == Counter(summary["events"])
    finally:
        assert sandbox.stop() == 0
