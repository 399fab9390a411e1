"""Predict what CloudFormation will do to a live stack, resource by resource, before it does it.

Pure: the live stack, what we would deploy and what the account holds come in; verdicts go out.
A change set's ``Replacement`` field is not trusted (the emulator gets it wrong both ways, and on
AWS ``Conditional`` needs this analysis anyway): each property is compared on its resolved value
and judged by the resource provider schemas cfn-lint ships.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from mathvisuals.deploy.takeover.model import (
    Action,
    ExportAction,
    ExportVerdict,
    LiveStack,
    PropertyChange,
    ResourceVerdict,
    StackPrediction,
    WantedStack,
    World,
)
from mathvisuals.deploy.takeover.schemas import UNIQUE_WITHIN, TypeRules, rules_for
from mathvisuals.deploy.takeover.values import (
    Scope,
    Unknown,
    canonical,
    evaluate,
    evaluate_conditions,
    show,
)

# GetAtt attributes that return what Ref returns, so ``!Ref Vpc`` equals ``!GetAtt Vpc.VpcId``.
REF_ATTRIBUTES = {
    "AWS::EC2::VPC": "VpcId",
    "AWS::EC2::Subnet": "SubnetId",
    "AWS::EC2::SecurityGroup": "GroupId",
    "AWS::ApiGatewayV2::Api": "ApiId",
}
_SECRET_REFERENCE = re.compile(r"\{\{resolve:secretsmanager:([^:}]+)")
_MAX_ROUNDS = 10


def resources_of(template: Mapping[str, Any], scope: Scope) -> dict[str, Mapping[str, Any]]:
    """The template's resources whose Condition holds (or cannot be known)."""
    section = template.get("Resources")
    found: dict[str, Mapping[str, Any]] = {}
    if not isinstance(section, dict):
        return found
    for logical_id, node in section.items():
        if not isinstance(node, dict):
            continue
        condition = node.get("Condition")
        if condition is not None and scope.conditions.get(str(condition)) is False:
            continue
        found[str(logical_id)] = node
    return found


def parameter_values(template: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, object]:
    """Given values over template defaults; list parameters stay comma-joined text."""
    values: dict[str, object] = {}
    section = template.get("Parameters")
    hidden: set[str] = set()
    if isinstance(section, dict):
        for name, node in section.items():
            if not isinstance(node, dict):
                continue
            if str(node.get("NoEcho", "")).lower() == "true":
                hidden.add(str(name))
            if "Default" in node:
                default = node["Default"]
                values[str(name)] = (
                    ",".join(str(v) for v in default) if isinstance(default, list) else default
                )
    values.update(given)
    for name in hidden:
        # DescribeStacks masks a NoEcho value as ****: what it was cannot be known.
        if values.get(name) in (None, "****"):
            values[name] = Unknown(f"noecho:{name}")
    return values


def build_scope(
    template: Mapping[str, Any],
    parameters: Mapping[str, str],
    stack: str,
    world: World,
    physical: Mapping[str, str],
    types: Mapping[str, str],
) -> Scope:
    """A side's scope: ``physical`` maps the logical ids that exist to their physical ids."""
    pseudo: dict[str, object] = {
        "AWS::Region": world.region,
        "AWS::AccountId": world.account_id,
        "AWS::StackName": stack,
        "AWS::Partition": "aws-cn" if world.region.startswith("cn-") else "aws",
        "AWS::URLSuffix": "amazonaws.com.cn" if world.region.startswith("cn-") else "amazonaws.com",
        "AWS::StackId": Unknown(f"stack-id:{stack}"),
        "AWS::NotificationARNs": Unknown("notification-arns"),
    }
    section = template.get("Resources")
    logical_ids = [str(k) for k in section] if isinstance(section, dict) else []
    refs: dict[str, object] = {}
    attributes: dict[str, str] = {}
    for logical_id in logical_ids:
        if logical_id in physical:
            refs[logical_id] = physical[logical_id]
            attributes[logical_id] = physical[logical_id]
        else:
            refs[logical_id] = Unknown(f"new:{logical_id}")
            attributes[logical_id] = f"new:{logical_id}"
    mappings = template.get("Mappings")
    base = Scope(
        parameters=parameter_values(template, parameters),
        pseudo=pseudo,
        refs=refs,
        attributes=attributes,
        exports=world.exports,
        mappings=mappings if isinstance(mappings, dict) else {},
        ref_attributes={lid: REF_ATTRIBUTES[t] for lid, t in types.items() if t in REF_ATTRIBUTES},
    )
    conditions = template.get("Conditions")
    evaluated = evaluate_conditions(conditions if isinstance(conditions, dict) else {}, base)
    return Scope(**{**base.__dict__, "conditions": evaluated})


