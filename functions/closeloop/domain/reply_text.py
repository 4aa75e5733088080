"""The new text of an email reply: what the customer wrote, without the quoted history and the signature.

``mail-parser-reply`` (maintained, in the dependency layer) splits a body at the reply headers mail
clients write ("On … wrote:", Outlook's "From: … Sent: …" block) and cuts signatures and disclaimers.
It knows English, German, French, Italian, Spanish and others, but not four of closeloop's shipped
languages; their rules (Vietnamese, Catalan, Croatian, Portuguese) are here, with a few more for the
languages it knows (Gmail's Spanish "escribió:" after a single space, the Apple Mail and Thunderbird
forms). They are given to the library through a subclass, never by changing its module's tables.

Lines quoted with ``>`` are history whatever the client, so they are removed first: what is left of a
bottom-posted reply is then the customer's text under the attribution line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# The library ships no type information (no py.typed): its names are Any to mypy.
from mailparser_reply.parser import EmailMessage as _ParsedBody  # type: ignore[import-untyped]

from closeloop.domain.inbound_mail import MAX_BODY_CHARS

# The shipped languages, all tried on every reply: a customer's mail client may speak another language
# than their survey.
REPLY_LANGUAGES = ("en", "it", "vi", "ca", "hr", "es", "fr", "de", "pt")
# The longest new text kept as the answer's comment (the raw message stays in the bucket).
MAX_NEW_TEXT_CHARS = 10_000
# The longest line taken for a sign-off ("Best regards,", "Cordiali saluti", "Lijep pozdrav,").
MAX_SIGN_OFF_CHARS = 40

_QUOTE = r"(?:> ?)*"
# An attribution line ("On <date>, <name> wrote:"), on one line or wrapped onto a second, must hold a digit
# (every client writes the date) so a sentence ending in "wrote:" is not taken for one.
_ATTRIBUTION = r"(?=[^\n]*\d|[^\n]*\n[^\n]*\d)[^\n]{0,300}(?:\n[^\n]{0,300})?"


def _wrote(verbs: str) -> str:
    """An attribution line ending in one of ``verbs`` and a colon; a client may wrap anywhere, even
    inside the verb ("va\\nescriure:")."""
    wrappable = verbs.replace(" ", r"\s")
    return rf"^({_QUOTE}{_ATTRIBUTION}(?:{wrappable})\s?:)$"


def _outlook(fields: str) -> str:
    """Outlook's header block (desktop and web): two or more of its field names, one per line."""
    return rf"((?:(?:^|\n){_QUOTE}[* ]*(?:{fields}) ?:[ *]*(?:\s{{,2}}).*){{2,}}(?:\n.*){{,1}})"


