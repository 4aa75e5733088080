"""Every record of the surveys table as a DynamoDB item, one section per record (key design: docs/data.md).

Each record's key, its item and, where it is read back, its domain object are built here and nowhere
else. Attributes that are ``None`` are not stored; datetimes are stored as ISO 8601 in UTC, and
``expires_at`` (the table's TTL) as epoch seconds.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from closeloop.domain.leads import TeamLead
from closeloop.domain.surveys import (
    ReminderSkipReason,
    ReminderStatus,
    ResponseSource,
    SkipReason,
    Survey,
    SurveyResponse,
    SurveyStatus,
    VerdictAction,
    customer_key,
    survey_type_of,
)

if TYPE_CHECKING:
    from closeloop.domain.reopening import ReopenProgress

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def marshal(values: dict[str, Any]) -> dict[str, Any]:
    """Plain values as DynamoDB attribute values, leaving out ``None``."""
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def unmarshal(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


# ---- survey: SURVEY#<survey_id> / SURVEY, listed per customer in GSI1 ----------------------------------

_DATETIME_FIELDS = (
    "closed_at",
    "planned_at",
    "send_at",
    "expires_at",
    "sent_at",
    "delivery_at",
    "reminder_at",
    "reminder_sent_at",
)


def survey_key(survey_id: str) -> dict[str, Any]:
    return {"PK": {"S": f"SURVEY#{survey_id}"}, "SK": {"S": "SURVEY"}}


def customer_surveys_partition(email: str) -> dict[str, Any]:
    """The GSI1 partition that lists one customer's surveys by when they were planned."""
    return {"S": f"CUSTOMER#{customer_key(email)}"}


def survey_to_item(survey: Survey, retention: timedelta) -> dict[str, Any]:
    values = asdict(survey)
    for name in _DATETIME_FIELDS:
        if values[name] is not None:
            values[name] = iso(values[name])
    # The survey's own expiry is a business date; ``expires_at`` on the item is the table's TTL.
    values["survey_expires_at"] = values.pop("expires_at")
    values["status"] = survey.status.value
    values["reminder"] = survey.reminder.value if survey.reminder else None
    values["reminder_skip_reason"] = (
        survey.reminder_skip_reason.value if survey.reminder_skip_reason else None
    )
    values["tags"] = list(survey.tags)
    return (
        marshal(values)
        | survey_key(survey.survey_id)
        | marshal(
            {
                "type": "survey",
                "GSI1PK": f"CUSTOMER#{survey.customer_key}",
                "GSI1SK": f"SURVEY#{iso(survey.planned_at)}",
                "expires_at": epoch(survey.closed_at + retention),
            }
        )
    )


def survey_from_item(item: dict[str, Any]) -> Survey:
    values = unmarshal(item)
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
    if kwargs.get("reminder") is not None:
        kwargs["reminder"] = ReminderStatus(kwargs["reminder"])
    if kwargs.get("reminder_skip_reason") is not None:
        kwargs["reminder_skip_reason"] = ReminderSkipReason(kwargs["reminder_skip_reason"])
    kwargs["survey_type"] = survey_type_of(kwargs["survey_type"])
    kwargs["tags"] = tuple(kwargs.get("tags", ()))
    return Survey(**kwargs)


# ---- response: SURVEY#<survey_id> / RESPONSE#<received_at>#<response_id> ------------------------------

RESPONSE_PREFIX = "RESPONSE#"


def survey_partition(survey_id: str) -> dict[str, Any]:
    """The partition that holds a survey and, sorted by when they came, its responses."""
    return {"S": f"SURVEY#{survey_id}"}


def response_to_item(response: SurveyResponse, expires_at: int) -> dict[str, Any]:
    values = asdict(response)
    values["received_at"] = iso(response.received_at)
    values["reasons"] = list(response.reasons)
    values["verdict_reasons"] = list(response.verdict_reasons)
    values["action"] = response.action.value if response.action is not None else None
    values["source"] = response.source.value
    return marshal(values) | marshal(
        {
            "PK": f"SURVEY#{response.survey_id}",
            "SK": f"{RESPONSE_PREFIX}{iso(response.received_at)}#{response.response_id}",
            "type": "response",
            "expires_at": expires_at,
        }
    )


