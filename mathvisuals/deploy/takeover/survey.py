"""Before ``plan`` or ``up`` touch anything: what is live, whose it is, and the takeover plan.

Reads only. A stack that exists without our ownership tag is *foreign* (upstream's); taking it
over needs the adoption recorded in the environment file (``mathvisuals adopt``). Every
refusal of the predictor is collected here, so ``up`` stops before its first mutation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mathvisuals.deploy.config import EnvironmentConfig
from mathvisuals.deploy.gateway import CloudFormation
from mathvisuals.deploy.takeover.adopt import StackAdoption, render, serialise, with_exports
from mathvisuals.deploy.takeover.model import Action, LiveStack, World
from mathvisuals.deploy.takeover.phases import Phase
from mathvisuals.deploy.takeover.plan import Ours, PhaseStep, TakeoverPlan, build
from mathvisuals.deploy.takeover.reader import decode, read_world

ROLES = ("shared", "data", "api")


@dataclass(frozen=True)
class Survey:
    """What exists and what the takeover will do; ``plan`` is None on a green field."""

    config: EnvironmentConfig
    existing: tuple[str, ...]
    foreign: tuple[str, ...]
    live: Mapping[str, LiveStack | None]
    world: World
    plan: TakeoverPlan | None
    recorded: Mapping[str, StackAdoption] = field(default_factory=dict)

    @property
    def taking_over(self) -> bool:
        return bool(self.foreign)

    @property
    def adopted(self) -> bool:
        return any(not a.empty for a in self.recorded.values())

    @property
    def steps(self) -> tuple[PhaseStep, ...]:
        return self.plan.steps if self.plan else ()

    @property
    def later(self) -> list[Phase]:
        """Phases after the first pass over the three stacks (dropping carried exports)."""
        first: set[str] = set()
        found = []
        for step in self.steps:
            if step.phase.role in first:
                found.append(step.phase)
            first.add(step.phase.role)
        return found

    def first_phase(self, role: str) -> Phase | None:
        for step in self.steps:
            if step.phase.role == role:
                return step.phase
        return None

    def in_place(self, role: str, phase: Phase | None) -> frozenset[str]:
        """Logical ids the predictor keeps or modifies in place in this phase of ``role``."""
        for step in self.steps:
            if step.phase.role == role and (phase is None or step.phase == phase):
                return frozenset(
                    v.logical_id
                    for v in step.prediction.resources
                    if v.action in (Action.KEEP, Action.MODIFY)
                )
        return frozenset()

    def template_body(self, role: str, text: str, phase: Phase | None) -> str:
        """The body ``up`` sends: ours as written, unless an adoption or a phase changes it."""
        adoption = self.recorded.get(role, StackAdoption())
        carried = phase.carried if phase else {}
        if adoption.empty and not carried:
            return text
        body = decode(text)
        if body is None:
            return text
        stack = str(getattr(self.config.stacks, role))
        return serialise(with_exports(render(body, adoption), carried, stack))

    def refusals(self, *, allow_replace: bool = False) -> list[str]:
        return self.plan.refused(allow_replace=allow_replace) if self.plan else []

    def missing_adoption(self) -> list[str]:
        """Foreign stacks whose adoption is not recorded in the environment file."""
        roles = {str(getattr(self.config.stacks, r)): r for r in ROLES}
        return [name for name in self.foreign if roles[name] not in self.recorded]


def recorded_adoptions(config: EnvironmentConfig) -> dict[str, StackAdoption]:
    return {role: StackAdoption.from_mapping(data) for role, data in config.adopt.items()}


def survey(
    config: EnvironmentConfig,
    cfn: CloudFormation,
    templates: Mapping[Any, str],
    parameters: Mapping[Any, Mapping[str, str]],
    *,
    derive_missing: bool = True,
) -> Survey:
    """Read our three stacks and plan their takeover (or their in-place update by our rules).

    With ``derive_missing`` a foreign stack without a recorded adoption gets a derived one (what
    ``mathvisuals adopt`` would write); ``up`` passes False and refuses instead.
    """
    names = [str(getattr(config.stacks, role)) for role in ROLES]
    states = {name: cfn.describe(name) for name in names}
    existing = tuple(n for n in names if states[n].exists)
    foreign = tuple(n for n in existing if not states[n].managed)
    recorded = recorded_adoptions(config)
    if not existing:
        return Survey(config, existing, foreign, {}, World(config.env.region, ""), None, recorded)
    live, world = read_world(cfn, names, config.env.region, config.env.account_id)
    order = []
    for role, name in zip(ROLES, names, strict=True):
        body = decode(templates[role])
        if body is None:
            # Not a template we can read (a test double's placeholder): nothing to predict.
            return Survey(config, existing, foreign, live, world, None, recorded)
        order.append(Ours(role, name, body, dict(parameters[role])))
    # Our own stacks are never adopted silently: a change there that forces a replacement must
    # show as a refusal. Only a foreign stack without a recorded adoption gets a derived one,
    # and only for `plan` (what `mathvisuals adopt` would write).
    given: dict[str, StackAdoption] = dict(recorded)
    for role, name in zip(ROLES, names, strict=True):
        if name not in foreign or not derive_missing:
            given.setdefault(role, StackAdoption())
    plan = build(order, live, world, adoptions=given)
    return Survey(config, existing, foreign, live, world, plan, recorded)


def adoption_settings(survey: Survey) -> dict[str, dict[str, Any]]:
    """Config values that must follow the live stacks (the function's generated name)."""
    api = survey.live.get(survey.config.stacks.api)
    if api is None or "ApiFunction" not in api.resources:
        return {}
    live_name = api.resources["ApiFunction"].physical_id
    if live_name == survey.config.api.function_name:
        return {}
    return {"api": {"function_name": live_name}}


def summarise(survey: Survey) -> list[str]:
    """Lines for ``plan``: per phase, the stack and each resource that changes."""
    lines: list[str] = []
    for step in survey.steps:
        phase = step.phase
        label = "final" if phase.final else "phase 1"
        lines.append(f"{phase.describe()} ({label})")
        for verdict in step.prediction.resources:
            if verdict.action.value == "keep":
                continue
            detail = ", ".join(f"{c.name}: {c.live!r} → {c.wanted!r}" for c in verdict.changes[:2])
            extra = f" [{detail}]" if detail else ""
            note = f" ({verdict.note})" if verdict.note else ""
            lines.append(
                f"  {verdict.action.value:<20} {verdict.logical_id} {verdict.type}{extra}{note}"
            )
        for export in step.prediction.exports:
            if export.action.value != "keep":
                lines.append(f"  export {export.action.value:<13} {export.name}")
    return lines


def names_of(config: EnvironmentConfig) -> Sequence[str]:
    return [str(getattr(config.stacks, role)) for role in ROLES]
