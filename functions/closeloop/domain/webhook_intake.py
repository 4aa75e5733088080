"""Receiving a helpdesk webhook: authenticate it, understand it, look up what it lacks, announce it.

``receive_webhook`` is the one function the HTTP API calls for ``POST /webhooks/{provider}``. The rules
(signatures, payload meaning) are in ``closeloop.domain.webhooks``; this service strings them together
with three ports: the secret store, the Zendesk directory and the event bus, whose adapters raise the
domain's errors (``SecretNotConfiguredError``, ``HelpdeskError``, ``PublishError``). Each is turned into
the ``WebhookError`` the API answers with; on any error nothing is published.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from closeloop.domain.credentials import SecretNotConfiguredError, SecretReader
from closeloop.domain.helpdesk_errors import HelpdeskError
from closeloop.domain.published import EventPublisher, EventRefusedError, PublishError
from closeloop.domain.tickets import (
    TICKET_CLOSED,
    TICKET_REOPENED,
    TICKETS_SOURCE,
    TicketClosed,
    TicketReopened,
)
from closeloop.domain.webhook_errors import WebhookPayloadError, WebhookUnavailableError
from closeloop.domain.webhooks import (
    ZENDESK,
    HelpdeskGroup,
    HelpdeskUser,
    Ignored,
    ZendeskStatusChange,
    check_body_size,
    event_detail,
    interpret_zendesk_event,
    normalize_freshdesk,
    parse_json_object,
    provider_of,
    verify_freshdesk_secret,
    verify_zendesk_signature,
    zendesk_ticket_closed,
    zendesk_ticket_reopened,
)

T = TypeVar("T")


class ZendeskDirectory(Protocol):
    """Zendesk's users and groups; a failed lookup raises ``HelpdeskError`` (``not_found`` for a 404), and
    credentials that cannot be read raise ``SecretNotConfiguredError``."""

    def get_user(self, user_id: str) -> HelpdeskUser: ...

    def get_group(self, group_id: str) -> HelpdeskGroup: ...


@dataclass(frozen=True)
class WebhookConfig:
    """Where each helpdesk's secret is kept, and the address of its account (for links and ids)."""

    zendesk_secret_arn: str = ""
    freshdesk_secret_arn: str = ""
    zendesk_base_url: str = ""
    freshdesk_base_url: str = ""


@dataclass(frozen=True)
class WebhookDependencies:
    """What receiving a webhook needs; ``zendesk`` is called only when a Zendesk lookup is due."""

    config: WebhookConfig
    secrets: SecretReader
    publisher: EventPublisher
    zendesk: Callable[[], ZendeskDirectory]


@dataclass(frozen=True)
class WebhookReceipt:
    """The outcome of an authentic webhook: an event put on the bus, or a reason to do nothing."""

    outcome: Literal["accepted", "ignored"]
    provider: str
    ticket_id: str | None
    detail_type: str | None = None
    event_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class WebhookReceiver:
    """``receive_webhook`` bound to its dependencies: what ``POST /webhooks/{provider}`` calls."""

    deps: WebhookDependencies

    def receive(
        self, provider: str, headers: Mapping[str, str], raw_body: bytes, now: datetime
    ) -> WebhookReceipt:
        return receive_webhook(provider, headers, raw_body, now, self.deps)


def receive_webhook(
    provider: str, headers: Mapping[str, str], raw_body: bytes, now: datetime, deps: WebhookDependencies
) -> WebhookReceipt:
    """Authenticate and translate one helpdesk webhook, and publish the canonical event it means.

    Raises a ``WebhookError`` subclass (unknown provider, authentication, payload, too large,
    unavailable); in every such case nothing has been published. Only ``WebhookUnavailableError`` asks
    the sender to retry, and only for conditions a later delivery can get past.
    """
    name = provider_of(provider)
    check_body_size(raw_body)  # before the secret is even read: an oversized body is never worth work
    secret = _helpdesk_secret(name, deps)
    webhook_secret = str(secret.get("webhook_secret") or "")
    if name == ZENDESK:
        verify_zendesk_signature(headers, raw_body, webhook_secret, now)
        result = _zendesk_event(parse_json_object(raw_body), deps)
    else:
        verify_freshdesk_secret(headers, webhook_secret)
        result = normalize_freshdesk(parse_json_object(raw_body), now, deps.config.freshdesk_base_url)
    if isinstance(result, Ignored):
        return WebhookReceipt("ignored", name, result.ticket_id, reason=result.reason)
    detail_type = TICKET_CLOSED if isinstance(result, TicketClosed) else TICKET_REOPENED
    event_id = _publish(deps.publisher, detail_type, result)
    return WebhookReceipt("accepted", name, result.ticket_id, detail_type=detail_type, event_id=event_id)


def _helpdesk_secret(provider: str, deps: WebhookDependencies) -> dict[str, Any]:
    arn = deps.config.zendesk_secret_arn if provider == ZENDESK else deps.config.freshdesk_secret_arn
    try:
        return deps.secrets.get_json(arn)
    except SecretNotConfiguredError as error:
        raise WebhookUnavailableError(f"{provider} is not configured") from error


def _zendesk_event(
    payload: Mapping[str, Any], deps: WebhookDependencies
) -> TicketClosed | TicketReopened | Ignored:
    change = interpret_zendesk_event(payload)
    if isinstance(change, Ignored):
        return change
    if change.action == "reopened":
        return zendesk_ticket_reopened(change)
    return _zendesk_ticket_closed(change, deps)


def _zendesk_ticket_closed(change: ZendeskStatusChange, deps: WebhookDependencies) -> TicketClosed | Ignored:
    if change.requester_id is None:
        raise WebhookPayloadError("missing requester_id")
    try:
        directory = deps.zendesk()
        try:
            requester = directory.get_user(change.requester_id)
        except HelpdeskError as error:
            if error.not_found:
                return Ignored("requester not found in zendesk", change.ticket_id)
            raise
        if not requester.email:
            return Ignored("requester has no email address", change.ticket_id)
        assignee = _unless_missing(directory.get_user, change.assignee_id)
        group = _unless_missing(directory.get_group, change.group_id)
    except HelpdeskError as error:
        raise WebhookUnavailableError(f"zendesk api unavailable ({error.reason})") from error
    except SecretNotConfiguredError as error:
        raise WebhookUnavailableError("zendesk api credentials are not configured") from error
    return zendesk_ticket_closed(change, requester, assignee, group, deps.config.zendesk_base_url)


def _unless_missing(fetch: Callable[[str], T], item_id: str | None) -> T | None:
    """An assignee or group that was deleted since does not stop the survey: it is left out."""
    if item_id is None:
        return None
    try:
        return fetch(item_id)
    except HelpdeskError as error:
        if error.not_found:
            return None
        raise


def _publish(publisher: EventPublisher, detail_type: str, event: TicketClosed | TicketReopened) -> str:
    detail = event_detail(event)  # refuses, permanently, an event the bus would refuse for its size
    try:
        return publisher.publish(detail_type, detail, source=TICKETS_SOURCE)
    except EventRefusedError as error:
        raise WebhookPayloadError("the event bus refused the ticket event") from error
    except PublishError as error:
        raise WebhookUnavailableError("event bus unavailable") from error
