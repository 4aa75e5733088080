"""Delivering "send survey X" (or "send its reminder") to the send queue at the right moment.

Sends due within SQS's 15-minute delay limit go straight to the queue with a delay; later ones get a
one-time EventBridge Scheduler ``at()`` schedule that targets the queue and deletes itself afterwards.
A survey's reminder has a schedule of its own (``reminder-<survey id>``), beside its send's; a request
that arrived late inside the customer's quiet hours is held on one more (``held-…``) until they end.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from closeloop.domain.queue_messages import SendRequest
from closeloop.domain.surveys import Survey

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_sqs import SQSClient

SQS_MAX_DELAY = timedelta(minutes=15)


def schedule_name(survey_id: str) -> str:
    return f"survey-{survey_id}"


def reminder_schedule_name(survey_id: str) -> str:
    return f"reminder-{survey_id}"


def held_schedule_name(survey_id: str, *, reminder: bool, until: datetime) -> str:
    """A held request's schedule: named after the moment it waits for, so holding it again in the same
    quiet window is the same schedule, and its original schedule (which may still be deleting itself after
    firing) is never in the way."""
    kind = "reminder" if reminder else "survey"
    return f"held-{kind}-{survey_id}-{until.astimezone(UTC):%Y%m%d%H%M}"


class SurveySendScheduler:
    def __init__(
        self,
        scheduler: EventBridgeSchedulerClient,
        sqs: SQSClient,
        *,
        group: str,
        role_arn: str,
        queue_arn: str,
        queue_url: str,
        dead_letter_arn: str | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._sqs = sqs
        self._group = group
        self._role_arn = role_arn
        self._queue_arn = queue_arn
        self._queue_url = queue_url
        self._dead_letter_arn = dead_letter_arn

    def schedule_send(self, survey: Survey, now: datetime) -> None:
        """Idempotent: scheduling the same survey twice leaves one schedule."""
        self._deliver(schedule_name(survey.survey_id), SendRequest(survey.survey_id), survey.send_at, now)

    def schedule_reminder(self, survey_id: str, at: datetime, now: datetime) -> None:
        """Idempotent: scheduling the same survey's reminder twice leaves one schedule."""
        self._deliver(reminder_schedule_name(survey_id), SendRequest(survey_id, reminder=True), at, now)

    def hold(self, survey_id: str, *, reminder: bool, until: datetime, now: datetime) -> None:
        """Deliver the request again at ``until`` (the end of the customer's quiet hours)."""
        name = held_schedule_name(survey_id, reminder=reminder, until=until)
        self._deliver(name, SendRequest(survey_id, reminder=reminder), until, now)

    def _deliver(self, name: str, request: SendRequest, at: datetime, now: datetime) -> None:
        wait = at - now
        body = request.to_body()
        if wait <= SQS_MAX_DELAY:
            self._sqs.send_message(
                QueueUrl=self._queue_url,
                MessageBody=body,
                DelaySeconds=max(0, min(900, math.ceil(wait.total_seconds()))),
            )
            return
        target: dict[str, object] = {
            "Arn": self._queue_arn,
            "RoleArn": self._role_arn,
            "Input": body,
            "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
        }
        if self._dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self._dead_letter_arn}
        try:
            self._scheduler.create_schedule(
                Name=name,
                GroupName=self._group,
                ScheduleExpression=f"at({at.astimezone(UTC):%Y-%m-%dT%H:%M:%S})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target=target,  # type: ignore[arg-type]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConflictException":
                raise

    def cancel_send(self, survey_id: str) -> None:
        """Delete a pending schedule; a send already queued is stopped by the survey's status."""
        self._delete(schedule_name(survey_id))

    def cancel_reminder(self, survey_id: str) -> None:
        """Delete a pending reminder's schedule; one that already fired is stopped by the survey's state."""
        self._delete(reminder_schedule_name(survey_id))

    def _delete(self, name: str) -> None:
        try:
            self._scheduler.delete_schedule(Name=name, GroupName=self._group)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
