"""Unknown fields of a ticket event are kept, and must never crash planning (found by `closeloop fuzz`)."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import Stack
from tests.integration.journeys import deliver, solved_ticket, surveys


@pytest.mark.parametrize("where", ["top level", "agent", "team"])
@pytest.mark.parametrize(
    "value",
    [10**200, 1.5, 1e308, {"deep": [10**60]}],
    ids=["200-digit integer", "float", "huge float", "nested huge integer"],
)
def test_an_unknown_field_with_any_json_number_is_planned(stack: Stack, where: str, value: object) -> None:
    # GIVEN a solved ticket whose sender added a field closeloop does not know, holding an odd number
    event = solved_ticket()
    detail = event["detail"]
    (detail if where == "top level" else detail[where])["KdCVZXevGCd"] = value

    # WHEN it is planned
    result = deliver(stack, event)

    # THEN the batch does not fail and the survey is planned, its agent and team snapshot without the field
    assert result == {"batchItemFailures": []}
    [survey] = surveys(stack)
    assert "KdCVZXevGCd" not in json.dumps(survey)
