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
