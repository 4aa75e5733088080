"""Reply addresses: reply+<token>@<ReplyDomain>, signed with the link keys, short and case-proof."""

from __future__ import annotations

import pytest

from closeloop.domain.links import SigningKeys
from closeloop.domain.reply_addresses import ReplyTokens, reply_address, reply_token_of

SURVEY_ID = "3f9c2b7e41d84a0f9e6b5c1d2a7e8f90"
K1 = SigningKeys({"k1": "s" * 64}, "k1")
ROTATED = SigningKeys({"k1": "s" * 64, "k2": "t" * 64}, "k2")


def test_a_token_names_its_survey() -> None:
    token = ReplyTokens(K1).issue(SURVEY_ID)
    assert token is not None
    assert ReplyTokens(K1).verify(token) == SURVEY_ID


def test_the_reply_address_fits_in_a_local_part_and_uses_only_lower_case_letters_and_digits() -> None:
    token = ReplyTokens(K1).issue(SURVEY_ID)
    assert token is not None
    local, _, domain = reply_address(token, "replies.acme.example").partition("@")
    # RFC 5321: a local part holds at most 64 octets
    assert len(local) <= 64
    assert domain == "replies.acme.example"
    assert token == token.lower()
    assert token.isalnum()


def test_a_mail_server_that_upper_cases_the_address_does_not_break_the_token() -> None:
    token = ReplyTokens(K1).issue(SURVEY_ID)
    assert token is not None
    address = reply_address(token, "replies.acme.example").upper()
    found = reply_token_of(address, "replies.acme.example")
    assert found is not None
    assert ReplyTokens(K1).verify(found) == SURVEY_ID


@pytest.mark.parametrize("position", [0, 10, 25, 26, 41])
def test_an_altered_token_names_no_survey(position: int) -> None:
    token = ReplyTokens(K1).issue(SURVEY_ID)
    assert token is not None
    altered = token[:position] + ("a" if token[position] != "a" else "b") + token[position + 1 :]
    assert ReplyTokens(K1).verify(altered) is None


NOT_TOKENS = ["", "reply", "0" * 42, "h6ocw7sb3bfa7htllqosu7upsapyrzmfn4yhsbypk", "é" * 42]


@pytest.mark.parametrize("token", NOT_TOKENS)
def test_what_is_no_token_names_no_survey(token: str) -> None:
    assert ReplyTokens(K1).verify(token) is None


def test_a_token_signed_with_an_older_key_still_verifies_after_rotation() -> None:
    old = ReplyTokens(K1).issue(SURVEY_ID)
    assert old is not None
    assert ReplyTokens(ROTATED).verify(old) == SURVEY_ID


def test_a_token_of_a_retired_key_names_no_survey() -> None:
    new = ReplyTokens(ROTATED).issue(SURVEY_ID)
    assert new is not None
    assert ReplyTokens(K1).verify(new) is None


def test_a_survey_id_that_is_no_uuid_gets_no_reply_address() -> None:
    assert ReplyTokens(K1).issue("s-1") is None


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("reply+abc@replies.acme.example", "abc"),
        ("Reply+ABC@Replies.Acme.Example.", "abc"),
        ("reply+abc@acme.example", None),
        ("support@replies.acme.example", None),
        ("reply@replies.acme.example", None),
        ("reply+@replies.acme.example", None),
        ("not an address", None),
    ],
)
def test_only_a_reply_address_at_the_reply_domain_carries_a_token(address: str, expected: str | None) -> None:
    assert reply_token_of(address, "replies.acme.example") == expected
