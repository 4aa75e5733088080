"""``closeloop openapi``: write the HTTP API's OpenAPI document (``docs/openapi.json``).

The Powertools resolver in ``closeloop.handlers.api`` is the source of truth; the test suite fails when
the committed document drifts from it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
TITLE = "closeloop HTTP API"
VERSION = "1"
DESCRIPTION = (
    "Helpdesk webhooks in; survey pages and unsubscribe out. Survey and unsubscribe pages answer HTML; "
    "a GET never records anything (mail scanners open every link). See docs/survey-pages.md."
)


def openapi_document() -> dict[str, Any]:
    from closeloop.adapters.page_http import QUERY_DESCRIPTIONS, SURVEY_QUERY, UNSUBSCRIBE_QUERY
    from closeloop.domain.page_requests import MAX_QUERY_VALUE_CHARS
    from closeloop.handlers.api import app

    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION)
    )
    # The pages read their query parameters from the event themselves (the resolver validates nothing, to
    # keep pydantic off the function's cold start), so the document names them from the same constants.
    for path, names in (("/s/{token}", SURVEY_QUERY), ("/u/{token}", UNSUBSCRIBE_QUERY)):
        operation = document["paths"][path]["get"]
        operation["parameters"] = [
            *operation.get("parameters", []),
            *(
                {
                    "in": "query",
                    "name": name,
                    "required": False,
                    "description": QUERY_DESCRIPTIONS[name],
                    "schema": {"type": "string", "maxLength": MAX_QUERY_VALUE_CHARS},
                }
                for name in names
            ),
        ]
        operation["responses"].setdefault(
            "400",
            {
                "description": f"A query value is longer than {MAX_QUERY_VALUE_CHARS} characters",
                "content": {"text/html": {"schema": {"type": "string"}}},
            },
        )
    # Powertools describes its request-validation errors in every document; this API never answers them.
    components = document.get("components", {})
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        components.get("schemas", {}).pop(name, None)
    if not components.get("schemas", True):
        components.pop("schemas")
    if not components:
        document.pop("components", None)
    return document


def render_document() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("openapi", help="write the HTTP API's OpenAPI document")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="file (default: docs/openapi.json)")
    parser.set_defaults(run=lambda args: _run(args.out))


def _run(out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_document(), encoding="utf-8")
    print(out)
    return 0
