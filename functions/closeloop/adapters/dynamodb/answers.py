"""``AnswerStore`` on the surveys table: every answer kept beside the survey, the latest one counting."""

from __future__ import annotations

from datetime import datetime

from closeloop.adapters.dynamodb.items import iso, marshal, response_to_item, survey_key
from closeloop.adapters.dynamodb.table import SurveysTable
from closeloop.domain.answers import SurveyClosedError
from closeloop.domain.surveys import ResponseAlreadyRecordedError, Survey, SurveyResponse, SurveyStatus


class DynamoAnswerStore:
    """What the survey and unsubscribe pages read and write."""

    def __init__(self, table: SurveysTable) -> None:
        self._table = table

    def get_survey(self, survey_id: str) -> Survey | None:
        return self._table.get_survey(survey_id)

    def latest_response(self, survey_id: str) -> SurveyResponse | None:
        return self._table.latest_response(survey_id)

    def add_response(self, survey: Survey, response: SurveyResponse) -> None:
        """Keep this answer beside the earlier ones and make it the survey's latest, atomically.

        Only a sent survey takes answers: one that was cancelled, suppressed or never sent since it was
        read raises ``SurveyClosedError``. An answer already stored (same moment and id: an email reply
        delivered again) raises ``ResponseAlreadyRecordedError``.
        """
        table = self._table
        refusal = table.write(
            table.client.transact_write_items,
            TransactItems=[
                {
                    "Put": {
                        "TableName": table.name,
                        "Item": response_to_item(response, table.expires_at(survey.closed_at)),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Update": {
                        "TableName": table.name,
                        "Key": survey_key(survey.survey_id),
                        "UpdateExpression": "SET latest_response_id = :id, answered_at = :at, "
                        "latest_negative = :negative, updated_at = :at ADD response_count :one",
                        "ConditionExpression": "#status = :sent",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": marshal(
                            {
                                ":id": response.response_id,
                                ":at": iso(response.received_at),
                                ":negative": response.negative,
                                ":one": 1,
                                ":sent": SurveyStatus.SENT.value,
                            }
                        ),
                    }
                },
            ],
        )
        if refusal is not None and 0 in refusal.failed:
            raise ResponseAlreadyRecordedError(f"response {response.response_id} is already stored")
        if refusal is not None:
            raise SurveyClosedError(f"survey {survey.survey_id} no longer takes answers") from refusal.error

    def is_suppressed(self, email: str) -> bool:
        return self._table.is_suppressed(email)

    def suppress(self, email: str, reason: str, now: datetime) -> None:
        self._table.suppress(email, reason, now)
