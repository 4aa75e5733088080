"""What the real-browser tests share: Debian's Chromium and the pinned axe-core (``make browser-deps``)."""

from __future__ import annotations

import os

import pytest

from closeloop_cli.mail_clients import CHROMIUM
from tests.conftest import REPO

AXE_JS = REPO / ".tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist registers the marker that keeps a module's tests on one worker (one browser, one
    # sandbox); without the plugin (`-p no:xdist`) the marker must still be known to --strict-markers.
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one pytest-xdist worker")


@pytest.fixture(scope="module")
def browser_deps() -> str:
    """axe-core's source, once Chromium, axe-core and Playwright are known to be there."""
    # `make test` installs both; in CI a missing one is a broken install step, never a reason to skip.
    missing = pytest.fail if os.environ.get("CI") else pytest.skip
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium)")
    if not AXE_JS.exists():
        missing(f"{AXE_JS.relative_to(REPO)} is missing: run `make browser-deps`")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    return AXE_JS.read_text(encoding="utf-8")
