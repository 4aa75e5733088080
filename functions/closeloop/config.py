"""Typed settings, read once from the environment at cold start.

Every value here maps to a template parameter or resource (``SOURCES``, docs/configuration.md); the
environment variable names are the contract between ``template.yaml``, the local sandbox and the code.
Each function gets only the variables its own code reads, and checks at cold start that the ones it
needs are there (``Settings.require``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from closeloop.domain.surveys import NegativeAnswerPolicy, SurveyType, is_email_address
from closeloop.domain.timing import QuietHours

CommentAnalysis = Literal["lexicon", "comprehend", "bedrock"]


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
    "inbound_queue_url": ("resource", "InboundQueue"),
    "inbound_dlq_url": ("resource", "InboundDeadLetterQueue"),
    "archive_bucket": ("resource", "ArchiveBucket"),
    "archive_prefix": ("resource", "ArchiveBucket"),
    "archive_queue_url": ("resource", "ArchiveQueue"),
    "archive_dlq_url": ("resource", "ArchiveDeadLetterQueue"),
    "lead_alert_topic_arn": ("resource", "LeadAlertTopic"),
    "generic_secret_arn": ("resource", "GenericHelpdeskSecret"),
    "schedule_group": ("resource", "ScheduleGroup"),
    "scheduler_role_arn": ("resource", "SchedulerRole"),
    "signing_keys_secret_arn": ("resource", "SigningKeysSecret"),
    "zendesk_secret_arn": ("resource", "ZendeskSecret"),
    "freshdesk_secret_arn": ("resource", "FreshdeskSecret"),
    "ses_configuration_set": ("resource", "SesConfigurationSet"),
    "templates_path": ("resource", "TemplatesLayer"),
    "rules_parameter": ("resource", "RulesParameter"),
    "sender_address": ("parameter", "SenderAddress"),
    "sender_name": ("parameter", "SenderName"),
    "public_base_url": ("parameter", "PublicBaseUrl"),
    "follow_up_delay_minutes": ("parameter", "FollowUpDelayMinutes"),
    "quiet_hours": ("parameter", "QuietHours"),
    "survey_type": ("parameter", "SurveyType"),
    "survey_expiry_days": ("parameter", "SurveyExpiryDays"),
    "reminder_days": ("parameter", "ReminderDays"),
    "throttle_days": ("parameter", "ThrottleDays"),
    "max_ticket_age_days": ("parameter", "MaxTicketAgeDays"),
    "resurvey_after_reopen": ("parameter", "ResurveyAfterReopen"),
    "default_locale": ("parameter", "DefaultLocale"),
    "supported_locales": ("parameter", "SupportedLocales"),
    "default_timezone": ("parameter", "DefaultTimezone"),
    "excluded_tags": ("parameter", "ExcludedTags"),
    "internal_domains": ("parameter", "InternalDomains"),
    "negative_answer_policy": ("parameter", "NegativeAnswerPolicy"),
    "zendesk_base_url": ("parameter", "ZendeskBaseUrl"),
    "freshdesk_base_url": ("parameter", "FreshdeskBaseUrl"),
    "retention_days": ("parameter", "RetentionDays"),
    "grace_minutes": ("parameter", "GraceMinutes"),
    "reopen_cap": ("parameter", "ReopenCap"),
    "negative_thresholds": ("parameter", "NegativeThresholds"),
    "comment_analysis": ("parameter", "CommentAnalysis"),
    "bedrock_model_id": ("parameter", "BedrockModelId"),
    "lead_alert_address": ("parameter", "LeadAlertAddress"),
    "lead_locale": ("parameter", "LeadLocale"),
    "generic_reopen_url": ("parameter", "GenericReopenUrl"),
    "reply_domain": ("parameter", "ReplyDomain"),
    "digest_schedule": ("parameter", "DigestSchedule"),
}


def _remedy(name: str, *, missing: bool) -> str:
    """What fixes a missing or invalid variable: the parameter to set, or the resource it must name."""
    kind, source = SOURCES[name]
    if kind == "parameter":
        return f"{'set' if missing else 'check'} the {source} parameter"
    return f"template.yaml sets it from the {source} resource: deploy with the template's environment"


# ---- reading one variable: each parser returns the typed value or raises ValueError saying why ---------


def _text(value: str) -> str:
    return value


def _integer(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(value: str) -> int:
        text = value.strip()
        if not text.lstrip("+-").isdigit() or not text.isascii():
            raise ValueError("not a whole number")
        number = int(text)
        if number < low or (high is not None and number > high):
            raise ValueError(f"must be at least {low}" + (f" and at most {high}" if high is not None else ""))
        return number

    return parse


_TRUE, _FALSE = frozenset({"true", "yes", "on", "1"}), frozenset({"false", "no", "off", "0"})


def _boolean(value: str) -> bool:
    text = value.strip().lower()
    if text not in _TRUE | _FALSE:
        raise ValueError("must be true or false")
    return text in _TRUE


def _one_of(choices: Any) -> Callable[[str], str]:
    allowed: tuple[str, ...] = get_args(choices)

    def parse(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return parse


def _http_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("not an http(s) URL")
    return value


def _email_address(value: str) -> str:
    value = value.strip()
    if value and not is_email_address(value):
        raise ValueError("not an email address")
    return value


_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _domain(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    if value and not _DOMAIN.match(value):
        raise ValueError("not a domain name (letters, digits and hyphens, in Punycode)")
    return value


def _domains(value: str) -> frozenset[str]:
    return frozenset(_domain(item) for item in _csv(value))


_KEY_PREFIX = re.compile(r"^(?:[a-z0-9][a-z0-9._-]{0,62}/){1,4}$")


def _key_prefix(value: str) -> str:
    if value and not _KEY_PREFIX.match(value):
        raise ValueError("not an S3 key prefix such as events/ (lower-case folders, each ending in /)")
    return value


def _tags(value: str) -> frozenset[str]:
    return frozenset(tag.lower() for tag in _csv(value))


def _digest_schedule(value: str) -> str:
    """``off`` or ``MON 08:00``, checked here and read by ``closeloop.domain.digest.DigestSchedule``."""
    # Imported here: only the digest function sets this variable, the others need not load the digest.
    from closeloop.domain.digest import DigestSchedule

    DigestSchedule.parse(value)
    return value.strip()


def _setting(default: Any, parse: Callable[[str], Any] = _text) -> Any:
    """A field whose environment variable ``parse`` reads (``Settings.from_environ``)."""
    return field(default=default, metadata={"parse": parse})


@dataclass(frozen=True)
class Settings:
    """Deployment settings. Field names are the lower-case forms of the environment variables.

    Resource names, URLs and addresses have no working default: empty means "not set", and each
    function asks for the ones it needs with ``require`` at cold start. Behaviour settings default to
    their template parameter's default.

    A plain dataclass with one parser per variable, rather than a validation library: every function
    reads it at cold start, which is what a customer waits for on a survey page's first answer.
    """

    # Resources (set by the template, never by hand)
    event_bus_name: str = _setting("")
    surveys_table: str = _setting("")
    plan_queue_url: str = _setting("")
    send_queue_arn: str = _setting("")
    send_queue_url: str = _setting("")
    send_dlq_url: str = _setting("")
    send_dlq_arn: str = _setting("")
    plan_dlq_url: str = _setting("")
    reopen_queue_url: str = _setting("")
    reopen_dlq_url: str = _setting("")
    delivery_queue_url: str = _setting("")
    delivery_dlq_url: str = _setting("")
    inbound_queue_url: str = _setting("")
    inbound_dlq_url: str = _setting("")
    # The event archive: its bucket, the key prefix of its files (the template's Archive mapping), its queues
    archive_bucket: str = _setting("")
    archive_prefix: str = _setting("", _key_prefix)
    archive_queue_url: str = _setting("")
    archive_dlq_url: str = _setting("")
    lead_alert_topic_arn: str = _setting("")
    generic_secret_arn: str = _setting("")
    schedule_group: str = _setting("")
    scheduler_role_arn: str = _setting("")
    signing_keys_secret_arn: str = _setting("")
    zendesk_secret_arn: str = _setting("")
    freshdesk_secret_arn: str = _setting("")
    ses_configuration_set: str = _setting("")
    templates_path: str = _setting("")
    # The SSM parameter holding the rules document (closeloop.domain.policies); empty: no rules.
    rules_parameter: str = _setting("")

    # Behaviour (template parameters)
    sender_address: str = _setting("", _email_address)
    sender_name: str = _setting("Support team")
    # Where survey links point. Empty on ApiFunction: the pages trust only the request's own domain.
    public_base_url: str = _setting("", _http_url)
    follow_up_delay_minutes: int = _setting(1440, _integer(0))
    quiet_hours: QuietHours = _setting(QuietHours.parse("21:00-08:00"), QuietHours.parse)
    survey_type: SurveyType = _setting("csat", _one_of(SurveyType))
    survey_expiry_days: int = _setting(28, _integer(1))
    # Days after the survey email that one reminder goes to customers who have not answered (0: none).
    reminder_days: int = _setting(3, _integer(0))
    throttle_days: int = _setting(30, _integer(0))
    max_ticket_age_days: int = _setting(14, _integer(1))
    resurvey_after_reopen: bool = _setting(False, _boolean)
    default_locale: str = _setting("en")
    supported_locales: tuple[str, ...] = _setting(
        ("en", "it", "vi", "ca", "hr", "es", "fr", "de", "pt-BR", "pt-PT"), _csv
    )
    default_timezone: str = _setting("UTC")
    excluded_tags: frozenset[str] = _setting(frozenset({"no_survey", "spam"}), _tags)
    # The business's own domains: their addresses get no survey (subdomains included).
    internal_domains: frozenset[str] = _setting(frozenset(), _domains)
    zendesk_base_url: str = _setting("", _http_url)
    freshdesk_base_url: str = _setting("", _http_url)
    retention_days: int = _setting(365, _integer(1))

    # Closing the loop: answers, reopening, lead alerts (team leads are items in the surveys table)
    grace_minutes: int = _setting(10, _integer(0, 15))
    reopen_cap: int = _setting(2, _integer(0))
    # What a negative answer does where the rules document does not say (closeloop.domain.policies).
    negative_answer_policy: NegativeAnswerPolicy = _setting("reopen", _one_of(NegativeAnswerPolicy))
    negative_thresholds: str = _setting("csat<=2,nps<=6,ces>=5")
    comment_analysis: CommentAnalysis = _setting("lexicon", _one_of(CommentAnalysis))
    bedrock_model_id: str = _setting("amazon.nova-micro-v1:0")
    lead_alert_address: str = _setting("", _email_address)
    lead_locale: str = _setting("")
    generic_reopen_url: str = _setting("", _http_url)

    # Replies by email: survey emails carry reply+<token>@<reply_domain> (empty: replies by email are off)
    reply_domain: str = _setting("", _domain)

    # The leads' weekly digest (closeloop.domain.digest): when, in each lead's time zone; None is "off".
    digest_schedule: str = _setting("MON 08:00", _digest_schedule)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every setting's name: its environment variable is the upper-case form."""
        return tuple(item.name for item in fields(cls))

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
        values: dict[str, Any] = {}
        problems = []
        for item in fields(cls):
            variable = item.name.upper()
            if variable not in environ:
                continue
            try:
                values[item.name] = item.metadata["parse"](environ[variable])
            except ValueError as error:
                problems.append(f"{variable} is invalid ({error}): {_remedy(item.name, missing=False)}")
        if problems:
            raise ConfigurationError("; ".join(problems))
        return cls(**values)


@cache
def load_settings() -> Settings:
    """The settings of this process, read once (cold start)."""
    return Settings.from_environ(os.environ)
