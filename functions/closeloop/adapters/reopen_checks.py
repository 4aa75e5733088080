"""Reopen checks as delayed messages on the reopen queue: the answers service's ``ReopenChecks`` port, and
the follow-ups of email replies (``ReplyFollowUps``)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from closeloop.domain.queue_messages import ReopenRequest

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsReopenChecks:
    """Reopen checks as delayed messages on the reopen queue (SQS delays up to 15 minutes)."""

    MAX_DELAY = timedelta(minutes=15)

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def request_check(self, survey_id: str, response_id: str, delay: timedelta) -> None:
        self._request(ReopenRequest(survey_id, response_id), delay)

    def request_reply_follow_up(self, survey_id: str, response_id: str, delay: timedelta) -> None:
        """The follow-up of an email reply (``ReplyFollowUps`` of ``closeloop.domain.replies``)."""
        self._request(ReopenRequest(survey_id, response_id, reply=True), delay)

    def _request(self, request: ReopenRequest, delay: timedelta) -> None:
        if not self._queue_url:
            raise RuntimeError("REOPEN_QUEUE_URL is not configured: an answer cannot be followed up")
        seconds = int(min(max(delay, timedelta(0)), self.MAX_DELAY).total_seconds())
        self._client.send_message(
            QueueUrl=self._queue_url, MessageBody=request.to_body(), DelaySeconds=seconds
        )
