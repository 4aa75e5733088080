"""``closeloop redrive``: show dead-lettered messages with their reasons, and replay them after a fix.

    closeloop redrive --dry-run                          # every dead-letter queue: what waits, and why
    closeloop redrive --queue send --dry-run
    closeloop redrive --queue send                       # after the fix: back to the send queue
    closeloop redrive --queue send --reason RecipientNotVerifiedError
    closeloop redrive --queue plan --delete --reason InvalidTicketEventError   # what can never succeed
    closeloop redrive --queue archive                    # events the archive could not take, after the fix
    closeloop redrive --queue reopen --stack-name closeloop-prod --region eu-west-1

Each message is shown with the ``reason`` closeloop parked it with (or, for one that reached the queue
after too many failed receives, where to find why: the function's log, by message id), its ids (survey,
ticket, object key; never an address or what a customer wrote), when it was parked and how often it was
received.

A replay sends the message's body, untouched, to the queue it came from, then deletes it from the
dead-letter queue: if the command is interrupted in between, the message is in both, and a second replay
is harmless because every handler is idempotent (a survey already sent is not sent again, a reopen's done
steps are not repeated, a recorded reply is not recorded twice). SQS's own ``StartMessageMoveTask`` cannot
do this here: closeloop parks messages itself (``SendMessage`` with a reason), and EventBridge parks ticket
events in the plan dead-letter queue, so SQS knows no source queue for them; and moto does not implement it.
For a very large backlog, ``aws sqs start-message-move-task --source-arn <dlq> --destination-arn <queue>``
moves messages without showing them.

Without ``--queue``, every dead-letter queue is shown; replaying or deleting needs ``--queue``. The messages
read are hidden from other readers for a short while and handed back at once when they are not replayed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from closeloop_cli.doctor import StackUnavailableError
from closeloop_cli.stack_access import StackAccess, StackNotGivenError, add_stack_arguments, locate_stack


@dataclass(frozen=True)
class DeadLetterQueue:
    """One of the stack's dead-letter queues and the work queue its messages are replayed to."""

    name: str
    dead_letter_output: str
    source_output: str


QUEUES = (
    DeadLetterQueue("plan", "PlanDeadLetterQueueUrl", "PlanQueueUrl"),
    DeadLetterQueue("send", "SendDeadLetterQueueUrl", "SendQueueUrl"),
    DeadLetterQueue("reopen", "ReopenDeadLetterQueueUrl", "ReopenQueueUrl"),
    DeadLetterQueue("delivery", "DeliveryEventsDeadLetterQueueUrl", "DeliveryEventsQueueUrl"),
    DeadLetterQueue("inbound", "InboundDeadLetterQueueUrl", "InboundQueueUrl"),
    DeadLetterQueue("archive", "ArchiveDeadLetterQueueUrl", "ArchiveQueueUrl"),
)
QUEUES_BY_NAME = {queue.name: queue for queue in QUEUES}
# How long a message read here stays hidden from the functions and other readers: enough to replay or
# hand it back, short enough that an interrupted run delays nothing for long.
HIDE_SECONDS = 120
DEFAULT_LIMIT = 1000
NO_REASON = (
    "no reason attribute: it failed maxReceiveCount times; search the function's log for "
    '"record returned to the queue" with this message id'
)


@dataclass(frozen=True)
class DeadLetter:
    """A parked message as the operator sees it; ``body`` and ``receipt_handle`` are never printed."""

    queue: str
    message_id: str
    reason: str
    about: str  # ids only: survey, ticket, object key
    parked_at: str
    receive_count: int
    body: str
    receipt_handle: str

    def shown(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("body", "receipt_handle")}


def reason_of(message: Mapping[str, Any]) -> str:
    """Why it was parked: closeloop's ``reason``, EventBridge's error attributes, or where to look."""
    attributes = message.get("MessageAttributes") or {}

    def text(name: str) -> str:
        return str((attributes.get(name) or {}).get("StringValue", ""))

    if text("reason"):
        return text("reason")
    if text("ERROR_CODE") or text("ERROR_MESSAGE"):
        # EventBridge could not deliver the event to the plan queue (its DeadLetterConfig).
        return f"EventBridge delivery failed: {text('ERROR_CODE')} {text('ERROR_MESSAGE')}".strip()
    return NO_REASON


