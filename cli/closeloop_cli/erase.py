"""``closeloop erase --email ADDRESS``: remove a customer's personal data from everywhere closeloop keeps it.

    closeloop erase --email giulia@example.com --dry-run     # what would be removed (the local sandbox)
    closeloop erase --email giulia@example.com --stack-name closeloop-prod --region eu-west-1
    closeloop erase --email giulia@example.com --suppress    # and never survey the address again
    closeloop erase --email giulia@example.com --survey-id ID  # an erased survey's late archived events

What is removed (docs/data.md has the records):

- each of the customer's surveys (found in GSI1 under ``CUSTOMER#sha256(address)``: never a scan), with
  its answers (scores, comments, email replies), its solve marker, its reopen and alert records and its
  sent-message lookup; a survey still waiting to be sent loses its schedule too;
- the customer's throttle;
- their suppression, unless they asked not to be contacted: a suppression for ``unsubscribed``,
  ``complaint``, ``operator`` or ``erasure`` is kept (it holds only the address's SHA-256, and it is what
  keeps them from being surveyed again); one for ``bounce`` (the mailbox did not exist) is removed;
- with a ``ReplyDomain``, the raw messages in the inbound bucket that came from the address, that are a
  reply recorded for one of the surveys, or that were sent to one of the surveys' reply addresses (every
  object under the prefix is looked at: their number is bounded by ``InboundRetentionDays``; only each
  object's first 64 KB, its headers, is read);
- dead-lettered ticket events and SES events in the plan and delivery dead-letter queues that name the
  address (the others are handed back at once);
- in the event archive (outputs ``ArchiveBucketName``, ``ArchivePrefix``), the ticket of each of the surveys'
  rows (``ticket_id``, ``helpdesk_ticket_id``, and those keys in the ``detail`` JSON; rows found by survey
  id, and ``Survey Skipped`` rows by the surveys' tickets): each file of the days from a survey's solve to
  its expiry plus 30 days is read, and one holding such rows is written back under its key with every other
  value, row and column type unchanged (closeloop.adapters.archive_erasure). The report's figures stay the
  same: the archive never held the address, and what is left of the rows is anonymous.

What is kept, per survey, is an anonymous record (``SURVEY#<id>`` / ``ERASED``): the survey's status, type,
helpdesk, locale, brand, channel, agent and team, its dates, what SES reported, whether it was reopened,
and each answer's score, resolved flag, reason codes and verdict, with neither the address, the name, the
ticket, its subject or link, nor any comment. It expires with the survey (``RetentionDays``). Logs never
held the address.

Each survey is erased in one DynamoDB transaction: its anonymous record appears exactly when its personal
records are gone, so an interrupted run is completed by running it again. The archive is read after the
table is erased (a file written in between is caught), and a second run rewrites nothing. Events of the
surveys still on their way to the archive during the erasure (its queue's batching and retries, its
dead-letter queue) are archived after it; since nothing then links the customer to those surveys, a later
run finds them only with ``--survey-id`` for each survey the first run listed: the anonymous record gives
the survey's dates, and its archive rows are found by survey id.
"""

from __future__ import annotations

import argparse
import base64
import email.parser
import email.policy
import email.utils
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from closeloop.adapters.archive_erasure import ArchiveErasure, ArchiveErasureResult, ErasedSurvey
from closeloop.adapters.dynamodb.items import (
    alert_key,
    close_key,
    customer_surveys_partition,
    marshal,
    reopen_key,
    sent_message_key,
    suppression_item,
    suppression_key,
    survey_from_item,
    survey_partition,
    throttle_key,
    unmarshal,
)
from closeloop.adapters.scheduler import schedule_name
from closeloop.domain.messages import message_id_key
from closeloop.domain.replies import MailLocation
from closeloop.domain.reply_addresses import REPLY_LOCAL_PREFIX, TOKEN_CHARS
from closeloop.domain.surveys import Survey, customer_key
from closeloop_cli.doctor import StackUnavailableError
from closeloop_cli.redrive import QUEUES_BY_NAME, DeadLetter, hand_back, read_dead_letters
from closeloop_cli.stack_access import StackAccess, StackNotGivenError, add_stack_arguments, locate_stack

