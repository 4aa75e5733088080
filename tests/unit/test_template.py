"""Invariants of ``template.yaml``, read as data: what every deployment must guarantee.

cfn-lint and ``sam validate --lint`` check that the template is valid CloudFormation; these tests check the
project's own rules (least privilege, dead-letter queues, encryption, the configuration contract with
``closeloop.config.Settings``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from closeloop.config import Settings

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
FUNCTIONS = REPO / "functions"

# Actions that IAM cannot scope to a resource, so ``Resource: "*"`` is the only way to grant them.
UNSCOPABLE_ACTIONS = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "cloudwatch:PutMetricData": "CloudWatch metrics have no resource ARN (scoped by namespace condition)",
    "comprehend:DetectSentiment": "Comprehend's real-time analysis APIs have no resource-level permissions",
}

REQUIRED_OUTPUTS = ("EventBusName", "ApiUrl", "ZendeskSecretArn", "FreshdeskSecretArn", "LeadAlertTopicArn")

SHORT_FORM_TAGS = (
    "Ref",
    "Condition",
    "GetAtt",
    "Sub",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "Select",
    "Split",
    "Join",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Base64",
    "Cidr",
)


class CloudFormationLoader(yaml.SafeLoader):
    """A safe YAML loader that reads short-form intrinsics (``!Ref x``) as their long form."""


def _construct_intrinsic(loader: CloudFormationLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if tag_suffix not in SHORT_FORM_TAGS:
        raise yaml.constructor.ConstructorError(None, None, f"unknown tag !{tag_suffix}", node.start_mark)
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CloudFormationLoader)  # noqa: S506
    return loaded


TEMPLATE_DATA = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE_DATA["Resources"]
FUNCTION_IDS = sorted(name for name, res in RESOURCES.items() if res["Type"] == "AWS::Serverless::Function")
GLOBAL_FUNCTION: dict[str, Any] = TEMPLATE_DATA.get("Globals", {}).get("Function", {})


def resources_of_type(resource_type: str) -> list[str]:
    return sorted(name for name, res in RESOURCES.items() if res["Type"] == resource_type)


def function_property(function_id: str, name: str) -> Any:
    """A function's property, falling back to ``Globals.Function`` as SAM does."""
    return RESOURCES[function_id]["Properties"].get(name, GLOBAL_FUNCTION.get(name))


def function_environment(function_id: str) -> dict[str, Any]:
    """The environment a function gets: the global variables merged with its own, as SAM merges them."""
    shared = GLOBAL_FUNCTION.get("Environment", {}).get("Variables", {})
    own = RESOURCES[function_id]["Properties"].get("Environment", {}).get("Variables", {})
    return {**shared, **own}


def referenced_resource(value: Any) -> str:
    """The logical id behind ``!Ref X`` or ``!GetAtt X.Attr``."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    raise AssertionError(f"expected a Ref or GetAtt, got {value!r}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def iam_statements() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every inline IAM statement in the template, with the logical id that holds it."""
    for name, res in RESOURCES.items():
        props = res.get("Properties", {})
        documents: list[Any] = []
        if res["Type"] == "AWS::Serverless::Function":
            # SAM policy templates ({"DynamoDBCrudPolicy": ...}) are scoped by construction; inline
            # documents carry a Statement.
            documents += [policy for policy in props.get("Policies", []) if isinstance(policy, dict)]
        if res["Type"] == "AWS::IAM::Role":
            documents += [policy["PolicyDocument"] for policy in props.get("Policies", [])]
        if "PolicyDocument" in props:
            documents.append(props["PolicyDocument"])
        for document in documents:
            for statement in as_list(document.get("Statement", [])):
                yield name, statement


