"""A whole takeover, offline: adoptions, phases, and what AWS will do in each phase.

``build`` takes the live stacks, our templates with their parameters and what the account
holds, and returns a :class:`TakeoverPlan`: the template each phase deploys and the predicted
verdicts, with every refusal collected before anything is executed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mathvisuals.deploy.takeover.adopt import StackAdoption, derive, render, with_exports
from mathvisuals.deploy.takeover.model import (
    LiveResource,
    LiveStack,
    StackPrediction,
    WantedStack,
    World,
)
from mathvisuals.deploy.takeover.phases import Phase, imports_of, plan_phases
from mathvisuals.deploy.takeover.predict import build_scope, outputs, predict


@dataclass(frozen=True)
class Ours:
    """One of our stacks: its template (decoded) and parameter values."""

    role: str
    stack: str
    template: Mapping[str, Any]
    parameters: Mapping[str, str]


@dataclass(frozen=True)
class PhaseStep:
    phase: Phase
    template: Mapping[str, Any]
    prediction: StackPrediction


@dataclass(frozen=True)
class TakeoverPlan:
    adoptions: Mapping[str, StackAdoption]
    steps: tuple[PhaseStep, ...]
    problems: tuple[str, ...] = ()
    derived: Mapping[str, bool] = field(default_factory=dict)  # role -> adoption was derived

    @property
    def refusals(self) -> list[str]:
        return self.refused()

    def refused(self, *, allow_replace: bool = False) -> list[str]:
        """Every refusal; with ``allow_replace`` a stateful replacement or delete that AWS can
        carry out is let through (the operator asked for it), a failing one never is."""
        found = list(self.problems)
        for step in self.steps:
            for line in step.prediction.refusals_for(allow_replace=allow_replace):
                if line not in found:
                    found.append(line)
        return found

    def step_for(self, role: str, final: bool = True) -> PhaseStep | None:
        for step in self.steps:
            if step.phase.role == role and step.phase.final is final:
                return step
        return None


def _types(template: Mapping[str, Any]) -> dict[str, str]:
    section = template.get("Resources", {})
    return {str(k): str(v.get("Type")) for k, v in section.items() if isinstance(v, dict)}


def _scope_of(template: Mapping[str, Any], ours: Ours, live: LiveStack | None, world: World) -> Any:
    physical = {k: r.physical_id for k, r in (live.resources if live else {}).items()}
    types = _types(template)
    kept = {k: p for k, p in physical.items() if k in types}
    return build_scope(template, ours.parameters, ours.stack, world, kept, types)


def build(
    order: Sequence[Ours],
    live: Mapping[str, LiveStack | None],
    world: World,
    adoptions: Mapping[str, StackAdoption] | None = None,
) -> TakeoverPlan:
    """Plan the takeover of the live stacks (by stack name) by ours, in ``order``.

    With ``adoptions`` (from the environment file) they are used as they are; without, each is
    derived from the live stack.
    """
    all_live = [s for s in live.values() if s is not None]
    chosen: dict[str, StackAdoption] = {}
    derived: dict[str, bool] = {}
    problems: list[str] = []
    known = dict(world.exports)  # grows with what our earlier stacks will export
    for ours in order:
        found = live.get(ours.stack)
        given = (adoptions or {}).get(ours.role)
        seen = dataclasses.replace(world, exports=known)
        if given is not None or found is None:
            chosen[ours.role] = given or StackAdoption()
            derived[ours.role] = False
        else:
            others = [s for s in all_live if s.name != ours.stack]
            wanted = WantedStack(ours.stack, ours.template, ours.parameters)
            chosen[ours.role], _ = derive(found, wanted, seen, others)
            derived[ours.role] = True
        body = render(ours.template, chosen[ours.role])
        scope = _scope_of(body, ours, found, seen)
        known.update({k: v for k, v in outputs(body, scope).items() if isinstance(v, str)})
    rendered = {o.role: render(o.template, chosen[o.role]) for o in order}
    wanted_exports: dict[str, Mapping[str, object]] = {}
    wanted_imports: dict[str, set[str]] = {}
    for ours in order:
        scope = _scope_of(rendered[ours.role], ours, live.get(ours.stack), seen)
        wanted_exports[ours.stack] = outputs(rendered[ours.role], scope)
        wanted_imports[ours.stack] = imports_of(rendered[ours.role], scope)
    phases = plan_phases(
        [(o.role, o.stack) for o in order], live, wanted_exports, wanted_imports, world
    )
    by_role = {o.role: o for o in order}
    state = dict(live)
    steps = []
    for phase in phases:
        ours = by_role[phase.role]
        template = with_exports(rendered[phase.role], phase.carried, phase.stack)
        before = state.get(phase.stack)
        others = [s for name, s in state.items() if s is not None and name != phase.stack]
        exported = dict(world.exports)
        for stack in state.values():
            exported.update(stack.exports if stack else {})
        phase_world = dataclasses.replace(world, exports=exported, importers=phase.importers)
        prediction = predict(
            before,
            WantedStack(phase.stack, template, ours.parameters),
            phase_world,
            others=others,
        )
        steps.append(PhaseStep(phase, template, prediction))
        state[phase.stack] = _after(before, template, ours, phase, world)
    return TakeoverPlan(chosen, tuple(steps), tuple(problems), derived)


def _after(
    before: LiveStack | None, template: Mapping[str, Any], ours: Ours, phase: Phase, world: World
) -> LiveStack:
    """The stack as the phase leaves it: our template, the same physical resources."""
    types = _types(template)
    resources = {
        k: LiveResource(k, types[k], r.physical_id)
        for k, r in (before.resources if before else {}).items()
        if k in types
    }
    scope = _scope_of(template, ours, before, world)
    exports = {k: str(v) for k, v in outputs(template, scope).items()}
    exports.update(phase.carried)
    return LiveStack(phase.stack, template, dict(ours.parameters), resources, exports)
