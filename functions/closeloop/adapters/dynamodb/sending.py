"""``SendingStore`` on the surveys table: the claim (planned → sending) that lets one sender win, and the
same for a survey's one reminder (its ``reminder`` attribute: scheduled → sending → sent, or skipped)."""

from __future__ import annotations

import uuid
from datetime import datetime

from closeloop.adapters.dynamodb.items import (
    iso,
    marshal,
    sent_message_item,
    survey_key,
    unmarshal,
)
from closeloop.adapters.dynamodb.table import SurveysTable
from closeloop.domain.messages import message_id_key
from closeloop.domain.surveys import (
    ReminderNotClaimableError,
    ReminderSkipReason,
    ReminderStatus,
    Survey,
    SurveyNotClaimableError,
    SurveyStatus,
)


class DynamoSendingStore:
    """What sending reads and writes: the survey, its suppression, its claim and its sent mark."""

    def __init__(self, table: SurveysTable) -> None:
        self._table = table

    def get_survey(self, survey_id: str) -> Survey | None:
        return self._table.get_survey(survey_id)

    def is_suppressed(self, email: str) -> bool:
        return self._table.is_suppressed(email)

    def mark_suppressed(self, survey_id: str, now: datetime) -> None:
        self._table.transition(survey_id, SurveyStatus.PLANNED, SurveyStatus.SUPPRESSED, now)

    def claim_for_sending(self, survey_id: str, now: datetime) -> None:
        """Move planned → sending; exactly one sender wins, whatever the redeliveries.

        The claim carries a token of this call. When the write times out after DynamoDB applied it, the
        SDK's retry of the same request finds the survey already ``sending`` and its condition fails; the
        token in the item returned with that failure tells our own claim from a concurrent sender's, so
        the send goes ahead once instead of leaving the survey claimed by nobody.
        """
        if not self._claim(survey_id, now, "status", "claim_id", SurveyStatus.PLANNED, SurveyStatus.SENDING):
            raise SurveyNotClaimableError(survey_id)

    def release_claim(self, survey_id: str, now: datetime) -> None:
        """Give a claimed survey back (SES refused before accepting it), so a retry can send it."""
        self._table.transition(survey_id, SurveyStatus.SENDING, SurveyStatus.PLANNED, now)

    def mark_sent(
        self,
        survey_id: str,
        message_id: str,
        sent_at: datetime,
        expires_at: datetime,
        reminder_at: datetime | None = None,
    ) -> None:
        """Record the send and SES's message id, and the lookup that finds the survey from a reply's
        In-Reply-To (written first: repeating it is harmless, and a survey is never sent without it).

        With ``reminder_at``, the same write plans the survey's reminder (``reminder = scheduled``), so a
        survey is never sent without it; its schedule is created next (``mark_reminder_scheduled``).
        """
        self._record_message(message_id, survey_id, sent_at)
        values = {
            ":sent": SurveyStatus.SENT.value,
            ":sending": SurveyStatus.SENDING.value,
            ":message": message_id,
            ":at": iso(sent_at),
            ":expires": iso(expires_at),
        }
        update = (
            "SET #status = :sent, message_id = :message, sent_at = :at, "
            "survey_expires_at = :expires, updated_at = :at"
        )
        if reminder_at is not None:
            update += ", reminder = :reminder, reminder_at = :reminder_at"
            values |= {":reminder": ReminderStatus.SCHEDULED.value, ":reminder_at": iso(reminder_at)}
        self._table.client.update_item(
            TableName=self._table.name,
            Key=survey_key(survey_id),
            UpdateExpression=update,
            ConditionExpression="#status = :sending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=marshal(values),
        )

    def mark_reminder_scheduled(self, survey_id: str) -> None:
        # Conditional, so a survey erased meanwhile is not recreated as a fragment holding only this flag.
        self._table.write(
            self._table.client.update_item,
            TableName=self._table.name,
            Key=survey_key(survey_id),
            UpdateExpression="SET reminder_scheduled = :true",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues=marshal({":true": True}),
        )

    def has_answer(self, survey_id: str) -> bool:
        return self._table.latest_response(survey_id) is not None

    def claim_reminder(self, survey_id: str, now: datetime) -> None:
        """Move the reminder scheduled → sending; exactly one sender wins (the claim's token tells a retried
        write of our own from a concurrent sender's, as ``claim_for_sending`` does)."""
        claimed = self._claim(
            survey_id, now, "reminder", "reminder_claim_id", ReminderStatus.SCHEDULED, ReminderStatus.SENDING
        )
        if not claimed:
            raise ReminderNotClaimableError(survey_id)

    def release_reminder(self, survey_id: str, now: datetime) -> None:
        """Give a claimed reminder back (SES refused before accepting it), so a retry can send it."""
        self._reminder_transition(survey_id, ReminderStatus.SENDING, ReminderStatus.SCHEDULED, now)

    def mark_reminder_sent(self, survey_id: str, message_id: str, now: datetime) -> None:
        """Record the reminder's send, and its message id's lookup: a reply to the reminder finds the survey
        (written first, as ``mark_sent`` does)."""
        self._record_message(message_id, survey_id, now)
        self._table.client.update_item(
            TableName=self._table.name,
            Key=survey_key(survey_id),
            UpdateExpression="SET reminder = :sent, reminder_message_id = :message, reminder_sent_at = :at, "
            "updated_at = :at",
            ConditionExpression="reminder = :sending",
            ExpressionAttributeValues=marshal(
                {
                    ":sent": ReminderStatus.SENT.value,
                    ":sending": ReminderStatus.SENDING.value,
                    ":message": message_id,
                    ":at": iso(now),
                }
            ),
        )

    def skip_reminder(self, survey_id: str, reason: ReminderSkipReason, now: datetime) -> bool:
        return self._table.skip_reminder(survey_id, reason, now)

    def _claim(
        self,
        survey_id: str,
        now: datetime,
        state: str,
        claim: str,
        source: SurveyStatus | ReminderStatus,
        target: SurveyStatus | ReminderStatus,
    ) -> bool:
        """Move the survey's ``state`` attribute from ``source`` to ``target`` with a token of this call in
        ``claim``; whether this call holds the claim (a retried write of our own that DynamoDB had already
        applied is told from a concurrent sender's by the token in the item returned with the refusal)."""
        claim_id = uuid.uuid4().hex
        refusal = self._table.write(
            self._table.client.update_item,
            TableName=self._table.name,
            Key=survey_key(survey_id),
            UpdateExpression="SET #state = :target, #claim = :claim, updated_at = :now",
            ConditionExpression="#state = :source",
            ExpressionAttributeNames={"#state": state, "#claim": claim},
            ExpressionAttributeValues=marshal(
                {":target": target.value, ":source": source.value, ":claim": claim_id, ":now": iso(now)}
            ),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if refusal is None:
            return True
        current = unmarshal(refusal.old_item)
        return current.get(state) == target.value and current.get(claim) == claim_id

    def _reminder_transition(
        self, survey_id: str, source: ReminderStatus, target: ReminderStatus, now: datetime
    ) -> bool:
        refusal = self._table.write(
            self._table.client.update_item,
            TableName=self._table.name,
            Key=survey_key(survey_id),
            UpdateExpression="SET reminder = :target, updated_at = :now",
            ConditionExpression="reminder = :source",
            ExpressionAttributeValues=marshal(
                {":target": target.value, ":source": source.value, ":now": iso(now)}
            ),
        )
        return refusal is None

    def _record_message(self, message_id: str, survey_id: str, sent_at: datetime) -> None:
        self._table.client.put_item(
            TableName=self._table.name,
            Item=sent_message_item(message_id_key(message_id), survey_id, self._table.expires_at(sent_at)),
        )
