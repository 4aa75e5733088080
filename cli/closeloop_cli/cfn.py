"""Reading a template the way CloudFormation does: parameters, conditions, intrinsics.

This module knows nothing about AWS clients. Templates are decoded by cfn-lint (YAML with short-form tags,
or JSON). What no maintained library offers outside CloudFormation is here: parameter overrides checked
as ``sam deploy --parameter-overrides`` would, ``Conditions``, and intrinsic functions resolved against a
table of resource references and attributes that the caller fills in as it creates resources (see
``closeloop_cli.stack``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_ACCOUNT_ID = "123456789012"
NO_VALUE = "AWS::NoValue"

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class TemplateError(Exception):
    """The template cannot be read or uses something this resolver does not support."""


class ParameterError(TemplateError):
    """A parameter override is unknown or breaks the template's constraints."""


class UnresolvedReferenceError(TemplateError):
    """An intrinsic refers to a resource or attribute that is not known (yet)."""

    def __init__(self, logical_id: str, attribute: str | None = None) -> None:
        self.logical_id = logical_id
        self.attribute = attribute
        target = f"{logical_id}.{attribute}" if attribute else logical_id
        super().__init__(f"cannot resolve a reference to {target}")


def load_template_text(text: str) -> dict[str, Any]:
    """Parse template text (YAML or JSON) with cfn-lint's decoder: short-form tags in their long forms."""
    from cfnlint.decode import decode_str  # imported when needed: cfn-lint takes seconds to import

    loaded, errors = decode_str(text)
    if errors or not isinstance(loaded, dict):
        raise TemplateError("; ".join(error.message for error in errors) or "a template must be a mapping")
    plain: dict[str, Any] = json.loads(json.dumps(loaded, default=str))  # cfn-lint's nodes carry positions
    return plain


def load_template(path: Path) -> dict[str, Any]:
    """Read and parse a template file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TemplateError(f"cannot read template {path}: {error}") from error
    try:
        return load_template_text(text)
    except TemplateError as error:
        raise TemplateError(f"{path} is not a valid template: {error}") from error


def parse_parameter_overrides(pairs: list[str]) -> dict[str, str]:
    """``["Name=Value", ...]`` (as ``--param`` takes them) to a dict; later pairs win."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name.strip():
            raise ParameterError(f"a parameter override must look like Name=Value, got {pair!r}")
        overrides[name.strip()] = value
    return overrides