def response_from_item(item: dict[str, Any]) -> SurveyResponse:
    values = unmarshal(item)
    fields = SurveyResponse.__dataclass_fields__
    kwargs = {name: value for name, value in values.items() if name in fields}
    for optional in ("score", "resolved", "comment"):
        kwargs.setdefault(optional, None)
    kwargs["received_at"] = datetime.fromisoformat(kwargs["received_at"])
    kwargs["reasons"] = tuple(kwargs.get("reasons", ()))
    kwargs["verdict_reasons"] = tuple(kwargs.get("verdict_reasons", ()))
    if kwargs.get("score") is not None:
        kwargs["score"] = int(kwargs["score"])
    if kwargs.get("action") is not None:
        kwargs["action"] = VerdictAction(kwargs["action"])
    # Answers stored before replies by email came from the page.
    kwargs["source"] = ResponseSource(kwargs.get("source", ResponseSource.PAGE.value))
    return SurveyResponse(**kwargs)


# ---- solve of a ticket: TICKET#<ticket key> / CLOSE#<closed_at> -----------------------------------------

CLOSE_PREFIX = "CLOSE#"


def ticket_partition(ticket_key: str) -> dict[str, Any]:
    """The partition that holds a ticket's solves and reopens."""
    return {"S": f"TICKET#{ticket_key}"}


def close_key(ticket_key: str, closed_at: datetime) -> dict[str, Any]:
    return {"PK": ticket_partition(ticket_key), "SK": {"S": f"{CLOSE_PREFIX}{iso(closed_at)}"}}


def planned_close_item(survey: Survey, retention: timedelta) -> dict[str, Any]:
    """The solve's marker, naming the survey planned for it."""
    return close_key(survey.ticket_key, survey.closed_at) | marshal(
        {
            "type": "close",
            "outcome": "planned",
            "survey_id": survey.survey_id,
            "expires_at": epoch(survey.closed_at + retention),
        }
    )


def skipped_close_item(
    ticket_key: str, closed_at: datetime, reason: SkipReason, now: datetime, retention: timedelta
) -> dict[str, Any]:
    """The solve's marker, saying why no survey was planned."""
    return close_key(ticket_key, closed_at) | marshal(
        {
            "type": "close",
            "outcome": "skipped",
            "reason": reason.value,
            "recorded_at": iso(now),
            "expires_at": epoch(closed_at + retention),
        }
    )


def close_outcome(item: dict[str, Any]) -> SkipReason | str:
    """What a solve's marker says: why it was skipped, or the id of the survey planned for it."""
    marker = unmarshal(item)
    if marker["outcome"] == "skipped":
        return SkipReason(marker["reason"])
    return str(marker["survey_id"])


# ---- customer throttle: CUSTOMER#<customer key> / THROTTLE ----------------------------------------------


def throttle_key(customer: str) -> dict[str, Any]:
    return {"PK": {"S": f"CUSTOMER#{customer}"}, "SK": {"S": "THROTTLE"}}


def throttle_item(survey: Survey, until: datetime) -> dict[str, Any]:
    return throttle_key(survey.customer_key) | marshal(
        {"type": "throttle", "survey_id": survey.survey_id, "until": iso(until), "expires_at": epoch(until)}
    )


# ---- suppression: SUPPRESSION#<customer key> / SUPPRESSION ----------------------------------------------


def suppression_key(email: str) -> dict[str, Any]:
    return {"PK": {"S": f"SUPPRESSION#{customer_key(email)}"}, "SK": {"S": "SUPPRESSION"}}


def suppression_item(email: str, reason: str, now: datetime) -> dict[str, Any]:
    return suppression_key(email) | marshal({"type": "suppression", "reason": reason, "at": iso(now)})


# ---- reopen of a survey: TICKET#<ticket key> / REOPEN#<survey_id>; the cap counter: ... / REOPENS ----------


def reopen_key(ticket_key: str, survey_id: str) -> dict[str, Any]:
    return {"PK": ticket_partition(ticket_key), "SK": {"S": f"REOPEN#{survey_id}"}}


def alert_key(ticket_key: str, survey_id: str) -> dict[str, Any]:
    """The survey's "please look" alert record, beside its reopen record: TICKET#<ticket key> / ALERT#<id>."""
    return {"PK": ticket_partition(ticket_key), "SK": {"S": f"ALERT#{survey_id}"}}


def alert_item(survey: Survey, now: datetime, retention: timedelta) -> dict[str, Any]:
    return alert_key(survey.ticket_key, survey.survey_id) | marshal(
        {
            "type": "alert",
            "state": "alerting",
            "survey_id": survey.survey_id,
            "claimed_at": iso(now),
            "expires_at": epoch(survey.closed_at + retention),
        }
    )


def reopen_counter_key(ticket_key: str) -> dict[str, Any]:
    return {"PK": ticket_partition(ticket_key), "SK": {"S": "REOPENS"}}


