"""Fixtures shared by every tier: fake AWS credentials, a clean environment, and ``events/`` loaders."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from closeloop import wiring

REPO = Path(__file__).resolve().parent.parent
EVENTS = REPO / "events"
TEMPLATES = REPO / "templates"


def load_event(relative_path: str) -> dict[str, Any]:
    """An example payload from ``events/`` (the same files ``sam local invoke -e`` takes)."""
    loaded: dict[str, Any] = json.loads((EVENTS / relative_path).read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test can reach a real AWS account or inherit settings from the shell."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "closeloop")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("TEMPLATES_PATH", str(TEMPLATES))
    wiring.reset()
    yield
    wiring.reset()


class PublishedMetric(NamedTuple):
    values: list[float]
    dimensions: dict[str, str]


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where a browser test saves its screenshot: docs/img/ under ``make screenshots``
    (``CLOSELOOP_SCREENSHOTS=docs``), a temporary folder otherwise, so a test run leaves the tree clean."""
    return REPO / "docs" / "img" if os.environ.get("CLOSELOOP_SCREENSHOTS") == "docs" else tmp_path


def published_metrics(stdout: str) -> dict[str, PublishedMetric]:
    """Every metric in the CloudWatch EMF records Powertools printed to ``stdout``: what CloudWatch reads."""
    found: dict[str, PublishedMetric] = {}
    for line in stdout.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict) or "_aws" not in record:
            continue
        for directive in record["_aws"]["CloudWatchMetrics"]:
            dimensions = {name: record[name] for group in directive["Dimensions"] for name in group}
            for metric in directive["Metrics"]:
                found[metric["Name"]] = PublishedMetric(record[metric["Name"]], dimensions)
    return found
