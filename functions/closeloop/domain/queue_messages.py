"""What closeloop's own queues carry: each message's builder and parser, side by side.

The producer builds a body with ``to_body()`` and the consumer reads it with ``from_body()``, so the two
cannot drift apart. The bodies are the JSON objects closeloop has always sent (messages in flight during
a deployment still parse); fields a later version adds are ignored. A body that is not the message raises
that queue's one error type (a ``MalformedMessageError``), whose text says what is wrong and never
repeats the body.

These are plain named tuples, not pydantic models: the send and reopen functions and the survey pages
never load pydantic (a cold start cost). The other two queues carry what AWS puts on them, read where
their contracts live: ``closeloop.domain.tickets.parse_ticket_event_message`` (the plan queue's
EventBridge events) and ``closeloop.domain.deliverability.parse_delivery_event_message`` (SES events).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

_SEND_REQUEST = '{"survey_id": "...", "reminder"?: true}'
_REOPEN_REQUEST = '{"survey_id": "...", "response_id": "...", "reply"?: true}'


class MalformedMessageError(Exception):
    """A queue message that is not what its queue carries: no retry can help, so it is parked with its
    reason. Each queue's parser raises its own subclass, whose name starts the reason."""


class MalformedSendRequestError(MalformedMessageError):
    """The send queue's message is not ``{"survey_id": "…"}``; the text says what is wrong."""


class MalformedReopenRequestError(MalformedMessageError):
    """The reopen queue's message is not ``{"survey_id": "…", "response_id": "…"}``; the text says why."""


def json_object(body: str, malformed: type[MalformedMessageError], shape: str) -> dict[str, Any]:
    """``body`` as a JSON object, or ``malformed`` naming the problem (never the body's content).

    ``shape`` says what the message should be. JSON's own refusals name a position, not the text; a body
    nested too deeply or holding an overlong number is refused by name rather than left to fail on every
    receive until redrive.
    """
    try:
        loaded = json.loads(body)
    except json.JSONDecodeError as error:
        raise malformed(f"the body is not JSON ({error.msg} at character {error.pos}): {shape}") from error
    except (ValueError, RecursionError) as error:
        raise malformed(
            f"the body is JSON closeloop cannot read ({type(error).__name__}): {shape}"
        ) from error
    if not isinstance(loaded, dict):
        raise malformed(f"the body is a JSON {type(loaded).__name__}, not an object: {shape}")
    return loaded


def _text(message: dict[str, Any], name: str, malformed: type[MalformedMessageError], shape: str) -> str:
    if name not in message:
        raise malformed(f"{name} is missing: {shape}")
    value = message[name]
    if not isinstance(value, str) or not value:
        raise malformed(f"{name} is not a non-empty string: {shape}")
    return value


class SendRequest(NamedTuple):
    """Send this survey now. Put on the send queue by planning, directly or through a one-time schedule.

    ``reminder`` (``"reminder": true``) asks for the survey's one reminder instead, through the one-time
    schedule the send of the survey email set up.
    """

    survey_id: str
    reminder: bool = False

    def to_body(self) -> str:
        body: dict[str, object] = {"survey_id": self.survey_id}
        if self.reminder:
            body["reminder"] = True
        return json.dumps(body)

    @classmethod
    def from_body(cls, body: str) -> SendRequest:
        message = json_object(body, MalformedSendRequestError, _SEND_REQUEST)
        reminder = message.get("reminder", False)
        if not isinstance(reminder, bool):
            raise MalformedSendRequestError(f"reminder is not true or false: {_SEND_REQUEST}")
        return cls(_text(message, "survey_id", MalformedSendRequestError, _SEND_REQUEST), reminder)


class ReopenRequest(NamedTuple):
    """Reopen the ticket if this answer is still the survey's latest and still negative.

    Put on the reopen queue by the survey page, delayed by the grace period. ``reply`` marks the follow-up
    of an email reply (``"reply": true``): its text reaches the ticket as a private note whatever happens,
    and a negative one also asks for the reopen.
    """

    survey_id: str
    response_id: str
    reply: bool = False

    def to_body(self) -> str:
        body: dict[str, object] = {"survey_id": self.survey_id, "response_id": self.response_id}
        if self.reply:
            body["reply"] = True
        return json.dumps(body)

    @classmethod
    def from_body(cls, body: str) -> ReopenRequest:
        message = json_object(body, MalformedReopenRequestError, _REOPEN_REQUEST)
        reply = message.get("reply", False)
        if not isinstance(reply, bool):
            raise MalformedReopenRequestError(f"reply is not true or false: {_REOPEN_REQUEST}")
        return cls(
            _text(message, "survey_id", MalformedReopenRequestError, _REOPEN_REQUEST),
            _text(message, "response_id", MalformedReopenRequestError, _REOPEN_REQUEST),
            reply,
        )