def _types(template: Mapping[str, Any]) -> dict[str, str]:
    section = template.get("Resources")
    if not isinstance(section, dict):
        return {}
    return {str(k): str(v.get("Type", "")) for k, v in section.items() if isinstance(v, dict)}


def properties(node: Mapping[str, Any], scope: Scope) -> dict[str, object]:
    props = node.get("Properties")
    if not isinstance(props, dict):
        return {}
    value = evaluate(props, scope)
    return value if isinstance(value, dict) else {}


def _same_secret(live: object, wanted: object) -> bool:
    """Both AuthTokens read the same secret (only its version pin differs)."""
    names = [_SECRET_REFERENCE.findall(str(v)) for v in (live, wanted)]
    return bool(names[0]) and names[0] == names[1]


def compare(
    rules: TypeRules, live: Mapping[str, object], wanted: Mapping[str, object]
) -> tuple[PropertyChange, ...]:
    changes = []
    for name in sorted(set(live) | set(wanted)):
        before, after = canonical(live.get(name)), canonical(wanted.get(name))
        if before == after:
            continue
        if rules.forces_replacement(name) or not rules.known:
            forces = "always"
        elif rules.may_force_replacement(name):
            forces = "conditional"
        else:
            forces = "no"
        changes.append(PropertyChange(name, show(live.get(name)), show(wanted.get(name)), forces))
    return tuple(changes)


def _action(
    type_name: str,
    changes: tuple[PropertyChange, ...],
    live: Mapping[str, object],
    wanted: Mapping[str, object],
) -> tuple[Action, str]:
    if any(c.forces == "always" for c in changes):
        return Action.REPLACE, ""
    conditional = [c for c in changes if c.forces == "conditional"]
    if conditional:
        # A new AuthToken on a group with TLS is applied in place (ModifyReplicationGroup with an
        # AuthTokenUpdateStrategy); anything else conditional is treated as a replacement.
        if type_name == "AWS::ElastiCache::ReplicationGroup" and [c.name for c in conditional] == [
            "AuthToken"
        ]:
            before = live.get("AuthToken")
            if _same_secret(before, wanted.get("AuthToken")):
                return Action.MODIFY, "AuthToken re-resolved from the same secret: in-place modify"
            if isinstance(before, Unknown) and before.token.startswith("noecho:"):
                return Action.MODIFY, (
                    "AuthToken: the live input is NoEcho; in place, once the token in our "
                    "secret is proven equal to the one the live function uses"
                )
        return Action.REPLACE, "conditional replacement treated as a replacement"
    if changes:
        return Action.MODIFY, ""
    return Action.KEEP, ""


def _unique_key(type_name: str, props: Mapping[str, object], rules: TypeRules) -> str | None:
    if type_name in UNIQUE_WITHIN:
        parts = [canonical(props.get(p)) for p in UNIQUE_WITHIN[type_name]]
        if any(p is None for p in parts):
            return None
        return "|".join(show(p) for p in parts)
    for name in rules.name_properties:
        value = canonical(props.get(name))
        if isinstance(value, str):
            return value
    return None


def held_names(stacks: Iterable[LiveStack], world: World) -> dict[tuple[str, str], str]:
    """Every name and unique key a live stack's resources hold, with who holds it."""
    held = dict(world.taken)
    for stack in stacks:
        types = _types(stack.template)
        physical = {k: r.physical_id for k, r in stack.resources.items()}
        scope = build_scope(stack.template, stack.parameters, stack.name, world, physical, types)
        for logical_id, node in resources_of(stack.template, scope).items():
            type_name = types.get(logical_id, "")
            key = _unique_key(
                type_name, properties(node, scope), rules_for(world.region, type_name)
            )
            if key is not None:
                held[(type_name, key)] = f"{stack.name}/{logical_id}"
    return held


