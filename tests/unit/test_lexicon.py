"""The lexicon engine: how a lexicon document is read and how a locale names its language.

What the shipped phrases make of real comments is specified in ``test_judgment.py``.
"""

from __future__ import annotations

import pytest

from closeloop.domain.lexicon import Lexicon, PhraseKind, language_of


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
    # a resolution asked about is no end: "the printer can't print, when will it be fixed?"
    assert phrases(lexicon, "Máy không in được, khi nào sửa xong?", "vi") == ["không ... được"]


PERSISTING = EN | {
    "unresolved": ["not working"],
    "persistence": ["still", "keeps", "every time"],
    "trouble": ["error*", "printer jam"],
    "remedies": ["fixed", "gone"],
    "negators": ["not", "never", "no"],
    "contrast": ["but", "fixed"],
}


def test_a_persistence_word_and_a_trouble_word_in_one_clause_say_the_problem_remains() -> None:
    lexicon = tiny(en=PERSISTING)

    # GIVEN no phrase for these words, WHEN they pair "still" with "error", THEN the problem remains
    assert phrases(lexicon, "The error message still shows.", "en") == ["error ... still"]
    assert phrases(lexicon, "It keeps giving me a printer jam.", "en") == ["keeps ... printer jam"]
    assert [match.kind for match in lexicon.find_matches("Still an error.", "en")] == [PhraseKind.UNRESOLVED]


def test_a_trouble_word_ending_in_a_star_is_a_stem() -> None:
    lexicon = tiny(en=PERSISTING)

    assert phrases(lexicon, "Still errors everywhere.", "en") == ["still ... errors"]
    assert phrases(lexicon, "Still erroring out.", "en") == ["still ... erroring"]
    assert phrases(lexicon, "Still err.", "en") == []  # shorter than the stem


def test_the_persistence_rule_reads_one_clause_a_contrast_word_ends_one() -> None:
    lexicon = tiny(en=PERSISTING)

    assert phrases(lexicon, "I still called, the error is rare.", "en") == []
    assert phrases(lexicon, "I still called but an error showed.", "en") == []
    # a partial fix: what works now does not excuse what still fails after "but"
    assert phrases(lexicon, "Mail works now but the error still shows.", "en") == ["error ... still"]


def test_a_negator_or_a_remedy_in_the_clause_cancels_the_persistence_rule() -> None:
    lexicon = tiny(en=PERSISTING)

    assert phrases(lexicon, "Still no error since Monday.", "en") == []
    assert phrases(lexicon, "The error never came back, still happy.", "en") == []
    # a remedy that is also a contrast word still vetoes its own clause
    assert phrases(lexicon, "Every time I had an error you fixed it.", "en") == []
    assert phrases(lexicon, "The error is gone, it still amazes me.", "en") == []


def test_a_recurrence_supposed_in_a_conditional_clause_is_no_complaint() -> None:
    lexicon = tiny(
        en=PERSISTING
        | {
            "unresolved": ["not working", "again"],
            "persistence": ["still", "again"],
            "conditionals": ["if"],
            "consequences": ["then"],
        }
    )

    # GIVEN a clause opened by "if" that supposes the trouble comes back
    assert phrases(lexicon, "All good. If the error still shows I will write.", "en") == []
    assert phrases(lexicon, "If it happens again then I will call.", "en") == []
    # what follows its clause break, or its consequence word, still counts
    assert phrases(lexicon, "If it happens again, I will call. It is not working.", "en") == ["not working"]
    assert phrases(lexicon, "If I restart it then the error still shows.", "en") == ["error ... still"]
    # a conditional without a persistence word supposes nothing: its complaint counts
    assert phrases(lexicon, "If you ask me it is not working.", "en") == ["not working"]


def test_an_epilogue_with_a_remedy_ends_a_story_told_over_several_sentences() -> None:
    lexicon = tiny(
        en=PERSISTING | {"epilogues": ["finally", "all sorted now"], "remedies": ["fixed", "gone", "sorted"]}
    )

    # GIVEN trouble told in one sentence, and its end in a later one
    assert phrases(lexicon, "The error still showed for days. Finally it is fixed.", "en") == []
    # the epilogue may hold the remedy itself
    assert phrases(lexicon, "The error still showed all week. All sorted now, thanks.", "en") == []
    # what comes after the epilogue still counts, and an epilogue without a remedy, or with a negated or
    # asked one, ends nothing
    assert phrases(lexicon, "Finally fixed, but the error still shows.", "en") == ["error ... still"]
    assert phrases(lexicon, "The error still shows. Finally someone answered.", "en") == ["error ... still"]
    # (a negated remedy is itself the evidence: "not fixed")
    assert phrases(lexicon, "The error still shows. Finally not fixed.", "en") == ["not fixed"]
    assert phrases(lexicon, "The error still shows. Finally fixed?", "en") == ["error ... still"]


