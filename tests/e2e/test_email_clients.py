"""The survey email as mail clients show it, in a real browser (Debian's Chromium driven by Playwright).

Every survey type in every shipped locale, rendered by the renderer the send function uses, is laid out
on a phone (375 px) and a desktop, with its ``<style>`` block and without it (Gmail's app strips it from
other accounts' mail), and forcibly darkened (Chromium's automatic dark mode, which recolours a light
page as Android's mail apps do). In each:

- axe-core finds nothing to fix;
- every answer button is at least 44 by 44 px where the style applies, and at least 24 by 24 px (WCAG 2.5.8)
  without it, down to a 320 px phone;
- nothing is wider than the phone;
- the NPS scale is one row on a desktop, and each end of it is named right under its button, also in a
  right-to-left language (none ships yet: Arabic with the English wording stands in);
- forcibly darkened, every line of text is still readable. That is measured on the painted pixels:
  axe-core reads computed colours, which forced darkening does not change.

One Chromium and one page serve the whole module: one ``set_content`` per email and view, measured once
and read by every test about it. Needs ``make browser-deps``; skips with the reason without it.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from closeloop.adapters import dates
from closeloop.adapters.rendering import EmailRenderer, RenderedEmail
from closeloop.domain.surveys import ANSWER_SCALES, SURVEY_TYPES, SurveyType
from closeloop_cli import preview
from closeloop_cli.mail_clients import DESKTOP_WIDTH, PHONE_WIDTH, View, look_through, open_page, show
from tests.conftest import REPO, TEMPLATES
from tests.fakes import SHIPPED_LOCALES

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("email-browser")]

# Every locale the templates layer ships a catalog for (a folder added there is checked here too).
LOCALES = SHIPPED_LOCALES
RENDERER = EmailRenderer(TEMPLATES, supported_locales=SHIPPED_LOCALES)
EMAILS = [pytest.param(locale, kind, id=f"{locale}-{kind}") for locale in LOCALES for kind in SURVEY_TYPES]
# No right-to-left language ships yet; the layout is checked in one anyway (Arabic with English wording).
RIGHT_TO_LEFT = "ar"
NPS_LOCALES = (*LOCALES, RIGHT_TO_LEFT)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

PHONE = View(PHONE_WIDTH)
DESKTOP = View(DESKTOP_WIDTH)
PHONE_UNSTYLED = View(PHONE_WIDTH, styled=False)
DESKTOP_UNSTYLED = View(DESKTOP_WIDTH, styled=False)
SMALL_PHONE_UNSTYLED = View(320, styled=False)
PHONE_DARK = View(PHONE_WIDTH, dark=True)
LIGHT_VIEWS = (DESKTOP, PHONE, DESKTOP_UNSTYLED, PHONE_UNSTYLED, SMALL_PHONE_UNSTYLED)
PHONE_VIEWS = (PHONE, PHONE_UNSTYLED, SMALL_PHONE_UNSTYLED, PHONE_DARK)
VIEWS = (*LIGHT_VIEWS, PHONE_DARK)
# The document is the same in every view; what axe-core can see change is the style block (the media
# query, :focus), so it runs once with it and once without, one at each width: about 0.2 s a run.
AXE_VIEWS = (PHONE, DESKTOP_UNSTYLED)

STYLED_TARGET_PX = 44  # the buttons' design size (WCAG 2.5.5, Apple's and Google's touch guidance)
UNSTYLED_TARGET_PX = 24  # WCAG 2.5.8's minimum target size
READABLE_CONTRAST = 4.5  # WCAG 1.4.3 for body text
LABEL_GAP_PX = 24  # how far under its button a scale label may start
EDGE_TOLERANCE_PX = 4

# An email is shown inside the mail client's own page, which has the main landmark and the regions: the
# email must not declare them. Every other rule applies.
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "rules": {"region": {"enabled": False}, "landmark-one-main": {"enabled": False}},
}

MEASURE_JS = """([answerUrls, labels]) => {
  const box = (rect) => ({left: rect.left, top: rect.top, width: rect.width, height: rect.height});
  const links = [...document.querySelectorAll('a[href]')];
  const textBox = (text) => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.data.trim() === text) {
        const range = document.createRange();
        range.selectNodeContents(node);
        return box(range.getBoundingClientRect());
      }
    }
    return null;
  };
  return {
    buttons: answerUrls.map((url) => box(links.find((link) => link.getAttribute('href') === url)
      .getBoundingClientRect())),
    labels: labels.map(textBox),
    pageWidth: document.documentElement.scrollWidth,
    rightToLeft: getComputedStyle(links[0]).direction === 'rtl',
  };
}"""

# The contrast of every painted line of text: its background is the commonest colour in its box, its
# colour the one furthest from that (anti-aliasing only adds colours in between).
PAINTED_CONTRAST_JS = """async (png) => {
  const image = new Image();
  image.src = 'data:image/png;base64,' + png;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext('2d', {willReadFrequently: true});
  context.drawImage(image, 0, 0);
  const linear = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = (rgb) => 0.2126 * linear(rgb >> 16) + 0.7152 * linear((rgb >> 8) & 255)
    + 0.0722 * linear(rgb & 255);
  const contrast = (a, b) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const lines = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.data.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const rect of range.getClientRects()) {
      const left = Math.floor(rect.left + scrollX), top = Math.floor(rect.top + scrollY);
      const width = Math.ceil(rect.width), height = Math.ceil(rect.height);
      if (width < 2 || height < 2) continue;
      const data = context.getImageData(left, top, width, height).data;
      const counts = new Map();
      for (let i = 0; i < data.length; i += 4) {
        const rgb = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
        counts.set(rgb, (counts.get(rgb) || 0) + 1);
      }
      const background = luminance([...counts.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0]);
      let best = 1;
      for (const rgb of counts.keys()) best = Math.max(best, contrast(background, luminance(rgb)));
      lines.push([node.data.trim(), best]);
    }
  }
  return lines;
}"""


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height


@dataclass(frozen=True)
class Layout:
    """What one email looks like in one view."""

    buttons: tuple[Box, ...]  # the answer links, in the order of the scale
    scale_labels: tuple[Box, Box] | None  # NPS: where "0 = …" and "10 = …" are
    page_width: int
    right_to_left: bool  # the direction the browser laid the answers out in
    violations: tuple[str, ...]  # axe-core's findings (AXE_VIEWS)
    unreadable: tuple[str, ...]  # text painted under READABLE_CONTRAST (dark views)


Look = Callable[[str, SurveyType, View], Layout]


def scale_labels(email: RenderedEmail) -> list[str]:
    """The NPS scale's two end labels, read from the text part (the two lines before the first answer)."""
    lines = email.text.splitlines()
    first_answer = lines.index(next(line for line in lines if line.endswith("score=0"))) - 1
    return [line for line in lines[:first_answer] if line.strip()][-2:]


