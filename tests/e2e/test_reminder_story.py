"""The one reminder on ``closeloop sandbox``: SendFunction, run as Lambda runs it, schedules the reminder with
the survey email; the sandbox fires the schedule when it is due, and the customer reads one reminder with
the first email's links."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from tests.e2e.sandbox_process import (
    IMMEDIATE_SURVEYS,
    REPO,
    RunningSandbox,
    eventually,
    put_ticket_event,
    start_sandbox,
)

ADDRESS = "lucia.fernandez@example.com"


def emails_to(sandbox: RunningSandbox, address: str) -> list[EmailMessage]:
    found = []
    for path in sorted(sandbox.outbox.glob("*.eml")) if sandbox.outbox.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if message["To"].addresses[0].addr_spec == address:
            found.append(message)
    return found


def links(message: EmailMessage, base: str) -> list[str]:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return [word for word in text.split() if word.startswith(base)]


def test_an_unanswered_survey_gets_its_reminder_once_when_the_sandbox_fires_it(tmp_path: Path) -> None:
    sandbox = start_sandbox(
        tmp_path, REPO / "template.yaml", *IMMEDIATE_SURVEYS, "SenderAddress=support@acme.example"
    )
    try:
        scheduler, group = sandbox.client("scheduler"), sandbox.outputs()["ScheduleGroupName"]
        # GIVEN Lucía's ticket (Spanish) is solved and her survey email goes out
        put_ticket_event(
            sandbox,
            {
                "ticket_id": "R9", "helpdesk": "generic", "status": "solved",
                "closed_at": datetime.now(UTC).isoformat(),
                "customer": {"email": ADDRESS, "name": "Lucía Fernández", "locale": "es"},
            },
        )  # fmt: skip
        [first] = eventually(lambda: emails_to(sandbox, ADDRESS), timeout=30)

        # THEN SendFunction scheduled her reminder, three days on
        def reminder_schedules() -> list[str]:
            schedules = scheduler.list_schedules(GroupName=group)["Schedules"]
            return [s["Name"] for s in schedules if s["Name"].startswith("reminder-")]

        [name] = eventually(reminder_schedules, timeout=30)
        schedule = scheduler.get_schedule(GroupName=group, Name=name)
        due = datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)
        assert (due - datetime.now(UTC)).days >= 2
        # WHEN its moment comes (moved to now: the sandbox's pump fires due schedules every second)
        scheduler.update_schedule(
            GroupName=group,
            Name=name,
            ScheduleExpression=f"at({datetime.now(UTC):%Y-%m-%dT%H:%M:%S})",
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target=schedule["Target"],
        )
        # THEN she reads one reminder, in Spanish, with the survey email's links
        first, reminder = eventually(lambda: (found := emails_to(sandbox, ADDRESS))[1:] and found, timeout=30)
        assert reminder["Subject"].startswith("Recordatorio: ")
        assert links(reminder, f"{sandbox.api_url}/s/") == links(first, f"{sandbox.api_url}/s/")
        assert reminder["List-Unsubscribe"] == first["List-Unsubscribe"]
        # AND its schedule is gone, so no second reminder can come
        eventually(lambda: not reminder_schedules(), timeout=10)
        assert len(emails_to(sandbox, ADDRESS)) == 2
    finally:
        sandbox.stop()
