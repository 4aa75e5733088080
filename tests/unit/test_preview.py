"""`closeloop preview`: the survey email with sample data, in the terminal or a file."""

from __future__ import annotations

import argparse
import html
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from closeloop.domain.surveys import ANSWER_SCALES
from closeloop_cli import preview

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LOCALES_DIR = TEMPLATES / "locales"


def test_shows_the_text_part_with_its_subject_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN no options WHEN previewed THEN the English CSAT text part and its subject are printed
    assert preview.main([]) == 0
    output = capsys.readouterr().out
    assert output.startswith("Subject: How did we do with your request #4521?\n")
    assert "Hi Emily," in output
    assert "https://surveys.example.com/s/PREVIEW?score=4" in output


def test_previews_in_the_requested_locale_with_a_local_customer(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN --locale it WHEN previewed THEN the email is Italian and greets an Italian sample customer
    assert preview.main(["--locale", "it"]) == 0
    output = capsys.readouterr().out
    assert "Buongiorno Giulia," in output
    assert "Come valuta l\N{RIGHT SINGLE QUOTATION MARK}assistenza che ha ricevuto?" in output


def test_html_format_prints_the_html_part(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN --format html WHEN previewed THEN the HTML document is printed
    assert preview.main(["--locale", "hr", "--format", "html"]) == 0
    assert '<html lang="hr" dir="ltr"' in capsys.readouterr().out


@pytest.mark.parametrize("survey_type", ["csat", "nps", "ces", "resolved"])
def test_every_survey_type_can_be_previewed(survey_type: str, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN each survey type WHEN previewed THEN it renders with one sample link per answer
    assert preview.main(["--survey-type", survey_type]) == 0
    output = capsys.readouterr().out
    assert output.count("https://surveys.example.com/s/PREVIEW?score=") == len(ANSWER_SCALES[survey_type])


def test_out_with_html_suffix_writes_the_html_part(tmp_path: Path) -> None:
    # GIVEN --out FILE.html WHEN previewed THEN the file holds the HTML part
    out = tmp_path / "preview-it.html"
    assert preview.main(["--locale", "it", "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="it"' in html


def test_out_with_txt_suffix_writes_the_text_part(tmp_path: Path) -> None:
    # GIVEN --out FILE.txt WHEN previewed THEN the file holds the subject and text part
    out = tmp_path / "preview.txt"
    assert preview.main(["--locale", "de", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith(
        "Subject: Wie war unsere Hilfe bei Ihrer Anfrage #4521?"
    )


def test_out_eml_is_refused_because_preview_builds_no_mime(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN --out FILE.eml WHEN previewed THEN it exits 2 with an explanation and writes nothing
    out = tmp_path / "preview.eml"
    assert preview.main(["--out", str(out)]) == 2
    assert "MIME" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("other", [["--out", "x.html"], ["--format", "html"]])
def test_screenshots_are_refused_with_an_output_file_or_format(
    other: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN --screenshots with --out or --format WHEN previewed THEN it says what to leave out, writes nothing
    assert preview.main(["--screenshots", str(tmp_path), *other]) == 2
    assert "--screenshots writes PNGs" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unknown_names_preview_the_wording_used_without_them(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN empty customer and agent names WHEN previewed THEN the anonymous greeting and team wording show
    assert preview.main(["--customer-name", "", "--agent-name", ""]) == 0
    output = capsys.readouterr().out
    assert "Hello," in output
    assert "Our team at Acme Support" in output


def test_a_locale_without_catalog_falls_back_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a locale that is not shipped WHEN previewed THEN English is rendered and stderr says why
    assert preview.main(["--locale", "zz"]) == 0
    captured = capsys.readouterr()
    assert "Hi Emily," in captured.out
    assert "rendered 'en'" in captured.err


def test_templates_option_renders_a_business_own_wording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a copy of the templates with new wording WHEN previewed with --templates THEN it shows
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    text = templates / "email" / "survey.txt.j2"
    text.write_text(
        text.read_text(encoding="utf-8").replace("{{ brand }}\n", "{{ brand }} \N{EN DASH} Customer Care\n")
    )
    assert preview.main(["--templates", str(templates)]) == 0
    assert "Acme Support \N{EN DASH} Customer Care" in capsys.readouterr().out


def test_templates_path_environment_variable_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN TEMPLATES_PATH pointing at a folder without templates WHEN previewed THEN it fails clearly
    monkeypatch.setenv("TEMPLATES_PATH", str(tmp_path))
    assert preview.main([]) == 1
    assert "closeloop preview:" in capsys.readouterr().err


def test_register_adds_a_preview_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the closeloop command's subparsers WHEN preview registers THEN `closeloop preview` runs it
    parser = argparse.ArgumentParser(prog="closeloop")
    preview.register(parser.add_subparsers(dest="command", required=True))
    arguments = parser.parse_args(["preview", "--locale", "ca", "--survey-type", "resolved"])
    assert arguments.run(arguments) == 0
    assert "S\N{RIGHT SINGLE QUOTATION MARK}ha resolt el seu problema?" in capsys.readouterr().out


def _review_text(folder: Path) -> str:
    return "\n".join(html.unescape(path.read_text(encoding="utf-8")) for path in sorted(folder.iterdir()))


@pytest.mark.parametrize("locale", ["it", "fr", "pt-PT", "hr", "vi"])
def test_all_writes_every_message_of_every_part_in_context(
    locale: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a locale WHEN `preview --all DIR` runs THEN DIR holds the email, every page and every alert, and
    # every sentence of the locale's three catalogs is in one of them (so a reviewer reads each in context)
    assert preview.main(["--locale", locale, "--all", str(tmp_path)]) == 0
    names = {path.name for path in tmp_path.iterdir()}
    assert {"index.html", "email-csat.html", "email-nps.txt", "page-survey-ces-errors.html"} <= names
    assert {
        "page-unsubscribe.html",
        "page-error-expired.html",
        "alert-cap_reached.html",
        "helpdesk-note.txt",
        "reply-note.txt",
    } <= names
    text = _review_text(tmp_path)
    unseen = []
    for domain in ("closeloop", "pages", "alerts"):
        with (LOCALES_DIR / locale.replace("-", "_") / "LC_MESSAGES" / f"{domain}.po").open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if not message.id:
                continue
            # the plural form for the sample's reopen cap (2) is the one shown
            string = message.string[-1] if isinstance(message.string, tuple) else message.string
            fragments = [part.strip() for part in re.split(r"%\(\w+\)s", string) if len(part.strip()) > 2]
            if not all(fragment in text for fragment in fragments):
                unseen.append((domain, message.id))
    assert unseen == []
    assert f"wrote {len(names)} files" in capsys.readouterr().err