def measure(page: Any, email: RenderedEmail, survey_type: SurveyType, view: View) -> Layout:
    """What the email ``page`` shows looks like: the page is already at ``view``."""
    urls = [f"https://surveys.example.com/s/PREVIEW?score={value}" for value in ANSWER_SCALES[survey_type]]
    labels = scale_labels(email) if survey_type == "nps" else []
    found = page.evaluate(MEASURE_JS, [urls, labels])
    violations: list[str] = []
    unreadable: list[str] = []
    if view.dark:
        png = base64.b64encode(page.screenshot(full_page=True)).decode("ascii")
        painted = page.evaluate(PAINTED_CONTRAST_JS, png)
        unreadable = [f"{text!r}: {ratio:.2f}" for text, ratio in painted if ratio < READABLE_CONTRAST]
    if view in AXE_VIEWS:
        results = page.evaluate("async (options) => await axe.run(document, options)", AXE_OPTIONS)
        violations = [
            f"{violation['id']} ({violation['impact']}): {violation['help']}: "
            + "; ".join(node["html"][:120] for node in violation["nodes"][:3])
            for violation in results["violations"]
        ]
    label_boxes = [Box(**label) if label else None for label in found["labels"]]
    return Layout(
        buttons=tuple(Box(**button) for button in found["buttons"]),
        scale_labels=(label_boxes[0], label_boxes[1]) if label_boxes and None not in label_boxes else None,
        page_width=found["pageWidth"],
        right_to_left=found["rightToLeft"],
        violations=tuple(violations),
        unreadable=tuple(unreadable),
    )


