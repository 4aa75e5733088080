"""A small Zendesk Support API client: the users and groups closeloop needs to describe a ticket.

Standard library only (``urllib.request``) to keep the Lambda package lean. Authentication is an API
token: basic auth with ``{email}/token`` as the user name and the token as the password. Each request
has a timeout; 429 and 5xx answers and network errors are retried a bounded number of times, honouring
``Retry-After`` when Zendesk sends it, and within a total time budget that stays under the 10-12 seconds
Zendesk waits for a webhook answer.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from closeloop.adapters.secrets import SecretNotConfiguredError
from closeloop.domain.webhooks import HelpdeskGroup, HelpdeskUser

_RETRYABLE = frozenset({429, 500, 502, 503, 504})


class HelpdeskApiError(Exception):
    """The helpdesk API did not answer usefully; ``status`` is its HTTP status when it answered."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status

    @property
    def not_found(self) -> bool:
        return self.status == 404


@dataclass(frozen=True)
class ZendeskCredentials:
    """An agent's email and an API token (Admin Center → Apps and integrations → Zendesk API)."""

    email: str
    api_token: str

    def authorization(self) -> str:
        raw = f"{self.email}/token:{self.api_token}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def zendesk_credentials(secret: Mapping[str, Any]) -> ZendeskCredentials:
    """API credentials from the Zendesk secret ``{"webhook_secret", "api_token", "email"}``."""
    email, token = str(secret.get("email") or "").strip(), str(secret.get("api_token") or "").strip()
    if not email or not token:
        raise SecretNotConfiguredError("zendesk secret lacks email or api_token")
    return ZendeskCredentials(email=email, api_token=token)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts, backoff, the longest ``Retry-After`` honoured, and a total budget."""

    timeout_seconds: float = 3.0
    max_attempts: int = 3
    backoff_seconds: float = 0.3
    max_retry_after_seconds: float = 3.0
    budget_seconds: float = 8.0


class ZendeskClient:
    """Reads Zendesk users and groups.

    ``credentials`` may be a callable, so a cached client picks up a rotated API token from the secret
    store without being rebuilt.
    """

    def __init__(
        self,
        base_url: str,
        credentials: ZendeskCredentials | Callable[[], ZendeskCredentials],
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        scheme = urllib.parse.urlsplit(base_url).scheme
        if scheme not in ("http", "https"):
            raise HelpdeskApiError("zendesk base URL must be an http(s) URL")
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock

    def get_user(self, user_id: str) -> HelpdeskUser:
        """A user by id: email, name, locale and time zone (IANA when Zendesk knows it)."""
        body = self._get_json(f"/api/v2/users/{_path_id(user_id)}.json")
        user = body.get("user")
        if not isinstance(user, dict):
            raise HelpdeskApiError("zendesk user response has no user object")
        return HelpdeskUser(
            id=str(user.get("id", user_id)),
            email=_optional_text(user.get("email")),
            name=_optional_text(user.get("name")),
            locale=_optional_text(user.get("locale")),
            # Zendesk's time_zone is a Rails name ("Eastern Time (US & Canada)"); iana_time_zone is IANA.
            time_zone=_optional_text(user.get("iana_time_zone")) or _optional_text(user.get("time_zone")),
        )

    def get_group(self, group_id: str) -> HelpdeskGroup:
        """A group by id."""
        body = self._get_json(f"/api/v2/groups/{_path_id(group_id)}.json")
        group = body.get("group")
        if not isinstance(group, dict):
            raise HelpdeskApiError("zendesk group response has no group object")
        return HelpdeskGroup(id=str(group.get("id", group_id)), name=_optional_text(group.get("name")))

    def _get_json(self, path: str) -> dict[str, Any]:
        credentials = self._credentials() if callable(self._credentials) else self._credentials
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self._base_url + path,
            headers={"Authorization": credentials.authorization(), "Accept": "application/json"},
            method="GET",
        )
        policy = self._policy
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                with urllib.request.urlopen(request, timeout=policy.timeout_seconds) as response:  # noqa: S310
                    loaded = json.loads(response.read())
                if not isinstance(loaded, dict):
                    raise HelpdeskApiError("zendesk answered with something other than a JSON object")
                return loaded
            except urllib.error.HTTPError as error:
                status = error.code
                retry_after = _retry_after_seconds(error.headers.get("Retry-After"))
                error.close()
                failure = HelpdeskApiError(f"zendesk answered {status}", status)
                if status not in _RETRYABLE:
                    raise failure from None
            except (urllib.error.URLError, TimeoutError, OSError) as error:
                failure = HelpdeskApiError(f"zendesk unreachable: {type(error).__name__}")
                retry_after = None
            except ValueError as error:
                raise HelpdeskApiError("zendesk answered with invalid JSON") from error

            if retry_after is not None and retry_after > policy.max_retry_after_seconds:
                raise failure  # honouring a long Retry-After would outlive the webhook's timeout
            wait = retry_after if retry_after is not None else policy.backoff_seconds * 2 ** (attempt - 1)
            elapsed = self._clock() - started
            if (
                attempt >= policy.max_attempts
                or elapsed + wait + policy.timeout_seconds > policy.budget_seconds
            ):
                raise failure
            self._sleep(wait)


def _path_id(value: str) -> str:
    if not value.isdigit():
        raise HelpdeskApiError("zendesk ids are numeric")
    return value


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
