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
