"""The new text of a reply: the attribution lines and header blocks each client writes, in every shipped
language, top- and bottom-posted, with signatures in the languages mail-parser-reply does not know."""

from __future__ import annotations

import pytest
from mailparser_reply import constants

from closeloop.domain.reply_text import MAX_NEW_TEXT_CHARS, REPLY_LANGUAGES, new_text

NEW = "It still doesn't work."
SURVEY = "> Hi Giulia,\n> How did we do with request #4521?\n> Acme Support"
SURVEY_UNQUOTED = "Hi Giulia,\nHow did we do with request #4521?\nAcme Support"

# "On … wrote:" as each client writes it in each language (Gmail, Apple Mail, Thunderbird).
ATTRIBUTIONS = {
    "en": [
        "On Mon, Nov 23, 2026 at 9:02 AM Acme Support <support@acme.example> wrote:",
        "On 23 Nov 2026, at 09:02, Acme Support <support@acme.example> wrote:",
        "On 11/23/26 09:02, Acme Support wrote:",
    ],
    "it": [
        "Il giorno lun 23 nov 2026 alle ore 09:02 Acme Support <support@acme.example> ha scritto:",
        "Il giorno 23 nov 2026, alle ore 09:02, Acme Support <support@acme.example> ha scritto:",
        "Il 23/11/26 09:02, Acme Support ha scritto:",
    ],
    "vi": [
        "Vào Th 2, 23 thg 11, 2026 vào lúc 09:02 Acme Support <support@acme.example> đã viết:",
        "Vào 09:02, ngày 23 thg 11, 2026, Acme Support <support@acme.example> đã viết:",
        "Vào lúc 09:02 ngày 23/11/2026, Acme Support đã viết:",
    ],
    "ca": [
        "El dl., 23 de nov. 2026 a les 9:02, Acme Support (<support@acme.example>) va escriure:",
        "El 23 de nov. 2026, a les 9:02, Acme Support <support@acme.example> va escriure:",
        "El 23/11/26 a les 9:02, Acme Support ha escrit:",
    ],
    "hr": [
        "pon, 23. stu 2026. u 09:02 Acme Support <support@acme.example> napisao je:",
        "23. stu 2026. u 09:02, Acme Support <support@acme.example> je napisao/la:",
        "Dana 23.11.2026. u 09:02, Acme Support je napisao:",
    ],
    "es": [
        "El lun, 23 nov 2026 a las 9:02, Acme Support (<support@acme.example>) escribió:",
        "El 23 nov 2026, a las 9:02, Acme Support <support@acme.example> escribió:",
        "El 23/11/26 a las 9:02, Acme Support escribió:",
    ],
    "fr": [
        "Le lun. 23 nov. 2026 à 09:02, Acme Support <support@acme.example> a écrit :",
        "Le 23 nov. 2026 à 09:02, Acme Support <support@acme.example> a écrit :",
        "Le 23/11/2026 à 09:02, Acme Support a écrit :",
    ],
    "de": [
        "Am Mo., 23. Nov. 2026 um 09:02 Uhr schrieb Acme Support <support@acme.example>:",
        "Am 23.11.2026 um 09:02 schrieb Acme Support <support@acme.example>:",
        "Am 23.11.26 um 09:02 schrieb Acme Support:",
    ],
    "pt": [
        "Em seg., 23 de nov. de 2026 às 09:02, Acme Support <support@acme.example> escreveu:",
        "No dia 23 de nov. de 2026, às 09:02, Acme Support <support@acme.example> escreveu:",
        "Em 23/11/2026 09:02, Acme Support escreveu:",
    ],
}

# Outlook's header block (desktop and web) in each language.
OUTLOOK_BLOCKS = {
    "en": ("From", "Sent", "To", "Subject"),
    "it": ("Da", "Inviato", "A", "Oggetto"),
    "vi": ("Từ", "Đã gửi", "Đến", "Chủ đề"),
    "ca": ("De", "Enviat", "Per a", "Tema"),
    "hr": ("Od", "Poslano", "Prima", "Predmet"),
    "es": ("De", "Enviado", "Para", "Asunto"),
    "fr": ("De ", "Envoyé ", "À ", "Objet "),
    "de": ("Von", "Gesendet", "An", "Betreff"),
    "pt": ("De", "Enviado", "Para", "Assunto"),
}

