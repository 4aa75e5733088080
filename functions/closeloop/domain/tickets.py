"""The canonical input events: what any helpdesk or system tells closeloop about a ticket.

These models are the contract of DESIGN.md section 3. ``events/schemas/*.json`` is generated from
them (``closeloop schemas``) and checked against the examples in ``events/`` by the test suite.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from closeloop.domain.queue_messages import MalformedMessageError, json_object
from closeloop.domain.surveys import is_email_address
from closeloop.domain.surveys import ticket_key as ticket_key  # re-exported: a ticket's key
from closeloop.domain.validation import validation_problems

TICKETS_SOURCE = "closeloop.tickets"
TICKET_CLOSED = "Ticket Closed"
TICKET_REOPENED = "Ticket Reopened"


def _to_text(value: Any) -> Any:
    """Helpdesks send ids as numbers or strings; closeloop stores them as strings."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


_ID_SCHEMA = {"anyOf": [{"type": "string", "minLength": 1, "maxLength": 128}, {"type": "integer"}]}
TicketId = Annotated[
    str, BeforeValidator(_to_text), Field(min_length=1, max_length=128), WithJsonSchema(_ID_SCHEMA)
]
OptionalId = Annotated[
    str | None, BeforeValidator(_to_text), WithJsonSchema({"anyOf": [*_ID_SCHEMA["anyOf"], {"type": "null"}]})
]
# A ticket event's moment must be one planning can compute with: no helpdesk existed before 2000, and a
# moment more than a day ahead of our clock is a sender's bug. Without these bounds, year 1 or 9999 pass
# the model and overflow later in date arithmetic, where the event can only be retried until redrive.
EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
MAX_CLOCK_AHEAD = timedelta(days=1)


def _plausible_moment(value: datetime) -> datetime:
    # Compared, never converted: converting year 1 at +14:00 to UTC is itself the overflow.
    if value < EARLIEST_EVENT_TIME:
        raise ValueError(f"must not be before {EARLIEST_EVENT_TIME.date().isoformat()}")
    if value > datetime.now(UTC) + MAX_CLOCK_AHEAD:
        raise ValueError("must not be more than one day in the future")
    return value


EventMoment = Annotated[AwareDatetime, AfterValidator(_plausible_moment)]
HelpdeskName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$", examples=["zendesk", "freshdesk"])]


# Zendesk's user roles; other helpdesks map to them (a Freshdesk agent is "agent", a contact "end-user").
RequesterRole = Literal["end-user", "agent", "admin"]
INTERNAL_ROLES: frozenset[str] = frozenset({"agent", "admin"})


class _Open(BaseModel):
    # Unknown fields are kept, so a sender can add context without a schema change.
    model_config = ConfigDict(extra="allow", frozen=True)


class Customer(_Open):
    email: str = Field(
        max_length=320, description="Where the survey goes.", json_schema_extra={"format": "email"}
    )
    name: str | None = Field(default=None, max_length=200)
    locale: str | None = Field(default=None, max_length=35, description="BCP 47 tag, e.g. pt-BR.")
    timezone: str | None = Field(default=None, max_length=64, description="IANA zone, e.g. Europe/Rome.")
    role: RequesterRole | None = Field(
        default=None,
        description="The requester's role at the helpdesk, when known: an agent or admin is internal and "
        "gets no survey.",
    )

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        value = value.strip()
        if not is_email_address(value):
            raise ValueError("not an email address")
        return value


class Agent(_Open):
    id: OptionalId = None
    name: str | None = None
    email: str | None = None


class Team(_Open):
    id: OptionalId = None
    name: str | None = None


class TicketClosed(_Open):
    """``detail`` of a ``Ticket Closed`` event (source ``closeloop.tickets``), version 1."""

    version: Literal[1] = 1
    ticket_id: TicketId
    helpdesk: HelpdeskName
    closed_at: EventMoment
    status: Literal["solved", "closed"]
    customer: Customer
    agent: Agent | None = None
    team: Team | None = None
    subject: str | None = Field(default=None, max_length=500)
    channel: str | None = None
    tags: list[str] = Field(default_factory=list)
    brand: str | None = None
    url: str | None = Field(default=None, description="Link to the ticket, for the support lead.")


class TicketReopened(_Open):
    """``detail`` of a ``Ticket Reopened`` event: cancels a survey that has not been sent yet."""

    version: Literal[1] = 1
    ticket_id: TicketId
    helpdesk: HelpdeskName
    reopened_at: EventMoment | None = None


class InvalidTicketEventError(MalformedMessageError):
    """The event is not a valid canonical ticket event; the message says why (no personal data)."""


def parse_ticket_event(event: dict[str, Any]) -> TicketClosed | TicketReopened:
    """Validate an EventBridge event (as delivered to a queue) into a canonical ticket event."""
    detail_type = event.get("detail-type")
    models: dict[str, type[TicketClosed] | type[TicketReopened]] = {
        TICKET_CLOSED: TicketClosed,
        TICKET_REOPENED: TicketReopened,
    }
    if event.get("source") != TICKETS_SOURCE or not isinstance(detail_type, str) or detail_type not in models:
        raise InvalidTicketEventError(f"not a ticket event: {event.get('source')!r} / {detail_type!r}")
    try:
        return models[detail_type].model_validate(event.get("detail"))
    except ValidationError as error:
        # Where and what, never the offending values (they may be personal data).
        raise InvalidTicketEventError(f"invalid {detail_type}: {validation_problems(error)}") from error


def parse_ticket_event_message(body: str) -> TicketClosed | TicketReopened:
    """A plan queue message: the ticket event exactly as the EventBridge rule puts it on the queue."""
    return parse_ticket_event(json_object(body, InvalidTicketEventError, "an EventBridge ticket event"))
