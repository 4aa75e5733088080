"""Format ``functions/closeloop/domain/lexicon.json`` the one way it is kept: two-space indents, each list
(and each map of words) on one line when it fits in 110 columns, else packed over as few lines as fit.

    python tools/format_lexicon.py            # rewrite the file
    python tools/format_lexicon.py --check    # exit 1 when it is not formatted (make lint)

A lexicon change then shows in review as the phrases it adds, not as a reflowed file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

LEXICON = Path(__file__).resolve().parents[1] / "functions" / "closeloop" / "domain" / "lexicon.json"
WIDTH = 110


def _encoded(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _packed(items: list[str], indent: int) -> list[str]:
    """``items`` joined with ", " over as few lines as fit in WIDTH, each line indented."""
    lines: list[str] = []
    current = ""
    for index, item in enumerate(items):
        piece = item + ("," if index < len(items) - 1 else "")
        candidate = f"{current} {piece}" if current else piece
        if current and indent + len(candidate) > WIDTH:
            lines.append(" " * indent + current)
            current = piece
        else:
            current = candidate
    if current:
        lines.append(" " * indent + current)
    return lines


def _lines(key: str | None, value: Any, indent: int, last: bool) -> list[str]:
    comma = "" if last else ","
    head = " " * indent + (f"{_encoded(key)}: " if key is not None else "")
    if isinstance(value, dict) and not all(isinstance(item, str) for item in value.values()):
        entries = list(value.items())
        body = [
            line
            for number, (name, item) in enumerate(entries)
            for line in _lines(name, item, indent + 2, number == len(entries) - 1)
        ]
        return [head + "{", *body, " " * indent + "}" + comma]
    if isinstance(value, dict):
        items, opening, closing = (
            [f"{_encoded(name)}: {_encoded(item)}" for name, item in value.items()],
            "{",
            "}",
        )
    elif isinstance(value, list):
        items, opening, closing = [_encoded(item) for item in value], "[", "]"
    else:
        return [head + _encoded(value) + comma]
    single = head + opening + ", ".join(items) + closing + comma
    if len(single) <= WIDTH:
        return [single]
    return [head + opening, *_packed(items, indent + 2), " " * indent + closing + comma]


def formatted(text: str) -> str:
    """The lexicon's JSON text in its kept format (the content is unchanged)."""
    return "\n".join(_lines(None, json.loads(text), 0, True)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check; exit 1 when not formatted")
    parser.add_argument("path", nargs="?", type=Path, default=LEXICON)
    arguments = parser.parse_args(argv)
    text = arguments.path.read_text(encoding="utf-8")
    wanted = formatted(text)
    if text == wanted:
        return 0
    if arguments.check:
        print(f"{arguments.path} is not formatted: run python tools/format_lexicon.py", file=sys.stderr)
        return 1
    arguments.path.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