def resolve_parameters(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """Each declared parameter's value: the override, else the default; constraints checked.

    Unknown override names, missing values, and values outside ``AllowedValues``, ``AllowedPattern``,
    ``MinLength``/``MaxLength`` or ``MinValue``/``MaxValue`` raise ``ParameterError``.
    """
    declared: Mapping[str, Any] = template.get("Parameters") or {}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise ParameterError(f"unknown parameter(s) {', '.join(unknown)}; the template declares: {known}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        spec = spec or {}
        if name in overrides:
            value = overrides[name]
        elif "Default" in spec:
            value = _parameter_text(spec["Default"])
        else:
            raise ParameterError(f"parameter {name} has no default; pass --param {name}=VALUE")
        _check_parameter(name, spec, value)
        values[name] = value
    return values


def _parameter_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def _check_parameter(name: str, spec: Mapping[str, Any], value: str) -> None:
    kind = str(spec.get("Type", "String"))
    items = value.split(",") if kind.startswith("List<") or kind == "CommaDelimitedList" else [value]
    allowed = spec.get("AllowedValues")
    pattern = spec.get("AllowedPattern")
    reason = spec.get("ConstraintDescription")
    for item in items:
        if allowed is not None and item not in [_parameter_text(option) for option in allowed]:
            options = ", ".join(_parameter_text(option) for option in allowed)
            raise ParameterError(f"parameter {name}={item!r} is not one of the allowed values: {options}")
        if pattern is not None and not re.fullmatch(str(pattern), item):
            explained = f" ({reason})" if reason else ""
            raise ParameterError(f"parameter {name}={item!r} does not match {pattern}{explained}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        raise ParameterError(f"parameter {name} must be at least {spec['MinLength']} characters")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        raise ParameterError(f"parameter {name} must be at most {spec['MaxLength']} characters")
    if kind == "Number":
        try:
            number = float(value)
        except ValueError as error:
            raise ParameterError(f"parameter {name}={value!r} must be a number") from error
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise ParameterError(f"parameter {name}={value} is below its minimum {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise ParameterError(f"parameter {name}={value} is above its maximum {spec['MaxValue']}")


@dataclass
class Resolver:
    """Resolves intrinsic functions in one template against parameters and known resources.

    ``refs`` maps a logical id to what ``Ref`` returns for it; ``attributes`` maps ``(logical id,
    attribute)`` to what ``Fn::GetAtt`` returns. The provisioner fills both as it creates resources.
    """

    template: Mapping[str, Any]
    parameters: Mapping[str, str]
    stack_name: str = "closeloop"
    region: str = "eu-west-1"
    account_id: str = DEFAULT_ACCOUNT_ID
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[tuple[str, str], Any] = field(default_factory=dict)
    _conditions: dict[str, bool] = field(default_factory=dict, init=False, repr=False)

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    @property
    def url_suffix(self) -> str:
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"

    def pseudo_parameters(self) -> dict[str, Any]:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:"
                f"stack/{self.stack_name}/00000000-0000-0000-0000-000000000000"
            ),
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::NotificationARNs": [],
        }

    # Conditions -------------------------------------------------------------------------------------

    def condition(self, name: str) -> bool:
        """The value of a named condition from the template's ``Conditions`` section (memoized)."""
        if name not in self._conditions:
            declared = self.template.get("Conditions") or {}
            if name not in declared:
                raise TemplateError(f"unknown condition {name}")
            value = self.resolve(declared[name])
            if not isinstance(value, bool):
                raise TemplateError(f"condition {name} does not evaluate to true or false: {value!r}")
            self._conditions[name] = value
        return self._conditions[name]

    def is_enabled(self, resource: Mapping[str, Any]) -> bool:
        """False when a resource or output carries a ``Condition`` that evaluates to false."""
        name = resource.get("Condition")
        return True if name is None else self.condition(str(name))

    # Intrinsics -------------------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function replaced by its result.

        ``Ref: AWS::NoValue`` removes the enclosing key or list item, as CloudFormation does.
        """
        resolved = self._resolve(value)
        return None if resolved is _REMOVED else resolved

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self._resolve(entry) for entry in value) if item is not _REMOVED]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function = _INTRINSICS.get(key)
            # An IAM policy's ``Condition`` block is data; only ``Condition: Name`` is the intrinsic.
            if function is not None and not (key == "Condition" and not isinstance(argument, str)):
                return function(self, argument)
        result = {}
        for key, entry in value.items():
            resolved = self._resolve(entry)
            if resolved is not _REMOVED:
                result[key] = resolved
        return result

    def ref(self, name: str) -> Any:
        if name == NO_VALUE:
            return _REMOVED
        pseudo = self.pseudo_parameters()
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            spec = (self.template.get("Parameters") or {}).get(name) or {}
            kind = str(spec.get("Type", "String"))
            text = self.parameters[name]
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                return text.split(",") if text else []
            return text
        if name in self.refs:
            return self.refs[name]
        raise UnresolvedReferenceError(name)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        key = (logical_id, attribute)
        if key in self.attributes:
            return self.attributes[key]
        raise UnresolvedReferenceError(logical_id, attribute)

    def substitute(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                found = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                logical_id, _, attribute = name.partition(".")
                found = self.get_att(logical_id, attribute)
            else:
                found = self.ref(name)
            if isinstance(found, list):
                return ",".join(str(item) for item in found)
            return _text(found)

        return _SUB_VARIABLE.sub(replace, text)


class _Removed:
    """Marker for ``Ref: AWS::NoValue``: the enclosing property disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


_REMOVED = _Removed()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fn_ref(resolver: Resolver, argument: Any) -> Any:
    return resolver.ref(str(resolver.resolve(argument)))


def _fn_get_att(resolver: Resolver, argument: Any) -> Any:
    if isinstance(argument, str):
        logical_id, _, attribute = argument.partition(".")
    else:
        logical_id, attribute = (str(part) for part in resolver.resolve(argument))
    return resolver.get_att(logical_id, attribute)


def _fn_sub(resolver: Resolver, argument: Any) -> str:
    if isinstance(argument, str):
        return resolver.substitute(argument, {})
    text, variables = argument
    resolved_variables = resolver.resolve(variables) or {}
    return resolver.substitute(str(text), resolved_variables)


def _fn_join(resolver: Resolver, argument: Any) -> str:
    delimiter, items = argument
    values = resolver.resolve(items)
    return str(delimiter).join(_text(item) for item in values)


def _fn_select(resolver: Resolver, argument: Any) -> Any:
    index, items = argument
    values = resolver.resolve(items)
    position = int(resolver.resolve(index))
    try:
        return values[position]
    except (IndexError, TypeError) as error:
        raise TemplateError(f"Fn::Select index {position} is out of range for {values!r}") from error


def _fn_split(resolver: Resolver, argument: Any) -> list[str]:
    delimiter, source = argument
    return str(resolver.resolve(source)).split(str(delimiter))


def _fn_if(resolver: Resolver, argument: Any) -> Any:
    name, when_true, when_false = argument
    return resolver._resolve(when_true if resolver.condition(str(name)) else when_false)


def _fn_equals(resolver: Resolver, argument: Any) -> bool:
    left, right = (resolver.resolve(item) for item in argument)
    return bool(_text(left) == _text(right))


def _fn_not(resolver: Resolver, argument: Any) -> bool:
    (operand,) = argument
    return not _as_condition(resolver, operand)


def _fn_and(resolver: Resolver, argument: Any) -> bool:
    return all(_as_condition(resolver, operand) for operand in argument)


def _fn_or(resolver: Resolver, argument: Any) -> bool:
    return any(_as_condition(resolver, operand) for operand in argument)


def _fn_condition(resolver: Resolver, argument: Any) -> bool:
    return resolver.condition(str(argument))


def _as_condition(resolver: Resolver, operand: Any) -> bool:
    value = resolver.resolve(operand)
    if not isinstance(value, bool):
        raise TemplateError(f"expected a condition, got {value!r}")
    return value


def _fn_find_in_map(resolver: Resolver, argument: Any) -> Any:
    map_name, top_key, second_key = (resolver.resolve(item) for item in argument[:3])
    mappings = resolver.template.get("Mappings") or {}
    try:
        return mappings[map_name][top_key][second_key]
    except KeyError as error:
        if len(argument) > 3 and isinstance(argument[3], dict) and "DefaultValue" in argument[3]:
            return resolver.resolve(argument[3]["DefaultValue"])
        raise TemplateError(f"Fn::FindInMap: no {map_name}/{top_key}/{second_key}") from error


def _fn_base64(resolver: Resolver, argument: Any) -> str:
    return base64.b64encode(_text(resolver.resolve(argument)).encode()).decode()


def _fn_get_azs(resolver: Resolver, argument: Any) -> list[str]:
    region = resolver.resolve(argument) or resolver.region
    return [f"{region}{zone}" for zone in "abc"]


def _fn_length(resolver: Resolver, argument: Any) -> int:
    return len(resolver.resolve(argument))


def _fn_to_json_string(resolver: Resolver, argument: Any) -> str:
    return json.dumps(resolver.resolve(argument), separators=(",", ":"))


def _unsupported(name: str) -> Callable[[Resolver, Any], Any]:
    def fail(resolver: Resolver, argument: Any) -> Any:
        raise TemplateError(f"{name} is not supported outside CloudFormation")

    return fail


_INTRINSICS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": _fn_ref,
    "Condition": _fn_condition,
    "Fn::GetAtt": _fn_get_att,
    "Fn::Sub": _fn_sub,
    "Fn::Join": _fn_join,
    "Fn::Select": _fn_select,
    "Fn::Split": _fn_split,
    "Fn::If": _fn_if,
    "Fn::Equals": _fn_equals,
    "Fn::Not": _fn_not,
    "Fn::And": _fn_and,
    "Fn::Or": _fn_or,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::Base64": _fn_base64,
    "Fn::GetAZs": _fn_get_azs,
    "Fn::Length": _fn_length,
    "Fn::ToJsonString": _fn_to_json_string,
    "Fn::ImportValue": _unsupported("Fn::ImportValue"),
    "Fn::Cidr": _unsupported("Fn::Cidr"),
    "Fn::Transform": _unsupported("Fn::Transform"),
}


def references(value: Any) -> Iterator[str]:
    """Every logical id or parameter name ``value`` refers to (Ref, GetAtt, Sub variables, Condition)."""
    if isinstance(value, list):
        for item in value:
            yield from references(item)
        return
    if not isinstance(value, dict):
        return
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str):
            yield argument
            return
        if key == "Fn::GetAtt":
            if isinstance(argument, str):
                yield argument.partition(".")[0]
            elif isinstance(argument, list) and argument and isinstance(argument[0], str):
                yield argument[0]
            return
        if key == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            local = set() if isinstance(argument, str) else set((argument[1] or {}).keys())
            for name in _SUB_VARIABLE.findall(str(text)):
                if not name.startswith("!") and name not in local:
                    yield name.partition(".")[0] if not name.startswith("AWS::") else name
            if not isinstance(argument, str):
                yield from references(argument[1])
            return
    for entry in value.values():
        yield from references(entry)