def measure_every_view(
    page: Any, devtools: Any, axe: str, email: RenderedEmail, survey_type: SurveyType
) -> dict[View, Layout]:
    """One email in every view: one document with its style block and one without, each resized and
    darkened in place."""
    layouts: dict[View, Layout] = {}
    for styled in (True, False):
        views = [view for view in VIEWS if view.styled is styled]
        show(page, devtools, email.html, views[0])
        # set_content rewrites the document, so axe-core usually stays loaded from the previous email.
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.add_script_tag(content=axe)
        for view in views:
            look_through(page, devtools, view)
            layouts[view] = measure(page, email, survey_type, view)
    return layouts


@pytest.fixture(scope="module")
def right_to_left_renderer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmailRenderer]:
    """Arabic, with the English wording and dates: a stand-in for a right-to-left locale."""
    templates = tmp_path_factory.mktemp("right-to-left") / "templates"
    shutil.copytree(TEMPLATES, templates)
    shutil.copytree(templates / "locales" / "en", templates / "locales" / RIGHT_TO_LEFT)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(dates._UNTIL_RULES, RIGHT_TO_LEFT, dates._UNTIL_RULES["en"])
        yield EmailRenderer(templates, supported_locales=("en", RIGHT_TO_LEFT))


@pytest.fixture(scope="module")
def look(browser_deps: str, right_to_left_renderer: EmailRenderer) -> Iterator[Look]:
    """An email in a view (each email is measured in every view the first time a test asks for it)."""
    renderers = dict.fromkeys(LOCALES, RENDERER) | {RIGHT_TO_LEFT: right_to_left_renderer}
    emails: dict[tuple[str, SurveyType], dict[View, Layout]] = {}
    with open_page() as (_, page, devtools):

        def layout(locale: str, survey_type: SurveyType, view: View) -> Layout:
            if (locale, survey_type) not in emails:
                # The email the send function would send, to a sample customer in ``locale``.
                email = renderers[locale].render_survey(preview.sample_content(locale, survey_type, now=NOW))
                emails[locale, survey_type] = measure_every_view(
                    page, devtools, browser_deps, email, survey_type
                )
            return emails[locale, survey_type][view]

        yield layout


@pytest.mark.parametrize("view", AXE_VIEWS, ids=lambda view: view.name)
@pytest.mark.parametrize(("locale", "survey_type"), EMAILS)
def test_axe_core_finds_nothing_to_fix(look: Look, locale: str, survey_type: SurveyType, view: View) -> None:
    # GIVEN the email in a client's view WHEN axe-core checks it THEN it reports no violation
    assert look(locale, survey_type, view).violations == ()


@pytest.mark.parametrize("view", LIGHT_VIEWS, ids=lambda view: view.name)
@pytest.mark.parametrize(("locale", "survey_type"), EMAILS)
def test_every_answer_button_is_big_enough_to_tap(
    look: Look, locale: str, survey_type: SurveyType, view: View
) -> None:
    # GIVEN the email in a client's view WHEN its answer links are measured
    # THEN each is 44 by 44 px with the style block, and at least WCAG's 24 by 24 px without it
    minimum = STYLED_TARGET_PX if view.styled else UNSTYLED_TARGET_PX
    layout = look(locale, survey_type, view)
    small = [
        f"{value}: {box.width:.1f} by {box.height:.1f}"
        for value, box in zip(ANSWER_SCALES[survey_type], layout.buttons, strict=True)
        if box.width < minimum or box.height < minimum
    ]
    assert small == []


