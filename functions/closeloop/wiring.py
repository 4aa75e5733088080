"""The one place that builds clients and adapters: lazily, once per container (cold start).

Handlers ask this module for what they need; tests reset it with ``reset()`` after starting moto, so
every client points at the mock. boto3 reads ``AWS_ENDPOINT_URL`` itself, which is how the local
sandbox points the same code at its moto server.

Every function loads only what its own work needs: the imports of adapters and domain services are
inside the factories that build them, so the plan function never loads Jinja, the webhook route never
loads the survey pages, and no function loads a helpdesk adapter it does not call.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from closeloop.config import Settings, load_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    import urllib3
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

    from closeloop.adapters.archive_writer import EventArchiver
    from closeloop.adapters.dynamodb.answers import DynamoAnswerStore
    from closeloop.adapters.dynamodb.deliverability import DynamoDeliverabilityStore
    from closeloop.adapters.dynamodb.digests import DynamoDigestStore
    from closeloop.adapters.dynamodb.leads import TeamLeadRepository
    from closeloop.adapters.dynamodb.planning import DynamoPlanningStore
    from closeloop.adapters.dynamodb.reopening import DynamoReopenStore
    from closeloop.adapters.dynamodb.replies import DynamoReplyStore
    from closeloop.adapters.dynamodb.sending import DynamoSendingStore
    from closeloop.adapters.dynamodb.table import SurveysTable
    from closeloop.adapters.events import EventBusPublisher
    from closeloop.adapters.helpdesks.freshdesk import FreshdeskClient, FreshdeskCredentials
    from closeloop.adapters.helpdesks.generic import GenericWebhookReopener
    from closeloop.adapters.helpdesks.zendesk import ZendeskClient, ZendeskCredentials
    from closeloop.adapters.queues import MessageDisposal
    from closeloop.adapters.rendering import EmailRenderer
    from closeloop.adapters.scheduler import SurveySendScheduler
    from closeloop.adapters.secrets import SecretStore
    from closeloop.domain.answers import AnswerPolicy, FormTokens
    from closeloop.domain.deliverability import DeliverabilityRecorder
    from closeloop.domain.digest import DigestUnsubscribeFlow, WeeklyDigests
    from closeloop.domain.judgment import CommentClassifier
    from closeloop.domain.links import LinkSigner
    from closeloop.domain.planning import FollowUpPlanner, PlanningPolicy
    from closeloop.domain.policies import RulesSource
    from closeloop.domain.reopening import CaseReopener, HelpdeskGateway
    from closeloop.domain.replies import ReplyPolicy, ReplyRecorder
    from closeloop.domain.reply_addresses import ReplyTokens
    from closeloop.domain.sending import SendingPolicy, SurveySender
    from closeloop.domain.survey_pages import SurveyPageFlow
    from closeloop.domain.webhook_intake import WebhookDependencies, WebhookReceiver

# DynamoDB, SQS, EventBridge, Scheduler, Secrets Manager, SNS: their writes are conditional or harmless to
# repeat, so the SDK may retry them. Adaptive retries absorb short throttling bursts before an error
# reaches the queue's own backoff. In-region calls take milliseconds; one call's worst case is bounded at
# 3 x (2 s + 5 s) plus at most 3 s of backoff, about 24 s.
_CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": 3}, connect_timeout=2, read_timeout=5
)

# SES sends are never retried by the SDK: a request that timed out may have been sent, and sending it
# again would send a second email. One attempt, so a timeout reaches the mail adapter, which tells the
# cases apart: no connection (safe to send later) or no answer (outcome unknown: never resent). SES
# answers in well under a second; its worst case is SES_CONNECT_TIMEOUT + SES_READ_TIMEOUT.
SES_CONNECT_TIMEOUT = 2
SES_READ_TIMEOUT = 5
_SES_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=SES_CONNECT_TIMEOUT,
    read_timeout=SES_READ_TIMEOUT,
)


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


def _client(service: str, retry_and_timeouts: Config = _CLIENT_CONFIG) -> Any:
    return _session().client(service, config=retry_and_timeouts)  # type: ignore[call-overload]


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
    client: SESV2Client = _client("sesv2", _SES_CONFIG)
    return client


@cache
def sqs_client() -> SQSClient:
    client: SQSClient = _client("sqs")
    return client


# Lead alerts on SNS are never retried by the SDK, for the reason SES sends are not: a publish that timed
# out may have been delivered. The reopen's step record decides what a later attempt repeats.
_SNS_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=2, read_timeout=5)


@cache
def sns_client() -> SNSClient:
    client: SNSClient = _client("sns", _SNS_CONFIG)
    return client


# ---- shared by every function -------------------------------------------------------------------


@cache
def event_publisher() -> EventBusPublisher:
    from closeloop.adapters.events import EventBusPublisher

    return EventBusPublisher(events_client(), settings().event_bus_name)


@cache
def surveys_table() -> SurveysTable:
    """The client, name and retention that every store on the surveys table shares."""
    from closeloop.adapters.dynamodb.table import SurveysTable

    config = settings()
    return SurveysTable(dynamodb_client(), config.surveys_table, timedelta(days=config.retention_days))


def _disposal(queue_url: str, dead_letter_url: str) -> MessageDisposal:
    from closeloop.adapters.queues import MessageDisposal

    return MessageDisposal(sqs_client(), queue_url, dead_letter_url)


@cache
def secret_store() -> SecretStore:
    from closeloop.adapters.secrets import SecretStore

    return SecretStore(secrets_client())


def link_signer() -> LinkSigner:
    """Built per use from the cached secret, so a rotated key is picked up within the cache period."""
    from closeloop.domain.links import LinkSigner

    return LinkSigner.from_secret(secret_store().get_json(settings().signing_keys_secret_arn))


def reply_tokens() -> ReplyTokens:
    """Built per use from the cached secret, like ``link_signer``: reply addresses share the link keys."""
    from closeloop.domain.links import SigningKeys
    from closeloop.domain.reply_addresses import ReplyTokens

    return ReplyTokens(SigningKeys.from_secret(secret_store().get_json(settings().signing_keys_secret_arn)))


@cache
def email_renderer() -> EmailRenderer:
    from closeloop.adapters.rendering import EmailRenderer

    config = settings()
    return EmailRenderer(config.templates_path, config.default_locale, config.supported_locales)


# ---- planning (PlanFunction) --------------------------------------------------------------------


@cache
def send_scheduler() -> SurveySendScheduler:
    from closeloop.adapters.scheduler import SurveySendScheduler

    config = settings()
    return SurveySendScheduler(
        scheduler_client(),
        sqs_client(),
        group=config.schedule_group,
        role_arn=config.scheduler_role_arn,
        queue_arn=config.send_queue_arn,
        queue_url=config.send_queue_url,
        dead_letter_arn=config.send_dlq_arn,
    )


@cache
def planning_store() -> DynamoPlanningStore:
    from closeloop.adapters.dynamodb.planning import DynamoPlanningStore

    return DynamoPlanningStore(surveys_table())


def planning_policy(config: Settings | None = None) -> PlanningPolicy:
    """The deployment's planning rules, from ``config`` (this process's settings unless given)."""
    from closeloop.domain.eligibility import EligibilityRules
    from closeloop.domain.planning import PlanningPolicy

    config = config or settings()
    return PlanningPolicy(
        rules=EligibilityRules(
            excluded_tags=config.excluded_tags,
            max_ticket_age_days=config.max_ticket_age_days,
            resurvey_after_reopen=config.resurvey_after_reopen,
            internal_domains=config.internal_domains,
        ),
        delay=timedelta(minutes=config.follow_up_delay_minutes),
        quiet_hours=config.quiet_hours,
        default_timezone=config.default_timezone,
        survey_type=config.survey_type,
        expiry=timedelta(days=config.survey_expiry_days),
        throttle=timedelta(days=config.throttle_days),
        negative_answer=config.negative_answer_policy,
    )


@cache
def ssm_client() -> Any:
    return _client("ssm")


@cache
def rules_source() -> RulesSource:
    """The rules document in the ``RulesParameter``, cached per container (``closeloop.adapters.rules``)."""
    from closeloop.adapters.rules import ParameterRules

    return ParameterRules(ssm_client(), settings().rules_parameter)


@cache
def follow_up_planner() -> FollowUpPlanner:
    from closeloop.domain.planning import FollowUpPlanner

    return FollowUpPlanner(
        planning_store(), send_scheduler(), event_publisher(), planning_policy(), rules=rules_source()
    )


@cache
def plan_queue_disposal() -> MessageDisposal:
    config = settings()
    return _disposal(config.plan_queue_url, config.plan_dlq_url)


# ---- sending (SendFunction) ---------------------------------------------------------------------


@cache
def sending_store() -> DynamoSendingStore:
    from closeloop.adapters.dynamodb.sending import DynamoSendingStore

    return DynamoSendingStore(surveys_table())


def sending_policy(config: Settings | None = None) -> SendingPolicy:
    """Who survey emails come from and how long they take answers, from ``config`` (this process's
    settings unless given)."""
    from closeloop.domain.sending import SendingPolicy

    config = config or settings()
    return SendingPolicy(
        sender_address=config.sender_address,
        sender_name=config.sender_name,
        public_base_url=config.public_base_url,
        expiry=timedelta(days=config.survey_expiry_days),
        reply_domain=config.reply_domain,
        reminder_after=timedelta(days=config.reminder_days),
        quiet_hours=config.quiet_hours,
        default_timezone=config.default_timezone,
    )


@cache
def survey_sender() -> SurveySender:
    from closeloop.adapters.mail import SesMailer
    from closeloop.domain.sending import SurveySender

    return SurveySender(
        sending_store(),
        email_renderer(),
        SesMailer(sesv2_client(), settings().ses_configuration_set),
        link_signer,
        event_publisher(),
        sending_policy(),
        reply_tokens,
        send_scheduler,
    )


@cache
def send_queue_disposal() -> MessageDisposal:
    config = settings()
    return _disposal(config.send_queue_url, config.send_dlq_url)


# ---- helpdesk APIs (the webhook route's Zendesk lookups, and ReopenFunction) ---------------------


@cache
def helpdesk_connections() -> urllib3.PoolManager:
    """One connection pool for every helpdesk adapter: a connection per host, kept open and reused."""
    from closeloop.adapters.helpdesks.http import connection_pool

    return connection_pool()


# ---- helpdesk webhooks (POST /webhooks/{provider}, ApiFunction) ---------------------------------


def _zendesk_credentials() -> ZendeskCredentials:
    # Read through the secret store (cached a few minutes) on each use, so a rotated token is picked up.
    from closeloop.adapters.helpdesks.zendesk import zendesk_credentials

    return zendesk_credentials(secret_store().get_json(settings().zendesk_secret_arn))


@cache
def zendesk_client() -> ZendeskClient:
    from closeloop.adapters.helpdesks.zendesk import ZendeskClient

    return ZendeskClient(
        settings().zendesk_base_url, credentials=_zendesk_credentials, pool=helpdesk_connections()
    )


@cache
def webhook_dependencies() -> WebhookDependencies:
    from closeloop.domain.webhook_intake import WebhookConfig, WebhookDependencies

    config = settings()
    return WebhookDependencies(
        config=WebhookConfig(
            zendesk_secret_arn=config.zendesk_secret_arn,
            freshdesk_secret_arn=config.freshdesk_secret_arn,
            zendesk_base_url=config.zendesk_base_url,
            freshdesk_base_url=config.freshdesk_base_url,
        ),
        secrets=secret_store(),
        publisher=event_publisher(),
        zendesk=zendesk_client,
    )


@cache
def webhook_receiver() -> WebhookReceiver:
    from closeloop.domain.webhook_intake import WebhookReceiver

    return WebhookReceiver(webhook_dependencies())


# ---- survey and unsubscribe pages (GET/POST /s/{token} and /u/{token}, ApiFunction) -------------


def form_tokens() -> FormTokens:
    """Built per use from the cached secret, like ``link_signer``, so rotated keys are picked up."""
    from closeloop.domain.answers import FormTokens

    return FormTokens.from_secret(secret_store().get_json(settings().signing_keys_secret_arn))


# A model on Bedrock judges a comment while the customer waits for the page: one attempt, and little time,
# before the lexicon decides alone. Its worst case is 2 s + 4 s.
_BEDROCK_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=2, read_timeout=4
)


@cache
def answer_comment_classifier() -> CommentClassifier | None:
    """A second opinion on comments: Amazon Comprehend (``CommentAnalysis=comprehend``) or a model on
    Amazon Bedrock (``bedrock``); none for the lexicon alone."""
    analysis = settings().comment_analysis
    if analysis == "comprehend":
        from closeloop.adapters.comprehend import ComprehendClassifier

        return ComprehendClassifier(_client("comprehend"))
    if analysis == "bedrock":
        from closeloop.adapters.bedrock import BedrockClassifier

        return BedrockClassifier(_client("bedrock-runtime", _BEDROCK_CONFIG), settings().bedrock_model_id)
    return None


@cache
def answer_store() -> DynamoAnswerStore:
    from closeloop.adapters.dynamodb.answers import DynamoAnswerStore

    return DynamoAnswerStore(surveys_table())


def answer_policy(config: Settings | None = None) -> AnswerPolicy:
    """When an answer is negative and how long it may change before a reopen check, from ``config``
    (this process's settings unless given)."""
    from closeloop.domain.answers import AnswerPolicy
    from closeloop.domain.judgment import NegativityThresholds

    config = config or settings()
    return AnswerPolicy(
        NegativityThresholds.parse(config.negative_thresholds), timedelta(minutes=config.grace_minutes)
    )


@cache
def survey_page_flow() -> SurveyPageFlow:
    from closeloop.adapters.pages import SurveyPages
    from closeloop.adapters.reopen_checks import SqsReopenChecks
    from closeloop.domain.answers import SurveyAnswers
    from closeloop.domain.survey_pages import SurveyPageFlow

    config = settings()
    policy = answer_policy()
    answers = SurveyAnswers(
        answer_store(),
        link_signer,
        event_publisher(),
        SqsReopenChecks(sqs_client(), config.reopen_queue_url),
        policy,
        answer_comment_classifier(),
    )
    pages = SurveyPages(email_renderer(), config.sender_name, policy.thresholds)
    return SurveyPageFlow(answers, form_tokens, pages, config.public_base_url)


# ---- reopening and lead alerts (ReopenFunction) -------------------------------------------------


def _freshdesk_credentials() -> FreshdeskCredentials:
    from closeloop.adapters.helpdesks.freshdesk import freshdesk_credentials

    return freshdesk_credentials(secret_store().get_json(settings().freshdesk_secret_arn))


@cache
def freshdesk_client() -> FreshdeskClient:
    from closeloop.adapters.helpdesks.freshdesk import FreshdeskClient

    return FreshdeskClient(
        settings().freshdesk_base_url, credentials=_freshdesk_credentials, pool=helpdesk_connections()
    )


def _generic_webhook_secret() -> str:
    from closeloop.adapters.helpdesks.generic import webhook_secret

    return webhook_secret(secret_store().get_json(settings().generic_secret_arn))


@cache
def generic_reopener() -> GenericWebhookReopener:
    from closeloop.adapters.helpdesks.generic import GenericWebhookReopener

    return GenericWebhookReopener(
        settings().generic_reopen_url, secret=_generic_webhook_secret, pool=helpdesk_connections()
    )


@cache
def team_lead_repository() -> TeamLeadRepository:
    """Each team's lead, kept in the surveys table (``closeloop leads``)."""
    from closeloop.adapters.dynamodb.leads import TeamLeadRepository

    return TeamLeadRepository(dynamodb_client(), settings().surveys_table)


@cache
def reopen_store() -> DynamoReopenStore:
    from closeloop.adapters.dynamodb.reopening import DynamoReopenStore

    return DynamoReopenStore(surveys_table())


@cache
def case_reopener() -> CaseReopener:
    from closeloop.adapters.alerts import CheckedEventPublisher, LeadAlertSender
    from closeloop.domain.leads import Lead, TeamLeads
    from closeloop.domain.reopening import CaseReopener, HelpdeskDirectory, ReopenPolicy

    config = settings()
    adapters: dict[str, Callable[[], HelpdeskGateway]] = {}
    if config.zendesk_base_url:
        adapters["zendesk"] = zendesk_client
    if config.freshdesk_base_url:
        adapters["freshdesk"] = freshdesk_client
    lead_locale = config.lead_locale or config.default_locale
    default_lead = Lead(config.lead_alert_address, lead_locale) if config.lead_alert_address else None
    alerter = LeadAlertSender(
        sns_client(),
        sesv2_client(),
        email_renderer(),
        topic_arn=config.lead_alert_topic_arn,
        sender_address=config.sender_address,
        sender_name=config.sender_name,
        configuration_set=config.ses_configuration_set,
    )
    return CaseReopener(
        reopen_store(),
        HelpdeskDirectory(adapters, generic_reopener if config.generic_reopen_url else None),
        alerter,
        email_renderer(),
        CheckedEventPublisher(event_publisher()),
        ReopenPolicy(
            cap=config.reopen_cap,
            leads=TeamLeads(team_lead_repository(), default=default_lead, default_locale=lead_locale),
            helpdesk_urls={
                name: url
                for name, url in (
                    ("zendesk", config.zendesk_base_url),
                    ("freshdesk", config.freshdesk_base_url),
                )
                if url
            },
            negative_answer=config.negative_answer_policy,
        ),
    )


@cache
def reopen_queue_disposal() -> MessageDisposal:
    config = settings()
    return _disposal(config.reopen_queue_url, config.reopen_dlq_url)


# ---- SES bounces and complaints (DeliverabilityFunction) ----------------------------------------


@cache
def deliverability_store() -> DynamoDeliverabilityStore:
    from closeloop.adapters.dynamodb.deliverability import DynamoDeliverabilityStore

    return DynamoDeliverabilityStore(surveys_table())


@cache
def deliverability_recorder() -> DeliverabilityRecorder:
    from closeloop.domain.deliverability import DeliverabilityRecorder

    return DeliverabilityRecorder(deliverability_store(), event_publisher())


@cache
def delivery_queue_disposal() -> MessageDisposal:
    config = settings()
    return _disposal(config.delivery_queue_url, config.delivery_dlq_url)


# ---- the event archive (ArchiveFunction) ---------------------------------------------------------


@cache
def archive_queue_disposal() -> MessageDisposal:
    config = settings()
    return _disposal(config.archive_queue_url, config.archive_dlq_url)


@cache
def event_archiver() -> EventArchiver:
    from closeloop.adapters.archive_writer import EventArchiver

    config = settings()
    return EventArchiver(s3_client(), config.archive_bucket, config.archive_prefix, archive_queue_disposal)


# ---- replies by email (InboundFunction) ----------------------------------------------------------


@cache
def s3_client() -> S3Client:
    client: S3Client = _client("s3")
    return client


@cache
def reply_store() -> DynamoReplyStore:
    from closeloop.adapters.dynamodb.replies import DynamoReplyStore

    return DynamoReplyStore(surveys_table())


def reply_policy(config: Settings | None = None) -> ReplyPolicy:
    """Where replies come and how they are judged, from ``config`` (this process's settings unless given)."""
    from closeloop.domain.inbound_mail import OwnMail
    from closeloop.domain.judgment import NegativityThresholds
    from closeloop.domain.messages import SURVEY_ID_HEADER
    from closeloop.domain.replies import ReplyPolicy

    config = config or settings()
    return ReplyPolicy(
        reply_domain=config.reply_domain,
        own_mail=OwnMail(config.sender_address, config.reply_domain, SURVEY_ID_HEADER),
        default_locale=config.default_locale,
        # Judged and followed up like an answer on the page (``answer_policy``).
        thresholds=NegativityThresholds.parse(config.negative_thresholds),
        grace=timedelta(minutes=config.grace_minutes),
    )


@cache
def reply_recorder() -> ReplyRecorder:
    from closeloop.adapters.inbound_mail import S3InboundMail
    from closeloop.adapters.reopen_checks import SqsReopenChecks
    from closeloop.domain.replies import ReplyRecorder

    inbound = S3InboundMail(s3_client())
    return ReplyRecorder(
        inbound,
        inbound,
        reply_store(),
        reply_tokens,
        event_publisher(),
        SqsReopenChecks(sqs_client(), settings().reopen_queue_url),
        reply_policy(),
        answer_comment_classifier(),
    )


@cache
def inbound_queue_disposal() -> MessageDisposal:
    config = settings()
    return _disposal(config.inbound_queue_url, config.inbound_dlq_url)


def reset() -> None:
    """Forget every cached client, adapter and setting (tests and the sandbox call this)."""
    if helpdesk_connections.cache_info().currsize:
        helpdesk_connections().clear()  # close the kept-alive connections rather than leave them to the GC
    load_settings.cache_clear()
    for name, value in list(globals().items()):
        if callable(value) and hasattr(value, "cache_clear") and name != "load_settings":
            value.cache_clear()


# ---- the leads' weekly digest -----------------------------------------------------------------------


@cache
def digest_store() -> DynamoDigestStore:
    from closeloop.adapters.dynamodb.digests import DynamoDigestStore

    return DynamoDigestStore(dynamodb_client(), settings().surveys_table)


def weekly_digests() -> WeeklyDigests:
    """Built per run: the link signer reads the (cached) signing keys, so a rotated key is picked up."""
    import tempfile
    from pathlib import Path

    from closeloop.adapters.digest_email import DigestEmailComposer, SesDigestMailer
    from closeloop.adapters.digest_reports import ArchiveReportSource
    from closeloop.domain.digest import DigestPolicy, DigestSchedule, WeeklyDigests
    from closeloop.domain.leads import Lead

    config = settings()
    lead_locale = config.lead_locale or config.default_locale
    return WeeklyDigests(
        store=digest_store(),
        reports=ArchiveReportSource(
            s3_client(),
            config.archive_bucket,
            config.archive_prefix,
            Path(tempfile.gettempdir()) / "closeloop-digest",
        ),
        composer=DigestEmailComposer(
            email_renderer(), link_signer(), config.public_base_url, _helpdesk_urls()
        ),
        mailer=SesDigestMailer(
            sesv2_client(), config.sender_address, config.sender_name, config.ses_configuration_set or None
        ),
        policy=DigestPolicy(
            schedule=DigestSchedule.parse(config.digest_schedule),
            default_lead=Lead(config.lead_alert_address, lead_locale) if config.lead_alert_address else None,
            default_locale=lead_locale,
            default_timezone=config.default_timezone,
        ),
    )


def _helpdesk_urls() -> dict[str, str]:
    config = settings()
    return {
        name: url
        for name, url in (("zendesk", config.zendesk_base_url), ("freshdesk", config.freshdesk_base_url))
        if url
    }


def digest_unsubscribe_flow() -> DigestUnsubscribeFlow:
    """Built per request from the cached signing keys, like ``link_signer``."""
    from closeloop.adapters.digest_email import DigestUnsubscribePages
    from closeloop.domain.digest import DigestUnsubscribeFlow

    return DigestUnsubscribeFlow(link_signer(), digest_store(), DigestUnsubscribePages(email_renderer()))
