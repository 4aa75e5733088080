"""The canonical events: models, generated JSON Schemas and the examples in events/ agree."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from closeloop.domain.tickets import InvalidTicketEventError, parse_ticket_event
from closeloop_cli.schemas import event_schemas
from tests.conftest import EVENTS, load_event

SCHEMAS = EVENTS / "schemas"
VALID_EXAMPLES = sorted(p for p in (EVENTS / "canonical").glob("*.json") if "invalid" not in p.name)


def test_schemas_in_events_folder_are_generated_from_the_models() -> None:
    # GIVEN the models; WHEN schemas are generated; THEN the committed files match (run `make schemas`)
    generated = event_schemas()
    committed = {path.name: json.loads(path.read_text()) for path in SCHEMAS.glob("*.json")}
    assert committed == generated


@pytest.mark.parametrize("example", VALID_EXAMPLES, ids=lambda p: p.name)
def test_every_canonical_example_satisfies_its_schema_and_model(example: Path) -> None:
    event = json.loads(example.read_text())
    schema = json.loads((SCHEMAS / (event["detail-type"].lower().replace(" ", "_") + ".json")).read_text())
    jsonschema.validate(event["detail"], schema)
    assert parse_ticket_event(event).ticket_id


def test_an_invalid_example_is_rejected_naming_each_bad_field_but_not_its_value() -> None:
    with pytest.raises(InvalidTicketEventError) as caught:
        parse_ticket_event(load_event("canonical/ticket_closed_invalid.json"))
    assert "closed_at" in str(caught.value)
    assert "customer.email" in str(caught.value)
    assert "not-an-address" not in str(caught.value)


def test_unknown_fields_are_kept() -> None:
    event = parse_ticket_event(load_event("canonical/ticket_closed.json"))
    assert event.model_extra == {"priority": "normal"}


@pytest.mark.parametrize(
    "mutation",
    [
        {"source": "someone.else"},
        {"detail-type": "Ticket Deleted"},
    ],
)
def test_events_of_other_sources_or_types_are_not_ticket_events(mutation: dict[str, str]) -> None:
    with pytest.raises(InvalidTicketEventError):
        parse_ticket_event(load_event("canonical/ticket_closed.json") | mutation)


def test_a_missing_required_field_is_a_clear_error() -> None:
    event = load_event("canonical/ticket_closed.json")
    del event["detail"]["customer"]
    with pytest.raises(InvalidTicketEventError, match="customer: Field required"):
        parse_ticket_event(event)