# Suppressions that record the customer's own wish (or an operator's on their behalf): kept on erasure.
KEPT_SUPPRESSIONS = frozenset({"unsubscribed", "complaint", "operator", "erasure"})
ERASED_SK = "ERASED"
# What an anonymous record keeps of a survey and of each answer.
KEPT_SURVEY_FIELDS = (
    "survey_id",
    "status",
    "survey_type",
    "helpdesk",
    "locale",
    "brand",
    "channel",
    "agent",
    "team",
    "closed_at",
    "planned_at",
    "sent_at",
    "survey_expires_at",
    "delivery",
    "delivery_at",
    "expires_at",
)
KEPT_ANSWER_FIELDS = (
    "received_at",
    "score",
    "resolved",
    "reasons",
    "negative",
    "verdict_reasons",
    "action",
    "source",
)
HEADER_BYTES = 64 * 1024
# A transaction holds at most 100 actions; a survey with more answers is erased in several.
TRANSACTION_ACTIONS = 100
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_REPLY_TOKEN = re.compile(rf"{re.escape(REPLY_LOCAL_PREFIX)}([a-z2-7]{{{TOKEN_CHARS}}})@", re.IGNORECASE)
_SURVEY_ID_CHARS = 26  # the token's first part: the survey id's 16 bytes in base32 (reply_addresses)
_SURVEY_ID = re.compile(r"^[0-9a-f]{32}$")


class InvalidAddressError(ValueError):
    """``--email`` is not an email address."""


class NotErasedError(ValueError):
    """A ``--survey-id`` is not the id of an erased survey (no anonymous record)."""


@dataclass
class SurveyErasure:
    """One survey's records to delete and the anonymous record that replaces them."""

    survey: Survey
    deletes: list[dict[str, Any]]
    answers: int
    comments: int
    reply_response_ids: set[str]
    anonymous: dict[str, Any]
    reopened: bool


@dataclass
class ErasurePlan:
    address_key: str
    surveys: list[SurveyErasure] = field(default_factory=list)
    throttle: bool = False
    suppression_reason: str | None = None
    inbound_objects: list[str] = field(default_factory=list)
    inbound_scanned: int = 0
    dead_letters: dict[str, list[DeadLetter]] = field(default_factory=dict)
    # The archive files holding the surveys' rows with a ticket left (a dry run's; after ``apply_erasure``,
    # the ones it rewrote). None: the stack has no archive.
    archive: ArchiveErasureResult | None = None
    # Surveys of an earlier erasure (``--survey-id``) whose archive rows are anonymised again.
    erased_before: list[ErasedSurvey] = field(default_factory=list)

    def archive_surveys(self) -> list[ErasedSurvey]:
        return [erased_survey(erasure.survey) for erasure in self.surveys] + self.erased_before

    @property
    def suppression_kept(self) -> bool:
        return self.suppression_reason in KEPT_SUPPRESSIONS


def valid_address(address: str) -> str:
    address = address.strip()
    if not _ADDRESS.match(address) or len(address) > 254:
        raise InvalidAddressError(f"--email {address!r} is not an email address")
    return address


# ---------------------------------------------------------------------------------------- the table


def customer_surveys(dynamodb: Any, table: str, address: str) -> Iterator[dict[str, Any]]:
    """The customer's survey items, from GSI1 (the index lists surveys by customer)."""
    paginator = dynamodb.get_paginator("query")
    for page in paginator.paginate(
        TableName=table,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :customer",
        ExpressionAttributeValues={":customer": customer_surveys_partition(address)},
    ):
        yield from page.get("Items", [])