def _subnets(stacks: Iterable[LiveStack], world: World) -> list[tuple[str, str, str]]:
    """(vpc, cidr, holder) of every live subnet."""
    found = []
    for stack in stacks:
        types = _types(stack.template)
        physical = {k: r.physical_id for k, r in stack.resources.items()}
        scope = build_scope(stack.template, stack.parameters, stack.name, world, physical, types)
        for logical_id, node in resources_of(stack.template, scope).items():
            if types.get(logical_id) == "AWS::EC2::Subnet":
                props = properties(node, scope)
                found.append(
                    (
                        show(props.get("VpcId")),
                        show(props.get("CidrBlock")),
                        f"{stack.name}/{logical_id}",
                    )
                )
    return found


def _overlap(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_network(a, strict=False).overlaps(ipaddress.ip_network(b, strict=False))
    except ValueError:
        return False


def predict(
    live: LiveStack | None,
    wanted: WantedStack,
    world: World,
    *,
    others: Iterable[LiveStack] = (),
    releasing: Iterable[str] = (),
) -> StackPrediction:
    """Verdicts for ``wanted`` deployed over ``live`` (None: a stack that does not exist yet).

    ``others`` are the account's other live stacks (their names and subnets are taken);
    ``releasing`` names stacks that no longer import anything of this one by the time it runs.
    """
    live_stack = live or LiveStack(wanted.name, {"Resources": {}}, {}, {})
    others = list(others)
    live_types, wanted_types = _types(live_stack.template), _types(wanted.template)
    physical = {k: r.physical_id for k, r in live_stack.resources.items()}
    live_scope = build_scope(
        live_stack.template, live_stack.parameters, wanted.name, world, physical, live_types
    )
    live_nodes = resources_of(live_stack.template, live_scope)
    live_props = {k: properties(v, live_scope) for k, v in live_nodes.items()}
    kept = {k: p for k, p in physical.items() if wanted_types.get(k) == live_types.get(k)}
    verdicts: dict[str, ResourceVerdict] = {}
    wanted_props: dict[str, dict[str, object]] = {}
    for _ in range(_MAX_ROUNDS):
        scope = build_scope(
            wanted.template, wanted.parameters, wanted.name, world, kept, wanted_types
        )
        wanted_nodes = resources_of(wanted.template, scope)
        wanted_props = {k: properties(v, scope) for k, v in wanted_nodes.items()}
        verdicts = _resource_verdicts(
            live_stack,
            live_nodes,
            live_props,
            live_types,
            wanted_nodes,
            wanted_props,
            wanted_types,
            world,
        )
        replaced = {k for k, v in verdicts.items() if v.action is Action.REPLACE}
        still = {k: p for k, p in kept.items() if k not in replaced}
        if still == kept:
            break
        kept = still
    held = held_names([live_stack, *others], world)
    subnets = _subnets([live_stack, *others], world)
    for logical_id, verdict in list(verdicts.items()):
        if verdict.action in (Action.CREATE, Action.REPLACE):
            verdicts[logical_id] = _collision(
                verdict, wanted_props.get(logical_id, {}), held, subnets, world
            )
    exports = _export_verdicts(live_stack, live_scope, wanted, scope, world, set(releasing))
    order = list(wanted_nodes) + [k for k in live_nodes if k not in wanted_nodes]
    return StackPrediction(wanted.name, tuple(verdicts[k] for k in order), tuple(exports))


def _resource_verdicts(
    live_stack: LiveStack,
    live_nodes: Mapping[str, Mapping[str, Any]],
    live_props: Mapping[str, Mapping[str, object]],
    live_types: Mapping[str, str],
    wanted_nodes: Mapping[str, Mapping[str, Any]],
    wanted_props: Mapping[str, Mapping[str, object]],
    wanted_types: Mapping[str, str],
    world: World,
) -> dict[str, ResourceVerdict]:
    verdicts: dict[str, ResourceVerdict] = {}
    for logical_id in wanted_nodes:
        type_name = wanted_types[logical_id]
        resource = live_stack.resources.get(logical_id)
        if logical_id not in live_nodes:
            verdicts[logical_id] = ResourceVerdict(logical_id, type_name, Action.CREATE)
            continue
        physical_id = resource.physical_id if resource else None
        if live_types.get(logical_id) != type_name:
            note = f"{live_types.get(logical_id)} → {type_name}"
            verdicts[logical_id] = ResourceVerdict(
                logical_id, type_name, Action.TYPE_CHANGE, physical_id=physical_id, note=note
            )
            continue
        before, after = live_props[logical_id], wanted_props[logical_id]
        changes = compare(rules_for(world.region, type_name), before, after)
        action, note = _action(type_name, changes, before, after)
        verdicts[logical_id] = ResourceVerdict(
            logical_id, type_name, action, changes, physical_id, note
        )
    for logical_id, node in live_nodes.items():
        if logical_id in wanted_nodes:
            continue
        resource = live_stack.resources.get(logical_id)
        retained = str(node.get("DeletionPolicy", "Delete")) == "Retain"
        verdicts[logical_id] = ResourceVerdict(
            logical_id,
            live_types.get(logical_id, ""),
            Action.RETAIN if retained else Action.DELETE,
            physical_id=resource.physical_id if resource else None,
        )
    return verdicts


def _collision(
    verdict: ResourceVerdict,
    props: Mapping[str, object],
    held: Mapping[tuple[str, str], str],
    subnets: list[tuple[str, str, str]],
    world: World,
) -> ResourceVerdict:
    """A create (or the create half of a replacement) whose name or range is already taken.

    CloudFormation creates a replacement before it deletes the old resource, so a replacement
    that keeps its custom name, or a subnet whose new range overlaps its old one, fails too.
    """
    rules = rules_for(world.region, verdict.type)
    key = _unique_key(verdict.type, props, rules)
    clash = ""
    if key is not None and (verdict.type, key) in held:
        holder = held[(verdict.type, key)]
        what = "name" if verdict.type not in UNIQUE_WITHIN else "key"
        clash = f"would be created with {what} {key!r}, held by {holder}"
    if not clash and verdict.type == "AWS::EC2::Subnet":
        vpc, cidr = show(props.get("VpcId")), show(props.get("CidrBlock"))
        for other_vpc, other_cidr, holder in subnets:
            if other_vpc == vpc and _overlap(cidr, other_cidr):
                clash = (
                    f"would be created with CidrBlock {cidr}, overlapping {other_cidr} of "
                    f"{holder} (InvalidSubnet.Conflict)"
                )
                break
    if not clash:
        return verdict
    if verdict.action is Action.REPLACE:
        return dataclasses.replace(verdict, fails=f"the replacement {clash}")
    return dataclasses.replace(verdict, action=Action.COLLIDE, note=clash)


def outputs(template: Mapping[str, Any], scope: Scope) -> dict[str, object]:
    """Export name -> value for every exported output whose condition holds."""
    section = template.get("Outputs")
    found: dict[str, object] = {}
    if not isinstance(section, dict):
        return found
    for node in section.values():
        if not isinstance(node, dict) or not isinstance(node.get("Export"), dict):
            continue
        condition = node.get("Condition")
        if condition is not None and scope.conditions.get(str(condition)) is False:
            continue
        name = evaluate(node["Export"].get("Name"), scope)
        found[show(name)] = evaluate(node.get("Value"), scope)
    return found


def _export_verdicts(
    live: LiveStack,
    live_scope: Scope,
    wanted: WantedStack,
    scope: Scope,
    world: World,
    releasing: set[str],
) -> list[ExportVerdict]:
    """Live exports against ours: values compared as expressions of the same resources.

    The live value (read from AWS) is what is shown and carried; the comparison uses the live
    template's expression, since an attribute of a kept resource is unknown offline.
    """
    wanted_exports = outputs(wanted.template, scope)
    live_expressions = outputs(live.template, live_scope)
    verdicts = []
    for name, value in live.exports.items():
        importers = tuple(
            s for s in world.importers.get(name, ()) if s not in releasing and s != live.name
        )
        if name not in wanted_exports:
            verdicts.append(ExportVerdict(name, ExportAction.REMOVE, value, None, importers))
            continue
        after = canonical(wanted_exports[name])
        before = canonical(live_expressions.get(name, value))
        action = ExportAction.KEEP if after in (before, canonical(value)) else ExportAction.CHANGE
        shown = show(wanted_exports[name])
        verdicts.append(
            ExportVerdict(
                name, action, value, shown, importers if action is not ExportAction.KEEP else ()
            )
        )
    for name, added in wanted_exports.items():
        if name in live.exports:
            continue
        if name in world.exports:
            verdicts.append(
                ExportVerdict(name, ExportAction.COLLIDE, None, show(added), note="another stack")
            )
        else:
            verdicts.append(ExportVerdict(name, ExportAction.ADD, None, show(added)))
    return verdicts
