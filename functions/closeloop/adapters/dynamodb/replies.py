"""``ReplyStore`` on the surveys table: the survey of a reply, found by id or by its email's message id."""

from __future__ import annotations

from closeloop.adapters.dynamodb.answers import DynamoAnswerStore
from closeloop.adapters.dynamodb.items import sent_message_key, unmarshal
from closeloop.adapters.dynamodb.table import SurveysTable
from closeloop.domain.surveys import Survey, SurveyResponse


class DynamoReplyStore:
    """What the inbound function reads and writes: surveys, the message lookup, and answers."""

    def __init__(self, table: SurveysTable) -> None:
        self._table = table
        self._answers = DynamoAnswerStore(table)

    def get_survey(self, survey_id: str) -> Survey | None:
        return self._table.get_survey(survey_id)

    def survey_for_message(self, message_key: str) -> str | None:
        """One GetItem on the ``MESSAGE#`` lookup written when the survey was sent."""
        item = self._table.client.get_item(TableName=self._table.name, Key=sent_message_key(message_key))
        if "Item" not in item:
            return None
        survey_id = unmarshal(item["Item"]).get("survey_id")
        return str(survey_id) if survey_id else None

    def add_response(self, survey: Survey, response: SurveyResponse) -> None:
        self._answers.add_response(survey, response)