def intrinsic_references(node: Any) -> Iterator[str]:
    """Names referenced by Ref and by ``${Name}`` in Sub strings anywhere under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                yield str(value)
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                yield from (match.split(".")[0] for match in re.findall(r"\$\{([^}!]+)\}", text))
                if isinstance(value, list):
                    yield from intrinsic_references(value[1:])
            else:
                yield from intrinsic_references(value)
    elif isinstance(node, list):
        for item in node:
            yield from intrinsic_references(item)


def test_every_parameter_has_a_description_and_a_default() -> None:
    # GIVEN the template's parameters
    parameters = TEMPLATE_DATA["Parameters"]
    # THEN each explains itself and can be left out of a deployment
    assert parameters
    undocumented = [name for name, spec in parameters.items() if not spec.get("Description")]
    without_default = [name for name, spec in parameters.items() if "Default" not in spec]
    assert undocumented == []
    assert without_default == []


def test_every_parameter_is_used() -> None:
    # GIVEN everything outside the Parameters section and its console grouping
    body = {key: value for key, value in TEMPLATE_DATA.items() if key not in ("Parameters", "Metadata")}
    used = set(intrinsic_references(body))
    # THEN no parameter is declared that nothing reads
    unused = sorted(set(TEMPLATE_DATA["Parameters"]) - used)
    assert unused == []


def test_no_iam_statement_grants_every_resource_except_for_unscopable_actions() -> None:
    # GIVEN every inline IAM statement
    statements = list(iam_statements())
    assert statements
    # THEN a wildcard resource only ever comes with actions that cannot be scoped
    offenders = [
        (holder, action)
        for holder, statement in statements
        if "*" in as_list(statement.get("Resource", []))
        for action in as_list(statement["Action"])
        if action not in UNSCOPABLE_ACTIONS
    ]
    assert offenders == []


def test_no_iam_statement_allows_a_service_wildcard_action() -> None:
    statements = list(iam_statements())
    wildcards = [
        (holder, action)
        for holder, statement in statements
        for action in as_list(statement.get("Action", []))
        if action == "*" or action.endswith(":*")
    ]
    assert wildcards == []


def sqs_event_sources() -> Iterator[tuple[str, str]]:
    """(function id, queue id) for every SQS event of every function."""
    for function_id in FUNCTION_IDS:
        for event in RESOURCES[function_id]["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                yield function_id, referenced_resource(event["Properties"]["Queue"])


def test_functions_consume_the_plan_send_reopen_and_delivery_queues() -> None:
    assert sorted(queue for _, queue in sqs_event_sources()) == [
        "DeliveryEventsQueue",
        "PlanQueue",
        "ReopenQueue",
        "SendQueue",
    ]


def test_ses_bounces_and_complaints_reach_the_delivery_queue_from_the_default_bus() -> None:
    # GIVEN the configuration set every survey is sent with
    destination = RESOURCES["SesEventsDestination"]["Properties"]
    rule = RESOURCES["DeliveryEventsRule"]["Properties"]
    # THEN SES publishes its bounces and complaints to the default bus (the only bus SES can publish to)
    assert referenced_resource(destination["ConfigurationSetName"]) == "SesConfigurationSet"
    assert sorted(destination["EventDestination"]["MatchingEventTypes"]) == ["BOUNCE", "COMPLAINT"]
    bus_arn = destination["EventDestination"]["EventBridgeDestination"]["EventBusArn"]["Fn::Sub"]
    assert bus_arn.endswith(":event-bus/default")
    # AND a rule on that bus sends those about surveys to the queue DeliverabilityFunction consumes
    assert rule["EventBusName"] == "default"
    assert rule["EventPattern"]["source"] == ["aws.ses"]
    assert sorted(rule["EventPattern"]["detail-type"]) == ["Email Bounced", "Email Complaint Received"]
    [target] = rule["Targets"]
    assert referenced_resource(target["Arn"]) == "DeliveryEventsQueue"
    assert referenced_resource(target["DeadLetterConfig"]["Arn"]) == "DeliveryEventsDeadLetterQueue"


@pytest.mark.parametrize(("function_id", "queue_id"), list(sqs_event_sources()))
def test_every_consumed_queue_redrives_to_a_dead_letter_queue(function_id: str, queue_id: str) -> None:
    # GIVEN a queue a function consumes
    queue = RESOURCES[queue_id]["Properties"]
    # THEN messages that keep failing move to another queue, which keeps them for the maximum 14 days
    redrive = queue["RedrivePolicy"]
    dead_letter_id = referenced_resource(redrive["deadLetterTargetArn"])
    assert dead_letter_id != queue_id
    assert RESOURCES[dead_letter_id]["Type"] == "AWS::SQS::Queue"
    assert RESOURCES[dead_letter_id]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert 1 < redrive["maxReceiveCount"] <= 10


@pytest.mark.parametrize(("function_id", "queue_id"), list(sqs_event_sources()))
def test_every_consumed_queue_outlasts_six_function_timeouts(function_id: str, queue_id: str) -> None:
    # Lambda's guidance: a shorter visibility timeout redelivers messages still being processed.
    visibility = RESOURCES[queue_id]["Properties"]["VisibilityTimeout"]
    assert visibility >= 6 * function_property(function_id, "Timeout")


@pytest.mark.parametrize(("function_id", "queue_id"), list(sqs_event_sources()))
def test_every_sqs_consumer_reports_partial_batch_failures(function_id: str, queue_id: str) -> None:
    events = RESOURCES[function_id]["Properties"]["Events"].values()
    (event,) = [e for e in events if e["Type"] == "SQS"]
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("queue_id", resources_of_type("AWS::SQS::Queue"))
def test_every_queue_is_encrypted(queue_id: str) -> None:
    assert RESOURCES[queue_id]["Properties"]["SqsManagedSseEnabled"] is True


@pytest.mark.parametrize("table_id", resources_of_type("AWS::DynamoDB::Table"))
def test_every_table_is_encrypted_and_recoverable(table_id: str) -> None:
    table = RESOURCES[table_id]["Properties"]
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_the_surveys_table_survives_stack_deletion_and_replacement() -> None:
    surveys = RESOURCES["SurveysTable"]
    assert surveys["DeletionPolicy"] == "Retain"
    assert surveys["UpdateReplacePolicy"] == "Retain"


def handler_module(function_id: str) -> tuple[Path, str]:
    module, _, attribute = function_property(function_id, "Handler").rpartition(".")
    return FUNCTIONS.joinpath(*module.split(".")).with_suffix(".py"), attribute


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_every_handler_names_a_function_in_the_code_package(function_id: str) -> None:
    # GIVEN the function's Handler string and the one code package every function ships
    assert function_property(function_id, "CodeUri") == "functions/"
    path, attribute = handler_module(function_id)
    if not path.exists():
        # Temporary: the handler modules are being written alongside this template.
        pytest.skip(f"{path.relative_to(REPO)} does not exist yet")
    # THEN the module defines the named callable at top level
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    defined |= {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert attribute in defined


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_every_function_gets_the_dependency_and_templates_layers(function_id: str) -> None:
    layers = [referenced_resource(layer) for layer in function_property(function_id, "Layers")]
    assert layers == ["DependenciesLayer", "TemplatesLayer"]
    assert function_property(function_id, "Runtime") == "python3.12"


def test_the_templates_layer_is_where_the_functions_look_for_templates() -> None:
    # A layer's content is extracted under /opt.
    assert RESOURCES["TemplatesLayer"]["Properties"]["ContentUri"] == "templates/"
    assert GLOBAL_FUNCTION["Environment"]["Variables"]["TEMPLATES_PATH"] == "/opt"


SETTING_VARIABLES = {name.upper() for name in Settings.model_fields}


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_every_environment_variable_is_a_setting_or_a_powertools_variable(function_id: str) -> None:
    # GIVEN the environment a function runs with
    names = set(function_environment(function_id))
    # THEN the code reads every variable: nothing is set that Settings (or Powertools) ignores
    unknown = sorted(name for name in names - SETTING_VARIABLES if not name.startswith("POWERTOOLS_"))
    assert unknown == []


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_every_setting_is_configured_by_the_template(function_id: str) -> None:
    # GIVEN the settings the code reads
    # THEN the deployment sets each one (a missing variable would silently fall back to a local default),
    # except the public URL, which only SendFunction gets (see the next test)
    expected = SETTING_VARIABLES - {"PUBLIC_BASE_URL"}
    missing = sorted(expected - set(function_environment(function_id)))
    assert missing == []


def test_only_the_send_function_gets_the_public_base_url() -> None:
    # The API's routes reference ApiFunction, so giving it the API's URL would be a circular dependency.
    with_url = [fid for fid in FUNCTION_IDS if "PUBLIC_BASE_URL" in function_environment(fid)]
    assert with_url == ["SendFunction"]


def test_powertools_is_configured_for_every_function() -> None:
    variables = GLOBAL_FUNCTION["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "closeloop"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "closeloop"
    assert variables["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert GLOBAL_FUNCTION["Tracing"] == "Active"


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_every_function_logs_to_a_group_with_retention(function_id: str) -> None:
    log_group_id = referenced_resource(function_property(function_id, "LoggingConfig")["LogGroup"])
    assert RESOURCES[log_group_id]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_the_outputs_include_the_documented_contract() -> None:
    outputs = TEMPLATE_DATA["Outputs"]
    missing = [name for name in REQUIRED_OUTPUTS if name not in outputs]
    assert missing == []
    undocumented = [name for name, spec in outputs.items() if not spec.get("Description")]
    assert undocumented == []


DEPLOY_GUIDE = REPO / "docs" / "deploy.md"


@pytest.mark.parametrize("name", sorted(TEMPLATE_DATA["Parameters"]))
def test_every_parameter_is_in_the_deploy_guide_with_its_default(name: str) -> None:
    # GIVEN the parameter table of docs/deploy.md
    rows = {
        cells[1].strip("` "): cells[2].strip()
        for line in DEPLOY_GUIDE.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `") and len(cells := line.split("|")) > 3
    }
    # THEN the parameter has a row showing the template's default
    default = str(TEMPLATE_DATA["Parameters"][name]["Default"])
    assert rows[name] == (f"`{default}`" if default else "*(empty)*")


def test_the_configuration_reference_lists_every_setting() -> None:
    from closeloop.config import Settings

    reference = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in reference]
    assert missing == []