def about(queue: str, body: str) -> str:
    """What a message is about, by ids only: bodies of the plan and delivery queues hold addresses."""
    try:
        loaded = json.loads(body)
    except (ValueError, RecursionError):
        return "(not JSON)"
    if not isinstance(loaded, dict):
        return "(not a JSON object)"
    if queue in ("send", "reopen"):
        ids = {name: loaded.get(name) for name in ("survey_id", "response_id") if loaded.get(name)}
        return " ".join(f"{name}={value}" for name, value in ids.items()) or "(no survey_id)"
    detail = _mapping(loaded.get("detail"))
    if queue == "plan":
        return (
            f"{loaded.get('detail-type', '?')} {detail.get('helpdesk', '?')}#{detail.get('ticket_id', '?')}"
        )
    if queue == "archive":
        return f"{loaded.get('detail-type', '?')} id={loaded.get('id', '?')} time={loaded.get('time', '?')}"
    if queue == "delivery":
        survey = _mapping(_mapping(detail.get("mail")).get("tags")).get("survey_id")
        survey_id = survey[0] if isinstance(survey, list) and survey else "?"
        return f"{detail.get('eventType', '?')} survey_id={survey_id}"
    records = loaded.get("Records")
    keys = [
        str(_mapping(_mapping(_mapping(record).get("s3")).get("object")).get("key", "?"))
        for record in (records if isinstance(records, list) else [])
    ]
    return "object " + ", ".join(keys) if keys else "(no S3 record)"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def read_dead_letters(sqs: Any, queue: str, url: str, limit: int) -> list[DeadLetter]:
    """Up to ``limit`` messages of a dead-letter queue, each once, hidden for ``HIDE_SECONDS``."""
    found: dict[str, DeadLetter] = {}
    while len(found) < limit:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(10, limit - len(found)),
            VisibilityTimeout=HIDE_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            attributes = message.get("Attributes", {})
            sent = int(attributes.get("SentTimestamp", "0")) / 1000
            # SQS may deliver one message twice: the newest receipt handle is the one that works.
            found[message["MessageId"]] = DeadLetter(
                queue=queue,
                message_id=message["MessageId"],
                reason=reason_of(message),
                about=about(queue, message["Body"]),
                parked_at=datetime.fromtimestamp(sent, UTC).isoformat(timespec="seconds") if sent else "",
                receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
                body=message["Body"],
                receipt_handle=message["ReceiptHandle"],
            )
    return list(found.values())


def hand_back(sqs: Any, url: str, letters: Sequence[DeadLetter]) -> None:
    """Make messages visible again at once (the ones shown, or not chosen)."""
    for start in range(0, len(letters), 10):
        chunk = letters[start : start + 10]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": letter.receipt_handle, "VisibilityTimeout": 0}
                for i, letter in enumerate(chunk)
            ],
        )


def replay(sqs: Any, dead_letter_url: str, source_url: str, letter: DeadLetter) -> None:
    """The body back on its work queue, then out of the dead-letter queue (in that order: see the module)."""
    sqs.send_message(QueueUrl=source_url, MessageBody=letter.body)
    sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=letter.receipt_handle)


def discard(sqs: Any, dead_letter_url: str, letter: DeadLetter) -> None:
    sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=letter.receipt_handle)


@dataclass(frozen=True)
class RedriveResult:
    queue: str
    letters: list[DeadLetter]
    acted: list[DeadLetter]  # replayed, or deleted with --delete


