"""What an import does with each archived key, and what verify reports: pure decisions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from mathvisuals.model.archive import Entry
from mathvisuals.model.keyspace import AREAS, classify

Action = Literal["create", "same", "update", "merge", "refused"]


@dataclass(frozen=True)
class Outcome:
    action: Action
    reason: str = ""

    @property
    def writes(self) -> bool:
        return self.action in ("create", "update", "merge")

    @property
    def replace(self) -> bool:
        return self.action == "update"


def updated_at(entry: Entry | None) -> str | None:
    """The record's ``updatedAt`` (values may be double-encoded, api.md §6.2)."""
    if entry is None or entry.type != "string" or not isinstance(entry.value, bytes):
        return None
    try:
        value: object = json.loads(entry.value)
        if isinstance(value, str):
            value = json.loads(value)
    except ValueError:
        return None
    stamp = value.get("updatedAt") if isinstance(value, dict) else None
    return stamp if isinstance(stamp, str) else None


def decide(archived: Entry, live: Entry | None, *, overwrite: bool) -> Outcome:
    """Idempotent: the same archive imported twice writes nothing the second time.

    An index set merges (SADD); any other key that differs is replaced only when the archive is
    newer by ``updatedAt`` (ISO-8601 compares as text), or with ``--overwrite``.
    """
    if live is None:
        return Outcome("create")
    if live.type == archived.type and live.value == archived.value:
        return Outcome("same")
    if overwrite:
        return Outcome("update", "--overwrite")
    if archived.type == "set" and live.type == "set":
        missing = set(archived.value) - set(live.value)
        return Outcome("merge", f"{len(missing)} members") if missing else Outcome("same")
    ours, theirs = updated_at(archived), updated_at(live)
    if ours is not None and theirs is not None and ours > theirs:
        return Outcome("update", f"archive {ours} is newer than {theirs}")
    if ours is not None and theirs is not None:
        return Outcome("refused", f"live {theirs} is not older than the archive's {ours}")
    return Outcome("refused", "differs and neither side is known to be newer")


@dataclass
class AreaDiff:
    same: int = 0
    missing: list[str] = field(default_factory=list)  # in the archive, not live
    differs: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # live, not in the archive

    @property
    def ok(self) -> bool:
        return not (self.missing or self.differs or self.extra)


def compare(archived: Iterable[Entry], live: Mapping[str, str]) -> dict[str, AreaDiff]:
    """Per area, per key: the archive against the live sha256 of every schema key."""
    diffs: dict[str, AreaDiff] = {area: AreaDiff() for area in AREAS}
    seen: set[str] = set()
    for entry in archived:
        kind = classify(entry.key)
        if kind is None:
            continue
        seen.add(entry.key)
        digest = live.get(entry.key)
        area = diffs[kind.area]
        if digest is None:
            area.missing.append(entry.key)
        elif digest != entry.sha256():
            area.differs.append(entry.key)
        else:
            area.same += 1
    for key in sorted(set(live) - seen):
        kind = classify(key)
        if kind is not None:
            diffs[kind.area].extra.append(key)
    return diffs


def changed_keys(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """Keys written, created or deleted between the export's read and its second pass."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
