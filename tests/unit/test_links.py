"""Survey links: opaque, signed, expiring, rotatable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeSerializer

from closeloop.domain.links import ExpiredLinkError, InvalidLinkError, LinkPurpose, LinkSigner

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
SURVEY = "0f8e9a4c1b2d4e6f8a0b1c2d3e4f5a6b"


def signer(active: str = "k1") -> LinkSigner:
    return LinkSigner.from_secret({"active": active, "k1": "a" * 64, "k2": "b" * 64})


def test_a_link_verifies_and_names_its_survey() -> None:
    token = signer().issue(SURVEY, LinkPurpose.SURVEY, NOW + timedelta(days=28))
    claims = signer().verify(token, LinkPurpose.SURVEY, NOW)
    assert (claims.survey_id, claims.key_id) == (SURVEY, "k1")


def test_a_link_carries_no_personal_data_and_is_url_safe() -> None:
    token = signer().issue(SURVEY, LinkPurpose.SURVEY, NOW + timedelta(days=28))
    _, decoded = URLSafeSerializer("any key").loads_unsafe(token)
    assert set(decoded) == {"s", "e", "k"}
    assert all(c.isalnum() or c in "-_." for c in token)


def test_a_tampered_link_is_rejected() -> None:
    token = signer().issue(SURVEY, LinkPurpose.SURVEY, NOW + timedelta(days=1))
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    with pytest.raises(InvalidLinkError):
        signer().verify(tampered, LinkPurpose.SURVEY, NOW)


def test_an_expired_link_is_rejected_as_expired() -> None:
    token = signer().issue(SURVEY, LinkPurpose.SURVEY, NOW + timedelta(days=1))
    with pytest.raises(ExpiredLinkError):
        signer().verify(token, LinkPurpose.SURVEY, NOW + timedelta(days=2))


def test_a_survey_link_cannot_be_used_to_unsubscribe() -> None:
    token = signer().issue(SURVEY, LinkPurpose.SURVEY, NOW + timedelta(days=1))
    with pytest.raises(InvalidLinkError):
        signer().verify(token, LinkPurpose.UNSUBSCRIBE, NOW)


def test_links_signed_with_an_old_key_keep_working_after_rotation() -> None:
    old = signer("k1").issue(SURVEY, LinkPurpose.SURVEY, NOW + timedelta(days=1))
    assert signer("k2").verify(old, LinkPurpose.SURVEY, NOW).key_id == "k1"


def test_links_signed_with_a_retired_key_are_rejected() -> None:
    old = signer("k1").issue(SURVEY, LinkPurpose.SURVEY, NOW + timedelta(days=1))
    retired = LinkSigner.from_secret({"active": "k2", "k2": "b" * 64})
    with pytest.raises(InvalidLinkError):
        retired.verify(old, LinkPurpose.SURVEY, NOW)


@pytest.mark.parametrize("garbage", ["", "abc", "....", "eyJzIjoiMSJ9.sig"])
def test_garbage_is_an_invalid_link_not_a_crash(garbage: str) -> None:
    with pytest.raises(InvalidLinkError):
        signer().verify(garbage, LinkPurpose.SURVEY, NOW)


def test_a_secret_without_its_active_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="active signing key"):
        LinkSigner.from_secret({"active": "k9", "k1": "a" * 64})