def _partition_items(dynamodb: Any, table: str, partition: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    paginator = dynamodb.get_paginator("query")
    for page in paginator.paginate(
        TableName=table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": partition},
        ConsistentRead=True,
    ):
        items.extend(page.get("Items", []))
    return items


def plan_survey(dynamodb: Any, table: str, item: dict[str, Any], now: datetime) -> SurveyErasure:
    """What erasing one survey deletes, and what it keeps."""
    survey = survey_from_item(item)
    stored = unmarshal(item)
    own = _partition_items(dynamodb, table, survey_partition(survey.survey_id))
    answers = [unmarshal(i) for i in own if i["SK"]["S"].startswith("RESPONSE#")]
    deletes = [{"PK": i["PK"], "SK": i["SK"]} for i in own if i["SK"]["S"] != ERASED_SK]
    ticket_keys = [
        close_key(survey.ticket_key, survey.closed_at),
        reopen_key(survey.ticket_key, survey.survey_id),
        alert_key(survey.ticket_key, survey.survey_id),
    ]
    reopen = dynamodb.get_item(TableName=table, Key=ticket_keys[1], ConsistentRead=True).get("Item")
    close = dynamodb.get_item(TableName=table, Key=ticket_keys[0], ConsistentRead=True).get("Item")
    # The solve marker is the survey's only if it names it (a later solve at the same instant cannot).
    if close is None or unmarshal(close).get("survey_id") != survey.survey_id:
        ticket_keys.pop(0)
    deletes.extend(ticket_keys)
    if survey.message_id:
        deletes.append(sent_message_key(message_id_key(survey.message_id)))
    reopened = reopen is not None and unmarshal(reopen).get("state") == "done"
    anonymous = {name: stored[name] for name in KEPT_SURVEY_FIELDS if stored.get(name) is not None}
    anonymous |= {
        "PK": f"SURVEY#{survey.survey_id}",
        "SK": ERASED_SK,
        "type": "erased_survey",
        "erased_at": now.astimezone(UTC).isoformat(),
        "reopened": reopened,
        "answers": [
            {name: answer[name] for name in KEPT_ANSWER_FIELDS if answer.get(name) not in (None, [], set())}
            for answer in answers
        ],
    }
    for person in ("agent", "team"):
        if isinstance(anonymous.get(person), dict):
            anonymous[person] = {k: v for k, v in anonymous[person].items() if k in ("id", "name")}
    return SurveyErasure(
        survey=survey,
        deletes=deletes,
        answers=len(answers),
        comments=sum(1 for answer in answers if answer.get("comment")),
        reply_response_ids={str(a["response_id"]) for a in answers if a.get("source") == "email"},
        anonymous=marshal(anonymous),
        reopened=reopened,
    )


def erase_survey(dynamodb: Any, table: str, erasure: SurveyErasure) -> None:
    """The anonymous record written and the personal records deleted, in one transaction per 100."""
    actions: list[dict[str, Any]] = [{"Put": {"TableName": table, "Item": erasure.anonymous}}]
    actions += [{"Delete": {"TableName": table, "Key": key}} for key in erasure.deletes]
    for start in range(0, len(actions), TRANSACTION_ACTIONS):
        dynamodb.transact_write_items(TransactItems=actions[start : start + TRANSACTION_ACTIONS])


# ---------------------------------------------------------------------------------------- inbound mail


def _addresses(headers: Any, *names: str) -> set[str]:
    values = [str(value) for name in names for value in (headers.get_all(name) or [])]
    return {address.lower() for _, address in email.utils.getaddresses(values) if address}


def _message_keys_quoted(headers: Any) -> set[str]:
    """The lookups (``message_id_key``) of the message ids a reply quotes in In-Reply-To and References."""
    values = [str(value) for name in ("In-Reply-To", "References") for value in (headers.get_all(name) or [])]
    return {message_id_key(found) for value in values for found in re.findall(r"<([^<>\s]+)>", value)}


def _survey_ids_replied_to(headers: Any) -> set[str]:
    found = set()
    for name in ("To", "Cc", "Delivered-To", "X-Original-To"):
        for value in headers.get_all(name) or []:
            for token in _REPLY_TOKEN.findall(str(value)):
                encoded = token[:_SURVEY_ID_CHARS].upper()
                raw = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
                found.add(raw.hex())
    return found


def inbound_objects_of(
    s3: Any,
    bucket: str,
    prefix: str,
    address: str,
    surveys: list[Survey],
    response_ids: set[str],
    now: datetime,
) -> tuple[list[str], int]:
    """Keys of the raw messages from ``address``, replying to one of ``surveys`` (by its reply address or
    its email's message id), or recorded as one of ``response_ids``; and how many objects were looked at."""
    survey_ids = {survey.survey_id for survey in surveys}
    message_keys = {message_id_key(survey.message_id) for survey in surveys if survey.message_id}
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    matches, scanned = [], 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            key, scanned = entry["Key"], scanned + 1
            if MailLocation(bucket, key, now).response_id in response_ids:
                matches.append(key)
                continue
            head = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{HEADER_BYTES - 1}")["Body"].read()
            try:
                headers = parser.parsebytes(head)
                senders = _addresses(headers, "From", "Sender", "Reply-To", "Return-Path")
                replied_to = _survey_ids_replied_to(headers)
                quoted = _message_keys_quoted(headers)
            except (ValueError, TypeError, IndexError):
                # Not a message closeloop can read: it cannot be told apart, so it is left to its lifecycle.
                continue
            if address.lower() in senders or replied_to & survey_ids or quoted & message_keys:
                matches.append(key)
    return matches, scanned


# ---------------------------------------------------------------------------------------- the whole


def plan_erasure(
    stack: StackAccess, address: str, now: datetime, survey_ids: list[str] | None = None
) -> ErasurePlan:
    """Everything erasing ``address`` would remove, read without changing anything; ``survey_ids``: surveys
    an earlier erasure anonymised, whose archive rows are looked at again (events archived late)."""
    dynamodb, table = stack.client("dynamodb"), stack.output("SurveysTableName")
    plan = ErasurePlan(address_key=customer_key(address))
    plan.erased_before = erased_before(dynamodb, table, sorted(set(survey_ids or [])))
    plan.surveys = [
        plan_survey(dynamodb, table, item, now) for item in customer_surveys(dynamodb, table, address)
    ]
    plan.throttle = "Item" in dynamodb.get_item(TableName=table, Key=throttle_key(plan.address_key))
    suppression = dynamodb.get_item(TableName=table, Key=suppression_key(address), ConsistentRead=True)
    if "Item" in suppression:
        plan.suppression_reason = str(unmarshal(suppression["Item"]).get("reason", "unknown"))
    bucket = stack.outputs.get("InboundBucketName")
    if bucket:
        replies = set().union(*(erasure.reply_response_ids for erasure in plan.surveys))
        plan.inbound_objects, plan.inbound_scanned = inbound_objects_of(
            stack.client("s3"),
            bucket,
            stack.outputs.get("InboundPrefix", ""),
            address,
            [erasure.survey for erasure in plan.surveys],
            replies,
            now,
        )
    archive = archive_erasure(stack)
    if archive is not None:
        plan.archive = archive.anonymise(plan.archive_surveys(), now.astimezone(UTC).date(), act=False)
    return plan


def archive_erasure(stack: StackAccess) -> ArchiveErasure | None:
    """The stack's event archive, or None when the stack has none (its outputs name no bucket)."""
    bucket = stack.outputs.get("ArchiveBucketName")
    if not bucket:
        return None
    return ArchiveErasure(stack.client("s3"), bucket, stack.outputs.get("ArchivePrefix", "events/"))


def erased_before(dynamodb: Any, table: str, survey_ids: list[str]) -> list[ErasedSurvey]:
    """The surveys an earlier erasure anonymised, from their anonymous records: their ids and dates (the
    record keeps no ticket, so their archive rows are found by survey id only)."""
    found = []
    for survey_id in survey_ids:
        if not _SURVEY_ID.match(survey_id):
            raise NotErasedError(f"--survey-id {survey_id!r} is not a survey id (32 hexadecimal digits)")
        key = {"PK": {"S": f"SURVEY#{survey_id}"}, "SK": {"S": ERASED_SK}}
        item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        if item is None:
            raise NotErasedError(f"--survey-id {survey_id}: no erased survey has this id")
        record = unmarshal(item)
        moments = [
            datetime.fromisoformat(str(record[name]))
            for name in ("closed_at", "planned_at", "sent_at")
            if record.get(name)
        ]
        expires = record.get("survey_expires_at")
        found.append(
            ErasedSurvey(
                survey_id=survey_id,
                first_moment=min(moments, key=lambda moment: moment.timestamp()) if moments else None,
                expires_at=datetime.fromisoformat(str(expires)) if expires else None,
            )
        )
    return found


def erased_survey(survey: Survey) -> ErasedSurvey:
    """What the archive needs of a survey: its id, ticket, and the moments its events can carry."""
    moments = [moment for moment in (survey.closed_at, survey.planned_at, survey.sent_at) if moment]
    return ErasedSurvey(
        survey_id=survey.survey_id,
        helpdesk=survey.helpdesk,
        ticket_id=survey.ticket_id,
        first_moment=min(moments, key=lambda moment: moment.timestamp()),
        expires_at=survey.expires_at,
    )


def dead_letters_naming(
    stack: StackAccess, sqs: Any, address: str
) -> dict[str, tuple[str, list[DeadLetter]]]:
    """Per dead-letter queue whose bodies may hold addresses: its URL and every message read from it."""
    found = {}
    for name in ("plan", "delivery"):
        url = stack.outputs.get(QUEUES_BY_NAME[name].dead_letter_output)
        if url:
            found[name] = (url, read_dead_letters(sqs, name, url, limit=10_000))
    return found


def names_address(letter: DeadLetter, address: str) -> bool:
    return address.lower() in letter.body.lower()


def apply_erasure(stack: StackAccess, plan: ErasurePlan, address: str, suppress: bool, now: datetime) -> None:
    dynamodb, table = stack.client("dynamodb"), stack.output("SurveysTableName")
    scheduler = stack.client("scheduler")
    group = stack.outputs.get("ScheduleGroupName")
    for erasure in plan.surveys:
        if erasure.survey.status == "planned" and group:
            try:
                scheduler.delete_schedule(Name=schedule_name(erasure.survey.survey_id), GroupName=group)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise
        erase_survey(dynamodb, table, erasure)
    if plan.throttle:
        dynamodb.delete_item(TableName=table, Key=throttle_key(plan.address_key))
    if plan.suppression_reason is not None and not plan.suppression_kept:
        dynamodb.delete_item(TableName=table, Key=suppression_key(address))
    if suppress and not plan.suppression_kept:
        dynamodb.put_item(TableName=table, Item=suppression_item(address, "erasure", now))
    if plan.inbound_objects:
        s3, bucket = stack.client("s3"), stack.output("InboundBucketName")
        for key in plan.inbound_objects:
            s3.delete_object(Bucket=bucket, Key=key)
    archive = archive_erasure(stack)
    if archive is not None:
        # Read again after the table's erasure: a file the archive wrote since the plan is caught too.
        plan.archive = archive.anonymise(plan.archive_surveys(), now.astimezone(UTC).date(), act=True)


def erase_dead_letters(stack: StackAccess, address: str, act: bool) -> dict[str, int]:
    """Dead letters naming the address: deleted (or, in a dry run, counted); every other one handed back."""
    sqs = stack.client("sqs")
    counts = {}
    for name, (url, letters) in dead_letters_naming(stack, sqs, address).items():
        naming = [letter for letter in letters if names_address(letter, address)]
        try:
            if act:
                for letter in naming:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=letter.receipt_handle)
        finally:
            kept = letters if not act else [letter for letter in letters if letter not in naming]
            hand_back(sqs, url, kept)
        counts[name] = len(naming)
    return counts


