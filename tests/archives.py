"""Hand-built event archives for the report tests: published events, as the archive function stores them.

Each helper returns one EventBridge event (``id``, ``time``, ``detail-type``, ``detail``) with the detail
closeloop publishes (closeloop.domain.published); ``write_archive`` and ``put_archive`` store a list of
them the way the archive does (``archive_row`` -> ``parquet_bytes`` -> ``events/dt=YYYY-MM-DD/``).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from closeloop.adapters.archive import archive_row, parquet_bytes, partition_key

PREFIX = "events/"
_ids = itertools.count(1)


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + "Z"


def event(
    detail_type: str, moment: datetime, detail: dict[str, Any], event_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or f"event-{next(_ids)}",
        "time": _z(moment),
        "detail-type": detail_type,
        "source": "closeloop",
        "detail": {"version": 1, "helpdesk": "zendesk", **detail},
    }


def sent(
    survey_id: str,
    at: datetime,
    *,
    survey_type: str = "csat",
    agent: str | None = "Marta Puig",
    team: str | None = "Billing",
    locale: str = "en",
    ticket_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A ``Survey Sent`` with its planning snapshot (agent and team names, ids derived from them)."""
    detail = {
        "ticket_id": ticket_id or f"T-{survey_id}",
        "survey_id": survey_id,
        "survey_type": survey_type,
        "locale": locale,
        "sent_at": _z(at),
        "expires_at": _z(at + timedelta(days=28)),
        "agent_id": agent and f"agent-{agent.split()[0].lower()}",
        "agent_name": agent,
        "team_id": team and f"team-{team.lower()}",
        "team_name": team,
        "brand": "Acme",
        "channel": "email",
        "rule": None,
        "negative_answer": "reopen",
    } | extra
    return event("Survey Sent", at, detail)


def answered(
    survey_id: str,
    at: datetime,
    score: int | None,
    *,
    survey_type: str = "csat",
    resolved: bool | None = None,
    negative: bool | None = None,
    reasons: Sequence[str] = (),
    response_id: str | None = None,
    has_comment: bool = False,
) -> dict[str, Any]:
    """A ``Survey Response Received``; negative by default when a CSAT score is 1-2."""
    is_negative = negative if negative is not None else (score is not None and score <= 2)
    detail = {
        "ticket_id": f"T-{survey_id}",
        "survey_id": survey_id,
        "response_id": response_id or f"response-{next(_ids)}",
        "survey_type": survey_type,
        "score": score,
        "resolved": resolved,
        "reasons": list(reasons),
        "negative": is_negative,
        "verdict": ["low_score"] if is_negative else [],
        "action": "reopen" if is_negative else "none",
        "has_comment": has_comment,
        "received_at": _z(at),
        "source": "page",
    }
    return event("Survey Response Received", at, detail)


def reopened(survey_id: str, at: datetime, helpdesk_ticket_id: str | None = None) -> dict[str, Any]:
    detail = {
        "ticket_id": f"T-{survey_id}",
        "survey_id": survey_id,
        "response_id": "r",
        "action": "reopened",
        "helpdesk_ticket_id": helpdesk_ticket_id or f"T-{survey_id}",
        "verdict": ["low_score"],
        "reopened_at": _z(at),
    }
    return event("Case Reopened", at, detail)


def reminded(survey_id: str, at: datetime) -> dict[str, Any]:
    detail = {
        "ticket_id": f"T-{survey_id}",
        "survey_id": survey_id,
        "survey_type": "csat",
        "locale": "en",
        "sent_at": _z(at),
        "expires_at": _z(at + timedelta(days=25)),
    }
    return event("Reminder Sent", at, detail)


def suppressed(survey_id: str, at: datetime, reason: str) -> dict[str, Any]:
    detail = {
        "ticket_id": f"T-{survey_id}",
        "survey_id": survey_id,
        "reason": reason,
        "suppressed_at": _z(at),
    }
    return event("Customer Suppressed", at, detail)


def unsubscribed(survey_id: str, at: datetime) -> dict[str, Any]:
    detail = {"ticket_id": f"T-{survey_id}", "survey_id": survey_id, "unsubscribed_at": _z(at)}
    return event("Customer Unsubscribed", at, detail)


def archive_files(events: Sequence[dict[str, Any]]) -> dict[str, bytes]:
    """The archive's objects for these events, by key: one file per UTC day, as one batch writes them."""
    by_day: dict[date, list[Any]] = defaultdict(list)
    for item in events:
        row = archive_row(item)
        by_day[row.day].append(row)
    return {
        partition_key(PREFIX, day, [row.event_id for row in rows]): parquet_bytes(rows)
        for day, rows in by_day.items()
    }


def write_archive(events: Sequence[dict[str, Any]], folder: Path) -> list[Path]:
    """The events as archive files under ``folder`` (``folder/events/dt=…/….parquet``)."""
    paths = []
    for key, body in archive_files(events).items():
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        paths.append(path)
    return paths


def put_archive(s3: Any, bucket: str, events: Sequence[dict[str, Any]]) -> list[str]:
    """The events as archive objects in ``bucket``; returns their keys."""
    keys = []
    for key, body in archive_files(events).items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        keys.append(key)
    return keys
