"""The digest function on the provisioned stack (moto): one digest per due lead, once; unsubscribing stops it.

The archive is read through the report API, which is an adapter of its own (tested with the archive);
here ``ArchiveReportSource`` answers from ``SampleReports``, and everything else is the stack's own:
the leads and claims in the surveys table, the signing keys in Secrets Manager, SES v2, the HTTP API.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from closeloop import wiring
from closeloop.adapters.digest_reports import ArchiveReportSource
from closeloop.domain.leads import team_lead
from closeloop.handlers import digest
from closeloop_cli.digest import fire_digest
from closeloop_cli.digest_samples import SampleReports, sample_reports, sample_week
from closeloop_cli.main import main
from closeloop_cli.scheduler_pump import SchedulerPump
from tests import archives
from tests.fakes import LambdaContext
from tests.integration.conftest import Stack
from tests.integration.journeys import sent_messages
from tests.integration.page_requests import call, http_event

# Monday 30 November 2026 07:00 UTC: 08:00 in Madrid, 02:00 in New York.
MONDAY_MADRID_8 = "2026-11-30T07:00:00Z"
NEXT_MONDAY_MADRID_8 = "2026-12-07T07:00:00Z"


@pytest.fixture
def archive(monkeypatch: pytest.MonkeyPatch) -> SampleReports:
    """The report API's answers for the weeks of 30 November 2026: Billing's."""
    reports = sample_reports(sample_week(), team="Billing")

    def reports_for(self: ArchiveReportSource, days: list[date]) -> SampleReports:
        return reports.reports_for(days)

    monkeypatch.setattr(ArchiveReportSource, "reports_for", reports_for)
    return reports


@pytest.fixture
def leads(stack: Stack) -> None:
    repository = wiring.team_lead_repository()
    repository.put(team_lead("Billing", "ana@acme.example", "es", "Europe/Madrid"), datetime.now(UTC))
    repository.put(team_lead("Returns", "marc@acme.example", "it", "America/New_York"), datetime.now(UTC))


def run_digest(at: str) -> dict[str, Any]:
    result: dict[str, Any] = digest.lambda_handler({"at": at}, LambdaContext())  # type: ignore[arg-type]
    return result


def digests_sent() -> list[Any]:
    return [
        message
        for message in sent_messages()
        if message["List-Unsubscribe"] and "/d/" in message["List-Unsubscribe"]
    ]


def test_each_due_lead_gets_one_digest_in_their_language(
    stack: Stack, leads: None, archive: SampleReports
) -> None:
    # WHEN the hourly run of Monday 07:00 UTC comes
    result = run_digest(MONDAY_MADRID_8)
    # THEN Billing's lead (08:00 in Madrid) gets the digest; Returns' (02:00 in New York) is not due yet
    assert result["outcomes"] == {"billing": "sent"}
    [message] = digests_sent()
    assert message["To"] == "ana@acme.example"
    assert message["Subject"].startswith("Resumen semanal del equipo Billing")
    assert message["Content-Language"] == "es"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Nguyễn Văn An" in message.get_body(("plain",)).get_content()
    # AND the week is claimed in the table as sent
    claim = stack.clients["dynamodb"].get_item(
        TableName=stack.table, Key={"PK": {"S": "DIGEST#billing"}, "SK": {"S": "WEEK#2026-W48"}}
    )["Item"]
    assert claim["state"]["S"] == "sent"


def test_a_retried_run_does_not_send_again(stack: Stack, leads: None, archive: SampleReports) -> None:
    run_digest(MONDAY_MADRID_8)
    # WHEN Scheduler retries the same hour (or a second run overlaps it)
    result = run_digest(MONDAY_MADRID_8)
    # THEN nothing more is sent
    assert result["outcomes"] == {"billing": "already_sent"}
    assert len(digests_sent()) == 1


def test_a_lead_is_due_in_their_own_hour(stack: Stack, leads: None, archive: SampleReports) -> None:
    # 08:00 in New York is 13:00 UTC: Returns' lead is due, and has nothing to report (no surveys)
    assert run_digest("2026-11-30T13:00:00Z")["outcomes"] == {"returns": "nothing_to_report"}
    assert digests_sent() == []


def test_unsubscribing_stops_the_digest_and_setting_the_lead_again_restarts_it(
    stack: Stack, leads: None, archive: SampleReports
) -> None:
    run_digest(MONDAY_MADRID_8)
    [message] = digests_sent()
    url = message["List-Unsubscribe"].strip("<>")
    before = stack.clients["dynamodb"].scan(TableName=stack.table)["Count"]
    # WHEN a mail scanner opens the link, THEN the page only asks
    status, page = call(http_event("GET", url))
    assert status == 200
    assert 'name="List-Unsubscribe" value="One-Click"' in page
    assert stack.clients["dynamodb"].scan(TableName=stack.table)["Count"] == before
    # WHEN the mail client posts the one-click unsubscribe
    status, page = call(http_event("POST", url, {"List-Unsubscribe": "One-Click"}))
    assert status == 200
    # THEN next Monday's run sends Billing nothing
    assert run_digest(NEXT_MONDAY_MADRID_8)["outcomes"] == {}
    assert len(digests_sent()) == 1
    # AND setting the lead again turns it back on
    again = ["leads", "set", "Billing", "ana@acme.example", "--timezone", "Europe/Madrid"]
    assert main([*again, "--table", os.environ["SURVEYS_TABLE"]]) == 0
    assert "billing" in run_digest(NEXT_MONDAY_MADRID_8)["outcomes"]


def test_a_post_without_one_click_or_with_an_altered_token_changes_nothing(
    stack: Stack, leads: None, archive: SampleReports
) -> None:
    run_digest(MONDAY_MADRID_8)
    [message] = digests_sent()
    url = message["List-Unsubscribe"].strip("<>")
    assert call(http_event("POST", url, {"other": "x"}))[0] == 400
    assert call(http_event("POST", url[:-3] + "abc", {"List-Unsubscribe": "One-Click"}))[0] == 404
    assert call(http_event("GET", url[:-3] + "abc"))[0] == 404
    assert wiring.digest_store().unsubscribed() == frozenset()


def test_the_default_lead_can_be_resubscribed_with_the_cli(stack: Stack) -> None:
    store = wiring.digest_store()
    store.unsubscribe("@default", datetime.now(UTC))
    assert store.unsubscribed() == frozenset({"@default"})
    assert main(["digest", "--resubscribe", "@default", "--table", os.environ["SURVEYS_TABLE"]]) == 0
    assert store.unsubscribed() == frozenset()


def test_an_invalid_moment_is_refused_before_any_work(stack: Stack) -> None:
    with pytest.raises(digest.InvalidDigestEventError):
        run_digest("next monday")
    with pytest.raises(digest.InvalidDigestEventError):
        run_digest("2026-11-30T07:00:00")  # no offset


def test_digest_at_is_fired_by_the_sandbox_pump_with_the_moment(stack: Stack) -> None:
    # GIVEN the sandbox's scheduler (moto) and its pump, which fires one-time schedules
    scheduler = stack.clients["scheduler"]
    invoked: list[tuple[str, Any]] = []

    class Runner:
        def invoke(self, logical_id: str, event: Any) -> None:
            invoked.append((logical_id, event))

    pump = SchedulerPump(
        scheduler_client=scheduler,
        sqs_client=stack.clients["sqs"],
        events_client=stack.clients["events"],
        sns_client=None,
        groups=[stack.outputs["ScheduleGroupName"]],
        runner=Runner(),  # type: ignore[arg-type]
        function_arns={stack.outputs["DigestFunctionArn"]: "DigestFunction"},
        stop=threading.Event(),
    )
    # WHEN `closeloop digest --at` puts its schedule (no pump runs yet: it is not fired)
    at = datetime(2026, 11, 30, 7, tzinfo=UTC)
    assert fire_digest(scheduler, stack.outputs, at, wait=0) is False
    # THEN the pump's next round invokes DigestFunction with that moment, once
    assert pump.pump_once() == 1
    assert pump.pump_once() == 0
    assert invoked == [("DigestFunction", {"at": "2026-11-30T07:00:00Z"})]


def test_the_digest_reads_its_figures_from_the_archive_in_s3(stack: Stack, leads: None) -> None:
    # GIVEN the archive in the stack's bucket: Billing sent 3 surveys last week (one answered badly and
    # reopened) and 1 the week before; Returns sent one too
    monday = datetime(2026, 11, 23, 10, tzinfo=UTC)
    events = [
        archives.sent("s1", monday, agent="Marta Puig"),
        archives.sent("s2", monday + timedelta(days=1), agent="Marta Puig"),
        archives.sent("s3", monday + timedelta(days=2), agent="Nguyễn Văn An"),
        archives.answered("s2", monday + timedelta(days=1, hours=3), 1, reasons=["slow"], resolved=False),
        archives.reopened("s2", monday + timedelta(days=1, hours=4)),
        archives.sent("s0", monday - timedelta(days=5), agent="Marta Puig"),
        archives.sent("r1", monday, agent="Luis Pérez", team="Returns"),
    ]
    archives.put_archive(boto3.client("s3", region_name="eu-west-1"), os.environ["ARCHIVE_BUCKET"], events)
    # WHEN Monday's 08:00 in Madrid comes
    assert run_digest(MONDAY_MADRID_8)["outcomes"] == {"billing": "sent"}
    # THEN Billing's lead reads Billing's week, from the archive
    [message] = digests_sent()
    text = message.get_body(("plain",)).get_content()
    assert "Encuestas enviadas: 3 (Semana anterior: 1, Variación: +2)" in text
    assert "Marta Puig" in text
    assert "Nguyễn Văn An" in text
    assert "Luis Pérez" not in text
    assert text.count("#T-s2") == 2  # reopened, and a negative answer
    assert "tardaron demasiado" in text
