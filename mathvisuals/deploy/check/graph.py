"""The export/import graph in deploy order shared → data → api (deploy.md §5.9.6; C26, B22)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from mathvisuals.deploy.check.findings import Finding
from mathvisuals.deploy.check.resolve import resolve
from mathvisuals.deploy.check.stacks import Export, Stack
from mathvisuals.deploy.check.templates import intrinsic, walk
from mathvisuals.deploy.parameters import STACK_ROLES


@dataclass(frozen=True)
class Import:
    name: str | None
    role: str
    file: str
    line: int


def imports(stack: Stack) -> Iterator[Import]:
    for node, line in walk(stack.template.body, 1):
        call = intrinsic(node)
        if call is not None and call[0] == "Fn::ImportValue":
            yield Import(resolve(call[1], stack.scope), stack.role, stack.file, line)


def _cycle(edges: Mapping[str, set[str]], start: str) -> list[str] | None:
    """A path start → … → start through ``edges``, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for target in sorted(edges.get(node, ())):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


def _duplicates(stacks: Sequence[Stack]) -> Iterator[Finding]:
    first: dict[str, Export] = {}
    for stack in stacks:
        for export in stack.exports:
            earlier = first.setdefault(export.name, export)
            if earlier is not export:
                yield Finding(
                    "MV132",
                    export.file,
                    export.line,
                    f"export {export.name} is also exported at {earlier.file}:{earlier.line}",
                    "export names are unique per region: ${AWS::StackName}-<Key> (deploy.md §5.4)",
                )


def import_findings(stacks: Sequence[Stack]) -> list[Finding]:
    """MV130 unsatisfied import, MV131 import from a later stack or a cycle, MV132 duplicates."""
    order = {role: index for index, role in enumerate(STACK_ROLES)}
    owner: dict[str, Export] = {}
    for stack in stacks:
        for export in stack.exports:
            owner.setdefault(export.name, export)
    found = list(_duplicates(stacks))
    edges: dict[str, set[str]] = {}
    pending: list[tuple[Import, Export]] = []
    for stack in stacks:
        for item in imports(stack):
            if item.name is None:
                message = "Fn::ImportValue name cannot be resolved offline"
                hint = "use !Sub '${SharedStackName}-<Key>' or '${DataStackName}-<Key>'"
                found.append(Finding("MV130", item.file, item.line, message, hint, "warning"))
            elif item.name not in owner:
                found.append(
                    Finding(
                        "MV130",
                        item.file,
                        item.line,
                        f"imports {item.name}, which no stack exports",
                        "the create fails 'No export named …' (C26); check the stack names "
                        "in the config and the export keys (deploy.md §2.6, §5.4, §5.5)",
                    )
                )
            else:
                export = owner[item.name]
                edges.setdefault(item.role, set()).add(export.role)
                if order[export.role] >= order[item.role]:
                    pending.append((item, export))
    for item, export in pending:
        cycle = _cycle(edges, item.role)
        detail = f"; cycle {' → '.join(cycle)}" if cycle else ""
        found.append(
            Finding(
                "MV131",
                item.file,
                item.line,
                f"imports {item.name} from the {export.role} stack, which is not deployed before "
                f"the {item.role} stack{detail}",
                f"imports flow one way: {' → '.join(STACK_ROLES)}",
            )
        )
    return found
