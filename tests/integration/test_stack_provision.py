"""``provision`` creates, in moto, the resources ``template.yaml`` declares, with their real shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from closeloop_cli.cfn import ParameterError, TemplateError
from closeloop_cli.stack import Stack, provision

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
REGION = "eu-west-1"
API_URL = "http://127.0.0.1:3000"
# The template's one required parameter (it has no default).
# With a reply domain, so the conditional inbound resources exist too.
REQUIRED = {"SenderAddress": "surveys@acme.example", "ReplyDomain": "replies.acme.example"}

pytestmark = pytest.mark.skipif(not TEMPLATE.exists(), reason="template.yaml is not written yet")


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION, config=Config(retries={"max_attempts": 1}))  # type: ignore[call-overload]


@pytest.fixture
def stack(aws: None) -> Stack:
    return provision(TEMPLATE, REQUIRED, region=REGION, api_url=API_URL)


def test_tables_have_the_template_keys_indexes_and_ttl(stack: Stack) -> None:
    dynamodb = _client("dynamodb")

    surveys = dynamodb.describe_table(TableName=stack.ref("SurveysTable"))["Table"]

    assert {(key["AttributeName"], key["KeyType"]) for key in surveys["KeySchema"]} == {
        ("PK", "HASH"),
        ("SK", "RANGE"),
    }
    (index,) = surveys["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "GSI1"
    assert {key["AttributeName"] for key in index["KeySchema"]} == {"GSI1PK", "GSI1SK"}
    assert surveys["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName=stack.ref("SurveysTable"))["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")


@pytest.mark.parametrize(
    ("queue", "dead_letter_queue"),
    [
        ("PlanQueue", "PlanDeadLetterQueue"),
        ("SendQueue", "SendDeadLetterQueue"),
        ("DeliveryEventsQueue", "DeliveryEventsDeadLetterQueue"),
    ],
)
def test_queues_redrive_to_their_dead_letter_queues(stack: Stack, queue: str, dead_letter_queue: str) -> None:
    template = _with_mappings(_template()["Resources"][queue]["Properties"], _template()["Mappings"])

    attributes = _client("sqs").get_queue_attributes(QueueUrl=stack.ref(queue), AttributeNames=["All"])[
        "Attributes"
    ]

    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == stack.resources[dead_letter_queue].attributes["Arn"]
    assert int(redrive["maxReceiveCount"]) == template["RedrivePolicy"]["maxReceiveCount"]
    assert attributes["VisibilityTimeout"] == str(template["VisibilityTimeout"])


def test_ticket_events_rule_delivers_closed_tickets_to_the_plan_queue(stack: Stack) -> None:
    # GIVEN the provisioned bus and rule
    sqs = _client("sqs")
    events = _client("events")

    # WHEN a ticket event is put on the bus
    events.put_events(
        Entries=[
            {
                "EventBusName": stack.outputs["EventBusName"],
                "Source": "closeloop.tickets",
                "DetailType": "Ticket Closed",
                "Detail": json.dumps({"ticket_id": "1"}),
            }
        ]
    )

    # THEN it waits in the plan queue
    messages = sqs.receive_message(QueueUrl=stack.ref("PlanQueue"), WaitTimeSeconds=0).get("Messages", [])
    assert [json.loads(message["Body"])["detail"]["ticket_id"] for message in messages] == ["1"]


def _ses_event(tags: dict[str, list[str]]) -> dict[str, Any]:
    from tests.conftest import load_event

    event = load_event("ses/bounce_permanent.json")
    event["detail"]["mail"]["tags"] = tags
    return event


THIS_STACK = "this stack's configuration set"


@pytest.mark.parametrize(
    ("tags", "delivered"),
    [
        ({"closeloop": ["survey"], "survey_id": ["a1b2"], "ses:configuration-set": [THIS_STACK]}, ["a1b2"]),
        (
            {"closeloop": ["survey"], "survey_id": ["c3d4"], "ses:configuration-set": ["closeloop-staging"]},
            [],
        ),
        ({"closeloop": ["lead_alert"], "ses:configuration-set": [THIS_STACK]}, []),
        ({}, []),
    ],
    ids=["survey", "another-stacks-survey", "lead-alert", "untagged"],
)
def test_ses_events_about_surveys_on_the_default_bus_reach_the_delivery_queue(
    stack: Stack, tags: dict[str, list[str]], delivered: list[str]
) -> None:
    # GIVEN an SES bounce event, as SES publishes it to the account's default bus (SES tags it with the
    # configuration set it was sent with)
    configuration_set = stack.ref("SesConfigurationSet")
    event = _ses_event(
        {
            name: [configuration_set if value == THIS_STACK else value for value in values]
            for name, values in tags.items()
        }
    )

    # WHEN it is put on the default bus
    _client("events").put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
            }
        ]
    )

    # THEN only one about a survey waits in the delivery queue
    messages = (
        _client("sqs")
        .receive_message(QueueUrl=stack.ref("DeliveryEventsQueue"), MaxNumberOfMessages=10)
        .get("Messages", [])
    )
    assert [json.loads(m["Body"])["detail"]["mail"]["tags"]["survey_id"][0] for m in messages] == delivered


def test_signing_keys_are_generated(stack: Stack) -> None:
    secrets = _client("secretsmanager")

    signing = json.loads(secrets.get_secret_value(SecretId=stack.ref("SigningKeysSecret"))["SecretString"])

    assert signing["active"] == "k1"
    assert len(signing["k1"]) >= 32


@pytest.mark.parametrize("output", ["ZendeskSecretArn", "FreshdeskSecretArn"])
def test_helpdesk_secrets_exist_empty_until_the_operator_writes_them(stack: Stack, output: str) -> None:
    secrets = _client("secretsmanager")

    # GIVEN a helpdesk secret as the stack creates it: no value, as CloudFormation does without SecretString
    assert not secrets.describe_secret(SecretId=stack.outputs[output]).get("VersionIdsToStages")

    # WHEN the operator writes it
    secrets.put_secret_value(SecretId=stack.outputs[output], SecretString='{"webhook_secret": "s"}')

    # THEN the functions read that value
    value = secrets.get_secret_value(SecretId=stack.outputs[output])["SecretString"]
    assert json.loads(value) == {"webhook_secret": "s"}


def test_topic_schedule_group_and_configuration_set_exist(stack: Stack) -> None:
    topics = [topic["TopicArn"] for topic in _client("sns").list_topics()["Topics"]]
    group = _client("scheduler").get_schedule_group(Name=stack.ref("ScheduleGroup"))
    configuration_set = _client("sesv2").get_configuration_set(
        ConfigurationSetName=stack.ref("SesConfigurationSet")
    )

    assert stack.outputs["LeadAlertTopicArn"] in topics
    assert group["State"] == "ACTIVE"
    assert configuration_set["ConfigurationSetName"] == stack.ref("SesConfigurationSet")


def test_the_sender_address_is_verified_so_sends_succeed(stack: Stack) -> None:
    sender = stack.parameters["SenderAddress"]

    sent = _client("sesv2").send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["customer@example.org"]},
        Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
    )

    assert sent["MessageId"]


def test_outputs_have_the_template_keys_and_point_the_api_at_the_local_server(stack: Stack) -> None:
    assert set(stack.outputs) == set(_template()["Outputs"])
    assert stack.outputs["ApiUrl"].rstrip("/") == API_URL
    assert stack.outputs["EventBusName"] == "closeloop"
    assert stack.outputs["ZendeskSecretArn"].startswith(
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
    )
    assert all("execute-api" not in value for value in stack.outputs.values())


def test_mail_stored_in_the_inbound_bucket_is_announced_on_the_inbound_queue(stack: Stack) -> None:
    s3, sqs = _client("s3"), _client("sqs")
    bucket, prefix = stack.outputs["InboundBucketName"], stack.outputs["InboundPrefix"]

    s3.put_object(Bucket=bucket, Key=f"{prefix}message-1", Body=b"From: a@example.com\r\n\r\nhi")
    s3.put_object(Bucket=bucket, Key="elsewhere/message-2", Body=b"not mail")

    queue = stack.ref("InboundQueue")
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(message["Body"]) for message in messages]
    # S3 also says so once when the notification is configured (an s3:TestEvent, without records).
    # Keys arrive URL-encoded (moto also encodes the "/", which S3 leaves as it is).
    keys = [
        unquote_plus(record["s3"]["object"]["key"]) for body in bodies for record in body.get("Records", [])
    ]
    assert keys == [f"{prefix}message-1"]
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_functions_get_their_handlers_event_sources_and_environment(stack: Stack) -> None:
    names = ("ApiFunction", "PlanFunction", "SendFunction", "DeliverabilityFunction")
    api, plan, send, deliverability = (stack.functions[name] for name in names)

    assert api.handler == "closeloop.handlers.api.lambda_handler"
    assert sorted((route.method, route.path) for route in api.http_routes) == [
        ("GET", "/d/{token}"),
        ("GET", "/s/{token}"),
        ("GET", "/u/{token}"),
        ("HEAD", "/d/{token}"),
        ("HEAD", "/s/{token}"),
        ("HEAD", "/u/{token}"),
        ("POST", "/d/{token}"),
        ("POST", "/s/{token}"),
        ("POST", "/u/{token}"),
        ("POST", "/webhooks/{provider}"),
    ]
    assert plan.handler == "closeloop.handlers.plan.lambda_handler"
    assert [source.queue_url for source in plan.sqs_sources] == [stack.ref("PlanQueue")]
    assert plan.sqs_sources[0].report_batch_item_failures
    assert send.handler == "closeloop.handlers.send.lambda_handler"
    assert [source.queue_url for source in send.sqs_sources] == [stack.ref("SendQueue")]
    assert deliverability.handler == "closeloop.handlers.deliverability.lambda_handler"
    assert [source.queue_url for source in deliverability.sqs_sources] == [stack.ref("DeliveryEventsQueue")]
    assert send.environment["SURVEYS_TABLE"] == stack.ref("SurveysTable")
    assert send.environment["SEND_QUEUE_URL"] == stack.ref("SendQueue")
    assert send.environment["TEMPLATES_PATH"] == str(REPO / "templates")
    assert send.environment["PUBLIC_BASE_URL"] == API_URL
    assert "SEND_QUEUE_URL" not in deliverability.environment  # each function gets only what it reads


def test_parameter_overrides_reach_the_environment(aws: None) -> None:
    stack = provision(
        TEMPLATE,
        {**REQUIRED, "FollowUpDelayMinutes": "0", "PublicBaseUrl": "https://surveys.example.com"},
        region=REGION,
        api_url=API_URL,
    )

    assert stack.functions["PlanFunction"].environment["FOLLOW_UP_DELAY_MINUTES"] == "0"
    assert stack.functions["SendFunction"].environment["PUBLIC_BASE_URL"] == "https://surveys.example.com"


def test_unknown_parameter_fails_before_anything_is_created(aws: None) -> None:
    with pytest.raises(ParameterError, match="NoSuchParameter"):
        provision(TEMPLATE, {"NoSuchParameter": "1"}, region=REGION)

    assert _client("sqs").list_queues().get("QueueUrls", []) == []


def test_two_functions_may_hold_different_values_for_one_variable(aws: None) -> None:
    # GIVEN a template in which two functions disagree about one variable
    template = _template()
    template["Resources"]["PlanFunction"]["Properties"]["Environment"] = {"Variables": {"SURVEY_TYPE": "nps"}}
    template["Resources"]["SendFunction"]["Properties"]["Environment"]["Variables"]["SURVEY_TYPE"] = "csat"

    stack = provision(template, REQUIRED, region=REGION, base_dir=REPO)

    # THEN each keeps its own, as on Lambda: every function runs in a worker of its own
    assert stack.functions["PlanFunction"].environment["SURVEY_TYPE"] == "nps"
    assert stack.functions["SendFunction"].environment.get("SURVEY_TYPE") != "nps"


def _template(path: Path = TEMPLATE) -> dict[str, Any]:
    from closeloop_cli.cfn import load_template

    return load_template(path)


def _with_mappings(node: Any, mappings: dict[str, Any]) -> Any:
    """``node`` with each ``Fn::FindInMap`` replaced by the value it names (the work queues' settings)."""
    if isinstance(node, dict) and set(node) == {"Fn::FindInMap"}:
        name, top_key, second_key = node["Fn::FindInMap"]
        return mappings[name][top_key][second_key]
    if isinstance(node, dict):
        return {key: _with_mappings(value, mappings) for key, value in node.items()}
    return node


FOR_EACH_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]
Parameters:
  Works:
    Type: CommaDelimitedList
    Default: plan,send
