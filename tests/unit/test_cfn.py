"""The CloudFormation reader the sandbox and tests use: tags, parameters, conditions and intrinsics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from closeloop_cli.cfn import (
    ParameterError,
    Resolver,
    TemplateError,
    UnresolvedReferenceError,
    load_template,
    load_template_text,
    parse_parameter_overrides,
    references,
    resolve_parameters,
)
from closeloop_cli.stack import generate_secret_string

REPO = Path(__file__).resolve().parents[2]

TEMPLATE = """
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  SenderAddress:
    Type: String
    Default: support@example.com
    AllowedPattern: ^[^@]+@[^@]+$
    ConstraintDescription: must be an email address
  Delay:
    Type: Number
    Default: 1440
    MinValue: 0
  Tags:
    Type: CommaDelimitedList
    Default: a,b
  Empty:
    Type: String
    Default: ""
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsNotProd: !Not [!Condition IsProd]
  HasEmpty: !Not [!Equals [!Ref Empty, ""]]
  Both: !And [!Condition IsNotProd, !Not [!Condition HasEmpty]]
Mappings:
  Sizes:
    dev: { Memory: 128 }
    prod: { Memory: 1024 }
Resources:
  Queue:
    Type: AWS::SQS::Queue
"""


def _resolver(overrides: dict[str, str] | None = None) -> Resolver:
    template = load_template_text(TEMPLATE)
    resolver = Resolver(template=template, parameters=resolve_parameters(template, overrides or {}))
    resolver.refs["Queue"] = "https://sqs.eu-west-1.amazonaws.com/123456789012/q"
    resolver.attributes[("Queue", "Arn")] = "arn:aws:sqs:eu-west-1:123456789012:q"
    return resolver


def _resolve(yaml_value: str, overrides: dict[str, str] | None = None) -> Any:
    """Resolve one YAML value (written with short-form tags) against the test template."""
    return _resolver(overrides).resolve(load_template_text(f"value: {yaml_value}")["value"])


def test_short_form_tags_load_as_their_long_forms() -> None:
    # GIVEN a template written with short-form tags
    loaded = load_template_text(
        "A: !Ref X\nB: !GetAtt Q.Arn\nC: !Sub '${X}'\nD: !If [C, 1, 2]\nE: !Join [',', [a, b]]\n"
        "F: !Select [0, !Split [',', 'a,b']]\nG: !FindInMap [M, k, v]\nH: !Equals [a, b]\nI: !Not [x]\n"
    )

    # THEN each is the long form CloudFormation documents
    assert loaded == {
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["Q", "Arn"]},
        "C": {"Fn::Sub": "${X}"},
        "D": {"Fn::If": ["C", 1, 2]},
        "E": {"Fn::Join": [",", ["a", "b"]]},
        "F": {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]},
        "G": {"Fn::FindInMap": ["M", "k", "v"]},
        "H": {"Fn::Equals": ["a", "b"]},
        "I": {"Fn::Not": ["x"]},
    }


def test_long_forms_resolve_like_short_forms() -> None:
    resolver = _resolver()

    assert resolver.resolve({"Fn::Sub": "${AWS::StackName}-${Stage}"}) == "closeloop-dev"
    assert resolver.resolve({"Fn::GetAtt": "Queue.Arn"}) == "arn:aws:sqs:eu-west-1:123456789012:q"


def test_ref_returns_parameters_pseudo_parameters_and_resources() -> None:
    assert _resolve("!Ref Stage") == "dev"
    assert _resolve("!Ref AWS::Region") == "eu-west-1"
    assert _resolve("!Ref AWS::AccountId") == "123456789012"
    assert _resolve("!Ref AWS::Partition") == "aws"
    assert _resolve("!Ref AWS::URLSuffix") == "amazonaws.com"
    assert _resolve("!Ref Queue") == "https://sqs.eu-west-1.amazonaws.com/123456789012/q"


def test_comma_delimited_list_parameter_refs_as_a_list() -> None:
    assert _resolve("!Ref Tags") == ["a", "b"]
    assert _resolve("!Join ['|', !Ref Tags]") == "a|b"


def test_sub_replaces_pseudo_parameters_attributes_and_local_variables() -> None:
    assert _resolve("!Sub 'arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${Stage}'") == (
        "arn:aws:x:eu-west-1:123456789012:dev"
    )
    assert _resolve("!Sub '${Queue.Arn}/index/*'") == "arn:aws:sqs:eu-west-1:123456789012:q/index/*"
    assert _resolve(
        "!Sub ['${Domain}.${Stage}', {Domain: !Select [1, !Split ['@', !Ref SenderAddress]]}]"
    ) == ("example.com.dev")


def test_sub_keeps_escaped_variables_literal() -> None:
    assert _resolve("!Sub '${!Literal}-${Stage}'") == "${Literal}-dev"


def test_conditions_pick_the_branch_of_if() -> None:
    assert _resolve("!If [IsProd, big, small]") == "small"
    assert _resolve("!If [IsProd, big, small]", {"Stage": "prod"}) == "big"
    assert _resolve("!If [Both, both, neither]") == "both"


def test_if_with_no_value_removes_the_property() -> None:
    resolved = _resolve("{Keep: 1, Drop: !If [IsProd, 2, !Ref AWS::NoValue]}")

    assert resolved == {"Keep": 1}


def test_find_in_map_reads_mappings() -> None:
    assert _resolve("!FindInMap [Sizes, !Ref Stage, Memory]") == 128


def test_select_out_of_range_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="out of range"):
        _resolve("!Select [5, [a, b]]")


def test_unknown_reference_is_reported_by_name() -> None:
    with pytest.raises(UnresolvedReferenceError, match=r"Missing\.Arn"):
        _resolve("!GetAtt Missing.Arn")


def test_iam_condition_blocks_are_data_not_intrinsics() -> None:
    statement = {
        "Effect": "Allow",
        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
    }

    assert _resolver().resolve(statement)["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"}
    }


def test_parameter_defaults_apply_and_overrides_win() -> None:
    template = load_template_text(TEMPLATE)

    values = resolve_parameters(template, {"Stage": "prod"})

    assert values["Stage"] == "prod"
    assert values["Delay"] == "1440"
    assert values["Tags"] == "a,b"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"Nope": "1"}, "unknown parameter"),
        ({"Stage": "staging"}, "allowed values"),
        ({"SenderAddress": "not-an-address"}, "must be an email address"),
        ({"Delay": "-1"}, "below its minimum"),
        ({"Delay": "soon"}, "must be a number"),
    ],
)
def test_invalid_overrides_are_rejected_with_a_reason(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        resolve_parameters(load_template_text(TEMPLATE), overrides)


def test_parameter_without_default_must_be_given() -> None:
    template = load_template_text("Parameters:\n  Required:\n    Type: String\n")

    with pytest.raises(ParameterError, match="has no default"):
        resolve_parameters(template, {})


def test_parameter_override_pairs_split_on_the_first_equals_sign() -> None:
    assert parse_parameter_overrides(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(ParameterError, match="Name=Value"):
        parse_parameter_overrides(["novalue"])


def test_references_lists_every_logical_id_a_value_uses() -> None:
    value = load_template_text("v: [!Ref A, !GetAtt B.Arn, !Sub '${C}-${D.Arn}-${AWS::Region}-${!E}']")["v"]

    assert set(references(value)) == {"A", "B", "C", "D", "AWS::Region"}


def test_generated_secret_follows_the_secret_string_template() -> None:
    value = json.loads(
        generate_secret_string(
            {
                "SecretStringTemplate": '{"active": "k1"}',
                "GenerateStringKey": "k1",
                "PasswordLength": 64,
                "ExcludePunctuation": True,
            }
        )
    )

    assert value["active"] == "k1"
    assert len(value["k1"]) == 64
    assert value["k1"].isalnum()


def test_the_real_template_loads_and_its_parameters_resolve() -> None:
    template_path = REPO / "template.yaml"
    if not template_path.exists():
        pytest.skip("template.yaml is not written yet")

    # GIVEN the real template, and the one parameter it requires (it has no default)
    template = load_template(template_path)

    # WHEN its parameters resolve
    values = resolve_parameters(template, {"SenderAddress": "surveys@acme.example"})

    # THEN every parameter has a value
    assert set(values) == set(template["Parameters"])


def test_the_real_template_refuses_to_resolve_without_a_sender_address() -> None:
    template_path = REPO / "template.yaml"
    if not template_path.exists():
        pytest.skip("template.yaml is not written yet")

    with pytest.raises(ParameterError, match="SenderAddress has no default"):
        resolve_parameters(load_template(template_path), {})
