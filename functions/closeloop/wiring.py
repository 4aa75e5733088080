"""The one place that builds clients and adapters: lazily, once per container (cold start).

Handlers ask this module for what they need; tests reset it with ``reset()`` after starting moto, so
every client points at the mock. boto3 reads ``AWS_ENDPOINT_URL`` itself, which is how the local
sandbox points the same code at its moto server.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from closeloop.adapters.dynamodb import SurveyRepository
from closeloop.adapters.events import EventBusPublisher
from closeloop.adapters.mail import SesMailer
from closeloop.adapters.queues import MessageDisposal
from closeloop.adapters.rendering import EmailRenderer
from closeloop.adapters.scheduler import SurveySendScheduler
from closeloop.adapters.secrets import SecretStore
from closeloop.config import Settings, load_settings
from closeloop.domain.links import LinkSigner
from closeloop.domain.planning import FollowUpPlanner, PlanningPolicy
from closeloop.domain.sending import SendingPolicy, SurveySender

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient

# Adaptive retries absorb short throttling bursts before an error reaches the queue's own backoff.
_CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 4}, connect_timeout=3, read_timeout=10)


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


def _client(service: str) -> Any:
    return _session().client(service, config=_CLIENT_CONFIG)  # type: ignore[call-overload]


def settings() -> Settings:
    return load_settings()


@cache
def dynamodb_client() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb")
    return client


@cache
def events_client() -> EventBridgeClient:
    client: EventBridgeClient = _client("events")
    return client


@cache
def scheduler_client() -> EventBridgeSchedulerClient:
    client: EventBridgeSchedulerClient = _client("scheduler")
    return client


@cache
def secrets_client() -> SecretsManagerClient:
    client: SecretsManagerClient = _client("secretsmanager")
    return client


@cache
def sesv2_client() -> SESV2Client:
    client: SESV2Client = _client("sesv2")
    return client


@cache
def sqs_client() -> SQSClient:
    client: SQSClient = _client("sqs")
    return client


@cache
def event_publisher() -> EventBusPublisher:
    return EventBusPublisher(events_client(), settings().event_bus_name)


@cache
def secret_store() -> SecretStore:
    return SecretStore(secrets_client())


@cache
def survey_repository() -> SurveyRepository:
    config = settings()
    return SurveyRepository(dynamodb_client(), config.surveys_table, timedelta(days=config.retention_days))


@cache
def send_scheduler() -> SurveySendScheduler:
    config = settings()
    return SurveySendScheduler(
        scheduler_client(),
        sqs_client(),
        group=config.schedule_group,
        role_arn=config.scheduler_role_arn,
        queue_arn=config.send_queue_arn,
        queue_url=config.send_queue_url,
        dead_letter_arn=config.send_dlq_arn or None,
    )


@cache
def follow_up_planner() -> FollowUpPlanner:
    return FollowUpPlanner(
        survey_repository(), send_scheduler(), event_publisher(), PlanningPolicy.from_settings(settings())
    )


def link_signer() -> LinkSigner:
    """Built per use from the cached secret, so a rotated key is picked up within the cache period."""
    return LinkSigner.from_secret(secret_store().get_json(settings().signing_keys_secret_arn))


@cache
def email_renderer() -> EmailRenderer:
    config = settings()
    return EmailRenderer(config.templates_path, config.default_locale, config.supported_locales)


@cache
def survey_sender() -> SurveySender:
    config = settings()
    return SurveySender(
        survey_repository(),
        email_renderer(),
        SesMailer(sesv2_client(), config.ses_configuration_set or None),
        link_signer,
        event_publisher(),
        SendingPolicy.from_settings(config),
    )


@cache
def plan_queue_disposal() -> MessageDisposal:
    config = settings()
    return MessageDisposal(sqs_client(), config.plan_queue_url, config.plan_dlq_url)


@cache
def send_queue_disposal() -> MessageDisposal:
    config = settings()
    return MessageDisposal(sqs_client(), config.send_queue_url, config.send_dlq_url)


def reset() -> None:
    """Forget every cached client, adapter and setting (tests and the sandbox call this)."""
    load_settings.cache_clear()
    for name, value in list(globals().items()):
        if callable(value) and hasattr(value, "cache_clear") and name != "load_settings":
            value.cache_clear()


# Helpdesk webhooks (POST /webhooks/{provider}). Imports are local so functions that never receive a
# webhook do not load the helpdesk adapters.
if TYPE_CHECKING:
    from closeloop.adapters.helpdesks.zendesk import ZendeskClient, ZendeskCredentials
    from closeloop.ingest import WebhookDependencies


def _zendesk_credentials() -> ZendeskCredentials:
    # Read through the secret store (cached a few minutes) on each use, so a rotated token is picked up.
    from closeloop.adapters.helpdesks.zendesk import zendesk_credentials

    return zendesk_credentials(secret_store().get_json(settings().zendesk_secret_arn))


@cache
def zendesk_client() -> ZendeskClient:
    from closeloop.adapters.helpdesks.zendesk import ZendeskClient

    return ZendeskClient(settings().zendesk_base_url, credentials=_zendesk_credentials)


@cache
def webhook_dependencies() -> WebhookDependencies:
    from closeloop.ingest import WebhookDependencies

    return WebhookDependencies(
        settings=settings(), secrets=secret_store(), publisher=event_publisher(), zendesk=zendesk_client
    )


# Survey and unsubscribe pages (GET/POST /s/{token} and /u/{token}). Imports are local so functions
# that never serve a page do not load them.
if TYPE_CHECKING:
    from closeloop.adapters.pages import SurveyPageFlow
    from closeloop.domain.answers import FormTokens
    from closeloop.domain.judgment import CommentClassifier


def form_tokens() -> FormTokens:
    """Built per use from the cached secret, like ``link_signer``, so rotated keys are picked up."""
    from closeloop.domain.answers import FormTokens

    return FormTokens.from_secret(secret_store().get_json(settings().signing_keys_secret_arn))


@cache
def answer_comment_classifier() -> CommentClassifier | None:
    """Amazon Comprehend as a second opinion on comments when ``CommentAnalysis`` is ``comprehend``."""
    if settings().comment_analysis != "comprehend":
        return None
    from closeloop.adapters.comprehend import ComprehendClassifier

    return ComprehendClassifier(_client("comprehend"))


@cache
def survey_page_flow() -> SurveyPageFlow:
    from closeloop.adapters.pages import RepositoryAnswerStore, SqsReopenChecks, SurveyPageFlow, SurveyPages
    from closeloop.domain.answers import AnswerPolicy, SurveyAnswers

    config = settings()
    policy = AnswerPolicy.from_settings(config.negative_thresholds, config.grace_minutes)
    answers = SurveyAnswers(
        RepositoryAnswerStore(survey_repository()),
        link_signer,
        event_publisher(),
        SqsReopenChecks(sqs_client(), config.reopen_queue_url),
        policy,
        answer_comment_classifier(),
    )
    pages = SurveyPages(email_renderer(), config.sender_name, policy.thresholds)
    return SurveyPageFlow(answers, form_tokens, pages, config.public_base_url)


# Reopening and lead alerts (ReopenFunction). Imports are local so other functions do not load them.
if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sns import SNSClient

    from closeloop.adapters.helpdesks.freshdesk import FreshdeskClient, FreshdeskCredentials
    from closeloop.adapters.helpdesks.generic import GenericWebhookReopener
    from closeloop.domain.reopening import CaseReopener, HelpdeskGateway


@cache
def sns_client() -> SNSClient:
    client: SNSClient = _client("sns")
    return client


def _freshdesk_credentials() -> FreshdeskCredentials:
    from closeloop.adapters.helpdesks.freshdesk import freshdesk_credentials

    return freshdesk_credentials(secret_store().get_json(settings().freshdesk_secret_arn))


@cache
def freshdesk_client() -> FreshdeskClient:
    from closeloop.adapters.helpdesks.freshdesk import FreshdeskClient

    return FreshdeskClient(settings().freshdesk_base_url, credentials=_freshdesk_credentials)


def _generic_webhook_secret() -> str:
    from closeloop.adapters.helpdesks.generic import webhook_secret

    return webhook_secret(secret_store().get_json(settings().generic_secret_arn))


@cache
def generic_reopener() -> GenericWebhookReopener:
    from closeloop.adapters.helpdesks.generic import GenericWebhookReopener

    return GenericWebhookReopener(settings().generic_reopen_url, secret=_generic_webhook_secret)


@cache
def case_reopener() -> CaseReopener:
    from closeloop.adapters.alerts import LeadAlertSender
    from closeloop.domain.reopening import CaseReopener, HelpdeskDirectory, ReopenPolicy, TeamLeads

    config = settings()
    adapters: dict[str, Callable[[], HelpdeskGateway]] = {}
    if config.zendesk_base_url:
        adapters["zendesk"] = zendesk_client
    if config.freshdesk_base_url:
        adapters["freshdesk"] = freshdesk_client
    leads = TeamLeads.parse(
        config.team_leads, config.lead_alert_address, config.lead_locale or config.default_locale
    )
    alerter = LeadAlertSender(
        sns_client(),
        sesv2_client(),
        email_renderer(),
        topic_arn=config.lead_alert_topic_arn,
        sender_address=config.sender_address,
        sender_name=config.sender_name,
        configuration_set=config.ses_configuration_set or None,
    )
    return CaseReopener(
        survey_repository(),
        HelpdeskDirectory(adapters, generic_reopener if config.generic_reopen_url else None),
        alerter,
        email_renderer(),
        event_publisher(),
        ReopenPolicy(cap=config.reopen_cap, leads=leads),
    )


@cache
def reopen_queue_disposal() -> MessageDisposal:
    config = settings()
    return MessageDisposal(sqs_client(), config.reopen_queue_url, config.reopen_dlq_url)


# SES bounces and complaints (DeliverabilityFunction). Imports are local so other functions do not load them.
if TYPE_CHECKING:
    from closeloop.domain.deliverability import DeliverabilityRecorder


@cache
def deliverability_recorder() -> DeliverabilityRecorder:
    from closeloop.domain.deliverability import DeliverabilityRecorder

    return DeliverabilityRecorder(survey_repository(), event_publisher())


@cache
def delivery_queue_disposal() -> MessageDisposal:
    config = settings()
    return MessageDisposal(sqs_client(), config.delivery_queue_url, config.delivery_dlq_url)
