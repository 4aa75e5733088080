"""The fuzz campaign's input generator: any seed yields events, never an error of its own.

No sockets: the campaign is built against local URLs it never calls here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from closeloop_cli.fuzz import Campaign, Target


@pytest.mark.parametrize("seed", range(8))
def test_every_generated_event_is_a_detail_type_and_an_object(seed: int, tmp_path: Path) -> None:
    # GIVEN a campaign (a seed of an aborted 10,000-request run once made the generator raise KeyError
    # when a mutation had removed the customer before an odd name was put in it)
    target = Target("http://127.0.0.1:9", "http://127.0.0.1:9", outputs={}, outbox=tmp_path)
    campaign = Campaign(target, seed, time_limit=60, log=lambda _: None)
    # WHEN it generates many events THEN each is a ticket event type with a JSON object
    for _ in range(2_000):
        detail_type, detail = campaign._event()
        assert detail_type in ("Ticket Closed", "Ticket Reopened")
        assert isinstance(detail, dict)
