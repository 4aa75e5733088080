"""``closeloop seed``: fill the local sandbox's event archive with weeks of realistic surveys.

    closeloop seed                                   # 3,000 surveys over the last 8 weeks
    closeloop seed --surveys 500 --weeks 4 --seed 7  # the same events every time for one seed and day

It puts closeloop's own events (Survey Planned, Survey Sent, Reminder Sent, Survey Response Received with
some changed answers, Case Reopened and Reopen Skipped for negative answers, Customer Suppressed for bounces
and complaints, Customer Unsubscribed) on the sandbox's bus with ``PutEvents`` ``Time`` in the past, so they
flow through ArchiveRule, ArchiveQueue and ArchiveFunction like real ones; then it waits for the archive
queue to empty and prints what it put, per type, to compare with ``closeloop report``. Only the archive is
filled: the surveys table and the helpdesks know nothing of these surveys.

Agents, teams, brands, channels and locales (the shipped ones) are made up but plausible; each agent has a
typical level of satisfaction, so reports have something to tell apart. Every detail is built from the
event models of ``closeloop.domain.published``, so it matches ``events/schemas/``.

It runs against the sandbox only: ``AWS_ENDPOINT_URL`` must point at this machine and the sandbox's
outputs file (``.sandbox/outputs.json``) must exist. It never touches a deployed stack.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from closeloop.domain.published import (
    CaseReopened,
    CustomerSuppressed,
    CustomerUnsubscribed,
    PublishedEvent,
    ReminderSent,
    ReopenSkipped,
    SurveyPlanned,
    SurveyResponseReceived,
    SurveySent,
    published_detail,
)
from closeloop.domain.surveys import REASON_CODES
from closeloop_cli.doctor import SANDBOX_OUTPUTS, StackUnavailableError
from closeloop_cli.stack_access import StackAccess, StackNotGivenError, locate_stack

DEFAULT_SURVEYS = 3000
DEFAULT_WEEKS = 8
DEFAULT_SEED = 2026
MAX_SURVEYS = 50_000
MAX_WEEKS = 52
SOURCE = "closeloop"
PUT_EVENTS_BATCH = 10  # PutEvents' limit per call

NegativeAnswer = Literal["reopen", "alert", "note"]


@dataclass(frozen=True)
class Agent:
    agent_id: str
    name: str
    team_id: str
    locales: tuple[str, ...]
    satisfaction: float  # the share of this agent's answers that are good


TEAMS = {
    "t-billing": "Billing",
    "t-tech": "Technical Support",
    "t-onboarding": "Onboarding",
    "t-returns": "Returns & Refunds",
    "t-vip": "VIP Care",
}
AGENTS = (
    Agent("a-101", "Marta Puig", "t-billing", ("ca", "es", "en"), 0.86),
    Agent("a-102", "Sofía Martínez", "t-billing", ("es", "en"), 0.82),
    Agent("a-103", "Giulia Conti", "t-billing", ("it", "en"), 0.79),
    Agent("a-104", "Jonas Weber", "t-tech", ("de", "en"), 0.74),
    Agent("a-105", "Camille Laurent", "t-tech", ("fr", "en"), 0.78),
    Agent("a-106", "Ivan Horvat", "t-tech", ("hr", "de", "en"), 0.58),
    Agent("a-107", "Priya Nair", "t-tech", ("en",), 0.81),
    Agent("a-108", "Nguyễn Thị Hoa", "t-onboarding", ("vi", "en"), 0.9),
    Agent("a-109", "Tom Becker", "t-onboarding", ("de", "en"), 0.76),
    Agent("a-110", "Beatriz Souza", "t-returns", ("pt-BR", "es"), 0.83),
    Agent("a-111", "João Ferreira", "t-returns", ("pt-PT", "pt-BR"), 0.69),
    Agent("a-112", "Emily Carter", "t-vip", ("en", "fr"), 0.93),
)
# Agents handle customers of their own languages, and English ones.
LOCALES = ("en", "it", "vi", "ca", "hr", "es", "fr", "de", "pt-BR", "pt-PT")
BRANDS = (("Acme", 6), ("Acme Home", 3), ("Nimbus", 2))
CHANNELS = (("email", 5), ("chat", 3), ("web", 2), ("phone", 1))
HELPDESKS = (("zendesk", 3), ("freshdesk", 2))
# What the rules document decided per team: (rule, negative-answer policy, survey types with weights).
TEAM_RULES: dict[str, tuple[str | None, NegativeAnswer, tuple[tuple[str, int], ...]]] = {
    "t-billing": ("billing", "reopen", (("csat", 8), ("ces", 2))),
    "t-tech": (None, "reopen", (("csat", 6), ("ces", 3), ("nps", 1))),
    "t-onboarding": ("onboarding", "note", (("ces", 5), ("csat", 5))),
    "t-returns": (None, "reopen", (("csat", 9), ("nps", 1))),
    "t-vip": ("vip", "alert", (("nps", 6), ("csat", 4))),
}
FOLLOW_UP_DELAY = timedelta(hours=24)
EXPIRY = timedelta(days=28)
REMINDER_AFTER = timedelta(days=3)
GRACE = timedelta(minutes=10)
# Shares of surveys sent (the rest are simply not answered).
BOUNCE_RATE = 0.015
COMPLAINT_RATE = 0.002
UNSUBSCRIBE_RATE = 0.01
CHANGED_ANSWER_RATE = 0.06
EMAIL_REPLY_RATE = 0.12


@dataclass(frozen=True)
class SeedEvent:
    """One event to put on the bus: when, and what."""

    time: datetime
    event: PublishedEvent

    @property
    def detail_type(self) -> str:
        return self.event.detail_type

    def detail(self) -> dict[str, Any]:
        return published_detail(self.event)


def generate(surveys: int, weeks: int, seed: int, until: datetime) -> list[SeedEvent]:
    """The events of ``surveys`` tickets solved over the ``weeks`` before ``until``, oldest first; only what
    has happened by ``until`` (a survey sent tomorrow has only its Survey Planned). The same arguments give
    the same events."""
    rng = random.Random(seed)  # noqa: S311 (made-up data, reproducible by design: no secret)
    start = until - timedelta(weeks=weeks)
    events: list[SeedEvent] = []
    for number in range(surveys):
        events += _survey_events(rng, number, _solved_at(rng, start, until))
    return sorted((event for event in events if event.time <= until), key=lambda event: event.time)


def _weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in choices], weights=[weight for _, weight in choices])[0]


def _solved_at(rng: random.Random, start: datetime, until: datetime) -> datetime:
    """A moment in the period, mostly on working days and hours (UTC)."""
    while True:
        moment = start + timedelta(seconds=rng.uniform(0, (until - start).total_seconds()))
        weekend = moment.weekday() >= 5
        working_hours = 7 <= moment.hour < 19
        if rng.random() < (0.3 if weekend else 1.0) * (1.0 if working_hours else 0.15):
            return moment.replace(microsecond=0)


def _survey_events(rng: random.Random, number: int, solved_at: datetime) -> list[SeedEvent]:
    agent = rng.choice(AGENTS)
    rule, negative_answer, survey_types = TEAM_RULES[agent.team_id]
    locale = rng.choice(agent.locales) if rng.random() < 0.8 else rng.choice(LOCALES)
    helpdesk = _weighted(rng, HELPDESKS)
    ticket = {"helpdesk": helpdesk, "ticket_id": str(100_000 + rng.randrange(900_000))}
    snapshot = {
        "agent_id": agent.agent_id,
        "agent_name": agent.name,
        "team_id": agent.team_id,
        "team_name": TEAMS[agent.team_id],
        "brand": _weighted(rng, BRANDS),
        "channel": _weighted(rng, CHANNELS),
        "rule": rule,
        "negative_answer": negative_answer,
    }
    survey_id = f"seed-{number:06d}-{rng.getrandbits(32):08x}"
    survey_type = _weighted(rng, survey_types)
    send_at = solved_at + FOLLOW_UP_DELAY
    sent_at = send_at + timedelta(seconds=rng.randint(2, 90))
    expires_at = sent_at + EXPIRY
    events = [
        SeedEvent(
            solved_at + timedelta(seconds=rng.randint(1, 20)),
            SurveyPlanned(
                **ticket, survey_id=survey_id, survey_type=survey_type, send_at=send_at, **snapshot
            ),
        ),
        SeedEvent(
            sent_at,
            SurveySent(
                **ticket,
                survey_id=survey_id,
                survey_type=survey_type,
                locale=locale,
                sent_at=sent_at,
                expires_at=expires_at,
                **snapshot,
            ),
        ),
    ]
    fate = rng.random()
    if fate < BOUNCE_RATE:
        moment = sent_at + timedelta(seconds=rng.randint(5, 300))
        return [
            *events,
            SeedEvent(
                moment,
                CustomerSuppressed(**ticket, survey_id=survey_id, reason="bounce", suppressed_at=moment),
            ),
        ]
    if fate < BOUNCE_RATE + COMPLAINT_RATE:
        moment = sent_at + timedelta(minutes=rng.randint(10, 3000))
        return [
            *events,
            SeedEvent(
                moment,
                CustomerSuppressed(**ticket, survey_id=survey_id, reason="complaint", suppressed_at=moment),
            ),
        ]
    if fate < BOUNCE_RATE + COMPLAINT_RATE + UNSUBSCRIBE_RATE:
        moment = sent_at + timedelta(minutes=rng.randint(1, 2000))
        return [
            *events,
            SeedEvent(moment, CustomerUnsubscribed(**ticket, survey_id=survey_id, unsubscribed_at=moment)),
        ]
    answer_delay = timedelta(seconds=rng.lognormvariate(math.log(3 * 3600), 1.3))
    answers_early = rng.random() < 0.22 + 0.18 * agent.satisfaction
    if not answers_early or answer_delay > REMINDER_AFTER:
        reminded_at = sent_at + REMINDER_AFTER + timedelta(minutes=rng.randint(0, 90))
        events.append(
            SeedEvent(
                reminded_at,
                ReminderSent(
                    **ticket,
                    survey_id=survey_id,
                    survey_type=survey_type,
                    locale=locale,
                    sent_at=reminded_at,
                    expires_at=expires_at,
                ),
            )
        )
        if rng.random() >= 0.2:
            return events
        answer_delay = reminded_at - sent_at + timedelta(seconds=rng.lognormvariate(math.log(5 * 3600), 1.0))
    received_at = sent_at + min(answer_delay, EXPIRY - timedelta(hours=1))
    good = rng.random() < agent.satisfaction
    events += _answer_events(
        rng, ticket, survey_id, survey_type, agent, negative_answer, received_at, good, 1
    )
    if rng.random() < CHANGED_ANSWER_RATE:
        changed_at = received_at + timedelta(minutes=rng.randint(3, 600))
        # A changed answer mostly softens a bad one, or sours a good one after a second look.
        changed_good = rng.random() < (0.6 if not good else 0.3)
        events += _answer_events(
            rng, ticket, survey_id, survey_type, agent, negative_answer, changed_at, changed_good, 2
        )
    return events


def _score(rng: random.Random, survey_type: str, good: bool) -> int:
    if survey_type == "csat":
        return rng.choices((4, 5), (4, 6))[0] if good else rng.choices((1, 2, 3), (3, 3, 4))[0]
    if survey_type == "nps":
        return rng.choices((7, 8, 9, 10), (1, 2, 3, 4))[0] if good else rng.randint(0, 6)
    return rng.choices((1, 2, 3), (4, 4, 2))[0] if good else rng.randint(4, 7)  # ces: low effort is good


def _low_score(survey_type: str, score: int) -> bool:
    """The default NegativeThresholds: csat<=2, nps<=6, ces>=5."""
    return {"csat": score <= 2, "nps": score <= 6}.get(survey_type, score >= 5)


def _answer_events(
    rng: random.Random,
    ticket: dict[str, str],
    survey_id: str,
    survey_type: str,
    agent: Agent,
    negative_answer: NegativeAnswer,
    received_at: datetime,
    good: bool,
    number: int,
) -> list[SeedEvent]:
    score = _score(rng, survey_type, good)
    resolved = None if rng.random() < 0.1 else rng.random() < (0.95 if good else 0.2)
    verdict = [
        reason
        for reason, applies in (
            ("low_score", _low_score(survey_type, score)),
            ("not_resolved", resolved is False),
        )
        if applies
    ]
    negative = bool(verdict)
    mixed = negative and (not _low_score(survey_type, score) or resolved is True)
    reasons = sorted(set(rng.sample(REASON_CODES[1:], rng.randint(1, 2)))) if not good else []
    if resolved is False and negative:
        reasons = ["not_resolved", *reasons]
    action: Literal["reopen", "alert", "none"] = "none"
    if negative:
        action = (
            "alert"
            if mixed or negative_answer == "alert"
            else ("reopen" if negative_answer == "reopen" else "none")
        )
    response_id = f"{survey_id}-r{number}"
    events = [
        SeedEvent(
            received_at,
            SurveyResponseReceived(
                **ticket,
                survey_id=survey_id,
                response_id=response_id,
                survey_type=survey_type,
                score=score,
                resolved=resolved,
                reasons=reasons,
                negative=negative,
                verdict=verdict,
                action=action,
                has_comment=rng.random() < (0.6 if negative else 0.25),
                agent_id=agent.agent_id,
                team_id=agent.team_id,
                received_at=received_at,
                source="email" if rng.random() < EMAIL_REPLY_RATE else "page",
            ),
        )
    ]
    if action == "reopen":
        reopened_at = received_at + GRACE + timedelta(seconds=rng.randint(5, 120))
        if number > 1 or rng.random() < 0.95:
            follow_up = ticket["helpdesk"] == "zendesk" and rng.random() < 0.2
            events.append(
                SeedEvent(
                    reopened_at,
                    CaseReopened(
                        **ticket,
                        survey_id=survey_id,
                        response_id=response_id,
                        action="follow_up_created" if follow_up else "reopened",
                        helpdesk_ticket_id=str(int(ticket["ticket_id"]) + 900_000)
                        if follow_up
                        else ticket["ticket_id"],
                        verdict=verdict,
                        reopened_at=reopened_at,
                    ),
                )
            )
        else:
            events.append(
                SeedEvent(
                    reopened_at,
                    ReopenSkipped(
                        **ticket, survey_id=survey_id, response_id=response_id, reason="cap_reached"
                    ),
                )
            )
    elif action == "alert":
        moment = received_at + GRACE + timedelta(seconds=rng.randint(5, 120))
        events.append(
            SeedEvent(
                moment,
                ReopenSkipped(
                    **ticket,
                    survey_id=survey_id,
                    response_id=response_id,
                    reason="please_look" if mixed else "policy_alert",
                ),
            )
        )
    return events


# ---- putting the events on the sandbox's bus -----------------------------------------------------------


class NotTheSandboxError(Exception):
    """``closeloop seed`` was pointed at something other than the local sandbox."""


def sandbox_access(outputs: Path) -> StackAccess:
    """The local sandbox's outputs and clients; ``NotTheSandboxError`` for anything else."""
    access = locate_stack(argparse.Namespace(stack_name=None, region=None, outputs=outputs))
    host = urlsplit(access.endpoint or "").hostname or ""
    try:
        local = host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        local = False
    if not local:
        raise NotTheSandboxError(
            f"AWS_ENDPOINT_URL ({access.endpoint}) is not on this machine: closeloop seed fills only the "
            "local sandbox (closeloop sandbox)"
        )
    return access


