"""The surveys table as every store sees it: client, name and retention, conditional writes, shared reads.

Every write that guards against duplicates is conditional, so at-least-once delivery and concurrent
handlers cannot create two surveys for one solve, or two surveys for one customer inside the throttle.
``SurveysTable.write`` is the one place that reads DynamoDB's answer to such a write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from closeloop.adapters.dynamodb.items import (
    RESPONSE_PREFIX,
    epoch,
    iso,
    marshal,
    response_from_item,
    suppression_item,
    suppression_key,
    survey_from_item,
    survey_key,
    survey_partition,
)
from closeloop.domain.surveys import (
    ReminderSkipReason,
    ReminderStatus,
    Survey,
    SurveyResponse,
    SurveyStatus,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class Refusal:
    """A conditional write DynamoDB refused.

    ``failed`` holds the positions of the items whose condition failed: ``0`` for a single-item write,
    the items of a transaction otherwise (a transaction cancelled for another reason, such as a
    conflict with a concurrent one, has none). ``old_item`` is the item as it was, when the write asked
    for it with ``ReturnValuesOnConditionCheckFailure``.
    """

    error: ClientError
    failed: frozenset[int]
    old_item: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SurveysTable:
    """The one table behind every store, and what several of them share."""

    client: DynamoDBClient
    name: str
    retention: timedelta

    def expires_at(self, closed_at: datetime) -> int:
        """The TTL of a record about a solve: ``retention`` after it."""
        return epoch(closed_at + self.retention)

    def write(self, operation: Callable[..., object], **request: Any) -> Refusal | None:
        """Make a conditional write: None when it was applied, the ``Refusal`` when a condition stopped it.

        Any other error (throttling, validation, an outage) is raised as it came.
        """
        try:
            operation(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                # botocore's ClientError types the response loosely; DynamoDB puts the old item under "Item".
                old_item: Any = error.response.get("Item", {})
                return Refusal(error, frozenset({0}), old_item)
            if code == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons", [])
                failed = (
                    position
                    for position, reason in enumerate(reasons)
                    if reason.get("Code") == "ConditionalCheckFailed"
                )
                return Refusal(error, frozenset(failed))
            raise
        return None

    # ---- shared by several stores --------------------------------------------------------------------

    def get_survey(self, survey_id: str) -> Survey | None:
        item = self.client.get_item(TableName=self.name, Key=survey_key(survey_id), ConsistentRead=True)
        return survey_from_item(item["Item"]) if "Item" in item else None

    def is_suppressed(self, email: str) -> bool:
        response = self.client.get_item(TableName=self.name, Key=suppression_key(email), ConsistentRead=True)
        return "Item" in response

    def suppress(self, email: str, reason: str, now: datetime) -> None:
        """Never survey this address again (unsubscribe, bounce, complaint, erasure request)."""
        self.client.put_item(TableName=self.name, Item=suppression_item(email, reason, now))

    def items_under(self, partition: dict[str, str], prefix: str) -> Iterator[dict[str, Any]]:
        """Every item of a partition whose sort key starts with ``prefix``, in sort-key order, read
        consistently (the stores decide from what they read)."""
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.name,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": partition, ":prefix": {"S": prefix}},
            ConsistentRead=True,
        ):
            yield from page["Items"]

    def latest_response(self, survey_id: str) -> SurveyResponse | None:
        items = self.client.query(
            TableName=self.name,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :response)",
            ExpressionAttributeValues={
                ":pk": survey_partition(survey_id),
                ":response": {"S": RESPONSE_PREFIX},
            },
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )["Items"]
        return response_from_item(items[0]) if items else None

    def transition(self, survey_id: str, source: SurveyStatus, target: SurveyStatus, now: datetime) -> bool:
        """Move the survey from ``source`` to ``target``; False when it was not in ``source``."""
        refusal = self.write(
            self.client.update_item,
            TableName=self.name,
            Key=survey_key(survey_id),
            UpdateExpression="SET #status = :target, updated_at = :now",
            ConditionExpression="#status = :source",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=marshal(
                {":target": target.value, ":source": source.value, ":now": iso(now)}
            ),
        )
        return refusal is None

    def skip_reminder(self, survey_id: str, reason: ReminderSkipReason, now: datetime) -> bool:
        """The survey's reminder scheduled → skipped, with its reason; False when it was no longer
        scheduled (already sent, being sent, or skipped)."""
        refusal = self.write(
            self.client.update_item,
            TableName=self.name,
            Key=survey_key(survey_id),
            UpdateExpression="SET reminder = :skipped, reminder_skip_reason = :reason, updated_at = :now",
            ConditionExpression="reminder = :scheduled",
            ExpressionAttributeValues=marshal(
                {
                    ":skipped": ReminderStatus.SKIPPED.value,
                    ":scheduled": ReminderStatus.SCHEDULED.value,
                    ":reason": reason.value,
                    ":now": iso(now),
                }
            ),
        )
        return refusal is None
