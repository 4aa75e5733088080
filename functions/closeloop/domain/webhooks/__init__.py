"""Helpdesk webhooks: who may call, and what their payloads mean in closeloop's canonical terms.

Pure rules, no AWS and no HTTP: the caller passes the raw request, the secrets, the clock and the helpdesk
data it has already fetched. Every error carries a ``reason`` that is safe to return to the caller and to
log: it never contains an email address, a name or any part of the body. One module per job:

- ``signatures``: Zendesk's signature and Freshdesk's shared secret;
- ``payloads``: the provider named in the path, the body's bounds and JSON, reading the values inside;
- ``zendesk`` and ``freshdesk``: what each helpdesk's payload means;
- ``timezones``: helpdesk (Rails) zone names as IANA zones;
- ``canonical``: the ticket event a webhook becomes, or why it is ignored.

The names callers use are importable from this package. The errors are in
``closeloop.domain.webhook_errors``, outside it, so the API can map them to statuses without loading these
rules (and pydantic) for a survey page.
"""

from __future__ import annotations

from closeloop.domain.webhooks.canonical import MAX_EVENT_DETAIL_BYTES, Ignored, event_detail
from closeloop.domain.webhooks.freshdesk import normalize_freshdesk
from closeloop.domain.webhooks.payloads import (
    FRESHDESK,
    MAX_WEBHOOK_BODY_BYTES,
    PROVIDERS,
    ZENDESK,
    check_body_size,
    parse_json_object,
    provider_of,
)
from closeloop.domain.webhooks.signatures import (
    FRESHDESK_BASIC_AUTH_USER,
    FRESHDESK_SECRET_HEADER,
    SIGNATURE_TOLERANCE,
    ZENDESK_SIGNATURE_HEADER,
    ZENDESK_TIMESTAMP_HEADER,
    verify_freshdesk_secret,
    verify_zendesk_signature,
    zendesk_signature,
)
from closeloop.domain.webhooks.timezones import iana_time_zone
from closeloop.domain.webhooks.zendesk import (
    HelpdeskGroup,
    HelpdeskUser,
    ZendeskStatusChange,
    interpret_zendesk_event,
    zendesk_ticket_closed,
    zendesk_ticket_reopened,
)

__all__ = [
    "FRESHDESK",
    "FRESHDESK_BASIC_AUTH_USER",
    "FRESHDESK_SECRET_HEADER",
    "MAX_EVENT_DETAIL_BYTES",
    "MAX_WEBHOOK_BODY_BYTES",
    "PROVIDERS",
    "SIGNATURE_TOLERANCE",
    "ZENDESK",
    "ZENDESK_SIGNATURE_HEADER",
    "ZENDESK_TIMESTAMP_HEADER",
    "HelpdeskGroup",
    "HelpdeskUser",
    "Ignored",
    "ZendeskStatusChange",
    "check_body_size",
    "event_detail",
    "iana_time_zone",
    "interpret_zendesk_event",
    "normalize_freshdesk",
    "parse_json_object",
    "provider_of",
    "verify_freshdesk_secret",
    "verify_zendesk_signature",
    "zendesk_signature",
    "zendesk_ticket_closed",
    "zendesk_ticket_reopened",
]