# Rules per language, added to the library's own (its keys: wrote_header, from_header, signatures,
# sent_from, disclaimers). Field names and phrases are those the clients write in each locale.
EXTRA_RULES: Mapping[str, Mapping[str, str]] = {
    "en": {
        # Apple Mail: "On 1 Dec 2025, at 10:02, Jane <jane@example.com> wrote:"; Thunderbird: "On 12/1/25 …"
        "wrote_header": _wrote(r"wrote"),
        "from_header": _outlook(r"From|Sent|To|Subject|Date|Cc"),
    },
    "it": {"wrote_header": _wrote(r"ha scritto"), "from_header": _outlook(r"Da|Inviato|A|Oggetto|Data|Cc")},
    "de": {
        "wrote_header": _wrote(r"schrieb[^\n]{0,200}"),
        "from_header": _outlook(r"Von|Gesendet|An|Betreff"),
    },
    "fr": {"wrote_header": _wrote(r"a écrit"), "from_header": _outlook(r"De|Envoyé|À|Objet|Date|Cc")},
    "es": {"wrote_header": _wrote(r"escribió"), "from_header": _outlook(r"De|Enviado|Para|Asunto|Fecha|CC")},
    "pt": {
        "wrote_header": _wrote(r"escreveu"),
        "from_header": _outlook(r"De|Enviado|Enviada|Para|Assunto|Data|Cc"),
        "signatures": r"Atenciosamente|Cumprimentos|Com os melhores cumprimentos|Abraços|Obrigad[oa],",
        "sent_from": r"Enviado do meu|Enviado a partir do",
        "disclaimers": r"Aviso:|AVISO DE CONFIDENCIALIDADE",
    },
    "ca": {
        # Gmail: "El dl., 1 de des. 2025 a les 10:00, … va escriure:"; Thunderbird: "El 1/12/25 … ha escrit:"
        "wrote_header": _wrote(r"va escriure|ha escrit"),
        "from_header": _outlook(r"De|Enviat|Per a|Tema|Assumpte|Data|A|Cc"),
        "signatures": r"Salutacions|Atentament|Cordialment|Moltes gràcies,",
        "sent_from": r"Enviat des del meu",
        "disclaimers": r"Avís:|AVÍS DE CONFIDENCIALITAT",
    },
    "hr": {
        # Gmail: "pon, 1. pro 2025. u 10:00 … napisao je:"
        # Apple Mail: "1. pro 2025. u 10:00, … je napisao/la:"
        "wrote_header": _wrote(
            r"napisao(?:/la)? je|napisala je|je napisao(?:/la)?|je napisala|napisa(?:o|la)"
        ),
        "from_header": _outlook(r"Od|Poslano|Prima|Za|Predmet|Datum|Kopija|Cc"),
        "signatures": r"Lijep pozdrav|Srdačan pozdrav|S poštovanjem|Srdačno|Pozdrav,",
        "sent_from": r"Poslano s mog",
        "disclaimers": r"Napomena:|Upozorenje:",
    },
    "vi": {
        # Gmail: "Vào Th 2, 1 thg 12, 2025 vào lúc 10:00 … đã viết:"
        "wrote_header": _wrote(r"đã viết"),
        "from_header": _outlook(r"Từ|Đã gửi|Gửi|Đến|Tới|Chủ đề|Ngày|Cc"),
        "signatures": r"Trân trọng|Thân mến|Thân ái|Cảm ơn,",
        "sent_from": r"Được gửi từ|Gửi từ iPhone",
        "disclaimers": r"Lưu ý:|Cảnh báo:",
    },
}


# The library's rules replaced rather than extended: its French attribution pattern captures part of the
# line in a group of its own, which the library then takes for a header and splits the line at.
REPLACED_RULES = frozenset({("fr", "wrote_header")})


class _ShippedLanguagesBody(_ParsedBody):  # type: ignore[misc]
    """The library's message with closeloop's rules added to each language's own."""

    def _get_language_regex(self, language: str, regex_key: str) -> str:
        if (language, regex_key) in REPLACED_RULES:
            return EXTRA_RULES[language][regex_key]
        theirs = super()._get_language_regex(language=language, regex_key=regex_key)
        ours = EXTRA_RULES.get(language, {}).get(regex_key, "")
        return "|".join(pattern for pattern in (theirs, ours) if pattern)


_QUOTED_LINE = re.compile(r"^[ \t]*>")


def new_text(body: str) -> str:
    """The text the customer wrote in this reply: quoted lines, earlier messages, signatures and
    disclaimers removed; blank lines collapsed; at most ``MAX_NEW_TEXT_CHARS``. Empty when nothing is left."""
    unquoted = "\n".join(
        line
        for line in body[:MAX_BODY_CHARS].replace("\r\n", "\n").split("\n")
        if not _QUOTED_LINE.match(line)
    )
    parsed = _ShippedLanguagesBody(text=unquoted, languages=list(REPLY_LANGUAGES)).read()
    if not parsed.replies:
        return ""
    first = parsed.replies[0]
    text = first.body
    # The library cuts from any line that starts like a sign-off ("Thanks, …", "Saludos, …") to the end. A
    # sign-off is a short line; a longer one is a sentence ("Thanks, but it still crashes"), kept with what
    # follows. And a reply that is nothing but a sign-off-looking line is still what the customer wrote.
    signature_opening = first.signatures.split("\n", 1)[0].strip()
    if not text or len(signature_opening) > MAX_SIGN_OFF_CHARS:
        text = first.full_body
        for disclaimer in first.disclaimers:
            text = text.replace(disclaimer, "")
    return _tidy(text)[:MAX_NEW_TEXT_CHARS].strip()


def _tidy(text: str) -> str:
    """Lines trimmed, runs of blank lines made one."""
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.strip() for line in text.split("\n"))).strip()
