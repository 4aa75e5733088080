"""A bounded fuzzing campaign against ``closeloop sandbox``: hostile requests and events, then the checks
of docs/fuzzing.md (no 5xx, no hang, nothing stuck, nothing twice, every dead letter with a reason)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from closeloop_cli.fake_helpdesk import FakeHelpdesk
from closeloop_cli.fuzz import Target, campaign
from tests.e2e.sandbox_process import RunningSandbox, seeded_zendesk, start_story_sandbox

pytestmark = pytest.mark.e2e

SEED = 20_261_201
# A sample kept small so the suite stays quick; `closeloop fuzz` runs the full campaign (docs/fuzzing.md).
REQUESTS = 600
EVENTS = 60


@pytest.fixture(scope="module")
def zendesk() -> Iterator[FakeHelpdesk]:
    with seeded_zendesk() as helpdesk:
        yield helpdesk


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, zendesk: FakeHelpdesk) -> Iterator[RunningSandbox]:
    running = start_story_sandbox(tmp_path_factory.mktemp("fuzz"), zendesk.url)
    yield running
    running.stop()


def test_a_seeded_campaign_of_hostile_requests_and_events_leaves_nothing_broken(
    sandbox: RunningSandbox,
) -> None:
    # GIVEN a sandbox with both helpdesks configured and real survey links (set up by the campaign)
    target = Target(sandbox.api_url, sandbox.aws_url, sandbox.outputs(), sandbox.outbox)
    # WHEN 600 hostile requests and 60 hostile events are sent, and the queues are left to settle
    # (Speed is the benchmark's business, never the suite's: answer times are reported, not asserted. A
    # request unanswered after API Gateway's 30 s integration timeout is a hang, and fails.)
    report = campaign(
        target, requests=REQUESTS, events=EVENTS, seed=SEED, settle=20, time_limit=600, log=print,
        slow_seconds=None, request_timeout=30,
    )  # fmt: skip
    (sandbox.folder / "fuzz-failures.json").write_text(
        json.dumps(report.to_json(), indent=2), encoding="utf-8"
    )
    # THEN every request was answered below 5xx, and nothing is stuck or sent twice
    assert report.requests == REQUESTS
    assert report.passed, f"{report.summary()}\nfull report: {sandbox.folder / 'fuzz-failures.json'}"
