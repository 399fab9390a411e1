"""The upstream Redis key schema (api.md §6.1) as data: which area a key belongs to, its type and
the index set that lists it. Pure: no Redis, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Bumped when api.md §6.1 changes shape; an archive of another version is refused on import.
KEY_SCHEMA_VERSION = 1

RedisType = Literal["string", "set", "hash", "list", "zset"]
Area = Literal["examples", "trash", "svg", "figureAsset", "figure", "category", "settings"]
AREAS: tuple[Area, ...] = (
    "examples", "trash", "svg", "figureAsset", "figure", "category", "settings"
)  # fmt: skip


@dataclass(frozen=True)
class KeyKind:
    """What the schema says about one key: its area, its type, and (for an entry) its index."""

    area: Area
    type: RedisType
    index: str | None = None  # the set that lists this entry
    member: str | None = None  # its member in that set


# (prefix, index set, area); longest prefixes first so `figure:category:` wins over `figure:`.
_ENTRIES: tuple[tuple[str, str, Area], ...] = (
    ("figure:category:", "figure:__categories__", "category"),
    ("figureAsset:", "figureAsset:__slugs__", "figureAsset"),
    ("examples:", "examples:__paths__", "examples"),
    ("figure:", "figure:__slugs__", "figure"),
    ("svg:", "svg:__slugs__", "svg"),
)
_FIXED: dict[str, KeyKind] = {
    "examples:__paths__": KeyKind("examples", "set"),
    "examples:__trash__": KeyKind("trash", "string"),
    "svg:__slugs__": KeyKind("svg", "set"),
    "figureAsset:__slugs__": KeyKind("figureAsset", "set"),
    "figure:__slugs__": KeyKind("figure", "set"),
    "figure:__categories__": KeyKind("category", "set"),
    "settings:projects": KeyKind("settings", "string"),
}
INDEX_SETS = frozenset(index for _, index, _ in _ENTRIES)
RESERVED = ("__slugs__", "__categories__", "__paths__", "__trash__")
# SCAN MATCH patterns that together cover the schema (cluster-mode-disabled: one keyspace).
SCAN_PATTERNS = ("examples:*", "svg:*", "figureAsset:*", "figure:*", "settings:projects")


def classify(key: str) -> KeyKind | None:
    """The schema's view of ``key``, or ``None`` for a key outside the upstream schema."""
    fixed = _FIXED.get(key)
    if fixed is not None:
        return fixed
    for prefix, index, area in _ENTRIES:
        if key.startswith(prefix):
            member = key[len(prefix) :]
            if not member or member in RESERVED:
                return None
            return KeyKind(area, "string", index, member)
    return None


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(AREAS, 0)