Mappings:
  Settings:
    plan: { VisibilityTimeout: 30, BatchSize: 10 }
    send: { VisibilityTimeout: 60, BatchSize: 5 }
    reopen: { VisibilityTimeout: 90, BatchSize: 1 }
Resources:
  Fn::ForEach::WorkQueues:
    - Work
    - !Ref Works
    - ${Work}Queue:
        Type: AWS::SQS::Queue
        Properties:
          QueueName: !Sub ${AWS::StackName}-${Work}
          VisibilityTimeout: !FindInMap [Settings, !Ref Work, VisibilityTimeout]
  WorkFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Handler: work.handler
      Runtime: python3.12
      Events:
        Fn::ForEach::Sources:
          - Work
          - !Ref Works
          - ${Work}:
              Type: SQS
              Properties:
                Queue: !GetAtt [!Sub "${Work}Queue", Arn]
                BatchSize: !FindInMap [Settings, !Ref Work, BatchSize]
Outputs:
  Fn::ForEach::QueueUrls:
    - Work
    - !Ref Works
    - ${Work}QueueUrl:
        Value: !Ref
          Fn::Sub: ${Work}Queue
"""


def test_fn_for_each_makes_one_resource_per_item(aws: None, tmp_path: Path) -> None:
    # GIVEN a template that declares its work queues, their event sources and outputs with Fn::ForEach
    template = tmp_path / "template.yaml"
    template.write_text(FOR_EACH_TEMPLATE, encoding="utf-8")

    # WHEN it is provisioned with one more item than its default list
    stack = provision(template, {"Works": "plan,send,reopen"}, region=REGION)

    # THEN each item has its queue with its own settings, its event source and its output
    sqs = _client("sqs")
    timeouts = {
        work: sqs.get_queue_attributes(QueueUrl=stack.outputs[f"{work}QueueUrl"], AttributeNames=["All"])[
            "Attributes"
        ]["VisibilityTimeout"]
        for work in ("plan", "send", "reopen")
    }
    assert timeouts == {"plan": "30", "send": "60", "reopen": "90"}
    sources = {source.queue_url: source.batch_size for source in stack.functions["WorkFunction"].sqs_sources}
    assert sources == {stack.ref("planQueue"): 10, stack.ref("sendQueue"): 5, stack.ref("reopenQueue"): 1}
    assert stack.functions["WorkFunction"].code_path == tmp_path


def test_the_sam_transform_runs_once_per_template_and_parameter_values(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from closeloop_cli import transform

    # GIVEN a template provisioned once
    template = tmp_path / "template.yaml"
    template.write_text(FOR_EACH_TEMPLATE, encoding="utf-8")
    first = provision(template, {}, region=REGION)

    # WHEN the SAM CLI's environment is gone
    monkeypatch.setattr(transform, "SAM_PYTHON", tmp_path / "no-such-python")

    # THEN the same template with the same parameter values still provisions (from the cache)
    again = provision(template, {}, region=REGION)
    assert again.functions["WorkFunction"].sqs_sources == first.functions["WorkFunction"].sqs_sources
    # AND other values need the transform again
    with pytest.raises(TemplateError, match="make tools"):
        provision(template, {"Works": "plan"}, region=REGION)
