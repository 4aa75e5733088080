"""How the operations commands find a stack: by ``--stack-name`` (CloudFormation), else the sandbox."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from closeloop_cli.doctor import StackUnavailableError
from closeloop_cli.stack_access import StackNotGivenError, locate_stack

TEMPLATE = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"SurveysTableName": {"Value": "closeloop-prod-SurveysTable-1AB2"}},
}


def arguments(tmp_path: Path, stack_name: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(stack_name=stack_name, region="eu-west-1", outputs=tmp_path / "outputs.json")


def test_a_deployed_stack_is_found_by_name_through_its_cloudformation_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
        cloudformation.create_stack(StackName="closeloop-prod", TemplateBody=json.dumps(TEMPLATE))
        stack = locate_stack(arguments(tmp_path, "closeloop-prod"))
        assert stack.output("SurveysTableName") == "closeloop-prod-SurveysTable-1AB2"
        assert stack.endpoint is None
        # AND an output the stack lacks is named in the error
        with pytest.raises(StackUnavailableError, match="no InboundBucketName output"):
            stack.output("InboundBucketName")
        # AND a stack that does not exist is an error saying so
        with pytest.raises(StackUnavailableError, match="closeloop-nope"):
            locate_stack(arguments(tmp_path, "closeloop-nope"))


def test_the_sandbox_is_found_through_its_endpoint_and_outputs_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "outputs.json").write_text(
        json.dumps({"SurveysTableName": "sandbox-table"}), encoding="utf-8"
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    stack = locate_stack(arguments(tmp_path))
    assert (stack.output("SurveysTableName"), stack.endpoint) == ("sandbox-table", "http://127.0.0.1:4566")
    # AND without the endpoint, nothing says which stack: a usage error
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    with pytest.raises(StackNotGivenError, match="pass --stack-name"):
        locate_stack(arguments(tmp_path))
