"""``ReopenStore`` on the surveys table: the answer history, and each survey's reopen claim and steps."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from closeloop.adapters.dynamodb.items import (
    RESPONSE_PREFIX,
    alert_item,
    alert_key,
    customer_surveys_partition,
    iso,
    marshal,
    reopen_counter_key,
    reopen_item,
    reopen_key,
    reopen_progress_from_item,
    reopen_state,
    response_from_item,
    survey_from_item,
    survey_partition,
)
from closeloop.adapters.dynamodb.table import SurveysTable
from closeloop.domain.surveys import ReopenClaim, Survey, SurveyResponse

if TYPE_CHECKING:
    from closeloop.domain.reopening import ReopenProgress

# The items of ``claim_reopen``'s transaction, by position: a refusal names them so.
_RECORD, _COUNTER = 0, 1


class DynamoReopenStore:
    """What reopening reads and writes: the survey, its answers, the customer's history, the reopen."""

    def __init__(self, table: SurveysTable) -> None:
        self._table = table

    def get_survey(self, survey_id: str) -> Survey | None:
        return self._table.get_survey(survey_id)

    def latest_response(self, survey_id: str) -> SurveyResponse | None:
        return self._table.latest_response(survey_id)

    def responses(self, survey_id: str) -> list[SurveyResponse]:
        """Every answer to the survey, oldest first (the history)."""
        return [
            response_from_item(item)
            for item in self._table.items_under(survey_partition(survey_id), RESPONSE_PREFIX)
        ]

    def customer_surveys(self, email: str, limit: int = 20) -> list[Survey]:
        """The customer's surveys, newest first (for the lead's view of their history)."""
        items = self._table.client.query(
            TableName=self._table.name,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :customer",
            ExpressionAttributeValues={":customer": customer_surveys_partition(email)},
            ScanIndexForward=False,
            Limit=limit,
        )["Items"]
        return [survey_from_item(item) for item in items]

    def claim_reopen(self, survey: Survey, cap: int, now: datetime) -> ReopenClaim:
        """Claim the right to reopen the survey's ticket: once per survey, at most ``cap`` per ticket.

        A claim left unfinished by a failed attempt is handed out again, so a retry can finish it
        without counting twice against the cap. A survey stopped by the cap gets a ``capped`` record
        (not counted), so a retry finds it and takes only the cap's steps not yet done.
        """
        table = self._table
        marker = self._reopen_record(survey)
        if marker is not None:
            state = reopen_state(marker)
            if state == "capped":
                return ReopenClaim.CAP_REACHED
            return ReopenClaim.ALREADY_REOPENED if state == "done" else ReopenClaim.CLAIMED
        refusal = table.write(
            table.client.transact_write_items,
            TransactItems=[
                {
                    "Put": {
                        "TableName": table.name,
                        "Item": reopen_item(survey, "claimed", now, table.retention),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Update": {
                        "TableName": table.name,
                        "Key": reopen_counter_key(survey.ticket_key),
                        "UpdateExpression": "SET reopens = if_not_exists(reopens, :zero) + :one, "
                        "expires_at = :expires",
                        "ConditionExpression": "attribute_not_exists(reopens) OR reopens < :cap",
                        "ExpressionAttributeValues": marshal(
                            {
                                ":zero": 0,
                                ":one": 1,
                                ":cap": cap,
                                ":expires": table.expires_at(survey.closed_at),
                            }
                        ),
                    }
                },
            ],
        )
        if refusal is None:
            return ReopenClaim.CLAIMED
        if _RECORD in refusal.failed:
            # A concurrent delivery claimed it an instant ago: it will do the work.
            return ReopenClaim.ALREADY_REOPENED
        if _COUNTER in refusal.failed:
            return self._record_capped(survey, now)
        raise refusal.error

    def _record_capped(self, survey: Survey, now: datetime) -> ReopenClaim:
        refusal = self._table.write(
            self._table.client.put_item,
            TableName=self._table.name,
            Item=reopen_item(survey, "capped", now, self._table.retention),
            ConditionExpression="attribute_not_exists(PK)",
        )
        if refusal is not None:
            return ReopenClaim.ALREADY_REOPENED  # a concurrent delivery recorded it: it takes the steps
        return ReopenClaim.CAP_REACHED

    def reopen_progress(self, survey: Survey) -> ReopenProgress | None:
        """The survey's reopen record: state, the helpdesk's outcome, and the steps started and done."""
        item = self._reopen_record(survey)
        return reopen_progress_from_item(item) if item is not None else None

    def claim_alert(self, survey: Survey, now: datetime) -> ReopenProgress:
        """The survey's "please look" alert record, created when absent (it counts against no cap)."""
        # Imported here, as in reopen_progress_from_item: only the reopen function takes alerts.
        from closeloop.domain.reopening import ReopenProgress

        self._table.write(
            self._table.client.put_item,
            TableName=self._table.name,
            Item=alert_item(survey, now, self._table.retention),
            ConditionExpression="attribute_not_exists(PK)",
        )  # refused: it exists already, and is read below
        item = self._table.client.get_item(
            TableName=self._table.name,
            Key=alert_key(survey.ticket_key, survey.survey_id),
            ConsistentRead=True,
        ).get("Item")
        return reopen_progress_from_item(item) if item is not None else ReopenProgress(state="alerting")

    def begin_reopen_step(self, survey: Survey, step: str, now: datetime) -> None:
        """Record that a step is about to call out: found later without its done mark, its outcome is
        unknown."""
        self._table.client.update_item(
            TableName=self._table.name,
            Key=_step_record(survey, step),
            UpdateExpression="ADD steps_started :steps SET updated_at = :at",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":steps": {"SS": [str(step)]}, ":at": {"S": iso(now)}},
        )

    def abandon_reopen_step(self, survey: Survey, step: str, now: datetime) -> None:
        """Forget a started step that certainly took no effect, so a retry takes it again."""
        self._table.client.update_item(
            TableName=self._table.name,
            Key=_step_record(survey, step),
            UpdateExpression="DELETE steps_started :steps SET updated_at = :at",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":steps": {"SS": [str(step)]}, ":at": {"S": iso(now)}},
        )

    def finish_reopen_step(
        self,
        survey: Survey,
        step: str,
        now: datetime,
        outcome: Mapping[str, str] | None = None,
        unknown: bool = False,
    ) -> bool:
        """Record a step as done, once: False when it already was (a concurrent delivery recorded it).

        ``outcome`` (the helpdesk step's) completes the reopen: state ``done`` with what the helpdesk did.
        ``unknown`` records a step whose outcome could not be known and that is not repeated.
        """
        updates = ["updated_at = :at"]
        values: dict[str, Any] = {
            ":steps": {"SS": [str(step)]},
            ":step": {"S": str(step)},
            ":at": {"S": iso(now)},
        }
        names: dict[str, str] = {}
        if outcome is not None:
            updates += ["#state = :done", "completed_at = :at", "outcome = :outcome"]
            names["#state"] = "state"
            values |= marshal({":done": "done", ":outcome": dict(outcome)})
        added = "steps_done :steps" + (", steps_unknown :steps" if unknown else "")
        request: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": _step_record(survey, step),
            "UpdateExpression": f"ADD {added} SET {', '.join(updates)}",
            "ConditionExpression": "attribute_exists(PK) AND NOT contains(steps_done, :step)",
            "ExpressionAttributeValues": values,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        return self._table.write(self._table.client.update_item, **request) is None

    def _reopen_record(self, survey: Survey) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._table.client.get_item(
            TableName=self._table.name,
            Key=reopen_key(survey.ticket_key, survey.survey_id),
            ConsistentRead=True,
        ).get("Item")
        return item


def _step_record(survey: Survey, step: str) -> dict[str, Any]:
    """The record a step is kept in: the alert record for a "please look" alert's steps, else the reopen's."""
    from closeloop.domain.reopening import is_look_step

    if is_look_step(step):
        return alert_key(survey.ticket_key, survey.survey_id)
    return reopen_key(survey.ticket_key, survey.survey_id)
