"""``PlanningStore`` on the surveys table: solve markers, surveys and throttles, written as one."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from closeloop.adapters.dynamodb.items import (
    CLOSE_PREFIX,
    close_key,
    close_outcome,
    iso,
    planned_close_item,
    skipped_close_item,
    survey_key,
    survey_to_item,
    throttle_item,
    throttle_key,
    ticket_partition,
    unmarshal,
)
from closeloop.adapters.dynamodb.table import SurveysTable
from closeloop.domain.surveys import (
    CustomerThrottledError,
    DuplicateCloseError,
    ReminderSkipReason,
    ReminderStatus,
    SkipReason,
    Survey,
    SurveyStatus,
    ticket_key,
)

if TYPE_CHECKING:
    from closeloop.domain.tickets import TicketClosed

# The items of ``create_survey``'s transaction, by position: a refusal names them so.
_MARKER, _SURVEY, _THROTTLE = 0, 1, 2


class DynamoPlanningStore:
    """What planning reads and writes: earlier solves, suppressions, a ticket's surveys, new surveys."""

    def __init__(self, table: SurveysTable) -> None:
        self._table = table

    def find_close(self, ticket_key: str, closed_at: datetime) -> Survey | SkipReason | None:
        """What happened to this solve earlier: its survey, the reason it was skipped, or nothing."""
        item = self._table.client.get_item(
            TableName=self._table.name, Key=close_key(ticket_key, closed_at), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        outcome = close_outcome(item)
        if isinstance(outcome, SkipReason):
            return outcome
        return self._table.get_survey(outcome)

    def is_suppressed(self, email: str) -> bool:
        return self._table.is_suppressed(email)

    def surveys_of_ticket(self, ticket_key: str) -> list[Survey]:
        """Every survey planned for a solve of this ticket, oldest solve first."""
        survey_ids = [
            unmarshal(item)["survey_id"]
            for item in self._table.items_under(ticket_partition(ticket_key), CLOSE_PREFIX)
            if "survey_id" in item
        ]
        surveys = (self._table.get_survey(survey_id) for survey_id in survey_ids)
        return [survey for survey in surveys if survey is not None]

    def ticket_was_surveyed(self, ticket_key: str) -> bool:
        sent = (SurveyStatus.SENT, SurveyStatus.SENDING)
        return any(survey.status in sent for survey in self.surveys_of_ticket(ticket_key))

    def pending_surveys(self, ticket_key: str) -> list[Survey]:
        return [s for s in self.surveys_of_ticket(ticket_key) if s.status is SurveyStatus.PLANNED]

    def waiting_reminders(self, ticket_key: str) -> list[Survey]:
        """The ticket's sent surveys whose reminder is still to be sent."""
        return [s for s in self.surveys_of_ticket(ticket_key) if s.reminder is ReminderStatus.SCHEDULED]

    def skip_reminder(self, survey_id: str, reason: ReminderSkipReason, now: datetime) -> bool:
        return self._table.skip_reminder(survey_id, reason, now)

    def create_survey(self, survey: Survey, throttle_until: datetime | None) -> None:
        """Store the survey, the solve's marker and the customer's throttle in one transaction."""
        table = self._table
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": table.name,
                    "Item": planned_close_item(survey, table.retention),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Put": {
                    "TableName": table.name,
                    "Item": survey_to_item(survey, table.retention),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
        ]
        if throttle_until is not None:
            items.append(
                {
                    "Put": {
                        "TableName": table.name,
                        "Item": throttle_item(survey, throttle_until),
                        # TTL deletes lazily: an expired throttle is recognised by its date.
                        "ConditionExpression": "attribute_not_exists(PK) OR #until <= :now",
                        "ExpressionAttributeNames": {"#until": "until"},
                        "ExpressionAttributeValues": {":now": {"S": iso(survey.planned_at)}},
                    }
                }
            )
        refusal = table.write(table.client.transact_write_items, TransactItems=items)
        if refusal is None:
            return
        if _MARKER in refusal.failed:
            raise DuplicateCloseError(survey.ticket_key) from refusal.error
        if _THROTTLE in refusal.failed:
            raise CustomerThrottledError(survey.ticket_key) from refusal.error
        raise refusal.error

    def record_skip(self, ticket: TicketClosed, reason: SkipReason, now: datetime) -> None:
        marker = skipped_close_item(
            ticket_key(ticket.helpdesk, ticket.ticket_id),
            ticket.closed_at,
            reason,
            now,
            self._table.retention,
        )
        refusal = self._table.write(
            self._table.client.put_item,
            TableName=self._table.name,
            Item=marker,
            ConditionExpression="attribute_not_exists(PK)",
        )
        if refusal is not None:
            raise DuplicateCloseError(ticket.ticket_id) from refusal.error

    def mark_scheduled(self, survey_id: str) -> None:
        self._table.client.update_item(
            TableName=self._table.name,
            Key=survey_key(survey_id),
            UpdateExpression="SET scheduled = :true",
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )

    def cancel_survey(self, survey: Survey, now: datetime) -> bool:
        """Cancel a survey that is still waiting; also frees the customer's throttle it took."""
        if not self._table.transition(survey.survey_id, SurveyStatus.PLANNED, SurveyStatus.CANCELLED, now):
            return False
        # A throttle taken by another survey since is that survey's: the condition leaves it alone.
        self._table.write(
            self._table.client.delete_item,
            TableName=self._table.name,
            Key=throttle_key(survey.customer_key),
            ConditionExpression="survey_id = :survey",
            ExpressionAttributeValues={":survey": {"S": survey.survey_id}},
        )
        return True
