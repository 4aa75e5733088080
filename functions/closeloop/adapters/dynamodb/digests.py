"""The weekly digest's records in the surveys table: each lead's claim per week, and unsubscribes.

A claim is written with a condition before SES is called, so two runs (a retry, an overlapping hour, the
hour a clock goes back) cannot both send a lead's week. A claim whose email SES certainly did not take is
marked ``released``, which the next claim may take over: no delete, so the digest function needs no
``DeleteItem``. An unsubscribe is an item of its own: setting the lead again (``closeloop leads set``)
deletes it, and a lead replaced by someone else starts subscribed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from closeloop.adapters.dynamodb.items import (
    DIGEST_OFF_PARTITION,
    digest_claim_item,
    digest_claim_key,
    digest_off_item,
    iso,
)
from closeloop.adapters.dynamodb.leads import TeamLeadRepository
from closeloop.adapters.dynamodb.table import SurveysTable
from closeloop.domain.digest import CLAIM_RETENTION
from closeloop.domain.leads import TeamLead

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoDigestStore:
    """``closeloop.domain.digest.DigestStore`` on the surveys table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._table = SurveysTable(client, table_name, CLAIM_RETENTION)
        self._leads = TeamLeadRepository(client, table_name)

    def team_leads(self) -> list[TeamLead]:
        return self._leads.all()

    def unsubscribed(self) -> frozenset[str]:
        paginator = self._table.client.get_paginator("query")
        return frozenset(
            item["lead_key"]["S"]
            for page in paginator.paginate(
                TableName=self._table.name,
                IndexName="GSI1",
                KeyConditionExpression="GSI1PK = :off",
                ExpressionAttributeValues={":off": {"S": DIGEST_OFF_PARTITION}},
            )
            for item in page["Items"]
        )

    def unsubscribe(self, lead_key: str, now: datetime) -> None:
        """Turn the lead's digest off (again: the first time is kept)."""
        self._table.write(
            self._table.client.put_item,
            TableName=self._table.name,
            Item=digest_off_item(lead_key, now),
            ConditionExpression="attribute_not_exists(PK)",
        )  # refused: already off, since the first unsubscribe

    def claim_digest(self, lead_key: str, week: str, now: datetime) -> bool:
        refusal = self._table.write(
            self._table.client.put_item,
            TableName=self._table.name,
            Item=digest_claim_item(lead_key, week, now, CLAIM_RETENTION),
            ConditionExpression="attribute_not_exists(PK) OR #state = :released",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":released": {"S": "released"}},
        )
        return refusal is None

    def release_digest(self, lead_key: str, week: str) -> None:
        self._table.client.update_item(
            TableName=self._table.name,
            Key=digest_claim_key(lead_key, week),
            UpdateExpression="SET #state = :released",
            ConditionExpression="#state = :sending",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":released": {"S": "released"}, ":sending": {"S": "sending"}},
        )

    def mark_digest_sent(self, lead_key: str, week: str, message_id: str, now: datetime) -> None:
        self._table.client.update_item(
            TableName=self._table.name,
            Key=digest_claim_key(lead_key, week),
            UpdateExpression="SET #state = :sent, message_id = :id, sent_at = :at",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":sent": {"S": "sent"},
                ":id": {"S": message_id},
                ":at": {"S": iso(now)},
            },
        )
