"""Reading template.yaml as CloudFormation would for one environment: conditions and Fn::If resolved."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from local_stack.template import function_properties, load_template

NO_VALUE = object()
"""What `!Ref AWS::NoValue` resolves to: removed from the mapping or list holding it."""


@cache
def _template() -> dict[str, Any]:
    return load_template()


def template() -> dict[str, Any]:
    """The template as written (short-form tags expanded), loaded once per test session."""
    return _template()


def resources(type_: str | None = None) -> dict[str, dict[str, Any]]:
    """Resources by logical id, optionally only those of one type."""
    return {
        name: resource
        for name, resource in template()["Resources"].items()
        if type_ is None or resource["Type"] == type_
    }


def function(logical_id: str) -> dict[str, Any]:
    """A function's properties with Globals.Function applied as SAM applies them (SAM's own code)."""
    return function_properties(template(), logical_id)


def properties(logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = template()["Resources"][logical_id].get("Properties", {})
    return props


@dataclass(frozen=True)
class Stack:
    """The template for given parameter values: conditions evaluated, `Fn::If` chosen."""

    parameters: Mapping[str, str]

    @classmethod
    def for_environment(cls, environment: str, **overrides: str) -> Stack:
        defaults = {
            name: str(spec.get("Default", ""))
            for name, spec in template().get("Parameters", {}).items()
        }
        return cls({**defaults, "Environment": environment, **overrides})

    def condition(self, name: str) -> bool:
        return bool(self._evaluate(template()["Conditions"][name]))

    def _evaluate(self, expression: Any) -> Any:
        if isinstance(expression, Mapping) and len(expression) == 1:
            ((function, argument),) = expression.items()
            if function == "Fn::Equals":
                left, right = (self._evaluate(item) for item in argument)
                return left == right
            if function == "Fn::Not":
                return not self._evaluate(argument[0])
            if function == "Fn::And":
                return all(self._evaluate(item) for item in argument)
            if function == "Fn::Or":
                return any(self._evaluate(item) for item in argument)
            if function == "Condition":
                return self.condition(argument)
            if function == "Ref" and argument in self.parameters:
                return self.parameters[argument]
        return expression

    def resolve(self, value: Any) -> Any:
        """`value` with every `Fn::If` chosen and `AWS::NoValue` removed; other intrinsics kept."""
        if isinstance(value, Mapping):
            if set(value) == {"Fn::If"}:
                condition, when_true, when_false = value["Fn::If"]
                return self.resolve(when_true if self.condition(condition) else when_false)
            if value == {"Ref": "AWS::NoValue"}:
                return NO_VALUE
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        return value

    def resources(self, type_: str | None = None) -> dict[str, dict[str, Any]]:
        """Resources this environment creates (their `Condition` holds), resolved."""
        return {
            name: self.resolve(resource)
            for name, resource in resources(type_).items()
            if "Condition" not in resource or self.condition(resource["Condition"])
        }


PREVIEW = Stack.for_environment("preview")
PRODUCTION = Stack.for_environment("production")


def arn_name(value: Any) -> str:
    """A resource reference written as a short string: `AssetBucket/uploads/originals/*`.

    `!GetAtt X.Arn` and `!Ref X` become `X`; `!Sub "${X.Arn}/path"` becomes `X/path`; `"*"`
    stays `*`. Anything else is returned as its repr, so it fails an equality check loudly.
    """
    if value == "*":
        return "*"
    if isinstance(value, Mapping) and set(value) == {"Fn::GetAtt"}:
        resource, attribute = value["Fn::GetAtt"]
        return str(resource) if attribute == "Arn" else f"{resource}.{attribute}"
    if isinstance(value, Mapping) and set(value) == {"Ref"}:
        return str(value["Ref"])
    if (
        isinstance(value, Mapping)
        and set(value) == {"Fn::Sub"}
        and isinstance(value["Fn::Sub"], str)
    ):
        text = value["Fn::Sub"]
        if text.startswith("${") and ".Arn}" in text:
            resource, _, rest = text[2:].partition(".Arn}")
            return resource + rest
    return repr(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True, slots=True)
class Grant:
    """One allowed (action, resource) pair of a role, with the statement's condition."""

    action: str
    resource: str
    condition: str


def role_grants(role_logical_id: str) -> Iterator[Grant]:
    """Every (action, resource) a role's inline policies allow."""
    for policy in properties(role_logical_id).get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow", f"{role_logical_id}: only Allow statements"
            condition = repr(statement.get("Condition", {})) if statement.get("Condition") else ""
            for action in as_list(statement["Action"]):
                for resource in as_list(statement["Resource"]):
                    yield Grant(action, arn_name(resource), condition)
