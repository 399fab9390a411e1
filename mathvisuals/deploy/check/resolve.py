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


def truthy(value: str | None) -> bool | None:
    """CloudFormation booleans arrive as YAML booleans or the strings true/false."""
    if value is None:
        return None
    lowered = value.strip().lower()
    return True if lowered == "true" else False if lowered == "false" else None
