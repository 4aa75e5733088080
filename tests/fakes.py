"""What tests stand in for, declared once: Lambda's context, the shipped locales, the domain's ports.

The in-memory adapters of the domain's ports live with the CLI (``closeloop_cli.in_memory``), since the
benchmark runs on them too; they are re-exported here so every test imports its fakes from one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from closeloop.adapters.rendering import SOURCE_LOCALE, AnswerLink, SurveyEmailContent
from closeloop.domain.surveys import ANSWER_SCALES, SurveyType
from closeloop_cli.in_memory import (
    PUBLIC_BASE_URL,
    SENDER,
    SIGNING_SECRET,
    InMemoryDomain,
    InMemorySurveyStore,
    MimeBuildingMailer,
    RecordingPublisher,
    RecordingScheduler,
    in_memory_domain,
)
from tests.conftest import TEMPLATES

__all__ = [
    "PUBLIC_BASE_URL",
    "SENDER",
    "SHIPPED_LOCALES",
    "SIGNING_SECRET",
    "InMemoryDomain",
    "InMemorySurveyStore",
    "LambdaContext",
    "MimeBuildingMailer",
    "RecordingPublisher",
    "RecordingScheduler",
    "email_content",
    "in_memory_domain",
    "shipped_locales",
]


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools and the handlers read."""

    function_name: str = "test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:test"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def shipped_locales(templates: Path = TEMPLATES) -> tuple[str, ...]:
    """Every locale the templates layer ships catalogs for, as language tags, the source locale first.

    Read from the ``templates/locales/<locale>/LC_MESSAGES`` folders (``pt_BR`` is the tag ``pt-BR``, as
    the renderer names them), so a locale added there is rendered and checked (catalogs complete, every
    template in it) by every test that goes through the shipped locales.
    """
    found = sorted(
        folder.parent.name.replace("_", "-") for folder in (templates / "locales").glob("*/LC_MESSAGES")
    )
    return (SOURCE_LOCALE, *(locale for locale in found if locale != SOURCE_LOCALE))


SHIPPED_LOCALES = shipped_locales()


def email_content(
    locale: str | None = "it", survey_type: SurveyType = "resolved", **changes: Any
) -> SurveyEmailContent:
    """A survey email's content (Giulia's ticket 4521 at Acme), with the ``changes`` a test needs."""
    fields: dict[str, Any] = {
        "locale": locale,
        "customer_name": "Giulia Rossi",
        "ticket_id": "4521",
        "ticket_subject": None,
        "agent_name": None,
        "brand": "Acme",
        "survey_type": survey_type,
        "answers": tuple(
            AnswerLink(value, f"https://x.example/s/t?a={value}") for value in ANSWER_SCALES[survey_type]
        ),
        "unsubscribe_url": "https://x.example/u/t",
        "expires_at": datetime(2026, 12, 8, tzinfo=UTC),
    }
    return SurveyEmailContent(**(fields | changes))