def render(
    plan: ErasurePlan, dead_letters: dict[str, int], *, dry_run: bool, suppress: bool
) -> dict[str, Any]:
    """What was (or would be) removed and kept, by ids and counts: the address is never repeated."""
    suppression = (
        "none"
        if plan.suppression_reason is None and not suppress
        else f"kept ({plan.suppression_reason}: the customer asked not to be contacted)"
        if plan.suppression_kept
        else "written (erasure): never survey this address again"
        if suppress
        else f"removed ({plan.suppression_reason})"
    )
    return {
        "dry_run": dry_run,
        "customer_key": plan.address_key,
        "surveys": [
            {
                "survey_id": erasure.survey.survey_id,
                "status": str(erasure.survey.status),
                "answers": erasure.answers,
                "comments": erasure.comments,
                "records_removed": len(erasure.deletes),
                "reopened": erasure.reopened,
            }
            for erasure in plan.surveys
        ],
        "throttle_removed": plan.throttle,
        "suppression": suppression,
        "inbound_objects_removed": plan.inbound_objects,
        "inbound_objects_scanned": plan.inbound_scanned,
        "dead_letters_removed": dead_letters,
        "archive_files_anonymised": (
            [{"key": changed.key, "rows": changed.rows} for changed in plan.archive.files]
            if plan.archive is not None
            else None
        ),
        "archive_rows_anonymised": plan.archive.rows if plan.archive is not None else 0,
        "archive_files_scanned": plan.archive.files_scanned if plan.archive is not None else 0,
        "kept": f"{len(plan.surveys)} anonymous survey records (SURVEY#<id> / {ERASED_SK})",
    }


