"""Signed survey and unsubscribe links.

A token names a survey, its purpose, an expiry and the id of the key that signed it; nothing about the
customer. Tokens are signed with HMAC-SHA256 (itsdangerous) under keys kept in Secrets Manager, so a
key can be rotated by adding a new key id and making it active while old links keep working.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from itsdangerous import BadSignature, URLSafeSerializer


class LinkPurpose(StrEnum):
    SURVEY = "survey"
    UNSUBSCRIBE = "unsubscribe"


class InvalidLinkError(Exception):
    """The token was not issued by closeloop, was altered, or its key was retired."""


class ExpiredLinkError(InvalidLinkError):
    """The token is authentic but past its expiry."""


@dataclass(frozen=True)
class LinkClaims:
    """What a verified link token says: which survey, what for, until when, signed with which key."""

    survey_id: str
    purpose: LinkPurpose
    expires_at: datetime
    key_id: str


class LinkSigner:
    """Issues and verifies tokens under a set of keys, signing with the active one."""

    def __init__(self, keys: Mapping[str, str], active_key_id: str) -> None:
        if active_key_id not in keys or not keys[active_key_id]:
            raise ValueError(f"active signing key {active_key_id!r} is missing")
        self._keys = dict(keys)
        self._active = active_key_id

    @classmethod
    def from_secret(cls, secret: Mapping[str, object]) -> LinkSigner:
        """Build from the secret's JSON: ``{"active": "k2", "k1": "…", "k2": "…"}``."""
        active = str(secret.get("active", ""))
        keys = {name: str(value) for name, value in secret.items() if name != "active" and value}
        return cls(keys, active)

    def _serializer(self, key_id: str, purpose: LinkPurpose) -> URLSafeSerializer:
        return URLSafeSerializer(
            self._keys[key_id],
            salt=f"closeloop.{purpose.value}",
            signer_kwargs={
                "digest_method": hashlib.sha256,
            },
        )

    def issue(self, survey_id: str, purpose: LinkPurpose, expires_at: datetime) -> str:
        payload = {"s": survey_id, "e": int(expires_at.timestamp()), "k": self._active}
        token = self._serializer(self._active, purpose).dumps(payload)
        return str(token)

    def verify(self, token: str, purpose: LinkPurpose, now: datetime) -> LinkClaims:
        """The token's claims; raises ``InvalidLinkError`` or ``ExpiredLinkError``."""
        key_id = self._claimed_key_id(token)
        if key_id not in self._keys:
            raise InvalidLinkError("unknown signing key")
        try:
            payload = self._serializer(key_id, purpose).loads(token)
        except BadSignature as error:
            raise InvalidLinkError("bad signature") from error
        if (
            not isinstance(payload, dict)
            or payload.get("k") != key_id
            or not isinstance(payload.get("s"), str)
        ):
            raise InvalidLinkError("malformed token")
        expires_at = datetime.fromtimestamp(int(payload["e"]), tz=UTC)
        if now >= expires_at:
            raise ExpiredLinkError("link expired")
        return LinkClaims(survey_id=payload["s"], purpose=purpose, expires_at=expires_at, key_id=key_id)

    def _claimed_key_id(self, token: str) -> str:
        # The key id is read before the signature is checked only to choose the key to check it with.
        any_key = next(iter(self._keys.values()))
        try:
            _, payload = URLSafeSerializer(any_key).loads_unsafe(token)
        except Exception as error:
            raise InvalidLinkError("malformed token") from error
        if not isinstance(payload, dict) or not isinstance(payload.get("k"), str):
            raise InvalidLinkError("malformed token")
        return str(payload["k"])
