"""``closeloop judge``: one verdict as JSON, a JSONL file judged line by line, a labeled corpus measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from closeloop_cli import main
from closeloop_cli.judge import corpus_scores


def judge(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main.main(["judge", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_one_text_prints_its_verdict_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = judge(capsys, "--locale", "it", "Non funziona ancora.")

    assert status == 0
    verdict = json.loads(out)
    assert verdict["negative"] is True
    assert verdict["action"] == "reopen"
    assert verdict["reasons"] == ["negative_comment"]
    assert verdict["evidence"]


def test_a_good_score_and_resolved_turn_a_complaint_into_an_alert(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = judge(capsys, "--locale", "en", "--score", "5", "--resolved", "yes", "Terrible wait.")

    assert status == 0
    assert json.loads(out)["action"] == "alert"


def test_a_happy_answer_prints_no_action(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = judge(capsys, "--locale", "fr", "--score", "5", "Merci, tout est réglé !")

    assert json.loads(out) == {"negative": False, "action": "none", "reasons": [], "evidence": []}


def test_a_score_outside_the_scale_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = judge(capsys, "--locale", "en", "--score", "9", "Fine")

    assert status == 2
    assert out == ""
    assert "csat score must be 1-5" in err


def test_a_jsonl_file_gets_one_verdict_per_line_in_order_and_bad_lines_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a file with good lines around a broken one, a line without text and a bad score
    source = tmp_path / "history.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps({"text": "Still broken.", "locale": "en"}),
                "{not json",
                json.dumps({"locale": "de"}),
                json.dumps({"text": "Ok", "locale": "en", "score": 0}),
                json.dumps({"text": "Tutto ok, grazie", "locale": "it", "score": 5, "resolved": "yes"}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )

    status, out, err = judge(capsys, "--jsonl", str(source))

    # THEN every line has its answer, numbered, and the run says some lines were bad
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["line"] for row in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["action"] == "reopen"
    assert rows[1]["error"].startswith("not JSON")
    assert rows[2]["error"] == '"text" must be a non-empty string'
    assert "score must be 1-5" in rows[3]["error"]
    assert rows[4]["action"] == "none"
    assert "line 2:" in err
    assert status == 1


def test_jsonl_verdicts_can_be_written_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(json.dumps({"text": "Sigue sin funcionar", "locale": "es"}) + "\n", encoding="utf-8")

    status, out, _ = judge(capsys, "--jsonl", str(source), "--out", str(target))

    assert status == 0
    assert out == ""
    [row] = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert row["negative"] is True


def labeled(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    rows = [
        {"text": "Still not working.", "locale": "en", "negative": True},
        {"text": "Thanks, all good.", "locale": "en", "negative": True},  # a miss
        {"text": "Works now, thank you.", "locale": "en", "negative": False},
        {"text": "Worst help ever.", "locale": "en", "negative": False},  # a false alarm
        {"text": "Ainda não funciona.", "locale": "pt-BR", "negative": True},
        {"text": "Still broken.", "locale": "en", "score": 5, "resolved": True, "negative": True},
    ]
    (folder / "mixed.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    return folder


def test_corpus_scores_count_catches_misses_and_false_alarms_per_language(tmp_path: Path) -> None:
    scores = corpus_scores([labeled(tmp_path)])

    english, portuguese = scores["en"], scores["pt"]
    assert (english.negatives, english.caught, english.others, english.flagged) == (3, 2, 2, 1)
    assert english.recall == pytest.approx(2 / 3)
    assert english.precision == pytest.approx(2 / 3)
    assert english.false_alarm_rate == pytest.approx(1 / 2)
    assert english.missed == ("Thanks, all good.",)
    assert english.false_alarms == ("Worst help ever.",)
    assert english.happy_reopened == 0  # "still broken" after five stars and "resolved": an alert
    assert not english.meets_goals
    assert (portuguese.negatives, portuguese.caught, portuguese.recall) == (1, 1, 1.0)


def test_evaluate_prints_a_table_per_language(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = judge(capsys, "--evaluate", str(labeled(tmp_path)))

    assert status == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["lang", "caught", "recall"]
    assert lines[1].split()[0] == "en"
    assert lines[1].endswith("MISSED")
    assert lines[2].split()[0] == "pt"
    assert lines[2].endswith("met")


def test_evaluate_can_print_the_figures_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = judge(capsys, "--evaluate", str(labeled(tmp_path)), "--json")

    assert status == 0
    figures = {row["language"]: row for row in json.loads(out)}
    assert figures["en"]["recall"] == pytest.approx(2 / 3)
    assert figures["pt"]["meets_goals"] is True


def test_an_unlabeled_corpus_line_is_an_error_naming_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text(json.dumps({"text": "Hi", "locale": "en"}) + "\n", encoding="utf-8")

    status, _, err = judge(capsys, "--evaluate", str(corpus))

    assert status == 1
    assert f"{corpus}:1" in err


def test_a_folder_without_labeled_lines_is_an_error_not_an_empty_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a folder whose corpus sits one level down (a folder stands for its own *.jsonl files)
    (tmp_path / "round2").mkdir()
    (tmp_path / "round2" / "en.jsonl").write_text(
        json.dumps({"text": "Hi", "locale": "en", "negative": False}) + "\n", encoding="utf-8"
    )

    # WHEN it is evaluated
    status, out, err = judge(capsys, "--evaluate", str(tmp_path))

    # THEN it fails and says why, instead of printing a table that misses nothing
    assert status == 1
    assert out == ""
    assert "no labeled lines" in err
