"""Credentials kept in Secrets Manager as JSON documents, cached for a few minutes per container."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from closeloop.domain.credentials import SecretNotConfiguredError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

# Short enough that a rotated or newly written secret is picked up without a redeploy.
SECRET_CACHE_SECONDS = 300


class SecretStore:
    """Reads JSON secrets by ARN or name."""

    def __init__(self, client: SecretsManagerClient, max_age: int = SECRET_CACHE_SECONDS) -> None:
        self._provider = SecretsProvider(boto3_client=client)
        self._max_age = max_age

    def get_json(self, secret_id: str, force_fetch: bool = False) -> dict[str, Any]:
        """The secret's JSON object; raises ``SecretNotConfiguredError`` when it is not usable."""
        if not secret_id:
            raise SecretNotConfiguredError("no secret configured")
        try:
            raw = self._provider.get(secret_id, max_age=self._max_age, force_fetch=force_fetch)
        except Exception as error:  # Powertools wraps every client error in GetParameterError
            raise SecretNotConfiguredError(f"secret {secret_id} cannot be read") from error
        try:
            value = json.loads(raw) if isinstance(raw, str | bytes) else raw
        except json.JSONDecodeError as error:
            raise SecretNotConfiguredError(f"secret {secret_id} is not JSON") from error
        if not isinstance(value, dict):
            raise SecretNotConfiguredError(f"secret {secret_id} is not a JSON object")
        return value
