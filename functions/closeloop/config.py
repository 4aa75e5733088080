"""Typed settings, read once from the environment at cold start.

Every value here maps to a template parameter (see docs/configuration.md); the environment variable
names are the contract between ``template.yaml``, the local sandbox and the code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import time
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SurveyType = Literal["csat", "nps", "ces", "resolved"]


class QuietHours(BaseModel):
    """A daily window, in the recipient's local time, in which no survey is sent.

    The window may wrap midnight (``21:00-08:00``). ``start == end`` means no quiet hours.
    """

    model_config = ConfigDict(frozen=True)

    start: time
    end: time

    @classmethod
    def parse(cls, value: str) -> QuietHours:
        """Parse ``HH:MM-HH:MM``; an empty string or ``off`` disables quiet hours."""
        text = value.strip().lower()
        if text in ("", "off", "none"):
            return cls(start=time(0, 0), end=time(0, 0))
        try:
            start_text, end_text = text.split("-")
            return cls(start=time.fromisoformat(start_text.strip()), end=time.fromisoformat(end_text.strip()))
        except ValueError as error:
            raise ValueError(f"quiet hours must look like 21:00-08:00, got {value!r}") from error

    @property
    def enabled(self) -> bool:
        return self.start != self.end

    def contains(self, moment: time) -> bool:
        """True when ``moment`` (local wall-clock time) falls inside the quiet window."""
        if not self.enabled:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


def _csv(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


class Settings(BaseModel):
    """Deployment settings. Field names are the lower-case forms of the environment variables."""

    model_config = ConfigDict(frozen=True)

    # Resources
    event_bus_name: str = "closeloop"
    surveys_table: str = "closeloop-surveys"
    plan_queue_url: str = ""
    send_queue_arn: str = ""
    send_queue_url: str = ""
    send_dlq_url: str = ""
    send_dlq_arn: str = ""
    plan_dlq_url: str = ""
    reopen_queue_url: str = ""
    reopen_dlq_url: str = ""
    delivery_queue_url: str = ""
    delivery_dlq_url: str = ""
    lead_alert_topic_arn: str = ""
    generic_secret_arn: str = ""
    schedule_group: str = "closeloop"
    scheduler_role_arn: str = ""
    signing_keys_secret_arn: str = ""
    zendesk_secret_arn: str = ""
    freshdesk_secret_arn: str = ""
    templates_path: str = "/opt"

    # Behaviour (template parameters)
    sender_address: str = "support@example.com"
    sender_name: str = "Support team"
    ses_configuration_set: str = ""
    public_base_url: str = "http://127.0.0.1:3000"
    follow_up_delay_minutes: int = Field(default=1440, ge=0)
    quiet_hours: QuietHours = QuietHours.parse("21:00-08:00")
    survey_type: SurveyType = "csat"
    survey_expiry_days: int = Field(default=28, ge=1)
    throttle_days: int = Field(default=30, ge=0)
    max_ticket_age_days: int = Field(default=14, ge=1)
    resurvey_after_reopen: bool = False
    default_locale: str = "en"
    supported_locales: tuple[str, ...] = ("en", "it", "vi", "ca", "hr", "es", "fr", "de", "pt")
    default_timezone: str = "UTC"
    excluded_tags: frozenset[str] = frozenset({"no_survey", "spam"})
    zendesk_base_url: str = ""
    freshdesk_base_url: str = ""
    retention_days: int = Field(default=400, ge=1)

    # Closing the loop: answers, reopening, lead alerts
    grace_minutes: int = Field(default=10, ge=0, le=15)
    reopen_cap: int = Field(default=2, ge=0)
    negative_thresholds: str = "csat<=2,nps<=6,ces>=5"
    comment_analysis: Literal["lexicon", "comprehend"] = "lexicon"
    lead_alert_address: str = ""
    lead_locale: str = ""
    team_leads: str = ""
    generic_reopen_url: str = ""

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet_hours(cls, value: object) -> object:
        return QuietHours.parse(value) if isinstance(value, str) else value

    @field_validator("supported_locales", mode="before")
    @classmethod
    def _locales(cls, value: object) -> object:
        return _csv(value) if isinstance(value, str) else value

    @field_validator("excluded_tags", mode="before")
    @classmethod
    def _tags(cls, value: object) -> object:
        return frozenset(tag.lower() for tag in _csv(value)) if isinstance(value, str) else value

    @field_validator("public_base_url", "zendesk_base_url", "freshdesk_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from environment variables named like the fields, upper-cased."""
        values = {name: environ[name.upper()] for name in cls.model_fields if name.upper() in environ}
        return cls.model_validate(values)


@cache
def load_settings() -> Settings:
    """The settings of this process, read once (cold start)."""
    return Settings.from_environ(os.environ)
