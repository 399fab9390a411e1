"""Index repairs made by reads, re-checked under WATCH (api.md §7.5, §6.4).

A read that finds a dangling index member, a duplicate or a corrupt value may not simply
``SREM``/``DEL``: a writer can commit the key between the read and the repair, and an unwatched
repair then unlists (or deletes) an acknowledged entry. Every repair here re-reads its keys
inside a watched update and applies only what is still true.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mathvisuals.store.base import Delete, Op, SRem, Store, Tx


@dataclass(frozen=True, slots=True)
class Unindex:
    """SREM ``member`` from ``index`` while every ``missing`` key is still missing.

    With no ``missing`` keys the SREM is unconditional: a legacy duplicate of an entry that
    is kept, a member that normalises to nothing. No writer ever adds those members back, so
    they need no WATCH (and the hot GET of a legacy path stays two round trips).
    """

    index: str
    member: str
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Purge:
    """DEL a corrupt ``key`` and SREM its member, while it still holds the corrupt ``value``."""

    key: str
    value: str
    index: str
    member: str


Repair = Unindex | Purge


def _keys(repairs: Sequence[Repair]) -> list[str]:
    keys: dict[str, None] = {}
    for item in repairs:
        if isinstance(item, Purge):
            keys[item.key] = None
        else:
            keys.update(dict.fromkeys(item.missing))
    return list(keys)


def _still_true(item: Repair, values: dict[str, str | None]) -> bool:
    if isinstance(item, Purge):
        return values[item.key] == item.value
    return all(values[k] is None for k in item.missing)


def _ops(item: Repair) -> list[Op]:
    if isinstance(item, Purge):
        return [Delete(item.key), SRem(item.index, item.member)]
    return [SRem(item.index, item.member)]


async def repair(store: Store, repairs: Sequence[Repair], *, lock: str = "") -> None:
    """Apply the repairs that still hold, in one watched MULTI/EXEC (nothing when none)."""
    if not repairs:
        return
    keys = _keys(repairs)
    if not keys:
        await store.write([op for item in repairs for op in _ops(item)])
        return

    async def apply(tx: Tx) -> tuple[Sequence[Op], None]:
        values = dict(zip(keys, await tx.get(keys), strict=True)) if keys else {}
        ops: list[Op] = []
        for item in repairs:
            if _still_true(item, values):
                ops += _ops(item)
        return ops, None

    await store.update(apply, operation="exec", lock=lock)