def redrive_queue(
    stack: StackAccess,
    queue: DeadLetterQueue,
    *,
    act: bool,
    delete: bool = False,
    reason_prefix: str = "",
    limit: int = DEFAULT_LIMIT,
    sqs: Any = None,
) -> RedriveResult:
    """Read one dead-letter queue; with ``act``, replay (or, with ``delete``, delete) the messages whose
    reason starts with ``reason_prefix``; hand every other message back."""
    sqs = sqs or stack.client("sqs")
    url = stack.output(queue.dead_letter_output)
    source = "" if delete or not act else stack.output(queue.source_output)
    letters = read_dead_letters(sqs, queue.name, url, limit)
    chosen = [letter for letter in letters if act and letter.reason.startswith(reason_prefix)]
    acted: list[DeadLetter] = []
    try:
        for letter in chosen:
            if delete:
                discard(sqs, url, letter)
            else:
                replay(sqs, url, source, letter)
            acted.append(letter)
    finally:
        done = {letter.message_id for letter in acted}
        hand_back(sqs, url, [letter for letter in letters if letter.message_id not in done])
    return RedriveResult(queue.name, letters, acted)


def queues_of(stack: StackAccess, name: str | None) -> list[DeadLetterQueue]:
    """The queue named, or every dead-letter queue the stack has (inbound only with a ReplyDomain)."""
    if name is not None:
        return [QUEUES_BY_NAME[name]]
    return [queue for queue in QUEUES if stack.outputs.get(queue.dead_letter_output)]


def render_text(results: Iterable[RedriveResult], *, act: bool, delete: bool) -> str:
    lines = []
    verb = "deleted" if delete else "replayed"
    for result in results:
        acted = {letter.message_id for letter in result.acted}
        lines.append(f"{result.queue}: {len(result.letters)} dead-lettered")
        for letter in result.letters:
            mark = f"[{verb}] " if letter.message_id in acted else ""
            lines.append(
                f"  {mark}{letter.message_id} parked {letter.parked_at or '?'}, received "
                f"{letter.receive_count}x, {letter.about}\n    reason: {letter.reason}"
            )
        if act:
            lines.append(f"  {len(result.acted)} {verb}, {len(result.letters) - len(result.acted)} left")
    return "\n".join(lines) + "\n"


def render_json(results: Iterable[RedriveResult]) -> str:
    rows = [
        {
            "queue": result.queue,
            "dead_lettered": [letter.shown() for letter in result.letters],
            "acted_on": [letter.message_id for letter in result.acted],
        }
        for result in results
    ]
    return json.dumps(rows, indent=2) + "\n"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``redrive`` subcommand to the ``closeloop`` command."""
    parser = subparsers.add_parser(
        "redrive",
        help="show dead-lettered messages with their reasons; replay them to their queue after a fix",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--queue", choices=sorted(QUEUES_BY_NAME), help="one dead-letter queue (default: all)"
    )
    parser.add_argument("--dry-run", action="store_true", help="only show what waits, and why")
    parser.add_argument(
        "--delete", action="store_true", help="delete the messages instead of replaying them (never undone)"
    )
    parser.add_argument(
        "--reason", default="", metavar="PREFIX", help="only the messages whose reason starts with PREFIX"
    )
    parser.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"messages read per queue ({DEFAULT_LIMIT})"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output (text)")
    add_stack_arguments(parser)
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace, stack: StackAccess | None = None) -> int:
    """Exit code: 0 done, 1 the stack or AWS failed, 2 a usage error."""
    act = not arguments.dry_run
    if act and arguments.queue is None:
        return _usage("replaying or deleting needs --queue NAME (or pass --dry-run to see every queue)")
    if arguments.delete and arguments.dry_run:
        return _usage("--delete and --dry-run exclude each other")
    if arguments.limit < 1:
        return _usage("--limit must be at least 1")
    try:
        stack = stack or locate_stack(arguments)
        results = [
            redrive_queue(
                stack,
                queue,
                act=act,
                delete=arguments.delete,
                reason_prefix=arguments.reason,
                limit=arguments.limit,
            )
            for queue in queues_of(stack, arguments.queue)
        ]
    except StackNotGivenError as error:
        return _usage(str(error))
    except (StackUnavailableError, ClientError, BotoCoreError) as error:
        print(f"closeloop redrive: {error}", file=sys.stderr)
        return 1
    text = (
        render_json(results)
        if arguments.format == "json"
        else render_text(results, act=act, delete=arguments.delete)
    )
    sys.stdout.write(text)
    return 0


def _usage(message: str) -> int:
    print(f"closeloop redrive: {message}", file=sys.stderr)
    return 2
