"""A YAML loader for CloudFormation templates.

PyYAML rejects CloudFormation's short-form intrinsic tags (!Ref, !Sub, ...).
This loader turns each into its long form ({"Ref": ...}, {"Fn::Sub": ...}), so
tests can walk a template as plain dictionaries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_FUNCTIONS = [
    "And", "Base64", "Cidr", "Equals", "FindInMap", "GetAZs", "If", "ImportValue",
    "Join", "Length", "Not", "Or", "Select", "Split", "Sub", "ToJsonString", "Transform",
]


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that understands !Ref, !Condition, !GetAtt and every !Fn short tag."""


def _construct_node(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _long_form(key: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {key: _construct_node(loader, node)}

    return construct


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct_node(loader, node)
    if isinstance(value, str):
        # "Resource.Attribute.With.Dots" -> ["Resource", "Attribute.With.Dots"]
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


CloudFormationLoader.add_constructor("!Ref", _long_form("Ref"))
CloudFormationLoader.add_constructor("!Condition", _long_form("Condition"))
CloudFormationLoader.add_constructor("!GetAtt", _get_att)
for _name in _FUNCTIONS:
    CloudFormationLoader.add_constructor(f"!{_name}", _long_form(f"Fn::{_name}"))


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=CloudFormationLoader)  # noqa: S506 - SafeLoader subclass


def of_type(resources: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in resources.items() if r["Type"] == type_name}


def only(resources: dict[str, Any], type_name: str) -> dict[str, Any]:
    found = of_type(resources, type_name)
    assert len(found) == 1, f"expected exactly one {type_name}, found {sorted(found)}"
    return next(iter(found.values()))["Properties"]