def test_a_remedy_right_before_an_epilogue_that_ends_its_sentence_ends_the_story() -> None:
    lexicon = tiny(en=PERSISTING | {"epilogues": ["ever since"], "remedies": ["fixed", "rock solid"]})

    story = "The error still showed daily. Moved servers and rock solid ever since."
    assert phrases(lexicon, story, "en") == []
    # the epilogue must end the sentence: more said after it is the customer's news
    assert phrases(lexicon, "The error still shows. Rock solid ever since the error came back.", "en") == [
        "error ... still"
    ]


def test_a_closing_sentence_that_is_only_a_remedy_ends_the_story_before_it() -> None:
    lexicon = tiny(en=PERSISTING)

    assert phrases(lexicon, "The error still showed all week. Fixed.", "en") == []
    assert phrases(lexicon, "The error still showed all week. Fixed!", "en") == []
    # asked, or with more said in its sentence, it is no verdict
    assert phrases(lexicon, "The error still showed all week. Fixed?", "en") == ["error ... still"]
    assert phrases(lexicon, "The error still shows. Fixed the login though.", "en") == ["error ... still"]


def test_a_setup_is_overturned_only_by_a_contrast_in_its_sentence_or_the_next() -> None:
    lexicon = tiny(en=EN)

    assert phrases(lexicon, "It was not working at first. But Ana fixed it.", "en") == []
    # a contrast two sentences on (a quoted reply, another topic) does not reach back to it
    assert phrases(lexicon, "It was not working at first. Then again today. But thanks.", "en") == [
        "not working"
    ]


def test_a_clause_opened_by_in_case_supposes_even_without_a_persistence_word() -> None:
    lexicon = tiny(en=EN | {"suppositions": ["in case"], "conditionals": ["if"]})

    assert phrases(lexicon, "In case it is not working, I will write.", "en") == []
    # a plain "if" still needs a persistence word to suppose
    assert phrases(lexicon, "If you ask me, it is not working.", "en") == ["not working"]


def test_lines_quoted_from_an_earlier_message_are_not_the_customers_words() -> None:
    lexicon = tiny(en=EN)

    assert phrases(lexicon, "> Sorry it was not working.\n>> Earlier: not working\nAll good now.", "en") == []
    assert phrases(lexicon, "Still not working for me.\n> We fixed it.", "en") == ["not working"]
    # ">3 days" is the customer's own line
    assert phrases(lexicon, ">3 days and it came back", "en") == ["came back"]


def test_a_story_overturned_by_a_contrast_cancels_the_persistence_rule() -> None:
    lexicon = tiny(en=PERSISTING)

    assert phrases(lexicon, "At first the error still showed, but all is well.", "en") == []


def test_a_phrase_is_preferred_to_the_persistence_rule_as_evidence() -> None:
    lexicon = tiny(en=PERSISTING)

    assert phrases(lexicon, "Still an error, not working.", "en") == ["not working"]


def test_the_persistence_rule_needs_tone_marks_where_they_carry_meaning() -> None:
    lexicon = tiny(
        vi={"persistence": ["vẫn"], "trouble": ["lỗi"], "negators": ["không"], "diacritics": "significant"}
    )

    assert phrases(lexicon, "Máy vẫn lỗi.", "vi") == ["vẫn ... lỗi"]
    # "van loi" may be "vẫn lỗi" (still an error) or "văn lời" (words): not read without marks
    assert phrases(lexicon, "May van loi.", "vi") == []


def test_never_before_a_phrase_and_an_intensifier_after_it_is_praise() -> None:
    lexicon = tiny(en=EN | {"complaint": ["never got a reply"], "intensifiers": ["so", "such"]})

    assert phrases(lexicon, "I never got a reply so fast.", "en") == []
    assert phrases(lexicon, "I never got a reply, so I called.", "en") == ["never got a reply"]
    assert phrases(lexicon, "I never got a reply from anyone.", "en") == ["never got a reply"]


def test_a_word_class_in_a_phrase_stands_for_each_of_its_members() -> None:
    # GIVEN a phrase naming the classes "number" and "period"
    lexicon = tiny(
        en=EN
        | {
            "complaint": ["took {number} {period}"],
            "classes": {"number": ["#", "three"], "period": ["days", "weeks"]},
        }
    )

    # WHEN a comment holds any member of each, written in words or in digits, THEN the phrase matches
    assert phrases(lexicon, "It took three weeks.", "en") == ["took three weeks"]
    assert phrases(lexicon, "Took 9 days for a first answer.", "en") == ["took # days"]
    assert phrases(lexicon, "It took a while.", "en") == []


