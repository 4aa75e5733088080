"""Surveys, skips, throttles, suppressions and team leads in one DynamoDB table (key design: docs/data.md).

Every write that guards against duplicates is conditional, so at-least-once delivery and concurrent
handlers cannot create two surveys for one solve, or two surveys for one customer inside the throttle.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from closeloop.domain.leads import TeamLead, team_key
from closeloop.domain.surveys import (
    CustomerThrottledError,
    DuplicateCloseError,
    ReopenClaim,
    SkipReason,
    Survey,
    SurveyNotClaimableError,
    SurveyResponse,
    SurveyStatus,
    customer_key,
    survey_type_of,
    ticket_key,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from closeloop.domain.deliverability import UndeliverableReason
    from closeloop.domain.reopening import ReopenProgress
    from closeloop.domain.tickets import TicketClosed

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

_DATETIME_FIELDS = ("closed_at", "planned_at", "send_at", "expires_at", "sent_at", "delivery_at")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _marshal(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def _unmarshal(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _survey_key(survey_id: str) -> dict[str, Any]:
    return {"PK": {"S": f"SURVEY#{survey_id}"}, "SK": {"S": "SURVEY"}}


def _close_key(key: str, closed_at: datetime) -> dict[str, Any]:
    return {"PK": {"S": f"TICKET#{key}"}, "SK": {"S": f"CLOSE#{_iso(closed_at)}"}}


def _suppression_key(email: str) -> dict[str, Any]:
    return {"PK": {"S": f"SUPPRESSION#{customer_key(email)}"}, "SK": {"S": "SUPPRESSION"}}


def _throttle_key(customer: str) -> dict[str, Any]:
    return {"PK": {"S": f"CUSTOMER#{customer}"}, "SK": {"S": "THROTTLE"}}


def _reopen_key(key: str, survey_id: str) -> dict[str, Any]:
    return {"PK": {"S": f"TICKET#{key}"}, "SK": {"S": f"REOPEN#{survey_id}"}}


def _reopen_counter_key(key: str) -> dict[str, Any]:
    return {"PK": {"S": f"TICKET#{key}"}, "SK": {"S": "REOPENS"}}


def _lead_key(team: str) -> dict[str, Any]:
    return {"PK": {"S": f"LEAD#{team}"}, "SK": {"S": "LEAD"}}


# Every team lead also sits in one GSI1 partition, so listing them is a query, never a table scan.
_LEADS_PARTITION = "LEADS"


def response_to_item(response: SurveyResponse, expires_at: int) -> dict[str, Any]:
    values = asdict(response)
    values["received_at"] = _iso(response.received_at)
    values["reasons"] = list(response.reasons)
    values["verdict_reasons"] = list(response.verdict_reasons)
    return _marshal(values) | _marshal(
        {
            "PK": f"SURVEY#{response.survey_id}",
            "SK": f"RESPONSE#{_iso(response.received_at)}#{response.response_id}",
            "type": "response",
            "expires_at": expires_at,
        }
    )


def response_from_item(item: dict[str, Any]) -> SurveyResponse:
    values = _unmarshal(item)
    fields = SurveyResponse.__dataclass_fields__
    kwargs = {name: value for name, value in values.items() if name in fields}
    for optional in ("score", "resolved", "comment"):
        kwargs.setdefault(optional, None)
    kwargs["received_at"] = datetime.fromisoformat(kwargs["received_at"])
    kwargs["reasons"] = tuple(kwargs.get("reasons", ()))
    kwargs["verdict_reasons"] = tuple(kwargs.get("verdict_reasons", ()))
    if kwargs.get("score") is not None:
        kwargs["score"] = int(kwargs["score"])
    return SurveyResponse(**kwargs)


def survey_to_item(survey: Survey, retention: timedelta) -> dict[str, Any]:
    values = asdict(survey)
    for name in _DATETIME_FIELDS:
        if values[name] is not None:
            values[name] = _iso(values[name])
    # The survey's own expiry is a business date; ``expires_at`` on the item is the table's TTL.
    values["survey_expires_at"] = values.pop("expires_at")
    values["status"] = survey.status.value
    values["tags"] = list(survey.tags)
    return (
        _marshal(values)
        | _survey_key(survey.survey_id)
        | _marshal(
            {
                "type": "survey",
                "GSI1PK": f"CUSTOMER#{survey.customer_key}",
                "GSI1SK": f"SURVEY#{_iso(survey.planned_at)}",
                "expires_at": _epoch(survey.closed_at + retention),
            }
        )
    )


def survey_from_item(item: dict[str, Any]) -> Survey:
    values = _unmarshal(item)
    values["expires_at"] = values.pop("survey_expires_at")
    for name in ("PK", "SK", "type", "GSI1PK", "GSI1SK"):
        values.pop(name, None)
    fields = Survey.__dataclass_fields__
    kwargs = {name: value for name, value in values.items() if name in fields}
    # Attributes that were None are not stored at all.
    kwargs.setdefault("customer_name", None)
    kwargs.setdefault("locale", None)
    for name in _DATETIME_FIELDS:
        if kwargs.get(name) is not None:
            kwargs[name] = datetime.fromisoformat(kwargs[name])
    kwargs["status"] = SurveyStatus(kwargs["status"])
    kwargs["survey_type"] = survey_type_of(kwargs["survey_type"])
    kwargs["tags"] = tuple(kwargs.get("tags", ()))
    return Survey(**kwargs)


class SurveyRepository:
    """The single-table store behind planning and sending."""

    def __init__(self, client: DynamoDBClient, table_name: str, retention: timedelta) -> None:
        self._client = client
        self._table = table_name
        self._retention = retention

    # --- reads ---------------------------------------------------------------------------------

    def get_survey(self, survey_id: str) -> Survey | None:
        item = self._client.get_item(TableName=self._table, Key=_survey_key(survey_id), ConsistentRead=True)
        return survey_from_item(item["Item"]) if "Item" in item else None

    def find_close(self, ticket_key: str, closed_at: datetime) -> Survey | SkipReason | None:
        """What happened to this solve earlier: its survey, the reason it was skipped, or nothing."""
        item = self._client.get_item(
            TableName=self._table, Key=_close_key(ticket_key, closed_at), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        marker = _unmarshal(item)
        if marker["outcome"] == "skipped":
            return SkipReason(marker["reason"])
        return self.get_survey(marker["survey_id"])

    def is_suppressed(self, email: str) -> bool:
        response = self._client.get_item(
            TableName=self._table, Key=_suppression_key(email), ConsistentRead=True
        )
        return "Item" in response

    def surveys_of_ticket(self, ticket_key: str) -> list[Survey]:
        paginator = self._client.get_paginator("query")
        survey_ids = [
            _unmarshal(item)["survey_id"]
            for page in paginator.paginate(
                TableName=self._table,
                KeyConditionExpression="PK = :pk AND begins_with(SK, :close)",
                ExpressionAttributeValues={":pk": {"S": f"TICKET#{ticket_key}"}, ":close": {"S": "CLOSE#"}},
                ConsistentRead=True,
            )
            for item in page["Items"]
            if "survey_id" in item
        ]
        surveys = (self.get_survey(survey_id) for survey_id in survey_ids)
        return [survey for survey in surveys if survey is not None]

    def ticket_was_surveyed(self, ticket_key: str) -> bool:
        sent = (SurveyStatus.SENT, SurveyStatus.SENDING)
        return any(survey.status in sent for survey in self.surveys_of_ticket(ticket_key))

    def pending_surveys(self, ticket_key: str) -> list[Survey]:
        return [s for s in self.surveys_of_ticket(ticket_key) if s.status is SurveyStatus.PLANNED]

    # --- planning writes -----------------------------------------------------------------------

    def create_survey(self, survey: Survey, throttle_until: datetime | None) -> None:
        """Store the survey, the solve's marker and the customer's throttle in one transaction."""
        marker = _close_key(survey.ticket_key, survey.closed_at) | _marshal(
            {
                "type": "close",
                "outcome": "planned",
                "survey_id": survey.survey_id,
                "expires_at": _epoch(survey.closed_at + self._retention),
            }
        )
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": marker,
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": survey_to_item(survey, self._retention),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
        ]
        if throttle_until is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": _throttle_key(survey.customer_key)
                        | _marshal(
                            {
                                "type": "throttle",
                                "survey_id": survey.survey_id,
                                "until": _iso(throttle_until),
                                "expires_at": _epoch(throttle_until),
                            }
                        ),
                        # TTL deletes lazily: an expired throttle is recognised by its date.
                        "ConditionExpression": "attribute_not_exists(PK) OR #until <= :now",
                        "ExpressionAttributeNames": {"#until": "until"},
                        "ExpressionAttributeValues": {":now": {"S": _iso(survey.planned_at)}},
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            codes = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if codes and codes[0] == "ConditionalCheckFailed":
                raise DuplicateCloseError(survey.ticket_key) from error
            if len(codes) > 2 and codes[2] == "ConditionalCheckFailed":
                raise CustomerThrottledError(survey.ticket_key) from error
            raise

    def record_skip(self, ticket: TicketClosed, reason: SkipReason, now: datetime) -> None:
        marker = _close_key(ticket_key(ticket.helpdesk, ticket.ticket_id), ticket.closed_at) | _marshal(
            {
                "type": "close",
                "outcome": "skipped",
                "reason": reason.value,
                "recorded_at": _iso(now),
                "expires_at": _epoch(ticket.closed_at + self._retention),
            }
        )
        try:
            self._client.put_item(
                TableName=self._table, Item=marker, ConditionExpression="attribute_not_exists(PK)"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise DuplicateCloseError(ticket.ticket_id) from error
            raise

    def mark_scheduled(self, survey_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_survey_key(survey_id),
            UpdateExpression="SET scheduled = :true",
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )

    def cancel_survey(self, survey: Survey, now: datetime) -> bool:
        """Cancel a survey that is still waiting; also frees the customer's throttle it took."""
        if not self._transition(survey.survey_id, SurveyStatus.PLANNED, SurveyStatus.CANCELLED, now):
            return False
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=_throttle_key(survey.customer_key),
                ConditionExpression="survey_id = :survey",
                ExpressionAttributeValues={":survey": {"S": survey.survey_id}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        return True

    # --- sending writes ------------------------------------------------------------------------

    def claim_for_sending(self, survey_id: str, now: datetime) -> None:
        """Move planned → sending; exactly one sender wins, whatever the redeliveries.

        The claim carries a token of this call. When the write times out after DynamoDB applied it, the
        SDK's retry of the same request finds the survey already ``sending`` and its condition fails; the
        token in the item returned with that failure tells our own claim from a concurrent sender's, so
        the send goes ahead once instead of leaving the survey claimed by nobody.
        """
        claim_id = uuid.uuid4().hex
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_survey_key(survey_id),
                UpdateExpression="SET #status = :target, claim_id = :claim, updated_at = :now",
                ConditionExpression="#status = :source",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_marshal(
                    {
                        ":target": SurveyStatus.SENDING.value,
                        ":source": SurveyStatus.PLANNED.value,
                        ":claim": claim_id,
                        ":now": _iso(now),
                    }
                ),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # botocore's ClientError types the response loosely; DynamoDB puts the old item under "Item".
            returned: Any = error.response.get("Item", {})
            current = _unmarshal(returned)
            ours = current.get("status") == SurveyStatus.SENDING.value and current.get("claim_id") == claim_id
            if not ours:
                raise SurveyNotClaimableError(survey_id) from error

    def release_claim(self, survey_id: str, now: datetime) -> None:
        """Give a claimed survey back (SES refused before accepting it), so a retry can send it."""
        self._transition(survey_id, SurveyStatus.SENDING, SurveyStatus.PLANNED, now)

    def mark_sent(self, survey_id: str, message_id: str, sent_at: datetime, expires_at: datetime) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_survey_key(survey_id),
            UpdateExpression="SET #status = :sent, message_id = :message, sent_at = :at, "
            "survey_expires_at = :expires, updated_at = :at",
            ConditionExpression="#status = :sending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=_marshal(
                {
                    ":sent": SurveyStatus.SENT.value,
                    ":sending": SurveyStatus.SENDING.value,
                    ":message": message_id,
                    ":at": _iso(sent_at),
                    ":expires": _iso(expires_at),
                }
            ),
        )

    def mark_suppressed(self, survey_id: str, now: datetime) -> None:
        self._transition(survey_id, SurveyStatus.PLANNED, SurveyStatus.SUPPRESSED, now)

    def suppress(self, email: str, reason: str, now: datetime) -> None:
        """Never survey this address again (unsubscribe, bounce, complaint, erasure request)."""
        self._client.put_item(
            TableName=self._table,
            Item=_suppression_key(email)
            | _marshal({"type": "suppression", "reason": reason, "at": _iso(now)}),
        )

    def mark_undeliverable(self, survey_id: str, reason: UndeliverableReason, now: datetime) -> bool:
        """Record on the survey that its email bounced or drew a complaint; its status is left as it was.

        Returns False when there is no such survey (the update never creates an item).
        """
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_survey_key(survey_id),
                UpdateExpression="SET delivery = :delivery, delivery_at = :at, updated_at = :at",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues=_marshal({":delivery": reason.delivery, ":at": _iso(now)}),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # --- answers -------------------------------------------------------------------------------

    def add_response(self, survey: Survey, response: SurveyResponse) -> None:
        """Keep this answer beside the earlier ones and make it the survey's latest, atomically.

        Only a sent survey takes answers: one that was cancelled, suppressed or never sent does not.
        """
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": response_to_item(response, _epoch(survey.closed_at + self._retention)),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _survey_key(survey.survey_id),
                        "UpdateExpression": "SET latest_response_id = :id, answered_at = :at, "
                        "latest_negative = :negative, updated_at = :at ADD response_count :one",
                        "ConditionExpression": "#status = :sent",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": _marshal(
                            {
                                ":id": response.response_id,
                                ":at": _iso(response.received_at),
                                ":negative": response.negative,
                                ":one": 1,
                                ":sent": SurveyStatus.SENT.value,
                            }
                        ),
                    }
                },
            ]
        )

    def responses(self, survey_id: str) -> list[SurveyResponse]:
        """Every answer to the survey, oldest first (the history)."""
        paginator = self._client.get_paginator("query")
        return [
            response_from_item(item)
            for page in paginator.paginate(
                TableName=self._table,
                KeyConditionExpression="PK = :pk AND begins_with(SK, :response)",
                ExpressionAttributeValues={
                    ":pk": {"S": f"SURVEY#{survey_id}"},
                    ":response": {"S": "RESPONSE#"},
                },
                ConsistentRead=True,
            )
            for item in page["Items"]
        ]

    def latest_response(self, survey_id: str) -> SurveyResponse | None:
        items = self._client.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :response)",
            ExpressionAttributeValues={":pk": {"S": f"SURVEY#{survey_id}"}, ":response": {"S": "RESPONSE#"}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )["Items"]
        return response_from_item(items[0]) if items else None

    def customer_surveys(self, email: str, limit: int = 20) -> list[Survey]:
        """The customer's surveys, newest first (for the lead's view of their history)."""
        items = self._client.query(
            TableName=self._table,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :customer",
            ExpressionAttributeValues={":customer": {"S": f"CUSTOMER#{customer_key(email)}"}},
            ScanIndexForward=False,
            Limit=limit,
        )["Items"]
        return [survey_from_item(item) for item in items]

    # --- reopening -----------------------------------------------------------------------------

    def claim_reopen(self, survey: Survey, cap: int, now: datetime) -> ReopenClaim:
        """Claim the right to reopen the survey's ticket: once per survey, at most ``cap`` per ticket.

        A claim left unfinished by a failed attempt is handed out again, so a retry can finish it
        without counting twice against the cap. A survey stopped by the cap gets a ``capped`` record
        (not counted), so a retry finds it and takes only the cap's steps not yet done.
        """
        marker = self._client.get_item(
            TableName=self._table, Key=_reopen_key(survey.ticket_key, survey.survey_id), ConsistentRead=True
        ).get("Item")
        if marker is not None:
            state = _unmarshal(marker).get("state")
            if state == "capped":
                return ReopenClaim.CAP_REACHED
            return ReopenClaim.ALREADY_REOPENED if state == "done" else ReopenClaim.CLAIMED
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": self._reopen_record(survey, "claimed", now),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": _reopen_counter_key(survey.ticket_key),
                            "UpdateExpression": "SET reopens = if_not_exists(reopens, :zero) + :one, "
                            "expires_at = :expires",
                            "ConditionExpression": "attribute_not_exists(reopens) OR reopens < :cap",
                            "ExpressionAttributeValues": _marshal(
                                {
                                    ":zero": 0,
                                    ":one": 1,
                                    ":cap": cap,
                                    ":expires": _epoch(survey.closed_at + self._retention),
                                }
                            ),
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            codes = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if codes and codes[0] == "ConditionalCheckFailed":
                # A concurrent delivery claimed it an instant ago: it will do the work.
                return ReopenClaim.ALREADY_REOPENED
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                return self._record_capped(survey, now)
            raise
        return ReopenClaim.CLAIMED

    def _reopen_record(self, survey: Survey, state: str, now: datetime) -> dict[str, Any]:
        return _reopen_key(survey.ticket_key, survey.survey_id) | _marshal(
            {
                "type": "reopen",
                "state": state,
                "survey_id": survey.survey_id,
                "claimed_at": _iso(now),
                "expires_at": _epoch(survey.closed_at + self._retention),
            }
        )

    def _record_capped(self, survey: Survey, now: datetime) -> ReopenClaim:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=self._reopen_record(survey, "capped", now),
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return ReopenClaim.ALREADY_REOPENED  # a concurrent delivery recorded it: it takes the steps
        return ReopenClaim.CAP_REACHED

    def reopen_progress(self, survey: Survey) -> ReopenProgress | None:
        """The survey's reopen record: state, the helpdesk's outcome, and the steps started and done."""
        from closeloop.domain.reopening import ReopenProgress

        item = self._client.get_item(
            TableName=self._table, Key=_reopen_key(survey.ticket_key, survey.survey_id), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        record = _unmarshal(item)
        return ReopenProgress(
            state=str(record.get("state", "")),
            outcome={str(name): str(value) for name, value in record.get("outcome", {}).items()},
            started=frozenset(record.get("steps_started", ())),
            done=frozenset(record.get("steps_done", ())),
            unknown=frozenset(record.get("steps_unknown", ())),
        )

    def begin_reopen_step(self, survey: Survey, step: str, now: datetime) -> None:
        """Record that a step is about to call out: found later without its done mark, its outcome is
        unknown."""
        self._client.update_item(
            TableName=self._table,
            Key=_reopen_key(survey.ticket_key, survey.survey_id),
            UpdateExpression="ADD steps_started :steps SET updated_at = :at",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":steps": {"SS": [str(step)]}, ":at": {"S": _iso(now)}},
        )

    def abandon_reopen_step(self, survey: Survey, step: str, now: datetime) -> None:
        """Forget a started step that certainly took no effect, so a retry takes it again."""
        self._client.update_item(
            TableName=self._table,
            Key=_reopen_key(survey.ticket_key, survey.survey_id),
            UpdateExpression="DELETE steps_started :steps SET updated_at = :at",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":steps": {"SS": [str(step)]}, ":at": {"S": _iso(now)}},
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
            ":at": {"S": _iso(now)},
        }
        names: dict[str, str] = {}
        if outcome is not None:
            updates += ["#state = :done", "completed_at = :at", "outcome = :outcome"]
            names["#state"] = "state"
            values |= _marshal({":done": "done", ":outcome": dict(outcome)})
        added = "steps_done :steps" + (", steps_unknown :steps" if unknown else "")
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": _reopen_key(survey.ticket_key, survey.survey_id),
            "UpdateExpression": f"ADD {added} SET {', '.join(updates)}",
            "ConditionExpression": "attribute_exists(PK) AND NOT contains(steps_done, :step)",
            "ExpressionAttributeValues": values,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            self._client.update_item(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def complete_reopen(self, survey: Survey, outcome: dict[str, str], now: datetime) -> None:
        """Record that the helpdesk reopened the ticket (``outcome``: e.g. how and which ticket id)."""
        self.finish_reopen_step(survey, "helpdesk", now, outcome=outcome)

    def reopen_outcome(self, survey: Survey) -> dict[str, str] | None:
        """What the completed reopen of this survey did, while its lead alert is still owed; else None."""
        item = self._client.get_item(
            TableName=self._table, Key=_reopen_key(survey.ticket_key, survey.survey_id), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        marker = _unmarshal(item)
        if marker.get("state") != "done" or marker.get("alerted"):
            return None
        return {str(name): str(value) for name, value in marker.get("outcome", {}).items()}

    def mark_alerted(self, survey: Survey, now: datetime) -> None:
        """The lead was alerted about this survey's reopen: a redelivery has nothing left to do."""
        self._client.update_item(
            TableName=self._table,
            Key=_reopen_key(survey.ticket_key, survey.survey_id),
            UpdateExpression="SET alerted = :true, alerted_at = :at",
            ExpressionAttributeValues=_marshal({":true": True, ":at": _iso(now)}),
        )

    def _transition(self, survey_id: str, source: SurveyStatus, target: SurveyStatus, now: datetime) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_survey_key(survey_id),
                UpdateExpression="SET #status = :target, updated_at = :now",
                ConditionExpression="#status = :source",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_marshal(
                    {":target": target.value, ":source": source.value, ":now": _iso(now)}
                ),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


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
        item = self._client.get_item(TableName=self._table, Key=_lead_key(key)).get("Item")
        return _team_lead_from_item(item) if item is not None else None

    def put(self, lead: TeamLead, now: datetime) -> None:
        """Set (or replace) the team's lead."""
        self._client.put_item(
            TableName=self._table,
            Item=_lead_key(lead.key)
            | _marshal(
                {
                    "type": "lead",
                    "team": lead.team,
                    "email": lead.email,
                    "locale": lead.locale,
                    "updated_at": _iso(now),
                    "GSI1PK": _LEADS_PARTITION,
                    "GSI1SK": f"LEAD#{lead.key}",
                }
            ),
        )

    def remove(self, team: str) -> TeamLead | None:
        """Forget the team's lead; the lead that was removed, or None when the team had none."""
        attributes = self._client.delete_item(
            TableName=self._table, Key=_lead_key(team_key(team)), ReturnValues="ALL_OLD"
        ).get("Attributes")
        return _team_lead_from_item(attributes) if attributes else None

    def all(self) -> list[TeamLead]:
        """Every team lead, ordered by team key."""
        paginator = self._client.get_paginator("query")
        return [
            _team_lead_from_item(item)
            for page in paginator.paginate(
                TableName=self._table,
                IndexName="GSI1",
                KeyConditionExpression="GSI1PK = :leads",
                ExpressionAttributeValues={":leads": {"S": _LEADS_PARTITION}},
            )
            for item in page["Items"]
        ]


def _team_lead_from_item(item: dict[str, Any]) -> TeamLead:
    values = _unmarshal(item)
    return TeamLead(team=values["team"], email=values["email"], locale=values.get("locale"))
