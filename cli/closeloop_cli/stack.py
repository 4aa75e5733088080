"""Creating the resources of ``template.yaml`` in moto: what moto cannot do for the sandbox, plus glue.

Maintained code does the rest: cfn-lint decodes the template and expands ``AWS::LanguageExtensions``,
aws-sam-translator turns the SAM resources into plain CloudFormation (``closeloop_cli.transform``), and
``graphlib`` orders the resources. What remains here is what no maintained part does locally: moto's own
CloudFormation cannot create Secrets Manager, Scheduler or SES resources (nor a table's TTL), and the
sandbox never lets moto run Lambda. So ``provision`` resolves each resource's properties (parameters,
conditions, intrinsics: ``closeloop_cli.cfn``), creates the ones the sandbox needs through ordinary boto3
clients (pointed at a moto server, or at ``mock_aws`` in tests), and describes each
``AWS::Lambda::Function`` with its SQS event source mappings and the HTTP API routes of its
``AWS::ApiGatewayV2::Api`` (``FunctionSpec``), which ``closeloop_cli.runtime``, ``relay`` and ``httpapi``
run. Permissions, roles, logging and packaging resources are not needed locally and are skipped.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import string
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import boto3

from closeloop_cli.cfn import Resolver, TemplateError, references
from closeloop_cli.transform import cloudformation, local_code_path

logger = logging.getLogger(__name__)

DEFAULT_REGION = "eu-west-1"
DEFAULT_API_URL = "http://127.0.0.1:3000"
FUNCTION_TYPE = "AWS::Lambda::Function"
ALIAS_TYPE = "AWS::Lambda::Alias"
HTTP_API_TYPE = "AWS::ApiGatewayV2::Api"
EVENT_SOURCE_MAPPING_TYPE = "AWS::Lambda::EventSourceMapping"
# Run by the sandbox itself (workers, relays, the HTTP API server), never created in moto.
LOCAL_TYPES = frozenset({FUNCTION_TYPE, ALIAS_TYPE, HTTP_API_TYPE, EVENT_SOURCE_MAPPING_TYPE})

# Types that exist only to wire permissions, logging or packaging in AWS; the sandbox needs none.
SKIPPED_TYPES = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::Logs::LogGroup",
        "AWS::Logs::SubscriptionFilter",
        "AWS::Lambda::Permission",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::Version",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::Events::EventBusPolicy",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::ApiGatewayV2::Stage",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::Integration",
        "AWS::SES::ReceiptRuleSet",
        "AWS::SES::ReceiptRule",
        "AWS::SES::ConfigurationSetEventDestination",
        "AWS::S3::BucketPolicy",
        # Recurring schedules (the digest's hourly run): moto never fires them and the scheduler pump fires
        # one-time schedules only; `closeloop digest --at` runs the digest for a chosen moment instead.
        "AWS::Scheduler::Schedule",
    }
)


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP API route: ``method`` is upper-case or ``ANY``; ``path`` keeps ``{param}`` markers."""

    method: str
    path: str
    function_id: str

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class SqsSource:
    """An SQS event source of a function, as a Lambda event source mapping sees it."""

    queue_url: str
    queue_arn: str
    batch_size: int = 10
    report_batch_item_failures: bool = False
    maximum_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency


@dataclass
class FunctionSpec:
    """What the sandbox needs to run one function in its own worker, as Lambda would."""

    logical_id: str
    function_name: str
    arn: str
    handler: str
    code_path: Path | None
    environment: dict[str, str]
    timeout_seconds: int = 3
    memory_mb: int = 128
    sqs_sources: list[SqsSource] = field(default_factory=list)
    http_routes: list[HttpRoute] = field(default_factory=list)
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions


@dataclass(frozen=True)
class ProvisionedResource:
    logical_id: str
    type: str
    ref: Any
    attributes: Mapping[str, Any]


@dataclass
class Stack:
    """The resolved result of provisioning one template."""

    name: str
    region: str
    account_id: str
    parameters: dict[str, str]
    outputs: dict[str, str]
    functions: dict[str, FunctionSpec]
    resources: dict[str, ProvisionedResource]
    skipped: list[tuple[str, str]]
    schedule_groups: list[str]
    queue_urls: dict[str, str]
    sender_identities: list[str]

    def ref(self, logical_id: str) -> Any:
        return self.resources[logical_id].ref


