"""Publishing closeloop's own events on the EventBridge bus.

Every state change is an event with source ``closeloop`` (documented in ``events/schemas/``), so a
business can subscribe its own consumers. Ticket events coming *in* use ``closeloop.tickets``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

CLOSELOOP_SOURCE = "closeloop"


class EventPublishError(Exception):
    """EventBridge refused an entry; the caller must not treat the event as delivered."""


class EventBusPublisher:
    """Puts events on one bus and fails loudly when EventBridge rejects an entry."""

    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, detail_type: str, detail: Mapping[str, Any], source: str = CLOSELOOP_SOURCE) -> str:
        """Put one event and return its id."""
        response = self._client.put_events(
            Entries=[
                {
                    "EventBusName": self._bus_name,
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                }
            ]
        )
        entry = response["Entries"][0]
        if response.get("FailedEntryCount") or "EventId" not in entry:
            raise EventPublishError(f"{detail_type}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")
        return entry["EventId"]
