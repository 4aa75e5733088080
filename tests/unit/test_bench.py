"""The benchmark's pure parts run with tiny counts, so ``make bench`` cannot silently rot.

Nothing here asserts on speed: only that each workload does what it claims and the report is complete.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from closeloop.domain.planning import PlanResult
from closeloop.domain.sending import SendResult
from closeloop.domain.surveys import SurveyStatus
from closeloop_cli import bench
from closeloop_cli.judge import LanguageScores

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def _spread(median: float) -> bench.Spread:
    return bench.Spread.of([median * 0.9, median, median * 1.2])


def _fake_report() -> bench.Report:
    def cold(
        name: str, module: str, total: float, packages: tuple[tuple[str, float], ...], floor_of: str = ""
    ) -> bench.ColdStart:
        return bench.ColdStart(
            name=name,
            module=module,
            recipe="" if name == bench.BASELINE else "from closeloop import wiring",
            import_ms=_spread(total * 0.9),
            init_ms=_spread(total * 0.1),
            total_ms=_spread(total),
            first_use_ms=_spread(60.0) if "send" in module else None,
            first_use_label=bench.FIRST_USE_LABELS.get(module, ""),
            process_ms=_spread(total + 80),
            peak_rss_mib=_spread(70.0),
            import_breakdown=packages,
            floor_of=floor_of,
        )

    latencies = [
        bench.Latency("plan one ticket: `plan_followup`, in-memory fakes", _spread(120.0), compared=False),
        bench.Latency("raw Jinja: `survey.html.j2` only", _spread(190.0), baseline=True),
        bench.Latency("raw Jinja: copy + text + HTML templates", _spread(500.0)),
        bench.Latency("`EmailRenderer.render_survey`", _spread(600.0)),
        bench.Latency("`build_mime` alone (stdlib `email`)", _spread(4000.0)),
        bench.Latency("`SurveySender.compose` + `build_mime`", _spread(4600.0)),
    ]
    return bench.Report(
        machine=bench.Machine.current(),
        settings={"runs": 3, "importtime_runs": 1, "warmup": 5},
        cold_starts=[
            cold(bench.BASELINE, "boto3", 700.0, (("botocore", 300.0),)),
            cold(
                "SendFunction", "closeloop.handlers.send", 1800.0, (("botocore", 300.0), ("pydantic", 200.0))
            ),
            cold("SendFunction floor", "importlib", 1400.0, (), floor_of="SendFunction"),
        ],
        latencies=latencies,
        throughput=bench.Throughput(
            events=20,
            plan_seconds=0.7,
            send_seconds=0.8,
            plan_handler_seconds=0.6,
            send_handler_seconds=0.7,
            plan_batches=2,
            send_batches=2,
            surveys_sent=20,
            raw_messages=20,
        ),
        judgment={
            "tuning": {"en": _scores("en", caught=24, negatives=24, flagged=1, others=21)},
            "held-out": {"en": _scores("en", caught=6, negatives=9, flagged=0, others=9)},
        },
    )


def _scores(language: str, *, caught: int, negatives: int, flagged: int, others: int) -> LanguageScores:
    return LanguageScores(language, negatives, caught, others, flagged, 0, (), ())


def test_every_function_of_the_template_is_a_cold_start_subject() -> None:
    modules = {subject.module for subject in bench.discover_handlers()}

    assert {"closeloop.handlers.api", "closeloop.handlers.plan", "closeloop.handlers.send"} <= modules


def test_the_api_is_measured_for_each_kind_of_first_request_with_its_own_environment() -> None:
    api = [subject for subject in bench.discover_handlers() if subject.module == "closeloop.handlers.api"]

    assert [subject.name for subject in api] == ["ApiFunction: survey page", "ApiFunction: webhook"]
    assert {subject.function_id for subject in api} == {"ApiFunction"}
    assert "survey_page_flow" in api[0].recipe
    assert "webhook_dependencies" in api[1].recipe


def test_a_handler_module_that_does_not_exist_yet_is_reported_not_measured() -> None:
    subjects = [
        bench.Subject("PlanFunction", "closeloop.handlers.plan", ""),
        bench.Subject("LaterFunction", "closeloop.handlers.not_written_yet", ""),
    ]

    found, missing = bench.importable(subjects)

    assert [subject.name for subject in found] == ["PlanFunction"]
    assert missing == ["closeloop.handlers.not_written_yet"]


def test_the_in_memory_planner_plans_one_ticket_and_refuses_its_duplicate() -> None:
    # GIVEN the planner over in-memory fakes and a ticket solved five minutes ago
    domain = bench.in_memory_domain()
    ticket = bench.parse_ticket_closed(bench.ticket_closed_event(1, NOW - timedelta(minutes=5)))

    # WHEN it is planned twice
    first = domain.planner.plan_followup(ticket, NOW)
    again = domain.planner.plan_followup(ticket, NOW)

    # THEN one survey is stored, scheduled and announced
    assert (first.result, again.result) == (PlanResult.PLANNED, PlanResult.DUPLICATE)
    assert first.survey_id is not None
    assert domain.store.surveys[first.survey_id].scheduled
    assert list(domain.scheduler.scheduled) == [first.survey_id]
    assert [detail_type for detail_type, _ in domain.publisher.events] == ["Survey Planned"]


def test_the_in_memory_sender_sends_a_planned_survey_once_as_a_mime_message() -> None:
    domain = bench.in_memory_domain()
    ticket = bench.parse_ticket_closed(bench.ticket_closed_event(2, NOW - timedelta(minutes=5)))
    survey_id = domain.planner.plan_followup(ticket, NOW).survey_id
    assert survey_id is not None

    results = [domain.sender.send_survey(survey_id, NOW) for _ in range(2)]

    assert results == [SendResult.SENT, SendResult.NOT_PENDING]
    assert domain.store.surveys[survey_id].status is SurveyStatus.SENT
    assert len(domain.mailer.sent_bytes) == 1
    assert domain.mailer.sent_bytes[0] > 1000


def test_the_raw_jinja_baseline_renders_the_same_html_as_the_renderer() -> None:
    domain = bench.in_memory_domain()
    content = bench.sample_content()
    variables = bench.raw_jinja_variables(domain.renderer, content)

    raw = domain.renderer.environment.get_template("email/survey.html.j2").render(variables)

    assert raw == domain.renderer.render_survey(content).html


def test_the_latency_series_run_with_tiny_counts() -> None:
    results = bench.measure_latencies(iterations=2, warmup=1, progress=lambda _: None)

    assert sum(result.baseline for result in results) == 1
    assert all(result.samples_us.count == 2 for result in results)


def test_import_times_are_summed_by_top_level_package() -> None:
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       100 |        100 |     botocore.utils\n"
        "import time:       400 |        500 |   botocore\n"
        "import time:      1000 |       1500 | closeloop.handlers.plan\n"
    )

    assert bench.import_breakdown(stderr) == {"botocore": 0.5, "closeloop": 1.0}


def test_a_throughput_run_with_missing_emails_is_rejected() -> None:
    result = bench.Throughput(20, 1.0, 1.0, 0.5, 0.5, 2, 2, surveys_sent=20, raw_messages=19)

    with pytest.raises(bench.BenchmarkCheckError, match="SES holds 19 raw messages"):
        bench.check_throughput(result, 20, 20, ["sent"] * 20, {"SendDeadLetterQueue": 0})


def test_the_markdown_report_has_every_section_and_table() -> None:
    markdown = bench.render_markdown(_fake_report())

    for heading in (
        "# Performance baseline",
        "## How to reproduce",
        "## Machine",
        "## Cold start per handler",
        "## Per-operation latency (in process)",
        "## Throughput on a moto server, functions in layer-only workers",
        "## Judgment of comments on the labeled corpus",
        "## Interpretation",
    ):
        assert f"\n{heading}\n" in f"\n{markdown}"
    assert "make bench" in markdown
    assert bench.COMMAND in markdown
    assert "| SendFunction (`closeloop.handlers.send`) |" in markdown
    assert "2.57x" in markdown  # 1800 ms against the 700 ms baseline
    assert "| plan + send |" in markdown


def test_each_function_is_held_to_the_cold_start_goal_with_its_extra_packages_named() -> None:
    # GIVEN a report where SendFunction takes 1800 ms against a 700 ms baseline, 200 ms of it pydantic
    report = _fake_report()

    # WHEN the beyond-the-baseline table is rendered
    table = bench.beyond_baseline_table(report.cold_starts)

    # THEN SendFunction is shown 1100 ms and 2.57x over, outside the goal, with pydantic as the difference
    send_row = next(line for line in table.splitlines() if line.startswith("| SendFunction"))
    assert "+1100" in send_row
    assert "2.57x" in send_row
    assert "| no " in send_row
    assert "pydantic +200" in send_row
    assert "botocore" not in send_row  # the baseline pays for botocore as much


def test_each_function_is_shown_beside_its_floor_and_what_closeloop_adds_to_it() -> None:
    # GIVEN SendFunction at 1800 ms whose libraries and clients alone take 1400 ms, baseline 700 ms
    report = _fake_report()

    # WHEN the report is rendered
    table = bench.beyond_baseline_table(report.cold_starts)
    markdown = bench.render_markdown(report)

    # THEN its row shows the floor at 2.00x and closeloop's own 400 ms
    send_row = next(line for line in table.splitlines() if line.startswith("| SendFunction "))
    assert "2.00x" in send_row
    assert "+400" in send_row
    # AND the floor is no function of its own in any table, while the interpretation says the goal
    # cannot be met with these libraries
    assert not any(line.startswith("| SendFunction floor") for line in markdown.splitlines())
    assert "No function can reach the 1.25x goal with these libraries" in markdown


def test_the_judgment_figures_are_measured_per_language_on_each_corpus_part(tmp_path: Path) -> None:
    # GIVEN a tuning part and a held-out part, each with an English and an Italian file
    tuning, held_out = tmp_path / "tuning", tmp_path / "holdout"
    for folder, negative in ((tuning, "I still can't log in."), (held_out, "The problem came back again.")):
        folder.mkdir()
        lines = [{"text": negative, "locale": "en", "negative": True},
                 {"text": "Thanks, all good now!", "locale": "en", "negative": False}]  # fmt: skip
        (folder / "en.jsonl").write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
        italian = {"text": "Tutto risolto, grazie mille!", "locale": "it", "negative": False}
        (folder / "it.jsonl").write_text(json.dumps(italian), encoding="utf-8")

    # WHEN the bench measures the judgment (with a part not written yet)
    judgment = bench.measure_judgment({"tuning": tuning, "held-out": held_out, "next": tmp_path / "next"})

    # THEN each part has each language's own figures, and the missing part is left out
    assert list(judgment) == ["tuning", "held-out"]
    assert sorted(judgment["tuning"]) == ["en", "it"]
    english = judgment["tuning"]["en"]
    assert (english.caught, english.negatives, english.flagged, english.others) == (1, 1, 0, 1)
    assert judgment["held-out"]["en"].caught == 1
    assert judgment["held-out"]["it"].others == 1


def test_every_judgment_part_says_what_its_figures_can_be_trusted_for() -> None:
    assert set(bench.JUDGMENT_PART_STORIES) == set(bench.JUDGMENT_PARTS)


def test_the_judgment_table_shows_counts_rates_and_whether_the_goals_are_met() -> None:
    table = bench.judgment_table(
        {
            "en": _scores("en", caught=24, negatives=24, flagged=0, others=21),
            "vi": _scores("vi", caught=7, negatives=9, flagged=1, others=9),
        }
    )

    en_row = next(line for line in table.splitlines() if line.startswith("| en "))
    vi_row = next(line for line in table.splitlines() if line.startswith("| vi "))
    assert [cell.strip() for cell in en_row.strip("|").split("|")] == [
        "en", "24 / 24", "100%", "0 / 21", "0%", "100%", "0", "yes",
    ]  # fmt: skip
    assert [cell.strip() for cell in vi_row.strip("|").split("|")] == [
        "vi", "7 / 9", "78%", "1 / 9", "11%", "88%", "0", "no",
    ]  # fmt: skip


def test_the_interpretation_says_where_the_judgment_goals_hold_and_where_not() -> None:
    # GIVEN English meeting the goals on the tuning part (one false alarm in 21 is under 5 %) and missing
    # the recall goal on the held-out part (6 of 9)
    report = _fake_report()

    # WHEN the interpretation is written
    lines = bench.interpretation(report)

    # THEN it states the goals, that they hold on the tuning part, and what misses them on the held-out one
    assert any("at least 90% of clear negatives caught, at most 5%" in line for line in lines)
    assert "Judgment, tuning corpus: the goals hold in every language (1 of 1)." in "\n".join(lines)
    held_out = next(line for line in lines if line.startswith("Judgment, held-out corpus"))
    assert "the goals do not hold; they hold in 0 of 1 languages, not in en (recall 67%)" in held_out
    assert "one comment moves its recall or flagged share by 11%" in held_out