class ProvisionError(TemplateError):
    """A resource could not be created."""


def provision(
    template: Path | Mapping[str, Any],
    parameters: Mapping[str, str],
    *,
    stack_name: str = "closeloop",
    region: str | None = None,
    session: boto3.session.Session | None = None,
    endpoint_url: str | None = None,
    api_url: str = DEFAULT_API_URL,
    templates_path: Path | None = None,
    base_dir: Path | None = None,
    account_id: str | None = None,
    fallbacks: Mapping[str, str] | None = None,
) -> Stack:
    """Create the template's resources and return the resolved stack.

    ``parameters`` are overrides, validated against the template (same names as ``sam deploy
    --parameter-overrides``); ``fallbacks`` give values to declared parameters that have no override, in
    place of their default. Clients come from ``session`` (default: a new one) and talk to
    ``endpoint_url`` when given, else wherever boto3 points (``AWS_ENDPOINT_URL``, or ``mock_aws``).
    ``api_url`` replaces every ``execute-api`` URL of the template's HTTP APIs, and ``TEMPLATES_PATH``
    becomes ``templates_path`` (default: ``templates/`` beside the template). A template given as a
    mapping (already loaded) resolves ``CodeUri`` against ``base_dir`` (default: the current folder).
    ``account_id`` saves an STS call when the caller knows it.
    """
    base_dir = base_dir or (template.resolve().parent if isinstance(template, Path) else Path.cwd())
    session = session or boto3.session.Session()
    region = region or session.region_name or DEFAULT_REGION
    clients = _Clients(session, region, endpoint_url)
    account_id = account_id or clients("sts").get_caller_identity()["Account"]
    body, values = cloudformation(
        template,
        parameters,
        fallbacks=fallbacks or {},
        region=region,
        stack_name=stack_name,
        account_id=account_id,
        cache_dir=base_dir / ".aws-sam" / "sandbox",
    )
    builder = _StackBuilder(
        body=body,
        resolver=Resolver(
            template=body, parameters=values, stack_name=stack_name, region=region, account_id=account_id
        ),
        overrides=dict(parameters),
        clients=clients,
        api_url=api_url.rstrip("/"),
        base_dir=base_dir,
        templates_path=templates_path or base_dir / "templates",
    )
    return builder.build()


# Clients of each session, by service, region and endpoint, kept for the session's life: tests provision
# the template hundreds of times with one session, and a client costs more to create than most calls.
_SESSION_CLIENTS: weakref.WeakKeyDictionary[boto3.session.Session, dict[tuple[str, str, str | None], Any]] = (
    weakref.WeakKeyDictionary()
)


class _Clients:
    """boto3 clients of one session, region and endpoint, each created once per session."""

    def __init__(self, session: boto3.session.Session, region: str, endpoint_url: str | None) -> None:
        self.session = session
        self.region = region
        self.endpoint_url = endpoint_url
        self._clients = _SESSION_CLIENTS.setdefault(session, {})

    def __call__(self, service: str) -> Any:
        key = (service, self.region, self.endpoint_url)
        if key not in self._clients:
            self._clients[key] = self.session.client(
                service,  # type: ignore[call-overload]
                region_name=self.region,
                endpoint_url=self.endpoint_url,
            )
        return self._clients[key]


