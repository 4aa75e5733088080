"""Inbound mail: each raw reply in events/email/ read as closeloop reads it (new text, automatic signs).

The files are real-shaped RFC 5322 messages as SES's receipt rule stores them: Gmail, Outlook desktop and
web, Apple Mail and Thunderbird, in several of the nine shipped languages; plain, HTML-only and multipart;
UTF-8, Windows-1252 and ISO-8859-1; quoted-printable, base64 and 8bit; top- and bottom-posted.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

import pytest

from closeloop.domain.inbound_mail import (
    MAX_MESSAGE_BYTES,
    AutomaticReason,
    OwnMail,
    UnreadableMessageError,
    html_to_text,
    message_id_key,
    read_message,
)
from closeloop.domain.reply_text import new_text
from tests.conftest import EVENTS

EMAILS = EVENTS / "email"
OWN = OwnMail("support@acme.example", "replies.acme.example", "X-Closeloop-Survey-Id")
REPLY_ADDRESS = "reply+h6ocw7sb3bfa7htllqosu7upsapyrzmfn4yhsbypkx@replies.acme.example"
SES_MESSAGE_ID = "0102019a4c3e6b1d-5f2c8a91-7d3e-4b6a-9c0f-1e2d3c4b5a69-000000@eu-west-1.amazonses.com"

# What each customer wrote, as closeloop keeps it: without the quoted survey, the client's reply header,
# the signature under "--", "Sent from my iPhone" or a sign-off line.
REPLIES = {
    "gmail_en_top_posted.eml": (
        "No, it still doesn't work. The app crashes every time I try to log in, since yesterday."
    ),
    "gmail_es_top_posted.eml": "Muchas gracias, ya funciona todo perfectamente. ¡Un servicio excelente!",
    "gmail_pt_top_posted.eml": (
        "Ainda não funciona. O erro voltou hoje de manhã e não consigo emitir a fatura."
    ),
    "gmail_vi_html_only.eml": "Vẫn chưa được ạ. Ứng dụng vẫn bị lỗi khi tôi đăng nhập.",
    "outlook_desktop_it_windows1252.eml": (
        "Buongiorno,\n\npurtroppo il problema non è risolto: la fattura riporta ancora la partita IVA "
        "sbagliata.\nPotete ricontrollare?"
    ),
    "outlook_desktop_de.eml": (
        "Hallo,\n\nvielen Dank, jetzt klappt alles wieder. Schnelle und freundliche Hilfe!"
    ),
    "outlook_web_fr_html_only.eml": (
        "Bonjour,\n\nLe problème n\u2019est toujours pas résolu : "
        "je ne peux toujours pas télécharger ma facture.\n\nMarie Dubois"
    ),
    "outlook_web_hr.eml": "Poštovani,\n\nhvala vam, sada sve radi kako treba.",
    "apple_mail_ca.eml": (
        "El problema encara no està resolt: l'aplicació es tanca quan obro la factura.\n\nJordi"
    ),
    "apple_mail_en_iphone.eml": "Still broken. Same error as before.",
    "thunderbird_en_bottom_posted.eml": (
        "Sorry, it still doesn't work: the VAT number on the invoice\ndid not change."
    ),
    "thunderbird_ca_iso8859_1_bottom_posted.eml": (
        "Ara ja funciona tot, moltes gràcies per l'ajuda. Molt bona atenció.\n\nMontse"
    ),
    "expired_survey.eml": "Sorry for the late answer: it still doesn't work.",
    "unknown_survey.eml": "It still does not work, please call me.",
}

AUTOMATIC = {
    "auto_outlook_out_of_office_en.eml": AutomaticReason.AUTO_SUBMITTED,
    "auto_x_autoreply_it.eml": AutomaticReason.X_AUTOREPLY,
    "auto_x_autorespond_es.eml": AutomaticReason.X_AUTORESPOND,
    "auto_precedence_bulk_en.eml": AutomaticReason.PRECEDENCE,
    "auto_out_of_office_subject_de.eml": AutomaticReason.OUT_OF_OFFICE_SUBJECT,
    "auto_out_of_office_subject_vi.eml": AutomaticReason.OUT_OF_OFFICE_SUBJECT,
    "auto_out_of_office_body_fr.eml": AutomaticReason.OUT_OF_OFFICE_BODY,
    "dsn_delivery_status.eml": AutomaticReason.DELIVERY_STATUS,
    "loop_own_survey_email.eml": AutomaticReason.LOOP,
}


def read(name: str) -> bytes:
    return (EMAILS / name).read_bytes()


def test_every_example_email_is_specified_here() -> None:
    assert sorted(path.name for path in EMAILS.glob("*.eml")) == sorted(REPLIES | AUTOMATIC)


@pytest.mark.parametrize(("name", "expected"), sorted(REPLIES.items()))
def test_the_new_text_of_each_reply_is_what_the_customer_wrote(name: str, expected: str) -> None:
    # GIVEN a reply as SES stored it; WHEN it is read
    mail = read_message(read(name), OWN)
    # THEN a person wrote it, and its new text is theirs alone
    assert mail.automatic is None
    assert new_text(mail.text) == expected


@pytest.mark.parametrize(("name", "reason"), sorted(AUTOMATIC.items()))
def test_automatic_mail_is_recognised_with_its_reason(name: str, reason: AutomaticReason) -> None:
    assert read_message(read(name), OWN).automatic is reason


def test_outlook_mail_with_auto_response_suppress_is_still_a_persons_reply() -> None:
    # GIVEN Outlook's ordinary mail, which carries X-Auto-Response-Suppress: All
    raw = read("outlook_desktop_it_windows1252.eml")
    assert b"X-Auto-Response-Suppress: All" in raw
    # THEN that header alone does not make it automatic
    assert read_message(raw, OWN).automatic is None


def test_a_reply_names_its_reply_address_and_the_survey_emails_message_id() -> None:
    mail = read_message(read("gmail_en_top_posted.eml"), OWN)
    assert mail.recipients == (REPLY_ADDRESS,)
    assert mail.references == (SES_MESSAGE_ID,)


def test_a_message_id_is_looked_up_by_its_ses_id() -> None:
    # SES replaces each email's Message-ID with <SES message id@region.amazonses.com>
    assert message_id_key(SES_MESSAGE_ID) == "0102019a4c3e6b1d-5f2c8a91-7d3e-4b6a-9c0f-1e2d3c4b5a69-000000"
    assert message_id_key("0102019A4C3E6B1D-X-000000") == "0102019a4c3e6b1d-x-000000"


def _message(**headers: str) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = "Giulia <giulia.rossi@example.com>"
    message["To"] = REPLY_ADDRESS
    message["Subject"] = "Re: How did we do?"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("It still doesn't work.")
    return message


def test_in_reply_to_comes_first_then_references_newest_first() -> None:
    raw = _message(In_Reply_To="<c@x>", References="<a@x> <b@x> <c@x>").as_bytes()
    assert read_message(raw, OWN).references == ("c@x", "b@x", "a@x")


def test_the_reply_address_is_found_in_delivered_to_when_the_reply_was_bcc() -> None:
    message = _message(Delivered_To=REPLY_ADDRESS)
    message.replace_header("To", "someone@example.com")
    assert REPLY_ADDRESS in read_message(message.as_bytes(), OWN).recipients


@pytest.mark.parametrize("value", ["auto-replied", "auto-generated", "auto-notified; owner-email=x@y"])
def test_any_auto_submitted_but_no_is_automatic(value: str) -> None:
    assert (
        read_message(_message(Auto_Submitted=value).as_bytes(), OWN).automatic
        is AutomaticReason.AUTO_SUBMITTED
    )


def test_auto_submitted_no_is_a_person() -> None:
    assert read_message(_message(Auto_Submitted="no").as_bytes(), OWN).automatic is None


@pytest.mark.parametrize("value", ["bulk", "list", "auto_reply", "junk", "BULK"])
def test_bulk_list_and_auto_reply_precedence_are_automatic(value: str) -> None:
    assert read_message(_message(Precedence=value).as_bytes(), OWN).automatic is AutomaticReason.PRECEDENCE


def test_a_null_return_path_is_automatic() -> None:
    assert (
        read_message(_message(Return_Path="<>").as_bytes(), OWN).automatic is AutomaticReason.NULL_RETURN_PATH
    )


def test_mail_from_a_mailer_daemon_is_automatic() -> None:
    message = _message()
    message.replace_header("From", "Mail Delivery Subsystem <MAILER-DAEMON@example.com>")
    assert read_message(message.as_bytes(), OWN).automatic is AutomaticReason.MAILER_DAEMON


def test_closeloops_own_survey_header_is_a_loop() -> None:
    raw = _message(X_Closeloop_Survey_Id="3f9c2b7e41d84a0f9e6b5c1d2a7e8f90").as_bytes()
    assert read_message(raw, OWN).automatic is AutomaticReason.LOOP


def test_mail_from_closeloops_sender_address_is_a_loop() -> None:
    message = _message()
    message.replace_header("From", "Acme Support <SUPPORT@acme.example>")
    assert read_message(message.as_bytes(), OWN).automatic is AutomaticReason.LOOP


OUT_OF_OFFICE_SUBJECTS = {
    "en": "Automatic reply: How did we do?",
    "it": "Risposta automatica: Com'è andata?",
    "vi": "Trả lời tự động: Chúng tôi đã hỗ trợ thế nào?",
    "ca": "Resposta automàtica: Com ho hem fet?",
    "hr": "Automatski odgovor: Kako smo riješili zahtjev?",
    "es": "Respuesta automática: ¿Qué tal lo hicimos?",
    "fr": "Réponse automatique : Votre avis",
    "de": "Automatische Antwort: Wie war unser Service?",
    "pt": "Resposta automática: Como foi o atendimento?",
}


@pytest.mark.parametrize(("locale", "subject"), sorted(OUT_OF_OFFICE_SUBJECTS.items()))
def test_out_of_office_subjects_are_automatic_in_every_shipped_language(locale: str, subject: str) -> None:
    message = _message()
    message.replace_header("Subject", subject)
    assert read_message(message.as_bytes(), OWN).automatic is AutomaticReason.OUT_OF_OFFICE_SUBJECT


OUT_OF_OFFICE_BODIES = {
    "en": "Hello, I am currently out of the office until Monday.",
    "it": "Buongiorno, sono fuori ufficio fino al 3 dicembre.",
    "vi": "Xin chào, tôi đang đi vắng đến thứ Hai.",
    "ca": "Bon dia, sóc fora de l'oficina fins dilluns.",
    "hr": "Poštovani, trenutno sam izvan ureda do ponedjeljka.",
    "es": "Hola, estoy fuera de la oficina hasta el lunes.",
    "fr": "Bonjour, je suis absent jusqu'au lundi 7.",
    "de": "Guten Tag, ich bin derzeit nicht im Büro.",
    "pt": "Olá, estou fora do escritório até segunda-feira.",
}


@pytest.mark.parametrize(("locale", "body"), sorted(OUT_OF_OFFICE_BODIES.items()))
def test_out_of_office_openings_are_automatic_in_every_shipped_language(locale: str, body: str) -> None:
    message = _message()
    message.set_content(body)
    assert read_message(message.as_bytes(), OWN).automatic is AutomaticReason.OUT_OF_OFFICE_BODY


def test_a_customer_who_mentions_a_holiday_further_down_is_still_heard() -> None:
    message = _message()
    message.set_content("The invoice is still wrong. " * 20 + "I am on vacation next week, call me after.")
    assert read_message(message.as_bytes(), OWN).automatic is None


def test_a_message_over_the_limit_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(UnreadableMessageError, match="over 10485760 bytes"):
        read_message(b"Subject: x\r\n\r\n" + b"a" * MAX_MESSAGE_BYTES, OWN)


def test_a_mislabelled_iso_8859_1_body_is_read_as_windows_1252() -> None:
    # GIVEN curly quotes (Windows-1252 0x93 0x94) in a part that says ISO-8859-1
    raw = (
        b"From: a@example.com\r\nTo: " + REPLY_ADDRESS.encode() + b"\r\nSubject: Re\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"\x93Still\x94 broken \x80 5\r\n"
    )
    assert read_message(raw, OWN).text.strip() == "\u201cStill\u201d broken \u20ac 5"


def test_an_unknown_charset_is_read_as_utf_8_with_replacements() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: Re\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=x-unknown-42\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"caf\xc3\xa9 \xff\r\n"
    )
    assert read_message(raw, OWN).text.strip() == "café \ufffd"


def test_html_blockquotes_become_quoted_lines_and_styles_are_dropped() -> None:
    html = (
        "<html><head><style>p {color: red}</style></head><body><p>Still&nbsp;broken</p>"
        "<div>On Mon wrote:</div><blockquote type='cite'><p>How did we do?</p>"
        "<blockquote>older</blockquote></blockquote><script>alert(1)</script></body></html>"
    )
    # (each block on its own line, blank lines between them, whitespace as the browser shows it)
    assert html_to_text(html) == "Still broken\n\nOn Mon wrote:\n\n> How did we do?\n\n> > older"
