"""The lexicon engine: how a lexicon document is read and how a locale names its language.

What the shipped phrases make of real comments is specified in ``test_judgment.py``.
"""

from __future__ import annotations

import pytest

from closeloop.domain.lexicon import Lexicon, language_of


def test_a_lexicon_with_an_unknown_key_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        Lexicon({"languages": {"en": {"phrases": ["meh"]}}})


@pytest.mark.parametrize(
    ("locale", "language"), [("pt-BR", "pt"), ("pt_br", "pt"), ("IT", "it"), ("", None), (None, None)]
)
def test_language_of_a_locale_is_its_primary_subtag(locale: str | None, language: str | None) -> None:
    assert language_of(locale) == language


def tiny(**languages: dict[str, object]) -> Lexicon:
    return Lexicon({"languages": languages})


def phrases(lexicon: Lexicon, comment: str, locale: str | None) -> list[str]:
    return [match.phrase for match in lexicon.find_matches(comment, locale)]


EN = {
    "unresolved": ["came back", "not working"],
    "complaint": ["nobody ... called", "disappointed"],
    "not_negative": ["can not complain"],
    "negators": ["not", "never", "nobody"],
    "fillers": ["been", "i", "have", "has", "it"],
    "emphatic_negators": ["never"],
    "intensifiers": ["so"],
    "setup": ["at first"],
    "contrast": ["but"],
}


def test_a_gap_stands_for_a_few_words_of_the_same_clause() -> None:
    lexicon = tiny(en=EN)

    assert phrases(lexicon, "Nobody called.", "en") == ["nobody ... called"]
    assert phrases(lexicon, "Nobody has ever really called.", "en") == ["nobody ... called"]
    # not across a clause break, and not over more than three words
    assert phrases(lexicon, "Nobody, they said, called.", "en") == []
    assert phrases(lexicon, "Nobody in the whole team called.", "en") == []


def test_a_phrase_cannot_start_with_a_gap() -> None:
    with pytest.raises(ValueError, match="gap"):
        tiny(en={"unresolved": ["... broken"]})


def test_never_before_an_intensifier_is_emphasis_not_negation() -> None:
    lexicon = tiny(en=EN)

    assert phrases(lexicon, "I have never been so disappointed.", "en") == ["disappointed"]
    assert phrases(lexicon, "I have never been disappointed.", "en") == []
    assert phrases(lexicon, "Not so disappointed.", "en") == []  # "not" is no emphatic negator


def test_a_phrase_without_its_own_negation_is_negated_before_or_inside_its_gap() -> None:
    lexicon = tiny(en=EN | {"unresolved": ["problem ... came back"]})

    assert phrases(lexicon, "The problem came back.", "en") == ["problem ... came back"]
    assert phrases(lexicon, "The problem never came back.", "en") == []


def test_a_setup_overturned_by_a_contrast_does_not_count() -> None:
    lexicon = tiny(en=EN)

    assert phrases(lexicon, "It was not working at first, but it is fine.", "en") == []
    # what follows the contrast still counts, and without a contrast the setup overturns nothing
    assert phrases(lexicon, "Fine at first, but not working now.", "en") == ["not working"]
    assert phrases(lexicon, "It was not working at first.", "en") == ["not working"]


def test_masks_apply_to_their_own_language_only() -> None:
    # GIVEN a Croatian mask that happens to hold an Italian phrase's words
    lexicon = tiny(
        it={"unresolved": ["non va"], "negators": ["non"]},
        hr={"unresolved": ["ne radi"], "not_negative": ["non va bene"], "negators": ["ne"]},
    )

    assert phrases(lexicon, "Non va bene per niente", "it") == ["non va"]
    assert phrases(lexicon, "Ne radi.", "hr") == ["ne radi"]


def test_another_languages_phrases_count_only_when_long_and_explicit() -> None:
    lexicon = tiny(en=EN | {"unresolved": ["still not working", "not working"]}, it={"negators": ["non"]})

    assert phrases(lexicon, "Sorry, still not working", "it") == ["still not working"]
    assert phrases(lexicon, "Not working", "it") == []
    assert phrases(lexicon, "Not working", None) == ["not working"]


def test_a_resolution_ends_a_story_told_without_tense_unless_it_is_negated() -> None:
    lexicon = tiny(
        vi={
            "unresolved": ["không ... được"],
            "negators": ["không", "chưa"],
            "resolution": ["sửa xong"],
            "diacritics": "significant",
        }
    )

    assert phrases(lexicon, "Máy không in được, anh ấy sửa xong ngay.", "vi") == []
    assert phrases(lexicon, "Máy không in được, chưa sửa xong.", "vi") == ["không ... được"]
    # what comes after the story's end still counts
    assert phrases(lexicon, "Anh ấy sửa xong, nhưng máy vẫn không in được.", "vi") == ["không ... được"]
