"""Why a helpdesk webhook is refused: each error is one HTTP status of ``POST /webhooks/{provider}``.

The rules that raise them are in ``closeloop.domain.webhooks``; they live here so the API handler can map
them to statuses without loading those rules (and the ticket models) for a survey page.
"""

from __future__ import annotations


class WebhookError(Exception):
    """A webhook closeloop will not act on; ``reason`` is safe to show the caller and to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownProviderError(WebhookError):
    """The path names a helpdesk closeloop has no adapter for."""


class WebhookAuthenticationError(WebhookError):
    """Missing, wrong or stale signature or shared secret."""


class WebhookPayloadError(WebhookError):
    """The body is not JSON, lacks a required field, or carries a value closeloop cannot use."""


class WebhookTooLargeError(WebhookError):
    """The body, or the event it would become, is over closeloop's bounds: permanent, never retried."""


class WebhookUnavailableError(WebhookError):
    """The helpdesk is not configured, or a dependency failed: the sender should retry later.

    Only conditions that a later delivery of the same request can get past are raised as this: a
    permanent problem with the request itself is a ``WebhookPayloadError`` or ``WebhookTooLargeError``.
    """