SIGN_OFFS = {
    "pt": "Atenciosamente,\nJoão",
    "ca": "Salutacions,\nJordi",
    "hr": "Lijep pozdrav,\nIvana",
    "vi": "Trân trọng,\nAn",
    "en": "Best regards,\nSam",
    "it": "Cordiali saluti\nGiulia",
    "de": "Mit freundlichen Grüßen\nJonas",
    "es": "Saludos,\nLucía",
    "fr": "Cordialement,\nMarie",
}

CASES = [(lang, line) for lang, lines in sorted(ATTRIBUTIONS.items()) for line in lines]


@pytest.mark.parametrize(("lang", "attribution"), CASES)
def test_a_top_posted_reply_loses_the_quoted_survey_under_its_attribution(
    lang: str, attribution: str
) -> None:
    assert new_text(f"{NEW}\n\n{attribution}\n\n{SURVEY}\n") == NEW


@pytest.mark.parametrize(("lang", "attribution"), CASES)
def test_a_bottom_posted_reply_keeps_only_what_follows_the_quote(lang: str, attribution: str) -> None:
    assert new_text(f"{attribution}\n{SURVEY}\n\n{NEW}\n") == NEW


@pytest.mark.parametrize(("lang", "attribution"), CASES)
def test_an_attribution_wrapped_onto_two_lines_is_still_found(lang: str, attribution: str) -> None:
    head, _, tail = attribution.rpartition(" ")
    assert new_text(f"{NEW}\n\n{head}\n{tail}\n\n{SURVEY}\n") == NEW


@pytest.mark.parametrize(("lang", "fields"), sorted(OUTLOOK_BLOCKS.items()))
def test_outlooks_header_block_ends_the_new_text_in_every_language(
    lang: str, fields: tuple[str, ...]
) -> None:
    sender, sent, to, subject = fields
    block = (
        f"{sender}: Acme Support <support@acme.example>\n{sent}: 23.11.2026 09:02\n"
        f"{to}: Giulia Rossi <giulia.rossi@example.com>\n{subject}: #4521"
    )
    assert new_text(f"{NEW}\n\n________________________________\n{block}\n\n{SURVEY_UNQUOTED}\n") == NEW
    assert new_text(f"{NEW}\n\n{block}\n\n{SURVEY_UNQUOTED}\n") == NEW


@pytest.mark.parametrize(("lang", "sign_off"), sorted(SIGN_OFFS.items()))
def test_a_sign_off_and_what_follows_it_are_cut(lang: str, sign_off: str) -> None:
    assert new_text(f"Hello,\n\n{NEW}\n\n{sign_off}\n") == f"Hello,\n\n{NEW}"


def test_a_sentence_that_starts_like_a_sign_off_is_kept() -> None:
    text = "Hi,\nThanks, but it still crashes every time I open the invoice page.\nCan you call me?"
    assert new_text(text) == text


def test_a_reply_that_is_only_a_sign_off_word_is_kept() -> None:
    assert new_text("Thanks,") == "Thanks,"


def test_a_sentence_ending_in_wrote_without_a_date_is_not_a_header() -> None:
    assert new_text("My colleague wrote: it works. Thanks!") == "My colleague wrote: it works. Thanks!"


def test_only_quoted_history_has_no_new_text() -> None:
    assert new_text(f"On Mon, Nov 23, 2026 at 9:02 AM Acme Support wrote:\n{SURVEY}\n") == ""


def test_the_new_text_is_bounded() -> None:
    assert len(new_text("word " * 10_000)) <= MAX_NEW_TEXT_CHARS


def test_the_librarys_own_tables_are_left_untouched() -> None:
    # closeloop adds its languages through a subclass, never by changing the library's module globals
    new_text(f"{NEW}\n\nVào lúc 09:02 ngày 23/11/2026, Acme Support đã viết:\n{SURVEY}\n")
    assert not {"vi", "ca", "hr", "pt"} & set(constants.MAIL_LANGUAGES)
    assert set(REPLY_LANGUAGES) == {"en", "it", "vi", "ca", "hr", "es", "fr", "de", "pt"}
