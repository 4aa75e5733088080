"""tools/format_lexicon.py: one format for lexicon.json, so a change to it reads as the phrases it adds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tools import format_lexicon


def test_formatting_keeps_the_content_and_packs_long_lists_within_the_width() -> None:
    lexicon = {"version": 1, "languages": {"en": {"unresolved": [f"phrase number {n}" for n in range(40)],
                                                  "expansions": {"dont": "do not"}}}}  # fmt: skip

    text = format_lexicon.formatted(json.dumps(lexicon))

    assert json.loads(text) == lexicon
    assert max(len(line) for line in text.splitlines()) <= format_lexicon.WIDTH
    assert '      "expansions": {"dont": "do not"}' in text.splitlines()
    assert format_lexicon.formatted(text) == text


def test_the_check_fails_on_an_unformatted_file_and_leaves_it_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "lexicon.json"
    path.write_text('{"version": 1, "languages": {}}', encoding="utf-8")

    assert format_lexicon.main(["--check", str(path)]) == 1
    assert "not formatted" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == '{"version": 1, "languages": {}}'
    assert format_lexicon.main([str(path)]) == 0
    assert format_lexicon.main(["--check", str(path)]) == 0


def test_the_shipped_lexicon_is_formatted() -> None:
    assert format_lexicon.main(["--check"]) == 0