class _StackBuilder:
    def __init__(
        self,
        *,
        body: dict[str, Any],
        resolver: Resolver,
        overrides: dict[str, str],
        clients: _Clients,
        api_url: str,
        base_dir: Path,
        templates_path: Path,
    ) -> None:
        self.body = body
        self.resolver = resolver
        self.overrides = overrides
        self._client = clients
        self.region = clients.region
        self.api_url = api_url
        self.base_dir = base_dir
        self.templates_path = templates_path
        self.resources: dict[str, ProvisionedResource] = {}
        self.skipped: list[tuple[str, str]] = []
        self.queue_urls: dict[str, str] = {}
        self.schedule_groups: list[str] = []
        self.api_ids: set[str] = set()

    # Plumbing ---------------------------------------------------------------------------------------

    @property
    def stack_name(self) -> str:
        return self.resolver.stack_name

    def _default_name(self, logical_id: str) -> str:
        return f"{self.stack_name}-{logical_id}"

    def _arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.resolver.partition}:{service}:{region}:{self.resolver.account_id}:{resource}"

    def _register(self, logical_id: str, kind: str, ref: Any, **attributes: Any) -> None:
        self.resources[logical_id] = ProvisionedResource(logical_id, kind, ref, attributes)
        self.resolver.refs[logical_id] = ref
        for name, value in attributes.items():
            self.resolver.attributes[(logical_id, name)] = value

    def _localize(self, value: Any) -> Any:
        """Point every ``execute-api`` URL of this stack's HTTP APIs at the local API server."""
        if isinstance(value, str):
            for api_id in self.api_ids:
                pattern = (
                    rf"https?://{re.escape(api_id)}\.execute-api\.{re.escape(self.region)}"
                    rf"\.{re.escape(self.resolver.url_suffix)}(?:/\$default)?"
                )
                value = re.sub(pattern, self.api_url, value)
            return value
        if isinstance(value, list):
            return [self._localize(item) for item in value]
        if isinstance(value, dict):
            return {key: self._localize(item) for key, item in value.items()}
        return value

    # Build ------------------------------------------------------------------------------------------

    def build(self) -> Stack:
        declared: dict[str, Any] = self.body.get("Resources") or {}
        enabled = {
            logical_id: resource
            for logical_id, resource in declared.items()
            if self.resolver.is_enabled(resource or {})
        }
        of_type = {
            kind: {logical_id: r for logical_id, r in enabled.items() if r.get("Type") == kind}
            for kind in LOCAL_TYPES
        }
        # Names known before anything exists: the API's routes and a function's environment may refer to
        # each other (through the function's alias), which CloudFormation resolves with late binding.
        for logical_id in of_type[HTTP_API_TYPE]:
            self._register_http_api(logical_id)
        for logical_id, resource in of_type[FUNCTION_TYPE].items():
            name = self._function_name(logical_id, resource.get("Properties") or {})
            self._register(logical_id, FUNCTION_TYPE, name, Arn=self._arn("lambda", f"function:{name}"))
        for logical_id, resource in of_type[ALIAS_TYPE].items():
            self._register_alias(logical_id, resource.get("Properties") or {})
        created = {logical_id: r for logical_id, r in enabled.items() if r.get("Type") not in LOCAL_TYPES}
        for logical_id in _dependency_order(created):
            kind = str(created[logical_id].get("Type", ""))
            properties = dict(created[logical_id].get("Properties") or {})
            try:
                self._create(logical_id, kind, properties)
            except TemplateError:
                raise
            except Exception as error:
                raise ProvisionError(f"cannot create {logical_id} ({kind}): {error}") from error
        sender_identities = self._verify_sender()
        functions = {name: self._function(name, r) for name, r in of_type[FUNCTION_TYPE].items()}
        for logical_id, resource in of_type[EVENT_SOURCE_MAPPING_TYPE].items():
            self._event_source_mapping(logical_id, resource, functions)
        for logical_id, resource in of_type[HTTP_API_TYPE].items():
            self._http_routes(logical_id, resource, functions)
        if self.skipped:
            logger.debug(
                "not emulated (not needed locally): %s",
                ", ".join(f"{logical_id} ({kind})" for logical_id, kind in self.skipped),
            )
        return Stack(
            name=self.stack_name,
            region=self.region,
            account_id=self.resolver.account_id,
            parameters=dict(self.resolver.parameters),
            outputs=self._outputs(),
            functions=functions,
            resources=self.resources,
            skipped=self.skipped,
            schedule_groups=self.schedule_groups,
            queue_urls=self.queue_urls,
            sender_identities=sender_identities,
        )

    def _register_http_api(self, logical_id: str) -> None:
        api_id = logical_id.lower()
        self.api_ids.add(api_id)
        self._register(logical_id, HTTP_API_TYPE, api_id, ApiEndpoint=self.api_url, ApiId=api_id)

    def _register_alias(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        function = self.resolver.resolve(properties.get("FunctionName"))
        arn = function if str(function).startswith("arn:") else self._arn("lambda", f"function:{function}")
        alias_arn = f"{arn}:{self.resolver.resolve(properties.get('Name'))}"
        self._register(logical_id, ALIAS_TYPE, alias_arn, AliasArn=alias_arn)

    def _create(self, logical_id: str, kind: str, properties: dict[str, Any]) -> None:
        creators = {
            "AWS::Events::EventBus": self._event_bus,
            "AWS::Events::Rule": self._event_rule,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SNS::Topic": self._topic,
            "AWS::SNS::Subscription": self._subscription,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::Scheduler::ScheduleGroup": self._schedule_group,
            "AWS::SES::ConfigurationSet": self._configuration_set,
            "AWS::SES::EmailIdentity": self._email_identity,
            "AWS::SSM::Parameter": self._ssm_parameter,
            "AWS::Glue::Database": self._glue_database,
            "AWS::Glue::Table": self._glue_table,
            "AWS::Athena::WorkGroup": self._athena_work_group,
            "AWS::Athena::NamedQuery": self._athena_named_query,
        }
        creator = creators.get(kind)
        if creator is not None:
            creator(logical_id, properties)
            return
        if kind not in SKIPPED_TYPES:
            logger.warning("resource %s has type %s, which the sandbox does not emulate", logical_id, kind)
        self._placeholder(logical_id, kind)

    def _function_name(self, logical_id: str, properties: Mapping[str, Any]) -> str:
        return str(self.resolver.resolve(properties.get("FunctionName")) or self._default_name(logical_id))

    def _placeholder(self, logical_id: str, kind: str) -> None:
        """Give a resource that is not created a plausible name and ARN, so references still resolve."""
        self.skipped.append((logical_id, kind))
        name = self._default_name(logical_id)
        service = kind.split("::")[1].lower() if kind.count("::") == 2 else "unknown"
        if kind == "AWS::IAM::Role":
            arn = self._arn("iam", f"role/{name}", regional=False)
        elif service == "iam":
            arn = self._arn("iam", f"policy/{name}", regional=False)
        elif kind == "AWS::Logs::LogGroup":
            arn = self._arn("logs", f"log-group:{name}:*")
        elif service == "lambda":
            arn = self._arn("lambda", f"layer:{name}:1")
        else:
            arn = self._arn(service, name)
        self._register(logical_id, kind, name, Arn=arn, Name=name)

    # Resource creators ------------------------------------------------------------------------------

    def _resolved(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        resolved: dict[str, Any] = self.resolver.resolve(dict(properties)) or {}
        return resolved

    def _event_bus(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        name = str(props["Name"])
        client = self._client("events")
        if name == "default":
            arn = client.describe_event_bus(Name=name)["Arn"]
        else:
            arguments: dict[str, Any] = {"Name": name}
            if props.get("Description"):
                arguments["Description"] = props["Description"]
            arn = client.create_event_bus(**arguments)["EventBusArn"]
        self._register(logical_id, "AWS::Events::EventBus", name, Arn=arn, Name=name)

    def _event_rule(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        name = str(props.get("Name") or self._default_name(logical_id))
        bus = str(props.get("EventBusName") or "default").rsplit("/", 1)[-1]
        arguments: dict[str, Any] = {
            "Name": name,
            "EventBusName": bus,
            "State": props.get("State", "ENABLED"),
        }
        if "EventPattern" in props:
            pattern = props["EventPattern"]
            arguments["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        if "ScheduleExpression" in props:
            arguments["ScheduleExpression"] = props["ScheduleExpression"]
        if props.get("Description"):
            arguments["Description"] = props["Description"]
        client = self._client("events")
        arn = client.put_rule(**arguments)["RuleArn"]
        targets = []
        for target in props.get("Targets") or []:
            service = str(target.get("Arn", "")).split(":")[2:3]
            if service not in (["sqs"], ["logs"], ["events"]):
                # moto fails put_events outright for any other target kind (not implemented there).
                logger.warning(
                    "rule %s: target %s (%s) is not delivered in the sandbox (moto delivers to SQS only)",
                    logical_id,
                    target.get("Id"),
                    target.get("Arn"),
                )
                continue
            keys = ("Id", "Arn", "Input", "InputPath", "InputTransformer", "SqsParameters", "RoleArn")
            targets.append({key: target[key] for key in keys if key in target})
        if targets:
            client.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        self._register(logical_id, "AWS::Events::Rule", name, Arn=arn)

    def _table(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        name = str(props.get("TableName") or self._default_name(logical_id))
        arguments: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
        }
        billing = props.get("BillingMode") or ("PROVISIONED" if "ProvisionedThroughput" in props else None)
        arguments["BillingMode"] = billing or "PAY_PER_REQUEST"
        if arguments["BillingMode"] == "PROVISIONED":
            arguments["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if props.get(key):
                arguments[key] = [_index(index, arguments["BillingMode"]) for index in props[key]]
        stream = props.get("StreamSpecification")
        if stream:
            arguments["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }
        if props.get("Tags"):
            arguments["Tags"] = props["Tags"]
        client = self._client("dynamodb")
        description = client.create_table(**arguments)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and _truthy(ttl.get("Enabled")):
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        recovery = props.get("PointInTimeRecoverySpecification")
        if recovery and _truthy(recovery.get("PointInTimeRecoveryEnabled")):
            client.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        self._register(
            logical_id,
            "AWS::DynamoDB::Table",
            name,
            Arn=description["TableArn"],
            StreamArn=description.get("LatestStreamArn", ""),
        )

    def _queue(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        fifo = _truthy(props.get("FifoQueue"))
        name = str(props.get("QueueName") or self._default_name(logical_id) + (".fifo" if fifo else ""))
        attributes: dict[str, str] = {}
        for key, value in props.items():
            if key in ("QueueName", "Tags"):
                continue
            if isinstance(value, dict | list):
                attributes[key] = json.dumps(value)
            elif isinstance(value, bool):
                attributes[key] = "true" if value else "false"
            else:
                attributes[key] = str(value)
        arguments: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
        if props.get("Tags"):
            arguments["tags"] = {tag["Key"]: tag["Value"] for tag in props["Tags"]}
        client = self._client("sqs")
        url = client.create_queue(**arguments)["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.queue_urls[arn] = url
        self._register(logical_id, "AWS::SQS::Queue", url, Arn=arn, QueueUrl=url, QueueName=name)

    def _bucket(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        """A bucket with its encryption, lifecycle rules and queue notifications (what moto's S3 sends on);
        public access and ownership settings change nothing locally."""
        props = self._resolved(properties)
        # Bucket names are global and lower case: CloudFormation derives one from the stack and logical id.
        name = str(
            props.get("BucketName") or f"{self.stack_name}-{logical_id}-{secrets.token_hex(4)}".lower()
        )
        client = self._client("s3")
        arguments: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        client.create_bucket(**arguments)
        encryption = (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
        if encryption:
            client.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                        for rule in encryption
                    ]
                },
            )
        rules = (props.get("LifecycleConfiguration") or {}).get("Rules") or []
        if rules:
            client.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": [_lifecycle_rule(rule) for rule in rules]}
            )
        queues = (props.get("NotificationConfiguration") or {}).get("QueueConfigurations") or []
        if queues:
            client.put_bucket_notification_configuration(
                Bucket=name,
                NotificationConfiguration={"QueueConfigurations": [_queue_notification(q) for q in queues]},
            )
        self._register(
            logical_id,
            "AWS::S3::Bucket",
            name,
            Arn=f"arn:{self.resolver.partition}:s3:::{name}",
            DomainName=f"{name}.s3.amazonaws.com",
        )

    def _topic(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        fifo = _truthy(props.get("FifoTopic"))
        name = str(props.get("TopicName") or self._default_name(logical_id) + (".fifo" if fifo else ""))
        attributes = {
            key: ("true" if value is True else "false" if value is False else str(value))
            for key, value in props.items()
            if key in ("DisplayName", "FifoTopic", "ContentBasedDeduplication")
        }
        client = self._client("sns")
        arn = client.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        for subscription in props.get("Subscription") or []:
            client.subscribe(
                TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"]
            )
        self._register(logical_id, "AWS::SNS::Topic", arn, TopicArn=arn, TopicName=name)

    def _subscription(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        arguments: dict[str, Any] = {"TopicArn": props["TopicArn"], "Protocol": props["Protocol"]}
        if props.get("Endpoint"):
            arguments["Endpoint"] = props["Endpoint"]
        attributes = {
            key: json.dumps(props[key]) if isinstance(props[key], dict) else str(props[key])
            for key in ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy")
            if key in props
        }
        if attributes:
            arguments["Attributes"] = attributes
        arn = self._client("sns").subscribe(**arguments, ReturnSubscriptionArn=True)["SubscriptionArn"]
        self._register(logical_id, "AWS::SNS::Subscription", arn, Arn=arn)

    def _secret(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        name = str(props.get("Name") or self._default_name(logical_id))
        arguments: dict[str, Any] = {"Name": name}
        if "SecretString" in props:
            arguments["SecretString"] = str(props["SecretString"])
        elif "GenerateSecretString" in props:
            arguments["SecretString"] = generate_secret_string(props["GenerateSecretString"])
        # With neither, CloudFormation creates the secret empty: it has no value until one is put.
        if props.get("Description"):
            arguments["Description"] = props["Description"]
        if props.get("Tags"):
            arguments["Tags"] = props["Tags"]
        arn = self._client("secretsmanager").create_secret(**arguments)["ARN"]
        self._register(logical_id, "AWS::SecretsManager::Secret", arn, Id=arn)

    def _ssm_parameter(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        name = str(props.get("Name") or self._default_name(logical_id))
        arguments: dict[str, Any] = {"Name": name, "Value": str(props["Value"]), "Type": props["Type"]}
        for key in ("Description", "Tier", "AllowedPattern", "DataType"):
            if props.get(key):
                arguments[key] = props[key]
        self._client("ssm").put_parameter(**arguments)
        self._register(logical_id, "AWS::SSM::Parameter", name, Type=props["Type"], Value=arguments["Value"])

    # The catalogue and the workgroup exist so the archive's names resolve and can be listed; moto never
    # runs a query nor reads a table's partition projection (docs/sandbox.md).
    def _glue_database(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        database = dict(props["DatabaseInput"])
        name = str(database.get("Name") or self._default_name(logical_id)).lower()
        database["Name"] = name
        self._client("glue").create_database(DatabaseInput=database)
        self._register(logical_id, "AWS::Glue::Database", name)

    def _glue_table(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        table = dict(props["TableInput"])
        name = str(table.get("Name") or logical_id.lower())
        table["Name"] = name
        self._client("glue").create_table(DatabaseName=props["DatabaseName"], TableInput=table)
        self._register(logical_id, "AWS::Glue::Table", name)

    def _athena_work_group(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        name = str(props["Name"])
        arguments: dict[str, Any] = {"Name": name}
        if props.get("Description"):
            arguments["Description"] = props["Description"]
        configuration = props.get("WorkGroupConfiguration")
        if configuration:
            arguments["Configuration"] = {
                key: value for key, value in configuration.items() if key != "AdditionalConfiguration"
            }
        self._client("athena").create_work_group(**arguments)
        self._register(logical_id, "AWS::Athena::WorkGroup", name)

    def _athena_named_query(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        keys = ("Name", "Description", "Database", "QueryString", "WorkGroup")
        arguments = {key: props[key] for key in keys if props.get(key)}
        query_id = self._client("athena").create_named_query(**arguments)["NamedQueryId"]
        self._register(logical_id, "AWS::Athena::NamedQuery", query_id, NamedQueryId=query_id)

    def _schedule_group(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        name = str(props.get("Name") or self._default_name(logical_id))
        arn = self._client("scheduler").create_schedule_group(Name=name)["ScheduleGroupArn"]
        self.schedule_groups.append(name)
        self._register(logical_id, "AWS::Scheduler::ScheduleGroup", name, Arn=arn)

    def _configuration_set(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        name = str(props.get("Name") or self._default_name(logical_id))
        self._client("sesv2").create_configuration_set(ConfigurationSetName=name)
        self._register(logical_id, "AWS::SES::ConfigurationSet", name)

    def _email_identity(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        props = self._resolved(properties)
        identity = str(props["EmailIdentity"])
        self._client("sesv2").create_email_identity(EmailIdentity=identity)
        self._register(logical_id, "AWS::SES::EmailIdentity", identity)

    def _verify_sender(self) -> list[str]:
        """Verify the ``SenderAddress`` parameter's address and domain, so moto's SES accepts sends."""
        sender = self.resolver.parameters.get("SenderAddress", "")
        address = parseaddr(sender)[1]
        if "@" not in address:
            return []
        domain = address.rsplit("@", 1)[1]
        client = self._client("ses")
        client.verify_email_identity(EmailAddress=address)
        client.verify_domain_identity(Domain=domain)
        return [address, domain]

    # Functions, their event sources and routes, outputs ---------------------------------------------

    def _function(self, logical_id: str, resource: Mapping[str, Any]) -> FunctionSpec:
        props = self._resolved(resource.get("Properties") or {})
        variables = (props.get("Environment") or {}).get("Variables") or {}
        environment = {name: _env_text(value) for name, value in self._localize(variables).items()}
        if "TEMPLATES_PATH" in environment:
            environment["TEMPLATES_PATH"] = str(self.templates_path)
        if "PUBLIC_BASE_URL" in environment and "PublicBaseUrl" not in self.overrides:
            environment["PUBLIC_BASE_URL"] = environment["PUBLIC_BASE_URL"] or self.api_url
        reserved = props.get("ReservedConcurrentExecutions")
        return FunctionSpec(
            logical_id=logical_id,
            function_name=self.resources[logical_id].ref,
            arn=self.resources[logical_id].attributes["Arn"],
            handler=str(props.get("Handler", "")),
            code_path=local_code_path(props.get("Code"), self.base_dir),
            environment=environment,
            timeout_seconds=int(props.get("Timeout") or 3),
            memory_mb=int(props.get("MemorySize") or 128),
            reserved_concurrency=None if reserved is None else int(reserved),
        )

    def _function_of(self, target: str, specs: Mapping[str, FunctionSpec]) -> FunctionSpec | None:
        """The function a name, ARN or alias ARN (``...:function:name:alias``) designates."""
        unqualified = ":".join(target.split(":")[:7]) if target.startswith("arn:") else target
        names = {(spec.function_name, spec.arn, spec.logical_id): spec for spec in specs.values()}
        return next((spec for known, spec in names.items() if unqualified in known), None)

    def _event_source_mapping(
        self, logical_id: str, resource: Mapping[str, Any], specs: Mapping[str, FunctionSpec]
    ) -> None:
        props = self._resolved(resource.get("Properties") or {})
        spec = self._function_of(str(props.get("FunctionName", "")), specs)
        arn = str(props.get("EventSourceArn", ""))
        if spec is None or arn not in self.queue_urls:
            logger.warning(
                "event source mapping %s is not emulated (only SQS to a stack function)", logical_id
            )
            return
        scaling = props.get("ScalingConfig") or {}
        spec.sqs_sources.append(
            SqsSource(
                queue_url=self.queue_urls[arn],
                queue_arn=arn,
                batch_size=int(props.get("BatchSize") or 10),
                report_batch_item_failures="ReportBatchItemFailures"
                in (props.get("FunctionResponseTypes") or []),
                maximum_concurrency=int(scaling["MaximumConcurrency"])
                if "MaximumConcurrency" in scaling
                else None,
            )
        )

    def _http_routes(
        self, logical_id: str, resource: Mapping[str, Any], specs: Mapping[str, FunctionSpec]
    ) -> None:
        """Routes from the API's OpenAPI ``Body`` (as SAM writes it): each Lambda proxy integration."""
        paths = ((resource.get("Properties") or {}).get("Body") or {}).get("paths") or {}
        for path, operations in paths.items():
            for method, operation in (operations or {}).items():
                integration = (operation or {}).get("x-amazon-apigateway-integration") or {}
                uri = str(self.resolver.resolve(integration.get("uri")) or "")
                target = uri.partition("/functions/")[2].removesuffix("/invocations")
                spec = self._function_of(target, specs)
                if spec is None:
                    logger.warning("%s %s of %s is not a stack function's route", method, path, logical_id)
                    continue
                verb = method.upper()
                any_method = verb in ("*", "X-AMAZON-APIGATEWAY-ANY-METHOD")
                spec.http_routes.append(HttpRoute("ANY" if any_method else verb, path, spec.logical_id))

    def _outputs(self) -> dict[str, str]:
        outputs: dict[str, str] = {}
        for name, output in (self.body.get("Outputs") or {}).items():
            if not self.resolver.is_enabled(output or {}):
                continue
            try:
                value = self._localize(self.resolver.resolve(output.get("Value")))
            except TemplateError as error:
                raise TemplateError(f"output {name}: {error}") from error
            outputs[name] = _env_text(value)
        return outputs


def _dependency_order(resources: Mapping[str, Any]) -> list[str]:
    """Logical ids so that every resource comes after the ones it references."""
    graph: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn") or []
        named = {depends_on} if isinstance(depends_on, str) else set(depends_on)
        found = set(references(resource.get("Properties") or {})) | named
        graph[logical_id] = {name for name in found if name in resources and name != logical_id}
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise TemplateError(f"circular references between {', '.join(error.args[1])}") from error


def _throughput(value: Mapping[str, Any] | None) -> dict[str, int]:
    value = value or {}
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 5)),
    }


def _index(index: Mapping[str, Any], billing_mode: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        key: index[key] for key in ("IndexName", "KeySchema", "Projection") if key in index
    }
    if billing_mode == "PROVISIONED" and "ProvisionedThroughput" in index:
        result["ProvisionedThroughput"] = _throughput(index["ProvisionedThroughput"])
    return result


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule as S3's API takes it (only what closeloop's template uses)."""
    converted: dict[str, Any] = {"ID": rule.get("Id", "rule"), "Status": rule.get("Status", "Enabled")}
    converted["Filter"] = {"Prefix": rule.get("Prefix", "")}
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        converted["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return converted


def _queue_notification(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudFormation queue notification as S3's API takes it."""
    converted: dict[str, Any] = {"QueueArn": configuration["Queue"], "Events": [configuration["Event"]]}
    key_rules = ((configuration.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
    if key_rules:
        converted["Filter"] = {"Key": {"FilterRules": [dict(rule) for rule in key_rules]}}
    return converted


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _env_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_env_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def generate_secret_string(spec: Mapping[str, Any]) -> str:
    """A value like CloudFormation's ``GenerateSecretString`` makes.

    With ``SecretStringTemplate`` and ``GenerateStringKey`` the result is the template's JSON with that
    key set to a random string of ``PasswordLength`` (default 32) characters; otherwise the bare string.
    """
    alphabet = ""
    groups: list[str] = []
    for flag, characters in (
        ("ExcludeLowercase", string.ascii_lowercase),
        ("ExcludeUppercase", string.ascii_uppercase),
        ("ExcludeNumbers", string.digits),
        ("ExcludePunctuation", _PUNCTUATION),
    ):
        if not _truthy(spec.get(flag, False)):
            excluded = str(spec.get("ExcludeCharacters", ""))
            kept = "".join(character for character in characters if character not in excluded)
            if kept:
                groups.append(kept)
                alphabet += kept
    if _truthy(spec.get("IncludeSpace", False)):
        alphabet += " "
    if not alphabet:
        raise TemplateError("GenerateSecretString excludes every character")
    length = int(spec.get("PasswordLength", 32))
    require_each = _truthy(spec.get("RequireEachIncludedType", True)) and length >= len(groups)
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if not require_each or all(any(character in group for character in password) for group in groups):
            break
    template_text = spec.get("SecretStringTemplate")
    key = spec.get("GenerateStringKey")
    if template_text is None or key is None:
        return password
    document = json.loads(str(template_text))
    document[str(key)] = password
    return json.dumps(document)
