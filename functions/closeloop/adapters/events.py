"""Publishing closeloop's own events on the EventBridge bus.

Every state change is an event with source ``closeloop`` (documented in ``events/schemas/``), so a
business can subscribe its own consumers. Ticket events coming *in* use ``closeloop.tickets``. Every
failure is raised as the domain's ``PublishError``, saying whether the event certainly was not put.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from closeloop.domain.published import EventRefusedError, PublishError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

CLOSELOOP_SOURCE = "closeloop"

# EventBridge errors that no retry gets past: the entry itself was refused (its size or its shape).
_REFUSED_ENTRY_ERRORS = frozenset({"ValidationException"})


class EventBusPublisher:
    """Puts events on one bus and fails loudly when EventBridge rejects an entry."""

    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, detail_type: str, detail: Mapping[str, Any], source: str = CLOSELOOP_SOURCE) -> str:
        """Put one event and return its id; raises ``PublishError`` (``EventRefusedError``) otherwise."""
        try:
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
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _REFUSED_ENTRY_ERRORS:
                raise EventRefusedError(f"ClientError: {error}") from error
            raise PublishError(f"ClientError: {error}", not_taken=True) from error
        except (ConnectTimeoutError, EndpointConnectionError) as error:
            raise PublishError(f"{type(error).__name__}: {error}", not_taken=True) from error
        except BotoCoreError as error:  # no answer in time, or a connection dropped: it may have been put
            raise PublishError(f"{type(error).__name__}: {error}", not_taken=False) from error
        entry = response["Entries"][0]
        if response.get("FailedEntryCount") or "EventId" not in entry:
            raise PublishError(
                f"{detail_type}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}", not_taken=True
            )
        return entry["EventId"]