def put_events(access: StackAccess, events: Iterable[SeedEvent]) -> int:
    """Put every event on the stack's bus, ten per call; returns how many were put."""
    client = access.client("events")
    bus = access.output("EventBusName")
    batch: list[dict[str, Any]] = []
    put = 0
    for event in [*events, None]:
        if event is not None:
            batch.append(
                {
                    "EventBusName": bus,
                    "Source": SOURCE,
                    "DetailType": event.detail_type,
                    "Detail": json.dumps(event.detail()),
                    "Time": event.time,
                }
            )
        if batch and (event is None or len(batch) == PUT_EVENTS_BATCH):
            response = client.put_events(Entries=batch)
            if response.get("FailedEntryCount"):
                failed = [entry.get("ErrorCode") for entry in response["Entries"] if entry.get("ErrorCode")]
                raise StackUnavailableError(f"the bus refused {len(failed)} events: {sorted(set(failed))}")
            put += len(batch)
            batch = []
    return put


def wait_until_archived(access: StackAccess, timeout: float) -> int:
    """How many events still wait in the archive queue after at most ``timeout`` seconds (0: ArchiveFunction
    took them all)."""
    sqs = access.client("sqs")
    queue = access.output("ArchiveQueueUrl")
    deadline = time.monotonic() + timeout
    empty_polls, waiting = 0, -1
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        waiting = sum(int(value) for value in attributes.values())
        empty_polls = empty_polls + 1 if waiting == 0 else 0
        if empty_polls >= 2:
            return 0
        time.sleep(1)
    return waiting


