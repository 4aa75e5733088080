"""Invariants of ``template.yaml``, read as data: what every deployment must guarantee.

cfn-lint and ``sam validate --lint`` check that the template is valid CloudFormation; these tests check the
project's own rules (least privilege, dead-letter queues, encryption, the configuration contract with
``closeloop.config.Settings``).
"""

from __future__ import annotations

import ast
import functools
import json
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

# Parameters only a business can decide: no default, so `sam deploy --guided` asks for them instead of
# deploying a stack that cannot work (a placeholder sender address can never send).
REQUIRED_PARAMETERS = ("SenderAddress",)

# Every action the template grants, each a real IAM action (IAM rejects nothing at deploy time: a made-up
# action is silently useless). DynamoDB has no transaction actions: TransactWriteItems is authorised per
# item, by PutItem, UpdateItem, DeleteItem and ConditionCheckItem.
KNOWN_IAM_ACTIONS = {
    "bedrock:InvokeModel",
    "comprehend:DetectSentiment",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
    "events:PutEvents",
    "iam:PassRole",
    "scheduler:CreateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
    "secretsmanager:GetSecretValue",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:PutObject",
    "s3:PutObjectTagging",
    "ses:SendEmail",
    "ses:SendRawEmail",
    "sns:Publish",
    "sqs:ChangeMessageVisibility",
    "sqs:SendMessage",
    "ssm:GetParameter",
}

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


# aws-sam-translator's definitions of the SAM policy templates, in the SAM CLI's own environment (`make
# tools`): the translator `make check` transforms the template with. A policy template is only as narrow
# as its definition (DynamoDBCrudPolicy grants Scan and BatchWriteItem), so the tests read what it expands to.
SAM_POLICY_TEMPLATES = "samtranslator/policy_templates_data/policy_templates.json"


@functools.cache
def sam_policy_templates() -> dict[str, Any]:
    found = sorted(REPO.glob(f".tools/sam/lib/python*/site-packages/{SAM_POLICY_TEMPLATES}"))
    assert found, f"{SAM_POLICY_TEMPLATES} not found under .tools/sam: run `make tools`"
    templates: dict[str, Any] = json.loads(found[-1].read_text(encoding="utf-8"))["Templates"]
    return templates


def is_policy_template(policy: Any) -> bool:
    return isinstance(policy, dict) and len(policy) == 1 and next(iter(policy)) in sam_policy_templates()


