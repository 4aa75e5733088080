"""``DeliverabilityStore`` on the surveys table: suppressions, and bounces and complaints on surveys."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from closeloop.adapters.dynamodb.items import iso, marshal, survey_key
from closeloop.adapters.dynamodb.table import SurveysTable
from closeloop.domain.surveys import Survey

if TYPE_CHECKING:
    from closeloop.domain.deliverability import UndeliverableReason


class DynamoDeliverabilityStore:
    """What recording SES bounces and complaints reads and writes."""

    def __init__(self, table: SurveysTable) -> None:
        self._table = table

    def get_survey(self, survey_id: str) -> Survey | None:
        return self._table.get_survey(survey_id)

    def is_suppressed(self, email: str) -> bool:
        return self._table.is_suppressed(email)

    def suppress(self, email: str, reason: str, now: datetime) -> None:
        self._table.suppress(email, reason, now)

    def mark_undeliverable(self, survey_id: str, reason: UndeliverableReason, now: datetime) -> bool:
        """Record on the survey that its email bounced or drew a complaint; its status is left as it was.

        Returns False when there is no such survey (the update never creates an item).
        """
        refusal = self._table.write(
            self._table.client.update_item,
            TableName=self._table.name,
            Key=survey_key(survey_id),
            UpdateExpression="SET delivery = :delivery, delivery_at = :at, updated_at = :at",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues=marshal({":delivery": reason.delivery, ":at": iso(now)}),
        )
        return refusal is None