def test_a_phrase_naming_an_unknown_class_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown class 'period'"):
        tiny(en={"complaint": ["{period} to get"], "classes": {"number": ["two"]}})


POSITIVES = EN | {
    "positives": ["satisfied"],
    "negators": ["not", "never"],
    "fillers": ["at", "all", "i", "am", "was", "been", "have"],
}


def test_a_negated_positive_word_is_a_complaint_quoted_with_its_negator() -> None:
    lexicon = tiny(en=POSITIVES)

    assert phrases(lexicon, "Not satisfied.", "en") == ["not satisfied"]
    assert phrases(lexicon, "I am not at all satisfied.", "en") == ["not ... satisfied"]
    assert [match.kind for match in lexicon.find_matches("Not satisfied.", "en")] == [PhraseKind.COMPLAINT]
    # unnegated, or "never ... so" emphasis, it is praise
    assert phrases(lexicon, "Very satisfied.", "en") == []
    assert phrases(lexicon, "I have never been so satisfied.", "en") == []
    # a comma ends the negation
    assert phrases(lexicon, "No, satisfied.", "en") == []


def test_a_positive_word_holding_a_negator_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot hold a negator"):
        tiny(en={"positives": ["not bad"], "negators": ["not"]})


def test_a_minor_remark_silences_complaints_but_not_a_problem_that_remains() -> None:
    lexicon = tiny(
        en=EN | {"asides": ["small thing"], "unresolved": ["not working"], "complaint": ["terrible", "slow"]}
    )

    # GIVEN an aside up to a contrast word or to the end of its sentence
    assert phrases(lexicon, "Thanks! Small thing: the hold music is terrible, but whatever.", "en") == []
    assert phrases(lexicon, "Small thing, the form is slow. The agent was terrible.", "en") == ["terrible"]
    # THEN what says the problem is still there counts all the same
    assert phrases(lexicon, "Small thing: the printer is not working.", "en") == ["not working"]


def test_a_resolution_may_hold_a_gap_and_is_cancelled_by_a_negator_inside_it() -> None:
    lexicon = tiny(en=EN | {"unresolved": ["double charge"], "resolution": ["refund ... arrived"]})

    # the double charge in the gap is what was refunded
    assert phrases(lexicon, "Refund for double charge arrived.", "en") == []
    assert phrases(lexicon, "Refund for double charge never arrived.", "en") == ["double charge"]
    # what the customer says after the resolution still counts
    assert phrases(lexicon, "The refund arrived, a double charge again.", "en") == ["double charge"]


def test_a_long_spell_is_a_story_only_when_an_unnegated_remedy_ends_it() -> None:
    lexicon = tiny(
        en=EN
        | {
            "complaint": ["crashing"],
            "spells": ["for weeks"],
            "remedies": ["sorted", "fixed"],
            "negators": ["not", "never", "nobody"],
        }
    )

    # GIVEN a trouble that lasted weeks, WHEN a remedy ends it in the same sentence, THEN it is the past
    assert phrases(lexicon, "It had been crashing for weeks, you sorted it in one call.", "en") == []
    # without a remedy, or with one that is negated, the trouble is there
    assert phrases(lexicon, "It has been crashing for weeks.", "en") == ["crashing"]
    assert phrases(lexicon, "It has been crashing for weeks and nobody fixed it.", "en") == [
        "nobody fixed",
        "crashing",
    ]
    assert phrases(lexicon, "Crashing for weeks. Fixed? Never.", "en") == ["crashing"]


def test_a_negated_function_says_the_problem_is_still_there() -> None:
    lexicon = tiny(en=POSITIVES | {"functions": ["activate"], "negators": ["not", "never"]})

    assert phrases(lexicon, "The key does not activate.", "en") == ["not activate"]
    kinds = [match.kind for match in lexicon.find_matches("It will not activate.", "en")]
    assert kinds == [PhraseKind.UNRESOLVED]
    assert phrases(lexicon, "Activated at once.", "en") == []


def test_a_sentence_ending_on_a_bare_negation_after_something_that_works_is_a_partial_fix() -> None:
    lexicon = tiny(en=EN | {"working": ["works"], "ellipses": ["not"], "negators": ["not"]})

    # GIVEN one thing that works and another that, elliptically, does not
    assert phrases(lexicon, "Printer works, scanner does not.", "en") == ["works ... not"]
    # a question is not an answer, and a bare negation needs something said to work before it
    assert phrases(lexicon, "Everything works, does it not?", "en") == []
    assert phrases(lexicon, "Thanks. Anything else? Not really, no, not.", "en") == []


