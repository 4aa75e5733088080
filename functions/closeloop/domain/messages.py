"""What a survey email says, before wording and translation, and what rendering gives back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

SurveyType = Literal["csat", "nps", "ces", "resolved"]

# The tags closeloop puts on every survey email (SES tag values allow only [A-Za-z0-9_-]); SES copies
# them into its bounce and complaint events, which is how those are matched to a survey.
SURVEY_TAG_NAME = "closeloop"
SURVEY_TAG_VALUE = "survey"
SURVEY_ID_TAG_NAME = "survey_id"


@dataclass(frozen=True)
class AnswerLink:
    """One answer of the survey and its signed one-click link."""

    value: int | str
    url: str


@dataclass(frozen=True)
class SurveyEmailContent:
    """Everything the survey email says, before wording and translation."""

    locale: str | None
    customer_name: str | None
    ticket_id: str
    ticket_subject: str | None
    agent_name: str | None
    brand: str
    survey_type: SurveyType
    answers: tuple[AnswerLink, ...]
    unsubscribe_url: str
    expires_at: datetime


@dataclass(frozen=True)
class RenderedEmail:
    """The rendered parts of one email, in the locale actually used."""

    locale: str
    subject: str
    text: str
    html: str