def render_text(report: dict[str, Any]) -> str:
    verb = "would remove" if report["dry_run"] else "removed"
    lines = [f"customer {report['customer_key'][:16]}…: {verb}"]
    for survey in report["surveys"]:
        lines.append(
            f"  survey {survey['survey_id']} ({survey['status']}): {survey['answers']} answers "
            f"({survey['comments']} with a comment), {survey['records_removed']} records"
        )
    if not report["surveys"]:
        lines.append("  no survey")
    lines.append(f"  throttle: {'yes' if report['throttle_removed'] else 'none'}")
    lines.append(f"  suppression: {report['suppression']}")
    lines.append(
        f"  inbound messages: {len(report['inbound_objects_removed'])} of"
        f" {report['inbound_objects_scanned']} looked at"
        + "".join(f"\n    {key}" for key in report["inbound_objects_removed"])
    )
    lines.append(
        "  dead letters: "
        + (", ".join(f"{queue} {n}" for queue, n in report["dead_letters_removed"].items()) or "none")
    )
    anonymised = report["archive_files_anonymised"]
    if anonymised is None:
        lines.append("  archive: none in this stack")
    else:
        verb = "would anonymise" if report["dry_run"] else "anonymised"
        lines.append(
            f"  archive: {verb} {report['archive_rows_anonymised']} rows in {len(anonymised)} of"
            f" {report['archive_files_scanned']} files looked at (ticket ids removed)"
            + "".join(f"\n    {item['key']} ({item['rows']} rows)" for item in anonymised)
        )
    lines.append(f"kept: {report['kept']}")
    return "\n".join(lines) + "\n"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``erase`` subcommand to the ``closeloop`` command."""
    parser = subparsers.add_parser(
        "erase",
        help="remove a customer's personal data everywhere closeloop keeps it (keeps anonymous counts)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--email", required=True, metavar="ADDRESS", help="the customer's email address")
    parser.add_argument("--dry-run", action="store_true", help="only show what would be removed")
    parser.add_argument(
        "--suppress",
        action="store_true",
        help="also suppress the address (reason erasure): no survey ever again, by its hash only",
    )
    parser.add_argument(
        "--survey-id",
        action="append",
        default=[],
        metavar="ID",
        help="a survey an earlier erase listed: anonymise its archived events again (events archived "
        "after that erase); repeatable",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output (text)")
    add_stack_arguments(parser)
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace, stack: StackAccess | None = None) -> int:
    """Exit code: 0 erased (or shown), 1 the stack or AWS failed, 2 a usage error."""
    try:
        address = valid_address(arguments.email)
        stack = stack or locate_stack(arguments)
        now = datetime.now(UTC)
        plan = plan_erasure(stack, address, now, arguments.survey_id)
        if not arguments.dry_run:
            apply_erasure(stack, plan, address, arguments.suppress, now)
        dead_letters = erase_dead_letters(stack, address, act=not arguments.dry_run)
    except (InvalidAddressError, NotErasedError, StackNotGivenError) as error:
        print(f"closeloop erase: {error}", file=sys.stderr)
        return 2
    except (StackUnavailableError, ClientError, BotoCoreError) as error:
        print(f"closeloop erase: {error}", file=sys.stderr)
        return 1
    report = render(plan, dead_letters, dry_run=arguments.dry_run, suppress=arguments.suppress)
    sys.stdout.write(
        json.dumps(report, indent=2) + "\n" if arguments.format == "json" else render_text(report)
    )
    return 0
