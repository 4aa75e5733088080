"""The operations section of ``template.yaml``: every dead-letter queue and every function has an alarm that
reaches the operator, and the dashboard shows them.

Read as data, like ``test_template.py``; cfn-lint and ``sam validate`` check that the resources are valid.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.unit.test_template import FUNCTION_IDS, REPO, RESOURCES, referenced_resource, resources_of_type

OPERATIONS_GUIDE = REPO / "docs" / "operations.md"
ALARM_IDS = resources_of_type("AWS::CloudWatch::Alarm")


def dead_letter_queue_ids() -> list[str]:
    """Every queue something parks messages in: a queue's redrive target, or an EventBridge target's DLQ."""
    found = set()
    for resource in RESOURCES.values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in properties:
            found.add(referenced_resource(properties["RedrivePolicy"]["deadLetterTargetArn"]))
        if resource["Type"] == "AWS::Events::Rule":
            for target in properties.get("Targets", []):
                if "DeadLetterConfig" in target:
                    found.add(referenced_resource(target["DeadLetterConfig"]["Arn"]))
    return sorted(found)


def alarms_on(namespace: str, metric: str) -> dict[str, dict[str, Any]]:
    return {
        alarm_id: RESOURCES[alarm_id]
        for alarm_id in ALARM_IDS
        if RESOURCES[alarm_id]["Properties"]["Namespace"] == namespace
        and RESOURCES[alarm_id]["Properties"]["MetricName"] == metric
    }


def dimension(alarm: dict[str, Any], name: str) -> Any:
    (value,) = [d["Value"] for d in alarm["Properties"].get("Dimensions", []) if d["Name"] == name]
    return value


def test_the_template_parks_messages_in_the_six_dead_letter_queues() -> None:
    # A guard for the tests below: a new dead-letter queue must be found by dead_letter_queue_ids().
    assert dead_letter_queue_ids() == [
        "ArchiveDeadLetterQueue",
        "DeliveryEventsDeadLetterQueue",
        "InboundDeadLetterQueue",
        "PlanDeadLetterQueue",
        "ReopenDeadLetterQueue",
        "SendDeadLetterQueue",
    ]


@pytest.mark.parametrize("queue_id", dead_letter_queue_ids())
def test_any_message_in_a_dead_letter_queue_raises_an_alarm(queue_id: str) -> None:
    # GIVEN the alarms on SQS queue depth
    alarms = alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    watching = [
        alarm
        for alarm in alarms.values()
        if referenced_resource(dimension(alarm, "QueueName")) == queue_id
        and dimension(alarm, "QueueName")["Fn::GetAtt"][1] == "QueueName"
    ]
    # THEN exactly one watches this dead-letter queue, firing on a single message within five minutes
    (alarm,) = watching
    properties = alarm["Properties"]
    assert properties["Statistic"] == "Maximum"
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert properties["Period"] * properties["EvaluationPeriods"] <= 300
    # AND an idle queue (SQS publishes nothing for it) is not an alarm
    assert properties["TreatMissingData"] == "notBreaching"
    # AND the alarm exists exactly when its queue does
    assert alarm.get("Condition") == RESOURCES[queue_id].get("Condition")


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_every_function_error_raises_an_alarm(function_id: str) -> None:
    alarms = alarms_on("AWS/Lambda", "Errors")
    watching = [a for a in alarms.values() if dimension(a, "FunctionName") == {"Ref": function_id}]
    (alarm,) = watching
    properties = alarm["Properties"]
    assert (properties["Statistic"], properties["Threshold"]) == ("Sum", 1)
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert properties["TreatMissingData"] == "notBreaching"
    assert alarm.get("Condition") == RESOURCES[function_id].get("Condition")


def test_a_parked_reopen_raises_the_reopen_failures_alarm() -> None:
    (alarm,) = alarms_on("closeloop", "ReopensDeadLettered").values()
    assert dimension(alarm, "service") == "closeloop"
    assert (alarm["Properties"]["Threshold"], alarm["Properties"]["Period"]) == (1, 300)


@pytest.mark.parametrize(
    ("metric", "threshold"),
    [("Reputation.BounceRate", 0.05), ("Reputation.ComplaintRate", 0.001)],
)
def test_the_ses_reputation_alarms_fire_well_before_ses_pauses_the_account(
    metric: str, threshold: float
) -> None:
    # SES publishes the rates as fractions, per account and region (no dimension)
    (alarm,) = alarms_on("AWS/SES", metric).values()
    properties = alarm["Properties"]
    assert properties["Threshold"] == threshold
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert "Dimensions" not in properties


@pytest.mark.parametrize("alarm_id", ALARM_IDS)
def test_every_alarm_tells_the_operator_topic_when_it_fires_and_when_it_clears(alarm_id: str) -> None:
    properties = RESOURCES[alarm_id]["Properties"]
    assert properties["AlarmActions"] == [{"Ref": "OperatorAlertTopic"}]
    assert properties["OKActions"] == [{"Ref": "OperatorAlertTopic"}]


@pytest.mark.parametrize("alarm_id", ALARM_IDS)
def test_every_alarm_description_points_to_its_runbook(alarm_id: str) -> None:
    description = RESOURCES[alarm_id]["Properties"]["AlarmDescription"]
    assert 'docs/operations.md, "Alarms"' in description
    assert len(description) <= 1024  # CloudWatch's limit
    # AND the runbook has that section, with a row for the alarm
    guide = OPERATIONS_GUIDE.read_text(encoding="utf-8")
    assert "\n## Alarms\n" in guide
    assert f"`{alarm_id}`" in guide.split("\n## Alarms\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize(
    "alarm_id", alarms_on("closeloop", "ReopensDeferred") | alarms_on("closeloop", "SendsDeferred")
)
def test_deferrals_alarm_only_when_they_last(alarm_id: str) -> None:
    # One deferral is normal (SES throttling for a second, a helpdesk's 429): three periods in a row are not.
    assert RESOURCES[alarm_id]["Properties"]["EvaluationPeriods"] >= 3


def closeloop_metrics_in_use() -> set[str]:
    """closeloop's own metrics the alarms and the dashboard read."""
    names = {
        RESOURCES[a]["Properties"]["MetricName"]
        for a in ALARM_IDS
        if RESOURCES[a]["Properties"]["Namespace"] == "closeloop"
    }
    for widget in dashboard_body(receives_replies=True)["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            if metric[0] == "closeloop":
                names.add(metric[1])
    return names


def test_the_alarms_and_dashboard_read_only_metrics_closeloop_publishes() -> None:
    # GIVEN the metric table of docs/operations.md (test_dead_letter_docs keeps it in step with the code)
    guide = OPERATIONS_GUIDE.read_text(encoding="utf-8")
    documented = set(
        re.findall(r"`([A-Z][A-Za-z]+)`", guide.split("## What to watch", 1)[1].split("\n## ", 1)[0])
    )
    used = closeloop_metrics_in_use()
    assert len(used) > 10
    assert used <= documented, sorted(used - documented)


def dashboard_body(receives_replies: bool, sends_digests: bool = True) -> Any:
    """The dashboard's JSON with every ``${...}`` filled in, as CloudFormation builds it."""
    conditions = {"ReceivesReplies": receives_replies, "SendsDigests": sends_digests}
    join = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Join"]
    separator, parts = join
    text = []
    for part in parts:
        if isinstance(part, dict) and "Fn::If" in part:
            condition, when_true, when_false = part["Fn::If"]
            assert condition in conditions
            part = when_true if conditions[condition] else when_false
        if isinstance(part, dict):
            part = part["Fn::Sub"]
        text.append(re.sub(r"\$\{([\w:.]+)\}", lambda m: f"<{m.group(1)}>", part))
    return json.loads(separator.join(text))


@pytest.mark.parametrize("sends_digests", [True, False])
@pytest.mark.parametrize("receives_replies", [True, False])
def test_the_dashboard_shows_every_dead_letter_queue_and_every_function(
    receives_replies: bool, sends_digests: bool
) -> None:
    # GIVEN the dashboard as deployed with or without a ReplyDomain, with or without the weekly digest
    body = json.dumps(dashboard_body(receives_replies, sends_digests))
    conditions = {"ReceivesReplies": receives_replies, "SendsDigests": sends_digests}

    def exists(resource_id: str) -> bool:
        return "Condition" not in RESOURCES[resource_id] or conditions[RESOURCES[resource_id]["Condition"]]

    # THEN it shows the depth of each dead-letter queue and the errors of each function that exist then
    for queue_id in dead_letter_queue_ids():
        assert (f"<{queue_id}.QueueName>" in body) is exists(queue_id), queue_id
    for function_id in FUNCTION_IDS:
        exists_now = exists(function_id)
        assert (f'"Errors", "FunctionName", "<{function_id}>"' in body) is exists_now, function_id
    # AND sent, answered, reopened, skipped by reason and send latency
    for shown in ("SurveysSent", "SurveyAnswersRecorded", "ReopenReopened", "by reason", "Duration"):
        assert shown in body


def test_the_operator_address_gets_the_alarms_by_email_only_when_given() -> None:
    subscription = RESOURCES["OperatorAlertSubscription"]
    assert subscription["Condition"] == "HasOperatorAlertAddress"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "OperatorAlertTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "OperatorAlertAddress"},
    }
