"""The survey form's rules: parsing and validating an answer, the form token, cross-site checks. No I/O."""

from __future__ import annotations

from dataclasses import replace

import pytest

from closeloop.domain.answers import (
    MAX_FETCH_SITE_CHARS,
    MAX_ORIGIN_CHARS,
    AnswerForm,
    CrossSiteRequestError,
    FormTokens,
    InvalidAnswerError,
    check_same_site,
    is_bad_choice,
    is_one_click_unsubscribe,
    parse_answer,
    preselected_choice,
    read_answer_form,
)
from closeloop.domain.judgment import NegativityThresholds
from closeloop.domain.surveys import MAX_COMMENT_CHARS

KEYS = {"active": "k2", "k1": "a" * 32, "k2": "b" * 32}
HOSTS = ("surveys.acme.example",)


def test_a_complete_csat_form_is_parsed_with_a_trimmed_comment_and_unique_reasons() -> None:
    fields = {
        "score": ["2"],
        "resolved": ["no"],
        "comment": ["  slow  "],
        "reasons": ["slow", "slow", "other"],
    }
    parsed = parse_answer("csat", read_answer_form("csat", fields))
    assert (parsed.score, parsed.resolved, parsed.comment, parsed.reasons) == (
        2,
        False,
        "slow",
        ("slow", "other"),
    )


def test_a_blank_comment_and_no_resolved_answer_are_none() -> None:
    parsed = parse_answer("nps", AnswerForm(choice="0", resolved="", comment="   "))
    assert (parsed.score, parsed.resolved, parsed.comment) == (0, None, None)


def test_a_resolved_survey_takes_yes_or_no_as_its_answer() -> None:
    parsed = parse_answer("resolved", read_answer_form("resolved", {"answer": ["no"]}))
    assert (parsed.score, parsed.resolved) == (None, False)


@pytest.mark.parametrize(
    ("survey_type", "form", "errors"),
    [
        ("csat", AnswerForm(), {"score": "required"}),
        ("csat", AnswerForm(choice="6"), {"score": "out_of_range"}),
        ("ces", AnswerForm(choice="0"), {"score": "out_of_range"}),
        ("nps", AnswerForm(choice="ten"), {"score": "out_of_range"}),
        ("resolved", AnswerForm(choice="maybe"), {"answer": "out_of_range"}),
        ("csat", AnswerForm(choice="3", resolved="perhaps"), {"resolved": "out_of_range"}),
        ("csat", AnswerForm(choice="3", comment="x" * (MAX_COMMENT_CHARS + 1)), {"comment": "too_long"}),
        ("csat", AnswerForm(choice="3", reasons=("slow", "rude")), {"reasons": "unknown"}),
    ],
)
def test_an_invalid_form_names_each_field_in_error(
    survey_type: str, form: AnswerForm, errors: dict[str, str]
) -> None:
    with pytest.raises(InvalidAnswerError) as raised:
        parse_answer(survey_type, form)
    assert raised.value.errors == errors
    assert raised.value.status == 400
    # what the page shows again: the form as sent, its comment cut to what a valid form holds
    assert raised.value.submitted == replace(form, comment=form.comment[:MAX_COMMENT_CHARS])


def test_an_overlong_comment_is_shown_again_only_up_to_the_limit() -> None:
    # GIVEN a comment of three million characters (the page once echoed it all: a 12 MB answer)
    form = AnswerForm(choice="3", comment="x" * 3_000_000)
    # WHEN it is validated
    with pytest.raises(InvalidAnswerError) as raised:
        parse_answer("csat", form)
    # THEN the error asks to shorten it, and what the page would repeat back is bounded
    assert raised.value.errors == {"comment": "too_long"}
    assert len(raised.value.submitted.comment) == MAX_COMMENT_CHARS


def test_a_comment_of_exactly_the_limit_after_trimming_is_accepted() -> None:
    parsed = parse_answer("csat", AnswerForm(choice="5", comment=" " + "x" * MAX_COMMENT_CHARS + " "))
    assert parsed.comment is not None
    assert len(parsed.comment) == MAX_COMMENT_CHARS


@pytest.mark.parametrize(
    ("value", "expected"), [("3", "3"), (" 3 ", "3"), ("9", None), (None, None), ("", None)]
)
def test_only_an_offered_answer_is_preselected(value: str | None, expected: str | None) -> None:
    assert preselected_choice("csat", value) == expected


def test_bad_choices_follow_the_deployment_thresholds() -> None:
    thresholds = NegativityThresholds.parse("csat<=3,ces>=6")
    assert [value for value in range(1, 6) if is_bad_choice("csat", value, thresholds)] == [1, 2, 3]
    assert [value for value in range(1, 8) if is_bad_choice("ces", value, thresholds)] == [6, 7]
    assert is_bad_choice("resolved", "no", thresholds)
    assert not is_bad_choice("resolved", "yes", thresholds)


def test_a_form_token_is_bound_to_its_link() -> None:
    tokens = FormTokens.from_secret(KEYS)
    issued = tokens.issue("link-a")
    tokens.check("link-a", issued)
    with pytest.raises(CrossSiteRequestError):
        tokens.check("link-b", issued)
    with pytest.raises(CrossSiteRequestError):
        tokens.check("link-a", None)
    with pytest.raises(CrossSiteRequestError):
        tokens.check("link-a", "forged")


def test_a_form_token_survives_key_rotation_but_not_another_secret() -> None:
    issued = FormTokens.from_secret({"active": "k1", "k1": "a" * 32}).issue("link")
    FormTokens.from_secret(KEYS).check("link", issued)  # k1 retired as active, still known
    with pytest.raises(CrossSiteRequestError):
        FormTokens.from_secret({"active": "k3", "k3": "c" * 32}).check("link", issued)


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "same-origin", "origin": "https://surveys.acme.example"},
        {"sec-fetch-site": "none"},
        {"origin": "https://surveys.acme.example"},
        {},
    ],
)
def test_a_post_from_the_page_itself_passes(headers: dict[str, str]) -> None:
    check_same_site(headers, HOSTS)


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "https://evil.example"},
        {"origin": "null"},
    ],
)
def test_a_cross_site_post_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(CrossSiteRequestError) as raised:
        check_same_site(headers, HOSTS)
    assert raised.value.status == 403


@pytest.mark.parametrize(
    "origin",
    ["http://[", "http://[::1", "https://[zz]:x", "https://" + "a" * (MAX_ORIGIN_CHARS + 1)],
)
def test_an_unusable_origin_is_refused_as_cross_site(origin: str) -> None:
    # GIVEN an Origin the URL parser cannot read (it used to raise ValueError: a 500), or too long to be one
    # WHEN a POST carries it THEN it is refused like any other foreign origin (403), with a reason
    with pytest.raises(CrossSiteRequestError) as raised:
        check_same_site({"origin": origin}, HOSTS)
    assert raised.value.status == 403
    assert str(raised.value).startswith("Origin is ")


def test_a_refusal_quotes_only_a_bounded_part_of_sec_fetch_site() -> None:
    with pytest.raises(CrossSiteRequestError) as raised:
        check_same_site({"sec-fetch-site": "cross-site" + "x" * 100_000}, HOSTS)
    assert len(str(raised.value)) < MAX_FETCH_SITE_CHARS + 40


def test_one_click_unsubscribe_needs_the_rfc_8058_body() -> None:
    assert is_one_click_unsubscribe({"List-Unsubscribe": ["One-Click"]})
    assert not is_one_click_unsubscribe({"List-Unsubscribe": ["yes"]})
    assert not is_one_click_unsubscribe({})
