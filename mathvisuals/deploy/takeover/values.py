"""What a template property will be at deploy time: intrinsics evaluated, the rest kept symbolic.

Both sides of a takeover comparison (the live stack and the one we would deploy) are evaluated
with their own :class:`Scope`. Values that only AWS knows (an attribute, a new resource's id, the
region's AZ list) become :class:`Unknown` tokens that name where they come from, so that the
same attribute of the same physical resource compares equal on both sides and anything new
compares unequal to everything that exists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

NO_VALUE = "AWS::NoValue"
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Unknown:
    """A value AWS fills in; equal only to the same token."""

    token: str

    def __str__(self) -> str:
        return f"<{self.token}>"


class _Absent:
    """``Ref AWS::NoValue``: the property is left out."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT = _Absent()


@dataclass(frozen=True)
class Scope:
    """What one side knows: parameters, pseudo parameters, resources, conditions and exports.

    ``refs`` maps a logical id to its physical id (or an :class:`Unknown` for a resource that does
    not exist yet); ``attributes`` maps a logical id to the physical identity its attributes are
    read from (``attr:<identity>.<name>``).
    """

    parameters: Mapping[str, object]
    pseudo: Mapping[str, object]
    refs: Mapping[str, object] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)
    conditions: Mapping[str, object] = field(default_factory=dict)
    exports: Mapping[str, object] = field(default_factory=dict)
    mappings: Mapping[str, object] = field(default_factory=dict)
    ref_attributes: Mapping[str, str] = field(default_factory=dict)  # GetAtt that equals Ref


def _intrinsic(node: object) -> tuple[str, object] | None:
    if isinstance(node, dict) and len(node) == 1:
        ((key, value),) = node.items()
        if isinstance(key, str) and (key in ("Ref", "Condition") or key.startswith("Fn::")):
            return key, value
    return None


