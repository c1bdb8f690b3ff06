"""Reading `template.yaml` with CloudFormation's short-form tags, for the local stack and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"

_SCALAR_FUNCTIONS = {"Ref": "Ref", "Condition": "Condition"}
_FUNCTIONS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "ToJsonString",
    "Length",
)


class _CfnLoader(yaml.SafeLoader):
    """A safe loader that turns `!Ref x` into `{"Ref": "x"}`, `!Sub s` into `{"Fn::Sub": s}`, ..."""


def _construct(key: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        elif isinstance(node, yaml.MappingNode):
            value = loader.construct_mapping(node, deep=True)
        else:  # pragma: no cover - yaml has no other node kinds
            raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}")
        return {key: value}

    return construct


def _construct_get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        resource, _, attribute = str(loader.construct_scalar(node)).partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    if isinstance(node, yaml.SequenceNode):
        return {"Fn::GetAtt": loader.construct_sequence(node, deep=True)}
    raise yaml.constructor.ConstructorError(None, None, "!GetAtt takes a string or a list")


for _tag, _key in _SCALAR_FUNCTIONS.items():
    _CfnLoader.add_constructor(f"!{_tag}", _construct(_key))
for _name in _FUNCTIONS:
    _CfnLoader.add_constructor(f"!{_name}", _construct(f"Fn::{_name}"))
_CfnLoader.add_constructor("!GetAtt", _construct_get_att)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain data, short-form tags expanded to their long forms."""
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a CloudFormation template")
    return document
