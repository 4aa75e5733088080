"""The survey email as mail clients show it, in a real browser: Debian's Chromium driven by Playwright.

A phone or a desktop window, with the ``<style>`` block or without it (Gmail's app strips it from other
accounts' mail), light or forcibly darkened (the apps that recolour mail in dark mode). The rendering
check (tests/e2e/test_email_clients.py) and ``closeloop preview --screenshots`` both look through these
views, so the screenshots in docs/img show what the check checks.

Playwright drives the installed Chromium through ``executable_path``; ``playwright install`` is never
needed (``make browser-deps`` installs Chromium and axe-core).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, CDPSession, Page

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking")
PHONE_WIDTH = 375
DESKTOP_WIDTH = 800
_VIEW_HEIGHT = 900
_STYLE_BLOCK = re.compile(r"<style\b.*?</style\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class View:
    """One way a client shows the email: its width, whether it keeps ``<style>``, forced dark or not."""

    width: int
    styled: bool = True
    dark: bool = False

    @property
    def name(self) -> str:
        """``375``, ``desktop-unstyled``, ``375-dark``…: used in test ids and screenshot file names."""
        width = "desktop" if self.width == DESKTOP_WIDTH else str(self.width)
        return "-".join([width] + ([] if self.styled else ["unstyled"]) + (["dark"] if self.dark else []))


def as_client_shows(html: str, view: View) -> str:
    """The HTML a client with ``view``'s habits lays out: without ``<style>`` blocks if it strips them."""
    return html if view.styled else _STYLE_BLOCK.sub("", html)


@contextmanager
def open_page() -> Iterator[tuple[Browser, Page, CDPSession]]:
    """One headless Chromium with one page (and its DevTools session, for forced dark mode)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(LAUNCH_ARGS))
        try:
            page = browser.new_page(viewport={"width": DESKTOP_WIDTH, "height": _VIEW_HEIGHT})
            yield browser, page, page.context.new_cdp_session(page)
        finally:
            browser.close()


def show(page: Page, devtools: CDPSession, html: str, view: View) -> None:
    """Lay ``html`` out in ``page`` the way ``view`` shows it."""
    page.set_content(as_client_shows(html, view), wait_until="load")
    look_through(page, devtools, view)


def look_through(page: Page, devtools: CDPSession, view: View) -> None:
    """Show the email already in ``page`` at ``view``'s width, darkened or not (keeping or stripping
    ``<style>`` makes another document: that takes ``show``)."""
    page.set_viewport_size({"width": view.width, "height": _VIEW_HEIGHT})
    # Chromium's automatic dark mode recolours a light page as the Android apps' forced dark mode does.
    devtools.send("Emulation.setAutoDarkModeOverride", {"enabled": True} if view.dark else {})


def screenshot(page: Page, path: Path) -> None:
    """The whole email, as tall as it is, at the page's current width."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def write_screenshots(html: str, views: Sequence[View], folder: Path, prefix: str = "email") -> list[Path]:
    """One full-length PNG of ``html`` per view, named ``<prefix>-<view name>.png`` in ``folder``."""
    written: list[Path] = []
    with open_page() as (_, page, devtools):
        for view in views:
            show(page, devtools, html, view)
            path = folder / f"{prefix}-{view.name}.png"
            screenshot(page, path)
            written.append(path)
    return written
