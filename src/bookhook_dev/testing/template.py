"""Read the SAM template (template.yaml) for dev tools and tests.

Never imported by the deployed function. CloudFormation short tags (``!Ref``, ``!GetAtt`` ...) are
turned into their long, JSON-style forms, so the result looks like what CloudFormation sees.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "TEMPLATE_PATH",
    "CfnLoader",
    "HttpRoute",
    "dynamodb_create_table_kwargs",
    "dynamodb_ttl_attribute",
    "function_environment",
    "function_handler",
    "http_routes",
    "load_template",
]

TEMPLATE_PATH: Path = Path(__file__).resolve().parents[3] / "template.yaml"

_FUNCTION_TYPE = "AWS::Serverless::Function"
_TABLE_TYPE = "AWS::DynamoDB::Table"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"

# Short tag -> long form key. !Ref and !Condition have no "Fn::" prefix.
_SHORT_TAGS: dict[str, str] = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "Sub",
            "GetAtt",
            "If",
            "Equals",
            "Not",
            "Select",
            "Join",
            "Split",
            "FindInMap",
            "ImportValue",
            "Base64",
            "Cidr",
            "GetAZs",
            "And",
            "Or",
        )
    },
}


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation short tags and rejects duplicate keys.

    Dates stay strings (CloudFormation has no date type: ``Version: 2012-10-17`` is a string).
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# A copy without the timestamp resolver (the class attribute is shared with SafeLoader otherwise).
CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _node_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}", node.start_mark)


def _short_tag_constructor(long_name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value = _node_value(loader, node)
        if long_name == "Fn::GetAtt" and isinstance(value, str):
            # !GetAtt Resource.Attribute -> ["Resource", "Attribute"]; attributes may contain dots.
            resource, _, attribute = value.partition(".")
            value = [resource, attribute]
        return {long_name: value}

    return construct


for _tag, _long_name in _SHORT_TAGS.items():
    CfnLoader.add_constructor(f"!{_tag}", _short_tag_constructor(_long_name))


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML template into plain dicts, lists and scalars."""
    with path.open(encoding="utf-8") as stream:
        template = yaml.load(stream, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader
    if not isinstance(template, dict):
        raise TypeError(f"{path}: a template must be a mapping, got {type(template).__name__}")
    return template


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str
    function: str  # logical id of the AWS::Serverless::Function


def _resources(template: Mapping[str, Any]) -> dict[str, Any]:
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        raise TypeError("template has no Resources mapping")
    return resources


def _resource(template: Mapping[str, Any], logical_id: str, resource_type: str) -> dict[str, Any]:
    resources = _resources(template)
    if logical_id not in resources:
        raise KeyError(f"no resource {logical_id!r} in the template")
    resource = resources[logical_id]
    if not isinstance(resource, dict) or resource.get("Type") != resource_type:
        found = resource.get("Type") if isinstance(resource, dict) else resource
        raise ValueError(f"resource {logical_id!r} is {found!r}, not {resource_type}")
    return resource


def _properties(resource: Mapping[str, Any]) -> dict[str, Any]:
    properties = resource.get("Properties") or {}
    if not isinstance(properties, dict):
        raise TypeError("resource Properties must be a mapping")
    return properties


def _globals_function(template: Mapping[str, Any]) -> dict[str, Any]:
    globals_ = template.get("Globals") or {}
    function = globals_.get("Function") if isinstance(globals_, dict) else None
    return function if isinstance(function, dict) else {}


def http_routes(template: dict[str, Any]) -> list[HttpRoute]:
    """Every HttpApi event of every AWS::Serverless::Function, in template order.

    An event without Path/Method is SAM's catch-all: reported as ``ANY $default``.
    """
    routes: list[HttpRoute] = []
    for logical_id, resource in _resources(template).items():
        if not isinstance(resource, dict) or resource.get("Type") != _FUNCTION_TYPE:
            continue
        events = _properties(resource).get("Events") or {}
        for event in events.values():
            if not isinstance(event, dict) or event.get("Type") != "HttpApi":
                continue
            event_properties = event.get("Properties") or {}
            routes.append(
                HttpRoute(
                    method=str(event_properties.get("Method", "ANY")).upper(),
                    path=str(event_properties.get("Path", "$default")),
                    function=logical_id,
                )
            )
    return routes


def dynamodb_create_table_kwargs(
    template: dict[str, Any], logical_id: str, table_name: str
) -> dict[str, Any]:
    """Keyword arguments for boto3 ``dynamodb.create_table`` mirroring the template's table."""
    properties = _properties(_resource(template, logical_id, _TABLE_TYPE))
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": copy.deepcopy(properties["KeySchema"]),
        "AttributeDefinitions": copy.deepcopy(properties["AttributeDefinitions"]),
        # CloudFormation's default, like the API's, is PROVISIONED.
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    if "ProvisionedThroughput" in properties:
        kwargs["ProvisionedThroughput"] = copy.deepcopy(properties["ProvisionedThroughput"])
    return kwargs


def dynamodb_ttl_attribute(template: dict[str, Any], logical_id: str) -> str | None:
    """The table's TTL attribute name, or None when TTL is absent or disabled."""
    properties = _properties(_resource(template, logical_id, _TABLE_TYPE))
    ttl = properties.get("TimeToLiveSpecification")
    if not isinstance(ttl, dict) or str(ttl.get("Enabled")).lower() != "true":
        return None
    name = ttl.get("AttributeName")
    return name if isinstance(name, str) else None


def _scalar_text(value: Any) -> str | None:
    """CloudFormation's string form of a YAML scalar; None for anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _lookup(name: str, template: Mapping[str, Any], refs: Mapping[str, str]) -> str | None:
    if name in refs:
        return refs[name]
    parameters = template.get("Parameters") or {}
    parameter = parameters.get(name) if isinstance(parameters, dict) else None
    if isinstance(parameter, dict) and "Default" in parameter:
        return _scalar_text(parameter["Default"])
    return None


def _resolve(value: Any, template: Mapping[str, Any], refs: Mapping[str, str]) -> str | None:
    text = _scalar_text(value)
    if text is not None:
        return text
    if not isinstance(value, dict) or len(value) != 1:
        return None
    if "Ref" in value and isinstance(value["Ref"], str):
        return _lookup(value["Ref"], template, refs)
    if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        # Only the one-argument form; ${!Literal} stays literal.
        missing: list[str] = []

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            found = _lookup(name, template, refs)
            if found is None:
                missing.append(name)
                return ""
            return found

        result = _SUB_VARIABLE.sub(replace, value["Fn::Sub"])
        return None if missing else result
    return None


def function_environment(
    template: dict[str, Any], logical_id: str, refs: Mapping[str, str]
) -> dict[str, str]:
    """Globals.Function environment merged with the function's own, every value a string.

    A ``Ref`` (or a ``${Name}`` in a one-argument ``Sub``) resolves to ``refs[Name]`` if given, else
    to the Parameter's Default. Anything else that is not a scalar raises KeyError naming the variable.
    """
    function_properties = _properties(_resource(template, logical_id, _FUNCTION_TYPE))
    merged: dict[str, Any] = {}
    for source in (_globals_function(template), function_properties):
        environment = source.get("Environment") or {}
        merged.update(environment.get("Variables") or {})
    resolved: dict[str, str] = {}
    for name, value in merged.items():
        text = _resolve(value, template, refs)
        if text is None:
            raise KeyError(f"environment variable {name} of {logical_id}: cannot resolve {value!r}")
        resolved[str(name)] = text
    return resolved


def function_handler(template: dict[str, Any], logical_id: str) -> str:
    """The function's Handler (its own, else Globals.Function's), e.g. ``pkg.module.lambda_handler``."""
    function_properties = _properties(_resource(template, logical_id, _FUNCTION_TYPE))
    handler = function_properties.get("Handler", _globals_function(template).get("Handler"))
    if not isinstance(handler, str):
        raise KeyError(f"function {logical_id!r} has no Handler")
    return handler
