"""The vocabulary of a takeover: live stacks as read, and the verdicts the predictor gives."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mathvisuals.deploy.takeover.schemas import STATEFUL_TYPES


@dataclass(frozen=True)
class LiveResource:
    logical_id: str
    type: str
    physical_id: str


@dataclass(frozen=True)
class LiveStack:
    """One stack as it is: its template (decoded), parameters, resources and exports."""

    name: str
    template: Mapping[str, Any]
    parameters: Mapping[str, str]
    resources: Mapping[str, LiveResource]
    exports: Mapping[str, str] = field(default_factory=dict)  # export name -> value
    tags: Mapping[str, str] = field(default_factory=dict)
    status: str = "UPDATE_COMPLETE"


@dataclass(frozen=True)
class WantedStack:
    """What we would deploy: the rendered template and its parameter values."""

    name: str
    template: Mapping[str, Any]
    parameters: Mapping[str, str]


@dataclass(frozen=True)
class World:
    """What the whole account knows, across stacks."""

    region: str
    account_id: str
    exports: Mapping[str, str] = field(default_factory=dict)
    importers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # (resource type, name or unique key) -> who holds it, for names taken outside the stack
    taken: Mapping[tuple[str, str], str] = field(default_factory=dict)


class Action(enum.Enum):
    KEEP = "keep"
    MODIFY = "modify"
    REPLACE = "replace"
    DELETE = "delete"
    RETAIN = "remove, keep resource"  # DeletionPolicy Retain: leaves the stack, stays in AWS
    CREATE = "create"
    COLLIDE = "create collides"
    TYPE_CHANGE = "type change"


class ExportAction(enum.Enum):
    KEEP = "keep"
    ADD = "add"
    REMOVE = "remove"
    CHANGE = "change"
    COLLIDE = "add collides"


@dataclass(frozen=True)
class PropertyChange:
    name: str
    live: str
    wanted: str
    forces: str = "no"  # "always" | "conditional" | "no"


@dataclass(frozen=True)
class ResourceVerdict:
    logical_id: str
    type: str
    action: Action
    changes: tuple[PropertyChange, ...] = ()
    physical_id: str | None = None
    note: str = ""
    fails: str = ""  # why AWS would fail this action (a replacement that keeps a taken name)

    @property
    def stateful(self) -> bool:
        return self.type in STATEFUL_TYPES

    @property
    def refused(self) -> bool:
        if self.action in (Action.COLLIDE, Action.TYPE_CHANGE) or self.fails:
            return True
        return self.stateful and self.action in (Action.REPLACE, Action.DELETE)

    @property
    def forcing(self) -> tuple[PropertyChange, ...]:
        return tuple(c for c in self.changes if c.forces != "no")


@dataclass(frozen=True)
class ExportVerdict:
    name: str
    action: ExportAction
    live: str | None
    wanted: str | None
    importers: tuple[str, ...] = ()
    note: str = ""

    @property
    def refused(self) -> bool:
        if self.action is ExportAction.COLLIDE:
            return True
        return self.action in (ExportAction.REMOVE, ExportAction.CHANGE) and bool(self.importers)


@dataclass(frozen=True)
class StackPrediction:
    stack: str
    resources: tuple[ResourceVerdict, ...]
    exports: tuple[ExportVerdict, ...]

    @property
    def refusals(self) -> list[str]:
        return self.refusals_for()

    def refusals_for(self, *, allow_replace: bool = False) -> list[str]:
        found: list[ResourceVerdict | ExportVerdict] = [*self.resources, *self.exports]
        return [
            refusal_line(self.stack, v)
            for v in found
            if v.refused
            and not (
                allow_replace
                and isinstance(v, ResourceVerdict)
                and v.action in (Action.REPLACE, Action.DELETE)
                and not v.fails
            )
        ]

    def count(self, action: Action) -> int:
        return sum(1 for v in self.resources if v.action is action)

    @property
    def changed(self) -> bool:
        return any(v.action is not Action.KEEP for v in self.resources) or any(
            e.action is not ExportAction.KEEP for e in self.exports
        )


def refusal_line(stack: str, verdict: ResourceVerdict | ExportVerdict) -> str:
    """One line naming the resource, the property, both values and how to keep the live one."""
    if isinstance(verdict, ExportVerdict):
        who = ", ".join(verdict.importers)
        if verdict.action is ExportAction.COLLIDE:
            return f"{stack}: export {verdict.name} is already exported by {verdict.note}"
        return (
            f"{stack}: export {verdict.name} would be {verdict.action.value}d "
            f"(live {verdict.live!r}, wanted {verdict.wanted!r}) while {who} imports it; "
            "keep it until the importer has moved (mathvisuals adopt records it)"
        )
    if verdict.action is Action.COLLIDE:
        return f"{stack}: {verdict.logical_id} ({verdict.type}) {verdict.note}"
    if verdict.action is Action.TYPE_CHANGE:
        return f"{stack}: {verdict.logical_id} would change type ({verdict.note})"
    if verdict.action is Action.DELETE:
        return (
            f"{stack}: {verdict.logical_id} ({verdict.type}, {verdict.physical_id}) would be "
            "deleted; keep its logical id in our template or adopt it (mathvisuals adopt)"
        )
    forcing = verdict.forcing or verdict.changes
    detail = "; ".join(f"{c.name}: live {c.live!r}, wanted {c.wanted!r}" for c in forcing[:3])
    fails = f" ({verdict.fails})" if verdict.fails else ""
    return (
        f"{stack}: {verdict.logical_id} ({verdict.type}, {verdict.physical_id}) would be "
        f"replaced by {detail}{fails}; keep the live value (mathvisuals adopt writes it to the "
        "environment file)"
    )