def expand_policy_template(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy document a SAM policy template stands for, its parameters in place, as SAM expands it."""
    ((name, given),) = policy.items()
    template = sam_policy_templates()[name]
    assert set(given or {}) == set(template["Parameters"]), f"{name} takes {sorted(template['Parameters'])}"

    def substitute(node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in template["Parameters"]:
            return given[node["Ref"]]
        if isinstance(node, dict):
            return {key: substitute(value) for key, value in node.items()}
        if isinstance(node, list):
            return [substitute(item) for item in node]
        return node

    document: dict[str, Any] = substitute(template["Definition"])
    return document


def function_policies(function_id: str) -> list[Any]:
    return as_list(RESOURCES[function_id]["Properties"].get("Policies", []))


def iam_statements() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM statement in the template, with the logical id that holds it.

    A function's SAM policy templates are expanded; its managed policies are read where they are declared.
    """
    for name, res in RESOURCES.items():
        props = res.get("Properties", {})
        documents: list[Any] = []
        if res["Type"] == "AWS::Serverless::Function":
            for policy in function_policies(name):
                if is_policy_template(policy):
                    documents.append(expand_policy_template(policy))
                elif isinstance(policy, dict) and "Statement" in policy:
                    documents.append(policy)
        if res["Type"] == "AWS::IAM::Role":
            documents += [policy["PolicyDocument"] for policy in props.get("Policies", [])]
        if "PolicyDocument" in props:
            documents.append(props["PolicyDocument"])
        for document in documents:
            for statement in as_list(document.get("Statement", [])):
                yield from ((name, branch) for branch in conditional_branches(statement))


def conditional_branches(node: Any) -> Iterator[Any]:
    """``node`` itself, or each branch of an ``Fn::If`` (except ``AWS::NoValue``), recursively."""
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        for branch in node["Fn::If"][1:]:
            yield from conditional_branches(branch)
    elif node != {"Ref": "AWS::NoValue"}:
        yield node


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


def test_every_parameter_has_a_description() -> None:
    # GIVEN the template's parameters
    parameters = TEMPLATE_DATA["Parameters"]
    # THEN each explains itself (it is the help text of `sam deploy --guided`)
    assert parameters
    undocumented = [name for name, spec in parameters.items() if not spec.get("Description")]
    assert undocumented == []


def test_only_the_decisions_a_business_must_make_have_no_default() -> None:
    # GIVEN the template's parameters
    parameters = TEMPLATE_DATA["Parameters"]
    # THEN a deployment must give the required ones, and can leave out every other
    without_default = sorted(name for name, spec in parameters.items() if "Default" not in spec)
    assert without_default == sorted(REQUIRED_PARAMETERS)


@pytest.mark.parametrize("name", REQUIRED_PARAMETERS)
def test_a_required_parameter_refuses_an_empty_value(name: str) -> None:
    # GIVEN a parameter without a default
    spec = TEMPLATE_DATA["Parameters"][name]
    # THEN CloudFormation rejects an empty value instead of deploying a stack that fails later
    assert re.fullmatch(spec["AllowedPattern"], "") is None


@pytest.mark.parametrize("name", sorted(set(TEMPLATE_DATA["Parameters"]) - set(REQUIRED_PARAMETERS)))
def test_every_default_satisfies_its_own_constraints(name: str) -> None:
    # GIVEN a parameter with a default
    spec = TEMPLATE_DATA["Parameters"][name]
    default = str(spec["Default"])
    # THEN accepting the default passes CloudFormation's own checks
    if "AllowedValues" in spec:
        assert default in [str(value) for value in spec["AllowedValues"]]
    if "AllowedPattern" in spec:
        assert re.fullmatch(spec["AllowedPattern"], default)
    assert spec.get("MinLength", 0) <= len(default) <= spec.get("MaxLength", len(default))


@pytest.mark.parametrize(
    "name", sorted(name for name, spec in TEMPLATE_DATA["Parameters"].items() if spec["Type"] == "String")
)
def test_every_string_parameter_has_a_bounded_length(name: str) -> None:
    # Values end up in the functions' environment, which Lambda caps at 4 KB (see the size test below).
    spec = TEMPLATE_DATA["Parameters"][name]
    assert "MaxLength" in spec or "AllowedValues" in spec


def test_the_console_groups_list_every_parameter_once_business_decisions_first() -> None:
    # GIVEN the parameter groups `sam deploy --guided` and the console show
    groups = TEMPLATE_DATA["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]
    # THEN each parameter appears in exactly one group
    assert sorted(grouped) == sorted(TEMPLATE_DATA["Parameters"])
    # AND the first group holds what only the business can decide: the sender, the helpdesks, the lead
    assert {"SenderAddress", "ZendeskBaseUrl", "FreshdeskBaseUrl", "LeadAlertAddress"} <= set(
        groups[0]["Parameters"]
    )
    assert groups[0]["Parameters"][0] == "SenderAddress"


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


# A Deny may name a whole service: the inbound bucket refuses every request not made over TLS.
DENIED_SERVICES = {"s3:*"}


def test_no_iam_statement_allows_a_service_wildcard_action() -> None:
    statements = list(iam_statements())
    wildcards = [
        (holder, action)
        for holder, statement in statements
        for action in as_list(statement.get("Action", []))
        if (action == "*" or action.endswith(":*"))
        and not (statement.get("Effect") == "Deny" and action in DENIED_SERVICES)
    ]
    assert wildcards == []


def test_every_iam_action_is_a_real_action_the_project_uses() -> None:
    # GIVEN every action any statement grants
    actions = {
        (holder, action) for holder, statement in iam_statements() for action in as_list(statement["Action"])
    }
    assert actions
    # THEN each is on the list of real actions (IAM accepts a misspelt or invented action without a word)
    unknown = sorted(
        (holder, action)
        for holder, action in actions
        if action not in KNOWN_IAM_ACTIONS and action not in DENIED_SERVICES
    )
    assert unknown == []


def test_dynamodb_transactions_are_granted_through_their_item_actions() -> None:
    # "dynamodb:TransactWriteItems" is no IAM action: each Put/Update/Delete/ConditionCheck in a
    # transaction is authorised as PutItem/UpdateItem/DeleteItem/ConditionCheckItem.
    transaction_actions = [
        (holder, action)
        for holder, statement in iam_statements()
        for action in as_list(statement["Action"])
        if action.lower().startswith("dynamodb:transact")
    ]
    assert transaction_actions == []


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_every_function_policy_is_one_the_least_privilege_tests_read(function_id: str) -> None:
    # GIVEN the policies of a function's role
    policies = function_policies(function_id)
    # THEN each is an inline document, a SAM policy template, or a managed policy of this template: an AWS
    # managed policy (or a misspelt template name) would grant what no test here has read
    unread = [
        policy
        for policy in policies
        if not (isinstance(policy, dict) and "Statement" in policy)
        and not is_policy_template(policy)
        and not (
            isinstance(policy, dict)
            and set(policy) == {"Ref"}
            and RESOURCES.get(policy["Ref"], {}).get("Type") == "AWS::IAM::ManagedPolicy"
        )
    ]
    assert unread == []


def sqs_event_sources() -> Iterator[tuple[str, str]]:
    """(function id, queue id) for every SQS event of every function."""
    for function_id in FUNCTION_IDS:
        for event in RESOURCES[function_id]["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                yield function_id, referenced_resource(event["Properties"]["Queue"])


def test_functions_consume_the_plan_send_reopen_and_delivery_queues() -> None:
    assert sorted(queue for _, queue in sqs_event_sources()) == [
        "ArchiveQueue",
        "DeliveryEventsQueue",
        "InboundQueue",
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
    # (lower case: the documented values are send, reject, bounce, complaint, delivery...)
    assert sorted(destination["EventDestination"]["MatchingEventTypes"]) == ["bounce", "complaint"]
    bus_arn = destination["EventDestination"]["EventBridgeDestination"]["EventBusArn"]["Fn::Sub"]
    assert bus_arn.endswith(":event-bus/default")
    # AND a rule on that bus sends those about surveys to the queue DeliverabilityFunction consumes
    assert rule["EventBusName"] == "default"
    assert rule["EventPattern"]["source"] == ["aws.ses"]
    assert sorted(rule["EventPattern"]["detail-type"]) == ["Email Bounced", "Email Complaint Received"]
    [target] = rule["Targets"]
    assert referenced_resource(target["Arn"]) == "DeliveryEventsQueue"
    assert referenced_resource(target["DeadLetterConfig"]["Arn"]) == "DeliveryEventsDeadLetterQueue"


def matches_event_pattern(pattern: Any, event: Any) -> bool:
    """EventBridge's exact-value matching: every pattern field is present in the event with a listed value."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(
            key in event and matches_event_pattern(value, event[key]) for key, value in pattern.items()
        )
    values = event if isinstance(event, list) else [event]
    return any(value in pattern for value in values)


def with_references(node: Any, refs: dict[str, str]) -> Any:
    """``node`` with each ``{"Ref": name}`` replaced by ``refs[name]``."""
    if isinstance(node, dict):
        if set(node) == {"Ref"}:
            return refs[node["Ref"]]
        return {key: with_references(value, refs) for key, value in node.items()}
    if isinstance(node, list):
        return [with_references(item, refs) for item in node]
    return node


@pytest.mark.parametrize(
    ("configuration_set", "delivered"),
    [("closeloop", True), ("closeloop-staging", False)],
    ids=["this-stack", "another-stack"],
)
def test_only_bounces_of_this_stacks_surveys_reach_its_delivery_queue(
    configuration_set: str, delivered: bool
) -> None:
    # GIVEN this stack's rule, with its configuration set named "closeloop", on the account's shared bus
    pattern = with_references(
        RESOURCES["DeliveryEventsRule"]["Properties"]["EventPattern"], {"SesConfigurationSet": "closeloop"}
    )
    # WHEN SES publishes a bounce of a survey sent with some stack's configuration set
    event = json.loads((REPO / "events" / "ses" / "bounce_permanent.json").read_text(encoding="utf-8"))
    event["detail"]["mail"]["tags"]["ses:configuration-set"] = [configuration_set]
    # THEN the rule takes it only when that stack is this one (staging never suppresses prod's customers)
    assert matches_event_pattern(pattern, event) is delivered


def test_bounces_of_mail_that_is_no_survey_stay_out_of_the_delivery_queue() -> None:
    # GIVEN this stack's rule, and a bounce of a lead alert sent with the same configuration set
    pattern = with_references(
        RESOURCES["DeliveryEventsRule"]["Properties"]["EventPattern"], {"SesConfigurationSet": "closeloop"}
    )
    event = json.loads((REPO / "events" / "ses" / "bounce_permanent.json").read_text(encoding="utf-8"))
    event["detail"]["mail"]["tags"]["closeloop"] = ["lead_alert"]
    # THEN the rule does not take it
    assert not matches_event_pattern(pattern, event)


def operator_secrets() -> list[str]:
    """The secrets the operator writes, named by the outputs the deploy guide points to."""
    outputs = TEMPLATE_DATA["Outputs"]
    return sorted(
        referenced_resource(outputs[name]["Value"]) for name in ("ZendeskSecretArn", "FreshdeskSecretArn")
    )


@pytest.mark.parametrize("secret_id", operator_secrets())
def test_secrets_the_operator_writes_are_created_empty_so_no_update_overwrites_them(secret_id: str) -> None:
    # GIVEN a secret the operator fills in with put-secret-value
    secret = RESOURCES[secret_id]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    # THEN the template gives it no value: CloudFormation writes a new version whenever SecretString or
    # GenerateSecretString changes, and with neither it creates the secret empty and never writes one
    assert "SecretString" not in secret["Properties"]
    assert "GenerateSecretString" not in secret["Properties"]


@pytest.mark.parametrize("secret_id", resources_of_type("AWS::SecretsManager::Secret"))
def test_no_secret_value_is_written_in_the_template(secret_id: str) -> None:
    assert "SecretString" not in RESOURCES[secret_id]["Properties"]


def with_mappings(node: Any) -> Any:
    """``node`` with each ``Fn::FindInMap`` replaced by the value it reads from the template's Mappings."""
    if isinstance(node, dict) and set(node) == {"Fn::FindInMap"}:
        name, top_key, second_key = node["Fn::FindInMap"]
        return TEMPLATE_DATA["Mappings"][name][top_key][second_key]
    if isinstance(node, dict):
        return {key: with_mappings(value) for key, value in node.items()}
    if isinstance(node, list):
        return [with_mappings(item) for item in node]
    return node


def queue_properties(queue_id: str) -> dict[str, Any]:
    """A queue's properties as CloudFormation reads them (the work queues' settings are in Mappings)."""
    properties: dict[str, Any] = with_mappings(RESOURCES[queue_id]["Properties"])
    return properties


@pytest.mark.parametrize(("function_id", "queue_id"), list(sqs_event_sources()))
def test_every_consumed_queue_redrives_to_a_dead_letter_queue(function_id: str, queue_id: str) -> None:
    # GIVEN a queue a function consumes
    queue = queue_properties(queue_id)
    # THEN messages that keep failing move to another queue, which keeps them for the maximum 14 days
    redrive = queue["RedrivePolicy"]
    dead_letter_id = referenced_resource(redrive["deadLetterTargetArn"])
    assert dead_letter_id != queue_id
    assert RESOURCES[dead_letter_id]["Type"] == "AWS::SQS::Queue"
    assert queue_properties(dead_letter_id)["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert 1 < redrive["maxReceiveCount"] <= 10


@pytest.mark.parametrize(("function_id", "queue_id"), list(sqs_event_sources()))
def test_every_consumed_queue_outlasts_six_function_timeouts(function_id: str, queue_id: str) -> None:
    # Lambda's guidance: a shorter visibility timeout redelivers messages still being processed.
    visibility = queue_properties(queue_id)["VisibilityTimeout"]
    assert visibility >= 6 * function_property(function_id, "Timeout")


@pytest.mark.parametrize(("function_id", "queue_id"), list(sqs_event_sources()))
def test_every_sqs_consumer_reports_partial_batch_failures(function_id: str, queue_id: str) -> None:
    events = RESOURCES[function_id]["Properties"]["Events"].values()
    (event,) = [e for e in events if e["Type"] == "SQS"]
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("queue_id", resources_of_type("AWS::SQS::Queue"))
def test_every_queue_is_encrypted(queue_id: str) -> None:
    assert queue_properties(queue_id)["SqsManagedSseEnabled"] is True


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
    paths = {
        fid: function_environment(fid)["TEMPLATES_PATH"]
        for fid in FUNCTION_IDS
        if "TEMPLATES_PATH" in function_environment(fid)
    }
    assert paths
    assert set(paths.values()) == {"/opt"}


SETTING_VARIABLES = {name.upper() for name in Settings.names()}


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_every_environment_variable_is_a_setting_or_a_powertools_variable(function_id: str) -> None:
    # GIVEN the environment a function runs with
    names = set(function_environment(function_id))
    # THEN the code reads every variable: nothing is set that Settings (or Powertools) ignores
    unknown = sorted(name for name in names - SETTING_VARIABLES if not name.startswith("POWERTOOLS_"))
    assert unknown == []


# Settings the template no longer sets, and why: the code must not need them from the environment.
# Functions that get Globals' variables (SAM gives every function the global environment) and leave some
# unread: what each one leaves, and why.
UNREAD_GLOBAL_VARIABLES = {
    "ArchiveFunction": {"EVENT_BUS_NAME", "SURVEYS_TABLE", "RETENTION_DAYS"},  # events in, files out
    "DigestFunction": {"EVENT_BUS_NAME", "RETENTION_DAYS"},  # no event published; claims keep their own TTL
}

RETIRED_SETTING_VARIABLES = {
    "TEAM_LEADS": "team leads are items in the surveys table, managed with `closeloop leads`",
}


def settings_read_by_handler(function_id: str) -> set[str]:
    """The environment variables a function's code can read, traced statically from its handler.

    From the handler, every ``wiring.<factory>`` it uses and every wiring function those reach; in them,
    each ``config.<field>`` / ``settings().<field>``; and where the whole ``Settings`` is handed on to
    another module, each ``settings.<field>`` in the module that receives it.
    """
    fields = set(Settings.names())
    path, _ = handler_module(function_id)
    wiring = ast.parse((FUNCTIONS / "closeloop" / "wiring.py").read_text(encoding="utf-8"))
    factories = {node.name: node for node in wiring.body if isinstance(node, ast.FunctionDef)}
    handler = ast.parse(path.read_text(encoding="utf-8"))
    pending = [
        node.attr
        for node in ast.walk(handler)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "wiring"
    ]
    scopes: list[tuple[ast.AST, ast.Module]] = [(handler, handler)]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name not in factories:
            continue
        seen.add(name)
        scopes.append((factories[name], wiring))
        pending += [node.id for node in ast.walk(factories[name]) if isinstance(node, ast.Name)]
    read: set[str] = set()
    scanned_modules: set[str] = set()
    while scopes:
        scope, module = scopes.pop()
        read |= {
            node.attr
            for node in ast.walk(scope)
            if isinstance(node, ast.Attribute) and node.attr in fields and _is_settings(node.value)
        }
        for receiver in _settings_receivers(scope, module):
            if receiver not in scanned_modules:
                scanned_modules.add(receiver)
                tree = ast.parse(
                    FUNCTIONS.joinpath(*receiver.split(".")).with_suffix(".py").read_text(encoding="utf-8")
                )
                scopes.append((tree, tree))
    return {field.upper() for field in read}


def _is_settings(node: ast.AST) -> bool:
    """``config``, ``settings``, ``settings()``, ``wiring.settings()`` or ``deps.settings``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id in ("config", "settings")
    return isinstance(node, ast.Attribute) and node.attr == "settings"


def _settings_receivers(scope: ast.AST, module: ast.Module) -> set[str]:
    """Modules whose classes or functions ``scope`` hands the whole settings object to."""
    imported = {
        alias.asname or alias.name: node.module
        for node in ast.walk(module)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    receivers: set[str] = set()
    for call in (node for node in ast.walk(scope) if isinstance(node, ast.Call)):
        arguments = [*call.args, *(keyword.value for keyword in call.keywords)]
        if not any(_is_settings(argument) for argument in arguments):
            continue
        callee = call.func
        while isinstance(callee, ast.Attribute):
            callee = callee.value
        assert isinstance(callee, ast.Name), f"cannot follow the settings into {ast.unparse(call)}"
        assert callee.id in imported, f"cannot follow the settings into {ast.unparse(call)}"
        receivers.add(imported[callee.id])
    return receivers


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_every_function_gets_exactly_the_settings_its_code_reads(function_id: str) -> None:
    # GIVEN the settings the function's code reads, traced from its handler
    expected = settings_read_by_handler(function_id) - set(RETIRED_SETTING_VARIABLES)
    # WHEN the template's environment for it is merged as SAM merges it
    given = {name for name in function_environment(function_id) if not name.startswith("POWERTOOLS_")}
    given -= UNREAD_GLOBAL_VARIABLES.get(function_id, set())
    # THEN none is missing (it would silently fall back to a local default) and none is extra (Lambda caps
    # the environment at 4 KB, and a variable nobody reads is a contract nobody keeps)
    assert {"missing": sorted(expected - given), "extra": sorted(given - expected)} == {
        "missing": [],
        "extra": [],
    }


def test_every_setting_is_set_for_some_function() -> None:
    given = {name for function_id in FUNCTION_IDS for name in function_environment(function_id)}
    unset = sorted(SETTING_VARIABLES - given - set(RETIRED_SETTING_VARIABLES))
    assert unset == []


def test_retired_settings_are_set_for_no_function() -> None:
    still_set = [
        (function_id, name)
        for function_id in FUNCTION_IDS
        for name in function_environment(function_id)
        if name in RETIRED_SETTING_VARIABLES
    ]
    assert still_set == []
    assert "TeamLeads" not in TEMPLATE_DATA["Parameters"]


# Lambda's quota: 4 KB for all of a function's environment variables, measured as their JSON.
LAMBDA_ENVIRONMENT_LIMIT = 4096
# Headroom kept under it for the worst case, so a new variable fails here rather than at deployment.
ENVIRONMENT_HEADROOM = 512
# Generous lengths of what references resolve to. A queue URL is at most about 135 characters (queue
# names are capped at 80); generated table, topic, secret and role names stay under it for stack names
# of up to 60 characters. Pseudo parameters: their longest values.
LONGEST_RESOURCE_VALUE = 150
LONGEST_PSEUDO_PARAMETER = {
    "AWS::Region": 20,
    "AWS::URLSuffix": 20,
    "AWS::AccountId": 12,
    "AWS::Partition": 10,
}
# A Number parameter without MaxValue: as many digits as anyone would type.
LONGEST_NUMBER = 20


def longest_parameter_value(name: str) -> int:
    spec = TEMPLATE_DATA["Parameters"][name]
    if "AllowedValues" in spec:
        return max(len(str(value)) for value in spec["AllowedValues"])
    if spec["Type"] == "Number":
        return len(str(spec["MaxValue"])) if "MaxValue" in spec else LONGEST_NUMBER
    return int(spec["MaxLength"])


def longest_value(node: Any) -> int:
    """The longest string ``node`` can resolve to, with every parameter at its longest allowed value."""
    if not isinstance(node, dict):
        return len(str(node))
    if "Ref" in node:
        name = node["Ref"]
        if name in TEMPLATE_DATA["Parameters"]:
            return longest_parameter_value(name)
        return LONGEST_PSEUDO_PARAMETER.get(name, LONGEST_RESOURCE_VALUE)
    if "Fn::GetAtt" in node:
        return LONGEST_RESOURCE_VALUE
    if "Fn::FindInMap" in node:
        return len(str(with_mappings(node)))
    if "Fn::If" in node:
        return max(longest_value(node["Fn::If"][1]), longest_value(node["Fn::If"][2]))
    if "Fn::Sub" in node and isinstance(node["Fn::Sub"], str):
        text = node["Fn::Sub"]
        names = re.findall(r"\$\{([^}!]+)\}", text)
        literal = re.sub(r"\$\{[^}!]+\}", "", text)
        return len(literal) + sum(
            longest_value({"Fn::GetAtt": name} if "." in name else {"Ref": name}) for name in names
        )
    raise AssertionError(f"no worst case known for {node!r}")


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_every_function_environment_stays_well_under_lambdas_4_kb(function_id: str) -> None:
    # GIVEN the function's environment with every parameter at its longest allowed value
    worst_case = {
        name: "x" * longest_value(value) for name, value in function_environment(function_id).items()
    }
    # WHEN Lambda measures it
    size = len(json.dumps(worst_case, separators=(",", ":")).encode("utf-8"))
    # THEN it leaves headroom under the quota (a deployment over it fails)
    assert size <= LAMBDA_ENVIRONMENT_LIMIT - ENVIRONMENT_HEADROOM


def test_the_api_function_gets_the_public_base_url_as_given() -> None:
    # The API's own URL cannot be given here: its routes reference ApiFunction (a circular dependency).
    # Empty means the pages trust only the request's own domain.
    assert function_environment("ApiFunction")["PUBLIC_BASE_URL"] == {"Ref": "PublicBaseUrl"}


def test_the_send_function_links_to_the_http_apis_own_url_when_no_public_base_url_is_set() -> None:
    url = function_environment("SendFunction")["PUBLIC_BASE_URL"]
    condition, given, fallback = url["Fn::If"]
    assert condition == "HasPublicBaseUrl"
    assert given == {"Ref": "PublicBaseUrl"}
    assert fallback == {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}


def test_powertools_is_configured_for_every_function() -> None:
    variables = GLOBAL_FUNCTION["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "closeloop"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "closeloop"
    assert variables["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}


def test_tracing_is_off_unless_the_deployment_asks_for_it() -> None:
    # GIVEN the Tracing parameter
    tracing = TEMPLATE_DATA["Parameters"]["Tracing"]
    assert tracing["Default"] == "PassThrough"
    assert sorted(tracing["AllowedValues"]) == ["Active", "PassThrough"]
    # THEN it sets every function's X-Ray mode, and Powertools' tracer is disabled unless it is Active
    assert GLOBAL_FUNCTION["Tracing"] == {"Ref": "Tracing"}
    assert TEMPLATE_DATA["Conditions"]["IsTracingActive"] == {"Fn::Equals": [{"Ref": "Tracing"}, "Active"]}
    assert GLOBAL_FUNCTION["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == {
        "Fn::If": ["IsTracingActive", "false", "true"]
    }


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
    # THEN the parameter has a row showing the template's default, or that it is required
    spec = TEMPLATE_DATA["Parameters"][name]
    if "Default" not in spec:
        assert rows[name] == "*(required)*"
        return
    default = str(spec["Default"])
    assert rows[name] == (f"`{default}`" if default else "*(empty)*")


def test_the_configuration_reference_says_which_functions_get_each_variable() -> None:
    # GIVEN the variables table of docs/configuration.md: | `NAME` | set from | Api, Send | (or "all")
    reference = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = {
        cells[1].strip("` "): cells[3].strip()
        for line in reference.splitlines()
        if line.startswith("| `") and len(cells := line.split("|")) > 4
    }
    # THEN it names, for each variable the template sets, the functions that get it
    given: dict[str, set[str]] = {}
    for function_id in FUNCTION_IDS:
        for name in function_environment(function_id):
            given.setdefault(name, set()).add(function_id.removesuffix("Function"))
    expected = {
        name: "all" if len(functions) == len(FUNCTION_IDS) else sorted(functions)
        for name, functions in given.items()
        if not name.startswith("POWERTOOLS_")
    }
    actual = {
        name: functions if functions == "all" else sorted(functions.split(", "))
        for name, functions in documented.items()
    }
    assert actual == expected


def test_the_configuration_reference_lists_every_setting() -> None:
    from closeloop.config import Settings

    reference = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.names() if f"`{name.upper()}`" not in reference]
    assert missing == []


def test_mail_scanners_head_requests_reach_the_pages_like_their_get() -> None:
    # GIVEN the HTTP API events of the function that serves the pages
    events = function_property("ApiFunction", "Events")
    routes = {(event["Properties"]["Method"], event["Properties"]["Path"]) for event in events.values()}

    # THEN every page a link points to answers HEAD as well as GET (scanners check links with HEAD)
    for path in ("/s/{token}", "/u/{token}"):
        assert ("GET", path) in routes
        assert ("HEAD", path) in routes


def test_the_public_api_function_cannot_take_the_accounts_whole_concurrency() -> None:
    reserved = function_property("ApiFunction", "ReservedConcurrentExecutions")

    assert referenced_resource(reserved) == "ApiReservedConcurrency"


# --- replies by email ------------------------------------------------------------------------------------

INBOUND_RESOURCES = (
    "InboundBucket",
    "InboundBucketPolicy",
    "InboundReceiptRuleSet",
    "InboundReceiptRule",
    "InboundQueue",
    "InboundDeadLetterQueue",
    "InboundQueuePolicy",
    "InboundFunctionLogGroup",
    "InboundFunction",
)


@pytest.mark.parametrize("resource_id", INBOUND_RESOURCES)
def test_nothing_inbound_exists_without_a_reply_domain(resource_id: str) -> None:
    assert TEMPLATE_DATA["Conditions"]["ReceivesReplies"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ReplyDomain"}, ""]}]
    }
    assert RESOURCES[resource_id]["Condition"] == "ReceivesReplies"


@pytest.mark.parametrize("output", ["InboundBucketName", "InboundPrefix"])
def test_the_inbound_outputs_exist_when_replies_are_received(output: str) -> None:
    assert TEMPLATE_DATA["Outputs"][output]["Condition"] == "ReceivesReplies"


def test_the_inbound_bucket_is_encrypted_private_and_forgets_raw_mail_after_the_retention() -> None:
    bucket = RESOURCES["InboundBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "InboundRetentionDays"}
    assert rule["Status"] == "Enabled"


def test_the_inbound_bucket_refuses_requests_without_tls() -> None:
    statements = RESOURCES["InboundBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [tls] = [s for s in statements if s["Effect"] == "Deny"]
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert tls["Principal"] == "*"


def test_only_this_stacks_receipt_rule_in_this_account_writes_raw_mail_under_the_prefix() -> None:
    statements = RESOURCES["InboundBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [ses] = [s for s in statements if s["Effect"] == "Allow"]
    assert ses["Principal"] == {"Service": "ses.amazonaws.com"}
    assert ses["Action"] == "s3:PutObject"
    conditions = ses["Condition"]["StringEquals"]
    assert conditions["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    rule_name = RESOURCES["InboundReceiptRule"]["Properties"]["Rule"]["Name"]["Fn::Sub"]
    assert conditions["aws:SourceArn"]["Fn::Sub"].endswith(f":receipt-rule/{rule_name}")
    # and the rule is created after the policy: SES checks that it may write to the bucket
    assert RESOURCES["InboundReceiptRule"]["DependsOn"] == "InboundBucketPolicy"


def test_the_receipt_rule_stores_every_message_to_the_reply_domain_under_the_inbound_prefix() -> None:
    rule = RESOURCES["InboundReceiptRule"]["Properties"]["Rule"]
    assert rule["Recipients"] == [{"Ref": "ReplyDomain"}]
    assert rule["Enabled"] is True
    [action] = rule["Actions"]
    assert action["S3Action"]["BucketName"] == {"Ref": "InboundBucket"}
    prefix = action["S3Action"]["ObjectKeyPrefix"]
    assert with_mappings(prefix) == "inbound/"
    assert TEMPLATE_DATA["Outputs"]["InboundPrefix"]["Value"] == prefix


def test_new_objects_under_the_prefix_notify_the_inbound_queue() -> None:
    bucket = RESOURCES["InboundBucket"]
    [notification] = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert referenced_resource(notification["Queue"]) == "InboundQueue"
    [prefix] = notification["Filter"]["S3Key"]["Rules"]
    assert (prefix["Name"], with_mappings(prefix["Value"])) == ("prefix", "inbound/")
    # S3 checks it may send to the queue when the notification is set
    assert bucket["DependsOn"] == "InboundQueuePolicy"
