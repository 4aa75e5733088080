"""``closeloop schemas``: write the JSON Schemas of every event closeloop accepts or publishes.

The models in ``closeloop.domain`` are the source of truth; ``events/schemas/`` is generated from them
and the test suite fails when the two drift apart.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from closeloop.domain.published import PUBLISHED_EVENTS
from closeloop.domain.tickets import (
    TICKET_CLOSED,
    TICKET_REOPENED,
    TICKETS_SOURCE,
    TicketClosed,
    TicketReopened,
)

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "events" / "schemas"


def _file_name(detail_type: str) -> str:
    return detail_type.lower().replace(" ", "_") + ".json"


def event_schemas() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema of the ``detail`` of each event type."""
    inputs: list[tuple[str, str, type[Any]]] = [
        (TICKETS_SOURCE, TICKET_CLOSED, TicketClosed),
        (TICKETS_SOURCE, TICKET_REOPENED, TicketReopened),
    ]
    inputs += [("closeloop", model.detail_type, model) for model in PUBLISHED_EVENTS]
    schemas = {}
    for source, detail_type, model in inputs:
        schema = TypeAdapter(model).json_schema(mode="validation")
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:closeloop:events:{_file_name(detail_type).removesuffix('.json')}",
            "description": f"detail of EventBridge events: source {source!r}, detail-type {detail_type!r}",
            "x-source": source,
            "x-detail-type": detail_type,
        } | {key: value for key, value in schema.items() if key != "description"}
        schemas[_file_name(detail_type)] = schema
    return schemas


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in event_schemas().items():
        path = out / name
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("schemas", help="write the JSON Schemas of closeloop's events")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder (default: events/schemas)")
    parser.set_defaults(run=lambda args: _run(args.out))


def _run(out: Path) -> int:
    for path in write_schemas(out):
        print(path)
    return 0
