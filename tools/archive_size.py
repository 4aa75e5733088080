"""Measure what the event archive costs: bytes per archived event, and how long DuckDB takes to report.

    PYTHONPATH=functions:cli .venv/bin/python tools/archive_size.py --surveys 20000 --batch 100 --batch 1000

Generates surveys with the event mix a stack publishes (planned, sent, a reminder or its skip, an answer for
about a third, some changed, reopens, suppressions, unsubscribes), writes them as the archive does
(``archive_row`` -> ``parquet_bytes``, one file per batch of events), and prints the bytes per event for
each batch size and the time of one ``closeloop report`` query set over the files. docs/reports.md quotes
its output.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from closeloop.adapters.archive import archive_row, parquet_bytes, partition_key
from closeloop.adapters.archive_reader import ArchiveReport
from closeloop.domain.reports import ReportPeriod

START = datetime(2026, 11, 1)
AGENTS = [(f"agent-{n}", f"Agent {n}", f"team-{n % 12}", f"Team {n % 12}") for n in range(150)]
LOCALES = ("en", "es", "ca", "it", "hr", "vi", "de", "fr")


def z(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds") + "Z"


def survey_events(number: int, rng: random.Random, days: int) -> list[dict[str, Any]]:
    survey = f"{rng.getrandbits(128):032x}"
    ticket = str(1_000_000 + number)
    agent_id, agent_name, team_id, team_name = rng.choice(AGENTS)
    kind = rng.choice(("csat", "csat", "csat", "nps", "ces", "resolved"))
    planned = START + timedelta(seconds=rng.randrange(days * 86400))
    sent = planned + timedelta(hours=24)
    base = {"version": 1, "helpdesk": "zendesk", "ticket_id": ticket, "survey_id": survey}
    snapshot = {
        "agent_id": agent_id,
        "agent_name": agent_name,
        "team_id": team_id,
        "team_name": team_name,
        "brand": "Acme",
        "channel": rng.choice(("email", "web", "chat")),
        "rule": None,
        "negative_answer": "reopen",
    }
    events = [
        ("Survey Planned", planned, base | snapshot | {"survey_type": kind, "send_at": z(sent)}),
        (
            "Survey Sent",
            sent,
            base
            | snapshot
            | {
                "survey_type": kind,
                "locale": rng.choice(LOCALES),
                "sent_at": z(sent),
                "expires_at": z(sent + timedelta(days=28)),
            },
        ),
    ]
    answered = rng.random() < 0.35
    if not answered:
        reminder = sent + timedelta(days=3)
        events.append(
            (
                "Reminder Sent",
                reminder,
                base | {"survey_type": kind, "locale": "en", "sent_at": z(reminder), "expires_at": z(sent)},
            )
        )
    else:
        events.append(("Reminder Skipped", sent + timedelta(days=3), base | {"reason": "answered"}))
        for change in range(2 if rng.random() < 0.1 else 1):
            received = sent + timedelta(minutes=rng.randrange(10, 4000) + change * 60)
            score = {"csat": rng.randint(1, 5), "nps": rng.randint(0, 10), "ces": rng.randint(1, 7)}.get(kind)
            negative = score is not None and score <= 2
            events.append(
                (
                    "Survey Response Received",
                    received,
                    base
                    | {
                        "response_id": f"{rng.getrandbits(64):016x}",
                        "survey_type": kind,
                        "score": score,
                        "resolved": rng.random() < 0.8 if kind == "resolved" else None,
                        "reasons": ["slow"] if negative else [],
                        "negative": negative,
                        "verdict": ["low_score"] if negative else [],
                        "action": "reopen" if negative else "none",
                        "has_comment": rng.random() < 0.3,
                        "agent_id": agent_id,
                        "team_id": team_id,
                        "received_at": z(received),
                        "source": "page",
                    },
                )
            )
            if negative and change == 0:
                events.append(
                    (
                        "Case Reopened",
                        received + timedelta(minutes=10),
                        base
                        | {
                            "response_id": "r",
                            "action": "reopened",
                            "helpdesk_ticket_id": ticket,
                            "verdict": ["low_score"],
                            "reopened_at": z(received + timedelta(minutes=10)),
                        },
                    )
                )
    if rng.random() < 0.01:
        events.append(
            (
                "Customer Suppressed",
                sent,
                base | {"reason": "bounce", "suppressed_at": z(sent + timedelta(minutes=1))},
            )
        )
    return [
        {"id": f"{rng.getrandbits(128):032x}", "time": z(moment), "detail-type": kind_, "detail": detail}
        for kind_, moment, detail in events
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--surveys", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--batch", type=int, action="append", help="events per file (repeatable)")
    arguments = parser.parse_args()
    rng = random.Random(7)  # noqa: S311 (a repeatable sample, not a secret)
    events = [
        event for number in range(arguments.surveys) for event in survey_events(number, rng, arguments.days)
    ]
    events.sort(key=lambda event: str(event["time"]))
    rows = [archive_row(event) for event in events]
    print(f"{arguments.surveys} surveys, {len(rows)} events ({len(rows) / arguments.surveys:.2f} per survey)")
    for batch in arguments.batch or [100, 1000]:
        with tempfile.TemporaryDirectory() as scratch:
            total, files = 0, []
            for start in range(0, len(rows), batch):
                chunk = rows[start : start + batch]
                by_day: dict[date, list[Any]] = {}
                for row in chunk:
                    by_day.setdefault(row.day, []).append(row)
                for day, day_rows in by_day.items():
                    body = parquet_bytes(day_rows)
                    path = Path(scratch, partition_key("events/", day, [row.event_id for row in day_rows]))
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(body)
                    total += len(body)
                    files.append(path)
            began = time.perf_counter()
            report = ArchiveReport(files, today=date(2027, 1, 1))
            period = ReportPeriod(date(2026, 11, 1), date(2026, 11, 1) + timedelta(days=arguments.days - 1))
            report.figures(period, ["team", "week"])
            report.figures(period)
            report.negative_answers(period)
            elapsed = time.perf_counter() - began
            print(
                f"batch {batch}: {len(files)} files, {total} bytes, {total / len(rows):.0f} bytes per event; "
                f"report by team and week + total + negative answers in {elapsed:.2f} s"
            )


if __name__ == "__main__":
    main()
