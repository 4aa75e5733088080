"""The sandbox's processes: moto in its own, the functions in theirs, none outliving the sandbox.

The other sandbox behaviours (routes, relays, the pump, the outbox) are in test_sandbox.py.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.e2e.sandbox_process import (
    REPO,
    child_processes,
    eventually,
    fixture_template,
    is_running,
    start_sandbox,
)

pytestmark = pytest.mark.e2e


def _emulator_pid(children: dict[int, str]) -> int:
    (pid,) = [pid for pid, command in children.items() if "closeloop_cli.aws_emulator" in command]
    return pid


def test_moto_runs_in_its_own_process_and_stops_with_the_sandbox(tmp_path: Path) -> None:
    # GIVEN a running sandbox
    sandbox = start_sandbox(tmp_path, fixture_template())
    try:
        children = child_processes(sandbox.process.pid)
        emulator = _emulator_pid(children)
        # AND its functions' workers, started after ready
        workers = eventually(
            lambda: [pid for pid, command in child_processes(sandbox.process.pid).items() if pid != emulator]
        )
    finally:
        # WHEN it is stopped with SIGTERM
        status = sandbox.stop()

    # THEN it exits cleanly, and neither moto nor any worker is left running
    assert status == 0
    assert not is_running(emulator)
    assert [pid for pid in workers if is_running(pid)] == []


def test_a_killed_sandbox_leaves_no_process_behind(tmp_path: Path) -> None:
    # GIVEN a running sandbox, its moto process and its workers
    sandbox = start_sandbox(tmp_path, fixture_template())
    emulator = _emulator_pid(child_processes(sandbox.process.pid))
    workers = eventually(
        lambda: [pid for pid, command in child_processes(sandbox.process.pid).items() if pid != emulator]
    )

    # WHEN the sandbox is killed outright (no chance to stop anything)
    sandbox.process.send_signal(signal.SIGKILL)
    sandbox.stop()

    # THEN moto and the workers end by themselves
    eventually(lambda: not any(is_running(pid) for pid in (emulator, *workers)) or None)


def test_the_api_function_scales_within_its_reserved_concurrency(tmp_path: Path) -> None:
    # GIVEN the real template, whose API function reserves ApiReservedConcurrency executions
    sandbox = start_sandbox(tmp_path, REPO / "template.yaml", "ApiReservedConcurrency=2")
    try:
        listed = "".join(sandbox.lines)
    finally:
        sandbox.stop()

    # THEN the sandbox runs up to that many API workers, and one for each queue-fed function
    api_line = next(line for line in listed.splitlines() if line.strip().startswith("ApiFunction:"))
    assert api_line.endswith("(up to 2 workers)")
    plan_line = next(line for line in listed.splitlines() if line.strip().startswith("PlanFunction:"))
    assert "workers" not in plan_line


def test_the_sandbox_stops_when_its_moto_process_dies(tmp_path: Path) -> None:
    # GIVEN a running sandbox
    sandbox = start_sandbox(tmp_path, fixture_template())
    try:
        # WHEN its moto process is killed from outside
        os.kill(_emulator_pid(child_processes(sandbox.process.pid)), signal.SIGKILL)

        # THEN the sandbox notices, says so and stops by itself, with a failure exit code
        status = sandbox.process.wait(timeout=60)
    finally:
        sandbox.stop()

    assert status == 1
    assert "the moto server exited" in (tmp_path / "sandbox.log").read_text(encoding="utf-8")
