"""The order of a takeover: exports still imported stay until their importers have moved.

CloudFormation refuses to remove or change an export while another stack imports it. So each
stack is first deployed *carrying* the live exports that someone still imports (as literals with
their live values); once every stack runs our templates, the stacks that carried something are
deployed again without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mathvisuals.deploy.takeover.model import LiveStack, World
from mathvisuals.deploy.takeover.values import Scope, canonical, evaluate, show


@dataclass(frozen=True)
class Phase:
    role: str
    stack: str
    carried: Mapping[str, str] = field(default_factory=dict)  # export name -> live value
    final: bool = True  # False: the stack is deployed again later without its carried exports
    # export name -> the other stacks importing it when this phase runs
    importers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def describe(self) -> str:
        if not self.carried:
            return f"{self.stack}: our template" if self.final else f"{self.stack}"
        names = ", ".join(sorted(n.rsplit("-", 1)[-1] for n in self.carried))
        return f"{self.stack}: our template, keeping imported exports {names}"


def imports_of(template: Mapping[str, Any], scope: Scope) -> set[str]:
    """Every export name the template imports (Fn::ImportValue anywhere)."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if len(node) == 1 and "Fn::ImportValue" in node:
                found.add(show(evaluate(node["Fn::ImportValue"], scope)))
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(template.get("Resources", {}))
    walk(template.get("Outputs", {}))
    return found


def plan_phases(
    order: Sequence[tuple[str, str]],
    live: Mapping[str, LiveStack | None],
    wanted_exports: Mapping[str, Mapping[str, object]],
    wanted_imports: Mapping[str, set[str]],
    world: World,
) -> list[Phase]:
    """Phases for the stacks in ``order`` (role, stack name), carrying what is still imported.

    ``wanted_exports``/``wanted_imports`` are, per stack name, what our rendered templates
    export (name -> value) and import. Importers outside ``order`` never move: what they
    import is carried for good.
    """
    ours = {stack for _, stack in order}
    current: dict[str, set[str]] = {stack: set() for stack in ours}
    outside: dict[str, set[str]] = {}
    for export, stacks in world.importers.items():
        for stack in stacks:
            if stack in ours:
                current[stack].add(export)
            else:
                outside.setdefault(export, set()).add(stack)
    phases: list[Phase] = []
    carried_by: dict[str, dict[str, str]] = {}
    for role, stack in order:
        found = live.get(stack)
        carried = {}
        for export, value in (found.exports if found else {}).items():
            wanted = wanted_exports.get(stack, {})
            if export in wanted and canonical(wanted[export]) == canonical(value):
                continue
            if _imported(export, stack, current) or export in outside:
                carried[export] = value
        snapshot = _snapshot(current, outside, stack)
        current[stack] = set(wanted_imports.get(stack, set()))
        carried_by[stack] = carried
        phases.append(Phase(role, stack, carried, final=True, importers=snapshot))
    for index, phase in enumerate(list(phases)):
        if not phase.carried:
            continue
        still = {
            e: v
            for e, v in phase.carried.items()
            if _imported(e, phase.stack, current) or e in outside
        }
        if still == dict(phase.carried):
            continue
        phases[index] = Phase(
            phase.role, phase.stack, phase.carried, final=False, importers=phase.importers
        )
        snapshot = _snapshot(current, outside, phase.stack)
        phases.append(Phase(phase.role, phase.stack, still, final=True, importers=snapshot))
    return phases


def _snapshot(
    current: Mapping[str, set[str]], outside: Mapping[str, set[str]], exporter: str
) -> dict[str, tuple[str, ...]]:
    found: dict[str, set[str]] = {k: set(v) for k, v in outside.items()}
    for stack, names in current.items():
        if stack != exporter:
            for name in names:
                found.setdefault(name, set()).add(stack)
    return {k: tuple(sorted(v)) for k, v in found.items()}


def _imported(export: str, exporter: str, current: Mapping[str, Iterable[str]]) -> bool:
    return any(export in names for stack, names in current.items() if stack != exporter)
