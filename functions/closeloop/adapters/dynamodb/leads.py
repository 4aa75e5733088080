"""``LeadDirectory`` on the surveys table, and the operators' view of it (``closeloop leads``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from closeloop.adapters.dynamodb.items import (
    LEADS_PARTITION,
    digest_off_key,
    lead_from_item,
    lead_key,
    lead_to_item,
)
from closeloop.domain.leads import TeamLead, team_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class TeamLeadRepository:
    """Each team's lead: ``LEAD#<team key> / LEAD``, listed through GSI1 (``LEADS / LEAD#<team key>``).

    The key is the team's id or name as ``closeloop.domain.leads.team_key`` matches it; the item keeps the
    team as the operator wrote it. Leads have no TTL: they stay until removed.
    """

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def team_lead(self, key: str) -> TeamLead | None:
        """The lead stored under a team key (``team_key(team)``), if any."""
        item = self._client.get_item(TableName=self._table, Key=lead_key(key)).get("Item")
        return lead_from_item(item) if item is not None else None

    def put(self, lead: TeamLead, now: datetime) -> None:
        """Set (or replace) the team's lead, with the weekly digest on (again, if they unsubscribed)."""
        self._client.put_item(TableName=self._table, Item=lead_to_item(lead, now))
        self._client.delete_item(TableName=self._table, Key=digest_off_key(lead.key))

    def remove(self, team: str) -> TeamLead | None:
        """Forget the team's lead; the lead that was removed, or None when the team had none."""
        attributes = self._client.delete_item(
            TableName=self._table, Key=lead_key(team_key(team)), ReturnValues="ALL_OLD"
        ).get("Attributes")
        return lead_from_item(attributes) if attributes else None

    def all(self) -> list[TeamLead]:
        """Every team lead, ordered by team key."""
        paginator = self._client.get_paginator("query")
        return [
            lead_from_item(item)
            for page in paginator.paginate(
                TableName=self._table,
                IndexName="GSI1",
                KeyConditionExpression="GSI1PK = :leads",
                ExpressionAttributeValues={":leads": {"S": LEADS_PARTITION}},
            )
            for item in page["Items"]
        ]