def scalar_text(value: object) -> str | None:
    """CloudFormation hands every scalar to a provider as text: 6379 and "6379" are one value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return None


def canonical(value: object) -> object:
    """A comparable form: scalars as text, mappings with sorted keys, absent keys dropped."""
    text = scalar_text(value)
    if text is not None:
        return text
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in sorted(value.items()) if v is not ABSENT}
    if isinstance(value, list):
        return [canonical(v) for v in value if v is not ABSENT]
    return value


def show(value: object) -> str:
    """A short human form for plans and errors."""
    value = canonical(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Unknown):
        return str(value)
    if value is ABSENT or value is None:
        return "(not set)"
    return json.dumps(value, default=str, sort_keys=True)


def evaluate(node: object, scope: Scope) -> object:
    """The deploy-time value of ``node``; intrinsics that cannot be known become Unknown."""
    call = _intrinsic(node)
    if call is not None:
        return _call(call[0], call[1], scope)
    if isinstance(node, dict):
        out = {str(k): evaluate(v, scope) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not ABSENT}
    if isinstance(node, list):
        return [v for v in (evaluate(item, scope) for item in node) if v is not ABSENT]
    return node


def _call(name: str, args: object, scope: Scope) -> object:
    if name == "Ref":
        return _ref(str(args), scope)
    if name == "Fn::GetAtt":
        return _get_att(args, scope)
    if name == "Fn::Sub":
        return _sub(args, scope)
    if name == "Fn::Join":
        return _join(args, scope)
    if name == "Fn::If":
        return _if(args, scope)
    if name == "Fn::ImportValue":
        export = evaluate(args, scope)
        if isinstance(export, str) and export in scope.exports:
            return scope.exports[export]
        return Unknown(f"import:{show(export)}")
    if name == "Fn::Select":
        return _select(args, scope)
    if name == "Fn::GetAZs":
        region = evaluate(args, scope)
        return Unknown(f"azs:{show(region) or show(scope.pseudo.get('AWS::Region'))}")
    if name == "Fn::FindInMap":
        return _find_in_map(args, scope)
    if name in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
        return condition_value(name, args, scope)
    # Fn::Split, Fn::Base64, Fn::Cidr, ...: compared by their evaluated arguments.
    return Unknown(f"{name}:{show(evaluate(args, scope))}")


def _ref(name: str, scope: Scope) -> object:
    if name == NO_VALUE:
        return ABSENT
    for table in (scope.parameters, scope.pseudo, scope.refs):
        if name in table:
            return table[name]
    return Unknown(f"ref:{name}")


def _get_att(args: object, scope: Scope) -> object:
    if isinstance(args, str):
        logical, _, attribute = args.partition(".")
    elif isinstance(args, list) and len(args) == 2:
        logical, attribute = str(args[0]), str(evaluate(args[1], scope))
    else:
        return Unknown(f"getatt:{show(args)}")
    if scope.ref_attributes.get(logical) == attribute:
        return _ref(logical, scope)
    identity = scope.attributes.get(logical, f"new:{logical}")
    return Unknown(f"attr:{identity}.{attribute}")


def _text(value: object) -> str:
    text = scalar_text(value)
    return text if text is not None else str(value)


def _sub(args: object, scope: Scope) -> object:
    if isinstance(args, list) and len(args) == 2:
        text, variables = args[0], args[1]
    else:
        text, variables = args, {}
    if not isinstance(text, str) or not isinstance(variables, dict):
        return Unknown(f"sub:{show(args)}")
    unknown = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unknown
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            value = evaluate(variables[name], scope)
        elif "." in name and name.split(".", 1)[0] not in scope.parameters:
            value = _get_att(name, scope)
        else:
            value = _ref(name, scope)
        if isinstance(value, Unknown):
            unknown = True
        return _text(value)

    result = _PLACEHOLDER.sub(replace, text)
    return Unknown(f"sub:{result}") if unknown else result


def _join(args: object, scope: Scope) -> object:
    if not isinstance(args, list) or len(args) != 2:
        return Unknown(f"join:{show(args)}")
    delimiter, items = evaluate(args[0], scope), evaluate(args[1], scope)
    if isinstance(items, str):
        # !Join [",", !Ref SomeList]: a list parameter is already comma-joined text.
        items = items.split(",")
    if not isinstance(items, list):
        return Unknown(f"join:{show(items)}")
    parts = [_text(item) for item in items]
    joined = _text(delimiter).join(parts)
    if any(isinstance(item, Unknown) for item in items):
        return Unknown(f"join:{joined}")
    return joined


def _if(args: object, scope: Scope) -> object:
    if not isinstance(args, list) or len(args) != 3:
        return Unknown(f"if:{show(args)}")
    chosen = scope.conditions.get(str(args[0]))
    if chosen is True:
        return evaluate(args[1], scope)
    if chosen is False:
        return evaluate(args[2], scope)
    return Unknown(f"if:{args[0]}")


def _select(args: object, scope: Scope) -> object:
    if not isinstance(args, list) or len(args) != 2:
        return Unknown(f"select:{show(args)}")
    index, items = evaluate(args[0], scope), evaluate(args[1], scope)
    if isinstance(items, str):
        items = items.split(",")
    if isinstance(items, list) and isinstance(index, int | str) and str(index).isdigit():
        position = int(index)
        return items[position] if position < len(items) else Unknown("select:out-of-range")
    if isinstance(items, Unknown):
        return Unknown(f"{items.token}[{show(index)}]")
    return Unknown(f"select:{show(index)}:{show(items)}")


def _find_in_map(args: object, scope: Scope) -> object:
    if not isinstance(args, list) or len(args) != 3:
        return Unknown(f"map:{show(args)}")
    keys = [evaluate(a, scope) for a in args]
    node: object = scope.mappings
    for key in keys:
        if not isinstance(node, dict) or not isinstance(key, str) or key not in node:
            return Unknown(f"map:{show(keys)}")
        node = node[key]
    return evaluate(node, scope)


def condition_value(name: str, args: object, scope: Scope) -> object:
    """True, False, or Unknown for a condition function."""
    if name == "Condition":
        return scope.conditions.get(str(args), Unknown(f"condition:{args}"))
    items = args if isinstance(args, list) else [args]
    if name == "Fn::Equals" and len(items) == 2:
        left, right = (canonical(evaluate(item, scope)) for item in items)
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            return left == right or Unknown(f"equals:{show(left)}={show(right)}")
        return left == right
    values = [_truth(item, scope) for item in items]
    if any(isinstance(v, Unknown) for v in values):
        return Unknown(f"{name}:{show(values)}")
    if name == "Fn::Not" and len(values) == 1:
        return not values[0]
    if name == "Fn::And":
        return all(values)
    if name == "Fn::Or":
        return any(values)
    return Unknown(f"{name}:{show(args)}")


def _truth(node: object, scope: Scope) -> object:
    call = _intrinsic(node)
    if call is None:
        return Unknown(f"truth:{show(node)}")
    return condition_value(call[0], call[1], scope)


def evaluate_conditions(section: Mapping[str, object], scope: Scope) -> dict[str, object]:
    """Every condition of a template, in dependency order (conditions may name each other)."""
    known: dict[str, object] = {}
    pending = dict(section)
    for _ in range(len(pending) + 1):
        progressed = False
        for name, node in list(pending.items()):
            value = _truth(node, Scope(**{**scope.__dict__, "conditions": known}))
            if not isinstance(value, Unknown) or _settled(node, known):
                known[name] = value
                del pending[name]
                progressed = True
        if not pending or not progressed:
            break
    known.update({name: Unknown(f"condition:{name}") for name in pending})
    return known


def _settled(node: object, known: Mapping[str, object]) -> bool:
    """Whether every condition ``node`` names is already evaluated (so Unknown is final)."""
    text = json.dumps(node, default=str)
    return all(name in known for name in re.findall(r'"Condition": "([^"]+)"', text))
