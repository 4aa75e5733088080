"""Reading a credential closeloop keeps as a JSON secret: the port, and its one way of failing.

The secret store (``closeloop.adapters.secrets``) and the helpdesk adapters that read credentials from it
raise ``SecretNotConfiguredError``; the services that need a secret see only this module.
"""

from __future__ import annotations

from typing import Any, Protocol


class SecretNotConfiguredError(Exception):
    """The secret is missing, empty, or not the JSON object the operator guide describes."""


class SecretReader(Protocol):
    def get_json(self, secret_id: str, force_fetch: bool = False) -> dict[str, Any]:
        """The secret's JSON object; raises ``SecretNotConfiguredError`` when it is not usable."""
        ...
