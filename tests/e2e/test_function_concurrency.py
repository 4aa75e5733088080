"""A function runs in more than one worker when its invocations overlap, as Lambda scales out.

The probe handlers of tests/fixtures/lambda_probe stand in for a function; each worker is a real
layer-only process, so cold starts and reuse are the sandbox's own.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from closeloop_cli.runtime import FunctionError, FunctionRunner, LambdaRuntime
from closeloop_cli.stack import FunctionSpec
from tests.e2e.sandbox_process import REGION, REPO

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("lambda-runtime")]

PROBE = REPO / "tests" / "fixtures" / "lambda_probe"


def _runner(concurrency: int) -> FunctionRunner:
    spec = FunctionSpec(
        logical_id="ProbeFunction",
        function_name="closeloop-ProbeFunction",
        arn=f"arn:aws:lambda:{REGION}:123456789012:function:closeloop-ProbeFunction",
        handler="probe.sleep",
        code_path=PROBE,
        environment={},
        timeout_seconds=60,
        memory_mb=256,
    )
    return FunctionRunner(
        {"ProbeFunction": spec},
        LambdaRuntime.locate(),
        region=REGION,
        access_environment={},
        concurrency={"ProbeFunction": concurrency},
    )


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.exists(), "the first invocation never started"


def test_an_invocation_that_finds_the_worker_busy_runs_in_a_second_worker(tmp_path: Path) -> None:
    # GIVEN a function allowed two workers, one of them busy with a 30-second invocation
    runner = _runner(concurrency=2)
    started = tmp_path / "started"
    outcomes: list[Any] = []
    busy = threading.Thread(
        target=lambda: outcomes.append(_invoke(runner, {"seconds": 30, "started_file": str(started)}))
    )
    busy.start()
    try:
        _wait_for(started)

        # WHEN another invocation arrives
        answer = runner.invoke("ProbeFunction", {"seconds": 0})

        # THEN it is answered while the first is still running, by a worker of its own (a cold start)
        assert answer == {"slept": 0}
        assert busy.is_alive()
        workers = runner.pools["ProbeFunction"].workers
        assert [worker.cold_starts for worker in workers] == [1, 1]
    finally:
        runner.close()
        busy.join(timeout=20)


def test_invocations_one_after_another_reuse_one_warm_worker() -> None:
    # GIVEN a function allowed four workers
    runner = _runner(concurrency=4)
    try:
        # WHEN it is invoked three times, one invocation after the other
        answers = [runner.invoke("ProbeFunction", {"seconds": 0}) for _ in range(3)]

        # THEN one worker served them all, with one cold start: nothing scales out without overlap
        assert answers == [{"slept": 0}] * 3
        assert [worker.cold_starts for worker in runner.pools["ProbeFunction"].workers] == [1]
    finally:
        runner.close()


def test_an_invocation_after_close_fails_instead_of_starting_a_worker() -> None:
    runner = _runner(concurrency=2)
    runner.close()

    with pytest.raises(FunctionError, match=r"Sandbox\.Stopped"):
        runner.invoke("ProbeFunction", {"seconds": 0})

    assert runner.pools["ProbeFunction"].workers == []


def _invoke(runner: FunctionRunner, event: dict[str, Any]) -> Any:
    try:
        return runner.invoke("ProbeFunction", event)
    except FunctionError as error:  # the runner was closed under it: the test is over
        return error
