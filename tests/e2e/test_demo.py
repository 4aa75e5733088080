"""`make demo` is the first thing a new user runs: it must tell its whole story and exit cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.sandbox_process import REPO, free_port

pytestmark = pytest.mark.e2e


def test_the_demo_tells_the_whole_story_and_exits_cleanly(tmp_path: Path) -> None:
    # WHEN the demo runs on free ports
    result = subprocess.run(
        [sys.executable, "-m", "closeloop_cli.demo", "--aws-port", str(free_port()),
         "--api-port", str(free_port()), "--smtp-port", str(free_port()), "--workdir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    # THEN it succeeds, and each step of the story happened
    assert result.returncode == 0, result.stdout + result.stderr
    for step in (
        "A forged webhook (wrong signature) is refused: HTTP 401",
        "-> HTTP 202",
        "The survey email went out through SES",
        "still sent exactly",
        "0 records written",
        "-> HTTP 200 (thank-you page)",
        "status=open, private note:",
        "The support lead was alerted",
        # the second customer replies by email instead of clicking
        "Reply-To:   reply+",
        'he hits Reply and writes "No, it still doesn\'t work"',
        "In-Reply-To: <",
        "marked the message closeloop-outcome=recorded",
        'source=email, comment="No, it still doesn\'t work", negative=True',
        "PUT /api/v2/tickets/5171.json  status=open, private note:",
        "      | > No, it still doesn't work\n",
        "the support lead was alerted again",
        # and the report reads both surveys back from the event archive
        "Every event closeloop published also went to the event archive",
        "closeloop report --archive-dir",
    ):
        assert step in result.stdout
    # AND the reply's note holds no quoted history (the quote header, the survey's own lines)
    note = result.stdout.split("PUT /api/v2/tickets/5171.json", 1)[1].split("16.", 1)[0]
    assert "wrote:" not in note
    assert "| > >" not in note
    # AND both survey emails and both lead alerts are in the outbox
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 4
    # AND the archive's files the report read are kept for the user
    assert list((tmp_path / "archive").rglob("*.parquet"))