def archived_files(access: StackAccess) -> int:
    s3 = access.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=access.output("ArchiveBucketName"), Prefix=access.output("ArchivePrefix")
    )
    return sum(len(page.get("Contents", [])) for page in pages)


# ---- the command ---------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "seed",
        help="fill the sandbox's event archive with weeks of realistic surveys",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--surveys", type=_bounded(1, MAX_SURVEYS), default=DEFAULT_SURVEYS, help="tickets surveyed (3000)"
    )
    parser.add_argument(
        "--weeks", type=_bounded(1, MAX_WEEKS), default=DEFAULT_WEEKS, help="weeks back from now (8)"
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="random seed: the same seed, the same events"
    )
    parser.add_argument(
        "--outputs",
        type=Path,
        default=SANDBOX_OUTPUTS,
        help="the sandbox's outputs file (.sandbox/outputs.json)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=1800,
        metavar="SECONDS",
        help="how long to wait for the archive (1800; 0: do not wait)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output (text)")
    parser.set_defaults(run=run)


def _bounded(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


def run(arguments: argparse.Namespace) -> int:
    try:
        access = sandbox_access(arguments.outputs)
    except (StackNotGivenError, NotTheSandboxError) as error:
        print(f"closeloop seed: {error}", file=sys.stderr)
        return 2
    except StackUnavailableError as error:
        print(f"closeloop seed: {error}", file=sys.stderr)
        return 1
    now = datetime.now(UTC).replace(microsecond=0)
    events = generate(arguments.surveys, arguments.weeks, arguments.seed, now)
    counts = Counter(event.detail_type for event in events)
    try:
        put_events(access, events)
        waiting = wait_until_archived(access, arguments.wait) if arguments.wait > 0 else None
        archived = None if waiting is None else waiting == 0
        files = archived_files(access) if archived else None
    except (StackUnavailableError, BotoCoreError, ClientError) as error:
        print(f"closeloop seed: {error}", file=sys.stderr)
        return 1
    since = min((event.time for event in events), default=now)
    summary = {
        "surveys": arguments.surveys,
        "since": since.isoformat(),
        "until": now.isoformat(),
        "events": dict(sorted(counts.items())),
        "archived": archived,
        "still_waiting": waiting,
        "archive_files": files,
    }
    if arguments.format == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"put {sum(counts.values())} events of {arguments.surveys} surveys, "
            f"{since:%Y-%m-%d} to {now:%Y-%m-%d}:"
        )
        for detail_type, count in sorted(counts.items()):
            print(f"  {detail_type:<26} {count}")
        if archived is None:
            print("not waiting for the archive (--wait 0)")
        elif archived:
            print(
                f"archived: the archive queue is empty; {files} files under {access.output('ArchivePrefix')}"
            )
        else:
            print(
                f"{waiting} events still wait in the archive queue after {arguments.wait:g} s: the sandbox "
                "archives them as it goes (moto is slow with long queues); if the number does not fall, "
                "check that the sandbox runs ArchiveFunction"
            )
    return 0 if archived is not False else 1
