"""EventBridge Scheduler for the sandbox: moto stores schedules but never fires them; this pump does.

Every second it lists the schedules of the sandbox's groups, and when a one-time ``at(...)`` schedule is
due (in its ``ScheduleExpressionTimezone``) it delivers ``Target.Input`` to ``Target.Arn``: an SQS queue
(SendMessage), a function of the stack (invoked directly), an EventBridge bus or an SNS topic. It then
deletes the schedule when ``ActionAfterCompletion`` is ``DELETE``, or remembers it so it fires once.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from closeloop_cli.runtime import FunctionRunner

logger = logging.getLogger(__name__)

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")


def due_time(expression: str, timezone: str | None) -> datetime | None:
    """When a one-time ``at(yyyy-mm-ddThh:mm:ss)`` schedule fires, in UTC; ``None`` for rate/cron."""
    match = _AT.match(expression.strip())
    if match is None:
        return None
    local = datetime.fromisoformat(match.group(1)).replace(tzinfo=ZoneInfo(timezone or "UTC"))
    return local.astimezone(UTC)


class SchedulerPump(threading.Thread):
    def __init__(
        self,
        *,
        scheduler_client: Any,
        sqs_client: Any,
        events_client: Any,
        sns_client: Any,
        groups: Iterable[str],
        runner: FunctionRunner,
        function_arns: dict[str, str],
        stop: threading.Event,
        interval_seconds: float = 1.0,
    ) -> None:
        super().__init__(name="scheduler-pump", daemon=True)
        self.scheduler = scheduler_client
        self.sqs = sqs_client
        self.events = events_client
        self.sns = sns_client
        self.groups = list(dict.fromkeys([*groups, "default"]))
        self.runner = runner
        self.function_arns = function_arns
        self.stop_event = stop
        self.interval = interval_seconds
        self._fired: set[tuple[str, str, str]] = set()
        self._warned: set[str] = set()

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            try:
                self.pump_once()
            except Exception:
                if self.stop_event.is_set():
                    break
                logger.exception("scheduler pump failed")

    def pump_once(self, now: datetime | None = None) -> int:
        """Fire every due schedule; returns how many fired."""
        now = now or datetime.now(UTC)
        fired = 0
        for group in self.groups:
            for summary in self._schedules(group):
                if summary.get("State") == "DISABLED":
                    continue
                name = summary["Name"]
                schedule = self.scheduler.get_schedule(GroupName=group, Name=name)
                expression = str(schedule.get("ScheduleExpression", ""))
                key = (group, name, f"{expression}@{schedule.get('LastModificationDate')}")
                if key in self._fired:
                    continue
                when = due_time(expression, schedule.get("ScheduleExpressionTimezone"))
                if when is None:
                    if name not in self._warned:
                        self._warned.add(name)
                        logger.warning(
                            "schedule %s/%s (%s) is not fired by the sandbox", group, name, expression
                        )
                    continue
                if when > now:
                    continue
                self._deliver(schedule["Target"], f"{group}/{name}")
                fired += 1
                if schedule.get("ActionAfterCompletion") == "DELETE":
                    self.scheduler.delete_schedule(GroupName=group, Name=name)
                else:
                    self._fired.add(key)
        return fired

    def _schedules(self, group: str) -> list[dict[str, Any]]:
        summaries: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {"GroupName": group}
        while True:
            try:
                page = self.scheduler.list_schedules(**arguments)
            except self.scheduler.exceptions.ResourceNotFoundException:
                return summaries
            summaries.extend(page.get("Schedules") or [])
            token = page.get("NextToken")
            if not token:
                return summaries
            arguments["NextToken"] = token

    def _deliver(self, target: dict[str, Any], schedule: str) -> None:
        arn = str(target["Arn"])
        payload = str(target.get("Input", "{}"))
        parts = arn.split(":")
        service = parts[2] if len(parts) > 2 else ""
        logger.info("schedule %s is due: delivering to %s", schedule, arn)
        if service == "sqs":
            url = self.sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
            arguments: dict[str, Any] = {"QueueUrl": url, "MessageBody": payload}
            group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
            if group_id:
                arguments["MessageGroupId"] = group_id
            self.sqs.send_message(**arguments)
        elif service == "lambda" and arn in self.function_arns:
            self.runner.invoke(self.function_arns[arn], json.loads(payload))
        elif service == "events":
            parameters = target.get("EventBridgeParameters") or {}
            self.events.put_events(
                Entries=[
                    {
                        "EventBusName": arn,
                        "Source": parameters.get("Source", "aws.scheduler"),
                        "DetailType": parameters.get("DetailType", "Scheduled Event"),
                        "Detail": payload,
                    }
                ]
            )
        elif service == "sns":
            self.sns.publish(TopicArn=arn, Message=payload)
        else:
            logger.warning("schedule %s targets %s, which the sandbox cannot deliver to", schedule, arn)