@pytest.mark.parametrize("view", PHONE_VIEWS, ids=lambda view: view.name)
@pytest.mark.parametrize(("locale", "survey_type"), EMAILS)
def test_nothing_is_wider_than_the_phone(
    look: Look, locale: str, survey_type: SurveyType, view: View
) -> None:
    # GIVEN the email on a phone WHEN laid out THEN nothing makes the reader scroll sideways
    assert look(locale, survey_type, view).page_width <= view.width


@pytest.mark.parametrize("view", [DESKTOP, DESKTOP_UNSTYLED], ids=lambda view: view.name)
@pytest.mark.parametrize("locale", NPS_LOCALES)
def test_the_nps_scale_is_one_row_on_a_desktop(look: Look, locale: str, view: View) -> None:
    # GIVEN an NPS email on a desktop WHEN laid out
    layout = look(locale, "nps", view)
    # THEN 0 to 10 sit side by side, in reading order (from the right in a right-to-left language)
    assert layout.right_to_left is (locale == RIGHT_TO_LEFT)
    assert {round(box.top) for box in layout.buttons} == {round(layout.buttons[0].top)}
    lefts = [box.left for box in layout.buttons]
    assert lefts == sorted(lefts, reverse=layout.right_to_left)


@pytest.mark.parametrize("view", LIGHT_VIEWS, ids=lambda view: view.name)
@pytest.mark.parametrize("locale", NPS_LOCALES)
def test_each_end_of_the_nps_scale_is_named_right_under_its_button(
    look: Look, locale: str, view: View
) -> None:
    # GIVEN an NPS email WHEN laid out, wrapped on a phone or not
    layout = look(locale, "nps", view)
    assert layout.scale_labels is not None
    low, high = layout.scale_labels
    zero, ten = layout.buttons[0], layout.buttons[-1]
    # THEN "0 = …" starts under 0 and "10 = …" ends under 10, just below them (mirrored right to left)
    assert 0 <= low.top - zero.bottom <= LABEL_GAP_PX
    assert 0 <= high.top - ten.bottom <= LABEL_GAP_PX
    if layout.right_to_left:
        assert abs(low.right - zero.right) <= EDGE_TOLERANCE_PX
        assert abs(high.left - ten.left) <= EDGE_TOLERANCE_PX
    else:
        assert abs(low.left - zero.left) <= EDGE_TOLERANCE_PX
        assert abs(high.right - ten.right) <= EDGE_TOLERANCE_PX


@pytest.mark.parametrize(("locale", "survey_type"), EMAILS)
def test_text_stays_readable_when_the_client_forces_dark_mode(
    look: Look, locale: str, survey_type: SurveyType
) -> None:
    # GIVEN the email recoloured by a client's forced dark mode WHEN its painted text is measured
    # THEN every line keeps a contrast of at least 4.5:1 with what is behind it
    assert look(locale, survey_type, PHONE_DARK).unreadable == ()


def test_preview_writes_the_screenshots_the_docs_show(browser_deps: str, tmp_path: Path) -> None:
    # GIVEN `make email-screenshots`'s command WHEN it runs into a folder (in its own process: this one
    # already drives a browser for the other tests)
    result = subprocess.run(
        [sys.executable, "-m", "closeloop_cli.preview", "--survey-type", "nps",
         "--screenshots", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # THEN there is one PNG per view, as wide as the view
    written = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert sorted(written) == sorted(f"email-{view.name}.png" for view in preview.SCREENSHOT_VIEWS)
    for view in preview.SCREENSHOT_VIEWS:
        png = written[f"email-{view.name}.png"]
        assert png.startswith(b"\x89PNG")
        assert int.from_bytes(png[16:20], "big") == view.width
