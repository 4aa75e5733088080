"""Typed settings, read once from the environment at cold start.

Every value here maps to a template parameter or resource (``SOURCES``, docs/configuration.md); the
environment variable names are the contract between ``template.yaml``, the local sandbox and the code.
Each function gets only the variables its own code reads, and checks at cold start that the ones it
needs are there (``Settings.require``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import time
from functools import cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from closeloop.domain.surveys import is_email_address

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


class ConfigurationError(Exception):
    """The function's environment lacks a setting it needs, or holds one it cannot use.

    The message names the environment variable and the template parameter or resource behind it, so
    the operator knows what to fix; a function stops on it at cold start instead of running with a guess.
    """


# Where each variable comes from in ``template.yaml`` (docs/configuration.md): what an operator can fix.
# A parameter is set by the deployment; a resource's name is set by the template itself.
SOURCES: Mapping[str, tuple[Literal["parameter", "resource"], str]] = {
    "event_bus_name": ("resource", "EventBus"),
    "surveys_table": ("resource", "SurveysTable"),
    "plan_queue_url": ("resource", "PlanQueue"),
    "send_queue_arn": ("resource", "SendQueue"),
    "send_queue_url": ("resource", "SendQueue"),
    "send_dlq_url": ("resource", "SendDeadLetterQueue"),
    "send_dlq_arn": ("resource", "SendDeadLetterQueue"),
    "plan_dlq_url": ("resource", "PlanDeadLetterQueue"),
    "reopen_queue_url": ("resource", "ReopenQueue"),
    "reopen_dlq_url": ("resource", "ReopenDeadLetterQueue"),
    "delivery_queue_url": ("resource", "DeliveryEventsQueue"),
    "delivery_dlq_url": ("resource", "DeliveryEventsDeadLetterQueue"),
    "lead_alert_topic_arn": ("resource", "LeadAlertTopic"),
    "generic_secret_arn": ("resource", "GenericHelpdeskSecret"),
    "schedule_group": ("resource", "ScheduleGroup"),
    "scheduler_role_arn": ("resource", "SchedulerRole"),
    "signing_keys_secret_arn": ("resource", "SigningKeysSecret"),
    "zendesk_secret_arn": ("resource", "ZendeskSecret"),
    "freshdesk_secret_arn": ("resource", "FreshdeskSecret"),
    "ses_configuration_set": ("resource", "SesConfigurationSet"),
    "templates_path": ("resource", "TemplatesLayer"),
    "sender_address": ("parameter", "SenderAddress"),
    "sender_name": ("parameter", "SenderName"),
    "public_base_url": ("parameter", "PublicBaseUrl"),
    "follow_up_delay_minutes": ("parameter", "FollowUpDelayMinutes"),
    "quiet_hours": ("parameter", "QuietHours"),
    "survey_type": ("parameter", "SurveyType"),
    "survey_expiry_days": ("parameter", "SurveyExpiryDays"),
    "throttle_days": ("parameter", "ThrottleDays"),
    "max_ticket_age_days": ("parameter", "MaxTicketAgeDays"),
    "resurvey_after_reopen": ("parameter", "ResurveyAfterReopen"),
    "default_locale": ("parameter", "DefaultLocale"),
    "supported_locales": ("parameter", "SupportedLocales"),
    "default_timezone": ("parameter", "DefaultTimezone"),
    "excluded_tags": ("parameter", "ExcludedTags"),
    "zendesk_base_url": ("parameter", "ZendeskBaseUrl"),
    "freshdesk_base_url": ("parameter", "FreshdeskBaseUrl"),
    "retention_days": ("parameter", "RetentionDays"),
    "grace_minutes": ("parameter", "GraceMinutes"),
    "reopen_cap": ("parameter", "ReopenCap"),
    "negative_thresholds": ("parameter", "NegativeThresholds"),
    "comment_analysis": ("parameter", "CommentAnalysis"),
    "lead_alert_address": ("parameter", "LeadAlertAddress"),
    "lead_locale": ("parameter", "LeadLocale"),
    "generic_reopen_url": ("parameter", "GenericReopenUrl"),
}


def _remedy(name: str, *, missing: bool) -> str:
    """What fixes a missing or invalid variable: the parameter to set, or the resource it must name."""
    kind, source = SOURCES[name]
    if kind == "parameter":
        return f"{'set' if missing else 'check'} the {source} parameter"
    return f"template.yaml sets it from the {source} resource: deploy with the template's environment"


class Settings(BaseModel):
    """Deployment settings. Field names are the lower-case forms of the environment variables.

    Resource names, URLs and addresses have no working default: empty means "not set", and each
    function asks for the ones it needs with ``require`` at cold start. Behaviour settings default to
    their template parameter's default.
    """

    model_config = ConfigDict(frozen=True)

    # Resources (set by the template, never by hand)
    event_bus_name: str = ""
    surveys_table: str = ""
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
    schedule_group: str = ""
    scheduler_role_arn: str = ""
    signing_keys_secret_arn: str = ""
    zendesk_secret_arn: str = ""
    freshdesk_secret_arn: str = ""
    ses_configuration_set: str = ""
    templates_path: str = ""

    # Behaviour (template parameters)
    sender_address: str = ""
    sender_name: str = "Support team"
    # Where survey links point. Empty on ApiFunction: the pages trust only the request's own domain.
    public_base_url: str = ""
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

    # Closing the loop: answers, reopening, lead alerts (team leads are items in the surveys table)
    grace_minutes: int = Field(default=10, ge=0, le=15)
    reopen_cap: int = Field(default=2, ge=0)
    negative_thresholds: str = "csat<=2,nps<=6,ces>=5"
    comment_analysis: Literal["lexicon", "comprehend"] = "lexicon"
    lead_alert_address: str = ""
    lead_locale: str = ""
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

    @field_validator("public_base_url", "zendesk_base_url", "freshdesk_base_url", "generic_reopen_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("not an http(s) URL")
        return value

    @field_validator("sender_address", "lead_alert_address")
    @classmethod
    def _email_address(cls, value: str) -> str:
        value = value.strip()
        if value and not is_email_address(value):
            raise ValueError("not an email address")
        return value

    def require(self, *names: str) -> Settings:
        """These settings, once each named one is set; ``ConfigurationError`` names every one that is not.

        A function calls this at cold start with what its own work needs (its handler's
        ``REQUIRED_SETTINGS``), so a variable missing from its environment stops it at once.
        """
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            raise ConfigurationError(
                "; ".join(f"{name.upper()} is not set: {_remedy(name, missing=True)}" for name in missing)
            )
        return self

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from environment variables named like the fields, upper-cased.

        Raises ``ConfigurationError`` naming each invalid variable and what sets it (never its value).
        """
        values = {name: environ[name.upper()] for name in cls.model_fields if name.upper() in environ}
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = []
            for item in error.errors(include_url=False):
                name, why = str(item["loc"][0]), item["msg"].removeprefix("Value error, ")
                problems.append(f"{name.upper()} is invalid ({why}): {_remedy(name, missing=False)}")
            raise ConfigurationError("; ".join(problems)) from error


@cache
def load_settings() -> Settings:
    """The settings of this process, read once (cold start)."""
    return Settings.from_environ(os.environ)
