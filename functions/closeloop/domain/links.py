"""Signed survey and unsubscribe links, and the signing keys they share with the survey form.

A token names a survey, its purpose, an expiry and the id of the key that signed it; nothing about the
customer. Tokens are signed with HMAC-SHA256 (itsdangerous) under keys kept in Secrets Manager, which
rotate the library's way: the active key signs, every key in the secret verifies. So a key is rotated by
adding a new key id and making it active, and old links keep working until their key is removed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from itsdangerous import BadData, URLSafeSerializer


class LinkPurpose(StrEnum):
    SURVEY = "survey"
    UNSUBSCRIBE = "unsubscribe"
    # A lead's weekly digest (closeloop.domain.digest): names the lead, not a survey.
    DIGEST_UNSUBSCRIBE = "digest-unsubscribe"


class InvalidLinkError(Exception):
    """The token was not issued by closeloop, was altered, or its key was retired."""


class ExpiredLinkError(InvalidLinkError):
    """The token is authentic but past its expiry."""


@dataclass(frozen=True)
class SigningKeys:
    """The signing keys secret, ``{"active": "k2", "k1": "…", "k2": "…"}``: the active key signs, every
    key verifies. Links (``LinkSigner``) and form tokens (``FormTokens``) are signed under the same keys."""

    keys: Mapping[str, str]
    active: str

    def __post_init__(self) -> None:
        if not self.keys.get(self.active):
            raise ValueError(f"active signing key {self.active!r} is missing")

    @classmethod
    def from_secret(cls, secret: Mapping[str, object]) -> SigningKeys:
        """The keys of the secret's JSON; a key with an empty value is no key."""
        keys = {name: str(value) for name, value in secret.items() if name != "active" and value}
        return cls(keys, str(secret.get("active", "")))

    def rotation(self) -> list[str]:
        """The keys as itsdangerous takes them: it signs with the last one and verifies with any."""
        older = [key for key_id, key in self.keys.items() if key_id != self.active and key]
        return [*older, self.keys[self.active]]


@dataclass(frozen=True)
class LinkClaims:
    """What a verified link token says: which survey, what for, until when, signed with which key."""

    survey_id: str
    purpose: LinkPurpose
    expires_at: datetime
    key_id: str


class LinkSigner:
    """Issues tokens under the active key and verifies them under any current key."""

    def __init__(self, keys: SigningKeys) -> None:
        self._active = keys.active
        self._serializers = {
            purpose: URLSafeSerializer(
                keys.rotation(),
                salt=f"closeloop.{purpose.value}",
                signer_kwargs={"digest_method": hashlib.sha256},
            )
            for purpose in LinkPurpose
        }

    @classmethod
    def from_secret(cls, secret: Mapping[str, object]) -> LinkSigner:
        """Build from the secret's JSON: ``{"active": "k2", "k1": "…", "k2": "…"}``."""
        return cls(SigningKeys.from_secret(secret))

    def issue(self, survey_id: str, purpose: LinkPurpose, expires_at: datetime) -> str:
        payload = {"s": survey_id, "e": int(expires_at.timestamp()), "k": self._active}
        return str(self._serializers[purpose].dumps(payload))

    def verify(self, token: str, purpose: LinkPurpose, now: datetime) -> LinkClaims:
        """The token's claims; raises ``InvalidLinkError`` or ``ExpiredLinkError``.

        Nothing in the token is read before its signature is checked; the key id it names is then a
        signed claim, kept to tell which key a link was issued under.
        """
        try:
            payload = self._serializers[purpose].loads(token)
        except BadData as error:
            raise InvalidLinkError("bad signature") from error
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("k"), str)
            or not isinstance(payload.get("s"), str)
        ):
            raise InvalidLinkError("malformed token")
        expires_at = datetime.fromtimestamp(int(payload["e"]), tz=UTC)
        if now >= expires_at:
            raise ExpiredLinkError("link expired")
        return LinkClaims(survey_id=payload["s"], purpose=purpose, expires_at=expires_at, key_id=payload["k"])
