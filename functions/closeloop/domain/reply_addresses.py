"""The reply address of a survey email: ``reply+<token>@<ReplyDomain>``, signed like the survey links.

The token names the survey and carries an HMAC-SHA256 of it under the same signing keys as the links
(``SigningKeys``): the active key signs, every key in the secret verifies, so rotating a key keeps older
replies working until the old key is removed. It is written in lower-case base32 (RFC 4648, no padding),
because some mail servers lower-case the local part of an address, and it is short: a local part holds
at most 64 characters (RFC 5321), and ``reply+`` plus a token is 48.

A token has no expiry of its own: whether a survey still takes answers is the survey's own expiry, read
from the store when the reply arrives (an expired survey's replies are kept and counted, not recorded).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from closeloop.domain.links import SigningKeys

REPLY_LOCAL_PREFIX = "reply+"
_SALT = b"closeloop.reply"
# A survey id is a UUID's 32 hex digits: 16 bytes, 26 base32 characters; the MAC is cut to 10 bytes (80
# bits, 16 characters), plenty against guessing where each guess costs an email.
_ID_BYTES = 16
_MAC_BYTES = 10
_ID_CHARS = 26
_MAC_CHARS = 16
TOKEN_CHARS = _ID_CHARS + _MAC_CHARS
_SURVEY_ID = re.compile(r"^[0-9a-f]{32}$")
_TOKEN = re.compile(rf"^[a-z2-7]{{{TOKEN_CHARS}}}$")


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _unb32(text: str) -> bytes:
    padding = "=" * (-len(text) % 8)
    return base64.b32decode(text.upper() + padding)


class ReplyTokens:
    """Issues reply tokens under the active key and verifies them under any current key."""

    def __init__(self, keys: SigningKeys) -> None:
        self._active = keys.keys[keys.active]
        self._all = tuple(key for key in keys.keys.values() if key)

    def issue(self, survey_id: str) -> str | None:
        """The token of ``survey_id``; None for an id that is not a UUID's hex (no reply address then)."""
        if not _SURVEY_ID.match(survey_id):
            return None
        raw = bytes.fromhex(survey_id)
        return _b32(raw) + _b32(self._mac(self._active, raw))

    def verify(self, token: str) -> str | None:
        """The survey id a token names, or None when it is not a token some current key signed."""
        token = token.strip().lower()
        if not _TOKEN.match(token):
            return None
        try:
            raw = _unb32(token[:_ID_CHARS])
            mac = _unb32(token[_ID_CHARS:])
        except (binascii.Error, ValueError):
            return None
        # Only the canonical spelling: base32's last character has unused bits, which must be zero.
        if len(raw) != _ID_BYTES or len(mac) != _MAC_BYTES or _b32(raw) + _b32(mac) != token:
            return None
        if any(hmac.compare_digest(self._mac(key, raw), mac) for key in self._all):
            return raw.hex()
        return None

    @staticmethod
    def _mac(key: str, raw: bytes) -> bytes:
        return hmac.new(key.encode("utf-8"), _SALT + raw, hashlib.sha256).digest()[:_MAC_BYTES]


def reply_address(token: str, domain: str) -> str:
    """``reply+<token>@<domain>``."""
    return f"{REPLY_LOCAL_PREFIX}{token}@{domain}"


def reply_token_of(address: str, domain: str) -> str | None:
    """The token of a reply address at ``domain`` (case-insensitively), or None for any other address."""
    local, at, host = address.strip().rpartition("@")
    if not at or host.lower().rstrip(".") != domain.lower().rstrip("."):
        return None
    local = local.lower()
    if not local.startswith(REPLY_LOCAL_PREFIX):
        return None
    return local[len(REPLY_LOCAL_PREFIX) :] or None
