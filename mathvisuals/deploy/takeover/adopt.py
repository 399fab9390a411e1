"""Adoption: what our templates must take from a live stack so that AWS keeps its resources.

An adoption is data, kept in the environment file so every later run renders the same
templates: per stack and per live logical id, which of our logical ids becomes it, the live
values of replacement-forcing properties, properties to leave out, and a DeletionPolicy to keep.
``render`` applies it to one of our templates; ``derive`` works it out from a live stack.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mathvisuals.deploy.takeover.model import Action, LiveStack, WantedStack, World
from mathvisuals.deploy.takeover.predict import (
    build_scope,
    predict,
    properties,
    resources_of,
)
from mathvisuals.deploy.takeover.schemas import STATEFUL_TYPES, UNIQUE_WITHIN, rules_for
from mathvisuals.deploy.takeover.values import Unknown, canonical, show

_MAX_ROUNDS = 8


@dataclass(frozen=True)
class ResourceAdoption:
    ours: str | None = None  # our logical id, when it differs from the live one
    properties: Mapping[str, Any] = field(default_factory=dict)
    unset: tuple[str, ...] = ()
    deletion_policy: str | None = None

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.ours:
            out["ours"] = self.ours
        if self.properties:
            out["properties"] = dict(self.properties)
        if self.unset:
            out["unset"] = list(self.unset)
        if self.deletion_policy:
            out["deletion_policy"] = self.deletion_policy
        return out


@dataclass(frozen=True)
class StackAdoption:
    resources: Mapping[str, ResourceAdoption] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> StackAdoption:
        found = {}
        for live_id, entry in (data.get("resources") or {}).items():
            found[str(live_id)] = ResourceAdoption(
                ours=entry.get("ours"),
                properties=dict(entry.get("properties") or {}),
                unset=tuple(entry.get("unset") or ()),
                deletion_policy=entry.get("deletion_policy"),
            )
        return cls(found)

    def to_mapping(self) -> dict[str, Any]:
        return {
            "resources": {
                k: v.to_mapping() for k, v in sorted(self.resources.items()) if v.to_mapping()
            }
        }

    @property
    def empty(self) -> bool:
        return not any(v.to_mapping() for v in self.resources.values())

    def renames(self) -> dict[str, str]:
        """Our logical id -> the live one."""
        return {v.ours: k for k, v in self.resources.items() if v.ours and v.ours != k}


def _rename_node(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref" and isinstance(value, str):
                return {"Ref": renames.get(value, value)}
            if key == "Fn::GetAtt":
                if isinstance(value, str):
                    head, dot, tail = value.partition(".")
                    return {"Fn::GetAtt": f"{renames.get(head, head)}{dot}{tail}"}
                if isinstance(value, list) and value:
                    return {"Fn::GetAtt": [renames.get(str(value[0]), value[0]), *value[1:]]}
            if key == "Fn::Sub":
                return {"Fn::Sub": _rename_sub(value, renames)}
        return {k: _rename_node(v, renames) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename_node(v, renames) for v in node]
    return node


def _rename_sub(value: Any, renames: Mapping[str, str]) -> Any:
    def text(body: str, variables: Mapping[str, Any]) -> str:
        for old, new in renames.items():
            if old in variables:
                continue
            body = body.replace("${" + old + "}", "${" + new + "}")
            body = body.replace("${" + old + ".", "${" + new + ".")
        return body

    if isinstance(value, str):
        return text(value, {})
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], dict):
        return [text(str(value[0]), value[1]), _rename_node(value[1], renames)]
    return value


def render(template: Mapping[str, Any], adoption: StackAdoption) -> dict[str, Any]:
    """Our template with the adoption applied (a new mapping; the input is not changed)."""
    renames = adoption.renames()
    body: dict[str, Any] = copy.deepcopy(dict(template))
    resources = body.get("Resources", {})
    renamed: dict[str, Any] = {}
    for logical_id, node in resources.items():
        new_id = renames.get(str(logical_id), str(logical_id))
        node = _rename_node(node, renames)
        depends = node.get("DependsOn")
        if isinstance(depends, str):
            node["DependsOn"] = renames.get(depends, depends)
        elif isinstance(depends, list):
            node["DependsOn"] = [renames.get(str(d), d) for d in depends]
        renamed[new_id] = node
    for section in ("Outputs", "Conditions"):
        if isinstance(body.get(section), dict):
            body[section] = _rename_node(body[section], renames)
    for live_id, entry in adoption.resources.items():
        node = renamed.get(live_id)
        if node is None:
            continue
        props = node.setdefault("Properties", {})
        for name, value in entry.properties.items():
            props[name] = copy.deepcopy(value)
        for name in entry.unset:
            props.pop(name, None)
        if entry.deletion_policy:
            node["DeletionPolicy"] = entry.deletion_policy
            node["UpdateReplacePolicy"] = entry.deletion_policy
    body["Resources"] = renamed
    return body


def with_exports(
    template: Mapping[str, Any], carried: Mapping[str, str], stack: str
) -> dict[str, Any]:
    """``template`` that also exports ``carried`` (export name -> live value) as literals.

    An output of ours with the same export name takes the live value for this phase.
    """
    body: dict[str, Any] = copy.deepcopy(dict(template))
    section = body.setdefault("Outputs", {})
    remaining = dict(carried)
    for node in section.values():
        export = node.get("Export") if isinstance(node, dict) else None
        if isinstance(export, dict):
            name = export.get("Name")
            for export_name in list(remaining):
                if _names_export(name, export_name, stack):
                    node["Value"] = remaining.pop(export_name)
    for export_name, value in remaining.items():
        key = "Carried" + "".join(ch for ch in export_name if ch.isalnum())
        section[key[:255]] = {
            "Description": "Kept while another stack still imports it (takeover phase 1).",
            "Value": value,
            "Export": {"Name": export_name},
        }
    return body


def _names_export(node: Any, export_name: str, stack: str) -> bool:
    if isinstance(node, dict) and isinstance(node.get("Fn::Sub"), str):
        node = str(node["Fn::Sub"]).replace("${AWS::StackName}", stack)
    return isinstance(node, str) and node == export_name


def serialise(template: Mapping[str, Any]) -> str:
    """Compact JSON: what CloudFormation receives for a rendered template."""
    return json.dumps(template, separators=(",", ":"), default=str)


# --- deriving an adoption from a live stack ---------------------------------------------------


def _identity(type_name: str, props: Mapping[str, object], region: str) -> str | None:
    if type_name in UNIQUE_WITHIN:
        parts = [canonical(props.get(p)) for p in UNIQUE_WITHIN[type_name]]
        return None if any(p is None for p in parts) else "|".join(show(p) for p in parts)
    for name in rules_for(region, type_name).name_properties:
        value = canonical(props.get(name))
        if value is not None:
            return show(value)
    if type_name == "AWS::EC2::Subnet":
        return show(props.get("AvailabilityZone"))
    return None


def match(live: LiveStack, ours: WantedStack, world: World) -> dict[str, str]:
    """Our logical id -> the live logical id that is the same resource in AWS."""
    live_types = {k: str(v.get("Type")) for k, v in live.template.get("Resources", {}).items()}
    our_types = {k: str(v.get("Type")) for k, v in ours.template.get("Resources", {}).items()}
    pairs = {k: k for k in our_types if live_types.get(k) == our_types[k]}
    physical = {k: r.physical_id for k, r in live.resources.items()}
    live_scope = build_scope(live.template, live.parameters, live.name, world, physical, live_types)
    live_props = {
        k: properties(v, live_scope) for k, v in resources_of(live.template, live_scope).items()
    }
    for _ in range(2):
        kept = {k: physical[v] for k, v in pairs.items() if v in physical}
        renamed = render(
            ours.template,
            StackAdoption({v: ResourceAdoption(ours=k) for k, v in pairs.items() if k != v}),
        )
        scope = build_scope(
            renamed,
            ours.parameters,
            ours.name,
            world,
            {pairs.get(k, k): p for k, p in kept.items()},
            {pairs.get(k, k): t for k, t in our_types.items()},
        )
        nodes = resources_of(renamed, scope)
        for our_id, type_name in our_types.items():
            if our_id in pairs:
                continue
            free = [k for k, t in live_types.items() if t == type_name and k not in pairs.values()]
            node = nodes.get(our_id)
            wanted = _identity(type_name, properties(node, scope), world.region) if node else None
            same = [
                k
                for k in free
                if wanted is not None
                and _identity(type_name, live_props.get(k, {}), world.region) == wanted
            ]
            alone = [k for k, t in our_types.items() if t == type_name and k not in pairs]
            if len(same) == 1:
                pairs[our_id] = same[0]
            elif (
                len(free) == 1
                and len(alone) == 1
                and (wanted is None or type_name in STATEFUL_TYPES)
            ):
                # The only one of its type on each side: for a stateful type, keeping it (and
                # adopting its live name) beats deleting one and creating the other.
                pairs[our_id] = free[0]
    return pairs


def derive(
    live: LiveStack, ours: WantedStack, world: World, others: list[LiveStack] | None = None
) -> tuple[StackAdoption, list[str]]:
    """The adoption that keeps every matched resource in place, and what it could not keep."""
    pairs = match(live, ours, world)
    entries: dict[str, dict[str, Any]] = {
        live_id: {"ours": our_id if our_id != live_id else None, "properties": {}, "unset": []}
        for our_id, live_id in pairs.items()
    }
    live_nodes = live.template.get("Resources", {})
    for live_id in entries:
        # An adopted stateful resource outlives our stacks: `down` never removes what we did
        # not create.
        if str(live_nodes.get(live_id, {}).get("Type")) in STATEFUL_TYPES:
            entries[live_id]["deletion_policy"] = "Retain"
    problems: list[str] = []
    physical = {k: r.physical_id for k, r in live.resources.items()}
    live_types = {k: str(v.get("Type")) for k, v in live_nodes.items()}
    live_scope = build_scope(live.template, live.parameters, live.name, world, physical, live_types)
    live_props = {
        k: properties(v, live_scope) for k, v in resources_of(live.template, live_scope).items()
    }
    adoption = _adoption(entries)
    for _ in range(_MAX_ROUNDS):
        rendered = render(ours.template, adoption)
        prediction = predict(
            live, WantedStack(ours.name, rendered, ours.parameters), world, others=others or ()
        )
        progressed = False
        for verdict in prediction.resources:
            if (
                verdict.action not in (Action.REPLACE, Action.COLLIDE)
                or verdict.logical_id not in entries
            ):
                continue
            entry = entries[verdict.logical_id]
            for change in verdict.forcing or verdict.changes:
                raw = live_nodes.get(verdict.logical_id, {}).get("Properties", {})
                if change.name not in raw:
                    if change.name not in entry["unset"]:
                        entry["unset"].append(change.name)
                        progressed = True
                    continue
                value = live_props.get(verdict.logical_id, {}).get(change.name)
                if _literal(value):
                    if entry["properties"].get(change.name) != _plain(value):
                        entry["properties"][change.name] = _plain(value)
                        progressed = True
                elif entry["properties"].get(change.name) != raw[change.name]:
                    entry["properties"][change.name] = _plain(raw[change.name])
                    progressed = True
        adoption = _adoption(entries)
        if not progressed:
            problems = prediction.refusals
            break
    return _pruned(live, ours, world, others or [], entries), problems


def _pruned(
    live: LiveStack,
    ours: WantedStack,
    world: World,
    others: list[LiveStack],
    entries: dict[str, dict[str, Any]],
) -> StackAdoption:
    """Drop the overrides that were only needed while something they refer to was replaced."""

    def replaced(candidate: StackAdoption) -> set[str]:
        rendered = render(ours.template, candidate)
        prediction = predict(
            live, WantedStack(ours.name, rendered, ours.parameters), world, others=others
        )
        return {
            v.logical_id
            for v in prediction.resources
            if v.action is not Action.KEEP and (v.forcing or v.refused)
        }

    baseline = replaced(_adoption(entries))
    for entry in entries.values():
        for name in list(entry["properties"]):
            value = entry["properties"].pop(name)
            if replaced(_adoption(entries)) != baseline:
                entry["properties"][name] = value
        for name in list(entry["unset"]):
            entry["unset"].remove(name)
            if replaced(_adoption(entries)) != baseline:
                entry["unset"].append(name)
    return _adoption(entries)


def _literal(value: object) -> bool:
    if isinstance(value, Unknown):
        return False
    if isinstance(value, dict):
        return all(_literal(v) for v in value.values())
    if isinstance(value, list):
        return all(_literal(v) for v in value)
    return True


def _plain(value: Any) -> Any:
    """Decoded template nodes as plain Python values (what TOML and JSON can hold)."""
    return json.loads(json.dumps(value, default=str))


def _adoption(entries: Mapping[str, Mapping[str, Any]]) -> StackAdoption:
    found = {
        k: ResourceAdoption(
            ours=v.get("ours"),
            properties=dict(v.get("properties") or {}),
            unset=tuple(v.get("unset") or ()),
            deletion_policy=v.get("deletion_policy"),
        )
        for k, v in entries.items()
    }
    return StackAdoption({k: v for k, v in found.items() if v.to_mapping()})
