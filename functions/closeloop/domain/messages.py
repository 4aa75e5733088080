"""What a survey email says, before wording and translation, and what rendering gives back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

SurveyType = Literal["csat", "nps", "ces", "resolved"]


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
