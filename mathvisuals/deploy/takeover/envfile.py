"""Write an adoption into an environment file, keeping the operator's comments and layout."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import tomlkit
from tomlkit.items import Table

from mathvisuals.deploy.takeover.adopt import StackAdoption

HEADER = (
    "Written by `mathvisuals adopt`: what our templates take from the live stacks so that",
    "AWS keeps their resources in place (live logical ids, replacement-forcing values,",
    "retained policies). Review it like code; every later run renders the same templates.",
)


def with_adoption(
    text: str,
    adoptions: Mapping[str, StackAdoption],
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """``text`` (an environment file) with its ``[adopt]`` section replaced and ``settings``
    (section -> key -> value) set; every other line stays as written."""
    kept = [line for line in text.splitlines(keepends=True) if line.strip("# \n") not in HEADER]
    document = tomlkit.parse("".join(kept).rstrip("\n") + "\n")
    for section, values in (settings or {}).items():
        table = document.get(section)
        if not isinstance(table, Table):
            table = tomlkit.table()
            document[section] = table
        for key, value in values.items():
            table[key] = value
    if "adopt" in document:
        del document["adopt"]
    adopt = tomlkit.table(is_super_table=True)
    for role in ("shared", "data", "api"):
        adoption = adoptions.get(role)
        if adoption is None or adoption.empty:
            continue
        resources = tomlkit.table(is_super_table=True)
        for live_id, entry in adoption.to_mapping()["resources"].items():
            item = tomlkit.table()
            for key, value in entry.items():
                item[key] = _inline(value)
            resources[live_id] = item
        stack = tomlkit.table(is_super_table=True)
        stack["resources"] = resources
        adopt[role] = stack
    body = tomlkit.dumps(document).rstrip("\n") + "\n"
    if not adopt:
        return body
    appended = tomlkit.document()
    appended["adopt"] = adopt
    header = "".join(f"# {line}\n" for line in HEADER)
    return body + "\n" + header + tomlkit.dumps(appended).lstrip("\n")


def _inline(value: Any) -> Any:
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        for key, item in value.items():
            table[key] = _inline(item)
        return table
    if isinstance(value, list):
        array = tomlkit.array()
        array.extend(_inline(v) for v in value)
        return array
    return value


def diff(old: str, new: str, name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), name, f"{name} (adopted)"
    )
    return "".join(lines)