def reopen_item(survey: Survey, state: str, now: datetime, retention: timedelta) -> dict[str, Any]:
    return reopen_key(survey.ticket_key, survey.survey_id) | marshal(
        {
            "type": "reopen",
            "state": state,
            "survey_id": survey.survey_id,
            "claimed_at": iso(now),
            "expires_at": epoch(survey.closed_at + retention),
        }
    )


def reopen_state(item: dict[str, Any]) -> str | None:
    state = unmarshal(item).get("state")
    return None if state is None else str(state)


def reopen_progress_from_item(item: dict[str, Any]) -> ReopenProgress:
    # Imported here: only the reopen function reads progress, and the others need not load its rules.
    from closeloop.domain.reopening import ReopenProgress

    record = unmarshal(item)
    return ReopenProgress(
        state=str(record.get("state", "")),
        outcome=reopen_outcome_of(record),
        started=frozenset(record.get("steps_started", ())),
        done=frozenset(record.get("steps_done", ())),
        unknown=frozenset(record.get("steps_unknown", ())),
    )


def reopen_outcome_of(record: dict[str, Any]) -> dict[str, str]:
    """What the helpdesk did, from an unmarshalled reopen record (empty until it acted)."""
    return {str(name): str(value) for name, value in record.get("outcome", {}).items()}


# ---- sent message: MESSAGE#<message id key> / MESSAGE -> the survey its email was -------------------------


def sent_message_key(message_key: str) -> dict[str, Any]:
    """The lookup of a survey by its email's message id (``inbound_mail.message_id_key``: SES's id)."""
    return {"PK": {"S": f"MESSAGE#{message_key}"}, "SK": {"S": "MESSAGE"}}


def sent_message_item(message_key: str, survey_id: str, expires_at: int) -> dict[str, Any]:
    return sent_message_key(message_key) | marshal(
        {"type": "sent_message", "survey_id": survey_id, "expires_at": expires_at}
    )


# ---- team lead: LEAD#<team key> / LEAD, listed in GSI1 under LEADS / LEAD#<team key> ---------------------

# Every team lead also sits in one GSI1 partition, so listing them is a query, never a table scan.
LEADS_PARTITION = "LEADS"


def lead_key(team: str) -> dict[str, Any]:
    return {"PK": {"S": f"LEAD#{team}"}, "SK": {"S": "LEAD"}}


def lead_to_item(lead: TeamLead, now: datetime) -> dict[str, Any]:
    return lead_key(lead.key) | marshal(
        {
            "type": "lead",
            "team": lead.team,
            "email": lead.email,
            "locale": lead.locale,
            "timezone": lead.timezone,
            "updated_at": iso(now),
            "GSI1PK": LEADS_PARTITION,
            "GSI1SK": f"LEAD#{lead.key}",
        }
    )


def lead_from_item(item: dict[str, Any]) -> TeamLead:
    values = unmarshal(item)
    # Items written before leads had a time zone have none: the lead then reads DefaultTimezone's clock.
    return TeamLead(
        team=values["team"],
        email=values["email"],
        locale=values.get("locale"),
        timezone=values.get("timezone"),
    )


# ---- weekly digest: a claim per lead and week, and the leads who unsubscribed from it ------------------
#
# DIGEST#<lead key> / WEEK#<ISO week>: the week's digest, claimed before SES is called (docs/data.md).
# DIGEST#<lead key> / OFF, listed in GSI1 under DIGEST_OFF / DIGEST#<lead key>: the lead unsubscribed.

DIGEST_OFF_PARTITION = "DIGEST_OFF"


def digest_claim_key(lead_key: str, week: str) -> dict[str, Any]:
    return {"PK": {"S": f"DIGEST#{lead_key}"}, "SK": {"S": f"WEEK#{week}"}}


def digest_claim_item(lead_key: str, week: str, now: datetime, keep: timedelta) -> dict[str, Any]:
    return digest_claim_key(lead_key, week) | marshal(
        {"type": "digest", "state": "sending", "claimed_at": iso(now), "expires_at": epoch(now + keep)}
    )


def digest_off_key(lead_key: str) -> dict[str, Any]:
    return {"PK": {"S": f"DIGEST#{lead_key}"}, "SK": {"S": "OFF"}}


def digest_off_item(lead_key: str, now: datetime) -> dict[str, Any]:
    return digest_off_key(lead_key) | marshal(
        {
            "type": "digest_off",
            "lead_key": lead_key,
            "unsubscribed_at": iso(now),
            "GSI1PK": DIGEST_OFF_PARTITION,
            "GSI1SK": f"DIGEST#{lead_key}",
        }
    )