def test_a_contrast_word_joins_the_two_halves_of_a_partial_fix_as_a_comma_does() -> None:
    lexicon = tiny(en=EN | {"working": ["refunded"], "ellipses": ["not"], "contrast": ["but"]})

    assert phrases(lexicon, "You refunded the item but the shipping not.", "en") == ["refunded ... not"]
    # without a clause break or a contrast word between them, the negation is the working word's own
    assert phrases(lexicon, "You refunded or not.", "en") == []


def test_a_negated_remedy_says_the_problem_is_not_solved() -> None:
    remedies = ["refunded", "fixed", "no more errors"]
    lexicon = tiny(en=EN | {"remedies": remedies, "negators": ["not", "never"]})

    assert phrases(lexicon, "The shipping was not refunded.", "en") == ["not refunded"]
    kinds = [match.kind for match in lexicon.find_matches("It was never fixed.", "en")]
    assert kinds == [PhraseKind.UNRESOLVED]
    assert phrases(lexicon, "Refunded the same day.", "en") == []
    # a remedy that holds its own negator ("no more errors") is read as a remedy only
    assert phrases(lexicon, "No more errors.", "en") == []


def test_an_annoyed_or_ironic_emoji_is_a_complaint_in_every_language() -> None:
    lexicon = Lexicon({"emoji": ["🙄", "👎"], "languages": {"en": EN, "vi": {"diacritics": "significant"}}})

    assert phrases(lexicon, "Great, a photo book printed upside down 🙄", "en") == ["🙄"]
    assert phrases(lexicon, "Hay thật, rau héo 🙄", "vi") == ["🙄"]
    assert phrases(lexicon, "Hay that, rau heo 👎🏻", "vi") == ["👎"]
    assert phrases(lexicon, "Fixed in minutes 👍", "en") == []
    assert [match.kind for match in lexicon.find_matches("🙄", None)] == [PhraseKind.COMPLAINT]


def test_an_emoji_entry_must_be_one_emoji() -> None:
    with pytest.raises(ValueError, match="one emoji"):
        Lexicon({"emoji": ["meh"], "languages": {"en": EN}})


def test_an_epilogue_does_not_end_a_complaint_said_in_its_own_clause() -> None:
    lexicon = tiny(en=PERSISTING | {"epilogues": ["since your"], "remedies": ["fixed", "fix", "running"]})

    # GIVEN the epilogue at the start of its own sentence, or after a clause break, it ends the story
    assert phrases(lexicon, "It was not working. Since your fix it is running.", "en") == []
    assert phrases(lexicon, "It was not working, since your fix it is running.", "en") == []
    # in the complaint's own clause it is only a date: "since your fix" is when the trouble began
    assert phrases(lexicon, "It is not working since your fix.", "en") == ["not working"]


def test_a_negator_inside_a_persistence_marker_does_not_cancel_the_persistence_rule() -> None:
    lexicon = tiny(
        fr={
            "persistence": ["sans arrêt"],
            "trouble": ["redémarre"],
            "negators": ["sans", "pas"],
            "remedies": ["réparé"],
        }
    )

    assert phrases(lexicon, "La box redémarre sans arrêt.", "fr") == ["redemarre ... sans arret"]
    # a negator of its own in the clause still does
    assert phrases(lexicon, "La box ne redémarre pas sans arrêt.", "fr") == []


def test_a_contrast_next_to_the_persistence_word_does_not_part_it_from_the_trouble() -> None:
    lexicon = tiny(
        de={
            "persistence": ["weiterhin", "bleibt"],
            "trouble": ["fehlen", "kalt"],
            "contrast": ["aber"],
            "remedies": ["da"],
        }
    )

    assert phrases(lexicon, "Die Tropfen fehlen aber weiterhin.", "de") == ["fehlen ... weiterhin"]
    # or right after it: "bleibt aber kalt"
    assert phrases(lexicon, "Die Heizung bleibt aber kalt.", "de") == ["bleibt ... kalt"]
    # a contrast followed by something else still parts the clause
    assert phrases(lexicon, "Die Tropfen fehlen aber das Spray ist weiterhin gut.", "de") == []


def test_a_beginning_that_worked_then_a_contrast_is_a_problem_come_back() -> None:
    lexicon = tiny(
        en=EN
        | {
            "beginnings": ["at first"],
            "contrast": ["but", "now"],
            "remedies": ["worked", "works", "fine"],
            "working": ["ok"],
            "negators": ["not", "never"],
        }
    )

    assert phrases(lexicon, "At first the code worked fine, but now the app is blank.", "en") == [
        "at first ... but"
    ]
    # it must have worked, and nothing after the contrast may work again, nor be asked
    assert phrases(lexicon, "At first it did not load, but now the app is fine.", "en") == []
    assert phrases(lexicon, "At first it worked, but now it works even better.", "en") == []
    assert phrases(lexicon, "At first it worked, but now it is ok.", "en") == []
    assert phrases(lexicon, "At first it worked, but now?", "en") == []
