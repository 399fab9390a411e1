"""Examples trash: record sanitising, POST merge, DELETE and response items (§8.1-§8.3)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal

from mathvisuals.model.jsuri import trim
from mathvisuals.model.paths import normalize_path

__all__ = [
    "MAX_ENTRIES",
    "SourceState",
    "merge",
    "new_trash_id",
    "remove_ids",
    "response_item",
    "sanitize_list",
    "sanitize_record",
    "source_paths",
    "source_state_for",
]

MAX_ENTRIES = 200
SourceState = Literal["active", "archived", "none"]
Record = dict[str, object]

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_SYSTEM_RANDOM = random.SystemRandom()
_MODE_FIELDS = frozenset(
    {"storage", "mode", "storageMode", "persistent", "ephemeral", "limitation"}
)
_SOURCE_FLAGS: dict[str, tuple[bool, bool]] = {
    "active": (True, False),
    "archived": (False, True),
    "none": (False, False),
}


def new_trash_id(now_ms: int, rand: random.Random | None = None) -> str:
    digits = ""
    value = max(0, now_ms)
    while True:
        value, digit = divmod(value, 36)
        digits = _BASE36[digit] + digits
        if not value:
            break
    suffix = "".join((rand or _SYSTEM_RANDOM).choices(_BASE36, k=8))
    return f"{digits}-{suffix}"


def _js_truthy(value: object) -> bool:
    # JavaScript truthiness: {} and [] are truthy, unlike in Python.
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _trimmed(value: object) -> str | None:
    if isinstance(value, str) and (text := trim(value)):
        return text
    return None


def sanitize_record(raw: object, now: str, make_id: Callable[[], str]) -> Record | None:
    if not isinstance(raw, dict):
        return None
    example = raw.get("example")
    if not _js_truthy(example):
        return None
    source_title = raw.get("sourceTitle")
    label = raw.get("label")
    record: Record = {
        "id": _trimmed(raw.get("id")) or make_id(),
        "example": example,
        "deletedAt": _trimmed(raw.get("deletedAt")) or now,
        "sourcePath": normalize_path(raw.get("sourcePath")),
        # Upstream lost the raw value in a second sanitising pass; no client has seen another.
        "sourcePathRaw": None,
        "sourceHref": _trimmed(raw.get("sourceHref")),
        "sourceTitle": source_title if isinstance(source_title, str) else "",
        "reason": _trimmed(raw.get("reason")) or "delete",
        "removedAtIndex": _as_int(raw.get("removedAtIndex")),
        "label": label if isinstance(label, str) else None,
        "importedFromHistory": raw.get("importedFromHistory") is True,
    }
    metadata = raw.get("metadata")
    if isinstance(metadata, dict):
        record["metadata"] = metadata
    return record


def sanitize_list(raw: object, now: str, make_id: Callable[[], str]) -> list[Record]:
    if not isinstance(raw, list):
        return []
    # Re-assigning an existing dict key keeps its position: a later duplicate id replaces the
    # earlier payload where the earlier one stood.
    by_id: dict[object, Record] = {}
    for item in raw:
        record = sanitize_record(item, now, make_id)
        if record is not None:
            by_id[record["id"]] = record
    return list(by_id.values())


def merge(
    existing: Sequence[Mapping[str, object]],
    batch: object,
    *,
    mode: object,
    limit: object,
    replace: object,
    now: str,
    make_id: Callable[[], str],
) -> list[Record] | None:
    """The list a trash POST stores, or None when nothing is to be written (§8.1).

    Like upstream's writer, the stored list is sanitised again before it is written back.
    """
    incoming = sanitize_list(batch, now, make_id)
    requested = _as_int(limit)
    keep = max(1, requested) if requested is not None else MAX_ENTRIES
    if replace is True:
        return _replace(existing, incoming, keep, now, make_id)
    if not incoming:
        return None
    append = mode == "append"
    current = sanitize_list(list(existing), now, make_id)
    winners = {record["id"]: record for record in current}
    winners.update((record["id"], record) for record in incoming)
    sequence = [*current, *incoming] if append else [*incoming, *current]
    merged = [winners[record_id] for record_id in dict.fromkeys(r["id"] for r in sequence)]
    merged = merged[-keep:] if append else merged[:keep]
    # The writer caps every stored list at its first 200 items, whatever the mode.
    return merged[:MAX_ENTRIES]


def _replace(
    existing: Sequence[Mapping[str, object]],
    incoming: list[Record],
    keep: int,
    now: str,
    make_id: Callable[[], str],
) -> list[Record] | None:
    """FIX-P: the posted records first, then the stored ones not posted, capped at ``keep``.

    Upstream stored the posted list alone, so the front end's empty history import emptied
    the shared trash; only the cap can push an entry out here. None when nothing changes.
    """
    current = sanitize_list(list(existing), now, make_id)
    if not incoming and len(current) <= keep:
        return None
    posted = {record["id"] for record in incoming}
    merged = [*incoming, *(record for record in current if record["id"] not in posted)]
    return merged[:keep][:MAX_ENTRIES]


def remove_ids(existing: Sequence[Mapping[str, object]], ids: object) -> tuple[list[Record], int]:
    """The list without the given ids (trimmed strings), and how many records went."""
    wanted = (
        {text for item in ids if (text := _trimmed(item)) is not None}
        if isinstance(ids, list | tuple)
        else set()
    )
    kept = [dict(record) for record in existing if not _has_id_in(record, wanted)]
    return kept, len(existing) - len(kept)


def _has_id_in(record: Mapping[str, object], wanted: set[str]) -> bool:
    record_id = record.get("id")
    return isinstance(record_id, str) and record_id in wanted


def source_paths(records: Iterable[Mapping[str, object]]) -> list[str]:
    paths: dict[str, None] = {}
    for record in records:
        path = record.get("sourcePath")
        if isinstance(path, str) and path:
            paths.setdefault(path)
    return list(paths)


def source_state_for(
    record: Mapping[str, object], entries: Mapping[str, Mapping[str, object] | None]
) -> SourceState:
    """§8.3 state of a record's source, given the examples entry read for each source path.

    A path absent from ``entries`` or mapped to None is a missing entry or a failed read.
    """
    path = record.get("sourcePath")
    if not isinstance(path, str) or not path:
        return "none"
    entry = entries.get(path)
    examples = entry.get("examples") if entry is not None else None
    if isinstance(examples, list) and any(isinstance(item, dict) for item in examples):
        return "active"
    return "archived"


def response_item(record: Mapping[str, object], source_state: SourceState) -> Record | None:
    if not _js_truthy(record.get("id")) or not _js_truthy(record.get("example")):
        return None
    item = {
        key: value
        for key, value in record.items()
        if key not in _MODE_FIELDS and key not in ("sourceActive", "sourceArchived")
    }
    if "sourcePathRaw" in item:
        item["sourcePathRaw"] = None
    item.setdefault("metadata", None)
    item["sourceActive"], item["sourceArchived"] = _SOURCE_FLAGS[source_state]
    return item
