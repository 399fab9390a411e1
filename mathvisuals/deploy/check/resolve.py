"""Offline evaluation of the intrinsics that build names: Ref, Sub, Join, ImportValue."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mathvisuals.deploy.check.templates import intrinsic

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Scope:
    """Known values: parameters, pseudo parameters, resource names and earlier exports."""

    values: Mapping[str, str]
    exports: Mapping[str, str | None] = field(default_factory=dict)
    conditions: Mapping[str, object] = field(default_factory=dict)


def scalar(node: object) -> str | None:
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, int | float | str):
        return str(node)
    return None


def resolve(node: object, scope: Scope) -> str | None:
    """The string value ``node`` will have at deploy time, or None when it cannot be known."""
    plain = scalar(node)
    if plain is not None:
        return plain
    call = intrinsic(node)
    if call is None:
        return None
    name, args = call
    if name == "Ref":
        return scope.values.get(str(args)) if isinstance(args, str) else None
    if name == "Fn::Sub":
        return _sub(args, scope)
    if name == "Fn::Join":
        return _join(args, scope)
    if name == "Fn::If":
        return _if(args, scope)
    if name == "Fn::ImportValue":
        export = resolve(args, scope)
        return scope.exports.get(export) if export is not None else None
    return None


def _sub(args: object, scope: Scope) -> str | None:
    text, variables = (
        (args[0], args[1]) if isinstance(args, list) and len(args) == 2 else (args, {})
    )
    if not isinstance(text, str) or not isinstance(variables, dict):
        return None
    unknown = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unknown
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        value = resolve(variables[name], scope) if name in variables else scope.values.get(name)
        if value is None:
            unknown = True
            return ""
        return value

    result = _PLACEHOLDER.sub(replace, text)
    return None if unknown else result


def _join(args: object, scope: Scope) -> str | None:
    if not isinstance(args, list) or len(args) != 2 or not isinstance(args[0], str):
        return None
    delimiter, items = args
    if not isinstance(items, list):
        # !Join [",", !Ref SomeCommaDelimitedList]: the parameter value is already comma-joined
        return resolve(items, scope) if delimiter == "," else None
    parts = [resolve(item, scope) for item in items]
    known = [part for part in parts if part is not None]
    return delimiter.join(known) if len(known) == len(parts) else None


def _if(args: object, scope: Scope) -> str | None:
    if not isinstance(args, list) or len(args) != 3 or not isinstance(args[0], str):
        return None
    chosen = condition(args[0], scope)
    return None if chosen is None else resolve(args[1] if chosen else args[2], scope)


def condition(name: str, scope: Scope, depth: int = 0) -> bool | None:
    """The value of a named condition, or None when it cannot be known offline."""
    node = scope.conditions.get(name)
    return None if node is None or depth > 20 else _condition(node, scope, depth + 1)


def _condition(node: object, scope: Scope, depth: int) -> bool | None:
    if isinstance(node, dict) and len(node) == 1 and "Condition" in node:
        return condition(str(node["Condition"]), scope, depth)
    call = intrinsic(node)
    if call is None or not isinstance(call[1], list):
        return None
    name, args = call[0], call[1]
    if name == "Fn::Equals" and len(args) == 2:
        left, right = (resolve(item, scope) for item in args)
        return None if left is None or right is None else left == right
    parts = [_condition(item, scope, depth) for item in args]
    if name == "Fn::Not" and len(parts) == 1:
        return None if parts[0] is None else not parts[0]
    if name == "Fn::And":
        return False if False in parts else None if None in parts else True
    if name == "Fn::Or":
        return True if True in parts else None if None in parts else False
    return None


def truthy(value: str | None) -> bool | None:
    """CloudFormation booleans arrive as YAML booleans or the strings true/false."""
    if value is None:
        return None
    lowered = value.strip().lower()
    return True if lowered == "true" else False if lowered == "false" else None
