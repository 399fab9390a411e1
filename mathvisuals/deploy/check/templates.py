"""Decoded templates with line marks, and walks over their values (cfnlint.decode, no AWS)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str

from mathvisuals.deploy.check.findings import Finding

# ``${…}`` inside a reference is a Fn::Sub placeholder, so the body may contain single braces.
_REFERENCE = re.compile(r"\{\{\s*resolve\s*:((?:\$\{[^}]*\}|[^{}])*)\}\}")


def line_of(node: object, default: int) -> int:
    """1-based line of a decoded node; plain values (and most short-form tag contents) have none."""
    mark = getattr(node, "start_mark", None)
    line = getattr(mark, "line", None)
    return line + 1 if isinstance(line, int) else default


def key_line(mapping: object, key: str, default: int) -> int:
    """Line of ``key`` inside a decoded mapping (the key nodes keep their marks)."""
    if isinstance(mapping, dict):
        for candidate in mapping:
            if candidate == key:
                return line_of(candidate, default)
    return default


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    node: Mapping[str, Any]
    line: int

    @property
    def properties(self) -> Mapping[str, Any]:
        props = self.node.get("Properties")
        return props if isinstance(props, dict) else {}

    def prop_line(self, name: str) -> int:
        return key_line(self.properties, name, self.line)

    def attribute_line(self, name: str) -> int:
        return key_line(self.node, name, self.line)


@dataclass(frozen=True)
class Template:
    role: str
    path: Path
    text: str
    body: Mapping[str, Any] | None
    problems: tuple[Finding, ...] = ()

    @property
    def file(self) -> str:
        return str(self.path)

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.body.get(name) if self.body is not None else None
        return value if isinstance(value, dict) else {}

    def section_line(self, name: str) -> int:
        return key_line(self.body, name, 1)

    def resources(self) -> list[Resource]:
        found: list[Resource] = []
        section = self.section("Resources")
        for logical_id, node in section.items():
            if isinstance(node, dict):
                line = line_of(logical_id, self.section_line("Resources"))
                found.append(Resource(str(logical_id), str(node.get("Type", "")), node, line))
        return found

    def parameters(self) -> Mapping[str, Mapping[str, Any]]:
        section = self.section("Parameters")
        return {str(k): v for k, v in section.items() if isinstance(v, dict)}

    def parameter_line(self, name: str) -> int:
        return key_line(self.section("Parameters"), name, self.section_line("Parameters"))


def load_template(path: Path, role: str) -> Template:
    """Read and decode; a missing or undecodable file becomes a finding, never an exception."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        missing = Finding(
            "MV100",
            str(path),
            1,
            f"the {role} template cannot be read: {exc.strerror}",
            f"every stack needs <templates>/{role}/template.yaml (deploy.md §5.4, §5.5, §5.8)",
        )
        return Template(role, path, "", None, (missing,))
    return decode_template(text, path, role)


def decode_template(text: str, path: Path, role: str) -> Template:
    body, matches = decode_str(text)
    problems = tuple(
        Finding(f"CFN-{m.rule.id}", str(path), int(m.linenumber), str(m.message)) for m in matches
    )
    if problems or not isinstance(body, dict):
        if not problems:
            problems = (Finding("MV100", str(path), 1, "the template is not a mapping"),)
        return Template(role, path, text, None, problems)
    return Template(role, path, text, body)


def walk(node: object, line: int) -> Iterator[tuple[object, int]]:
    """Every node with the line of the nearest enclosing node that has a mark."""
    line = line_of(node, line)
    yield node, line
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, line_of(key, line))
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, line)


def intrinsic(node: object) -> tuple[str, object] | None:
    """``("Fn::Split", args)`` for a one-key intrinsic mapping (short-form tags decode to these)."""
    if isinstance(node, dict) and len(node) == 1:
        ((key, value),) = node.items()
        if isinstance(key, str) and (key == "Ref" or key.startswith("Fn::")):
            return str(key), value
    return None


@dataclass(frozen=True)
class DynamicReference:
    """``{{resolve:<body>}}``; inside ``Fn::Sub`` the ``${…}`` placeholders are substituted."""

    body: str
    line: int
    in_sub: bool
    variables: frozenset[str] = frozenset()

    @property
    def service(self) -> str:
        return self.body.split(":", 1)[0].strip()


def _scan(text: str, line: int, in_sub: bool, variables: frozenset[str]) -> list[DynamicReference]:
    return [
        DynamicReference(m.group(1), line, in_sub, variables) for m in _REFERENCE.finditer(text)
    ]


def dynamic_references(node: object, line: int = 1) -> Iterator[DynamicReference]:
    line = line_of(node, line)
    if isinstance(node, str):
        yield from _scan(node, line, False, frozenset())
        return
    call = intrinsic(node)
    if call is not None and call[0] == "Fn::Sub":
        args = call[1]
        text, variables = (args[0], args[1]) if isinstance(args, list) and args else (args, {})
        names = frozenset(str(k) for k in variables) if isinstance(variables, dict) else frozenset()
        if isinstance(text, str):
            yield from _scan(text, line_of(text, line), True, names)
        if isinstance(variables, dict):
            for key, value in variables.items():
                yield from dynamic_references(value, line_of(key, line))
        return
    if isinstance(node, dict):
        for key, value in node.items():
            yield from dynamic_references(value, line_of(key, line))
    elif isinstance(node, list):
        for item in node:
            yield from dynamic_references(item, line)


def contains_dynamic_reference(node: object) -> bool:
    return next(dynamic_references(node), None) is not None
