"""The examples trash: one JSON array under ``examples:__trash__`` (api.md §8)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from mathvisuals.model import trash as rules
from mathvisuals.model.clock import iso_now
from mathvisuals.store.base import Op, Set, Store, Tx
from mathvisuals.store.values import CORRUPT, decode, encode

KEY = "examples:__trash__"

Record = dict[str, Any]


def _records(raw: str | None) -> list[Record]:
    value = decode(raw, list)
    if value is None or value is CORRUPT:
        return []
    return [item for item in value if isinstance(item, dict)]


def make_id_factory() -> Callable[[], str]:
    generator = random.Random()
    return lambda: rules.new_trash_id(int(time.time() * 1000), generator)


class TrashRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def records(self) -> list[Record]:
        (raw,) = await self._store.get([KEY])
        return _records(raw)

    async def post(self, body: dict[str, Any]) -> list[Record]:
        """Merge a batch into the trash under WATCH; returns the list after the write."""
        now = iso_now()
        make_id = make_id_factory()

        async def merge(tx: Tx) -> tuple[Sequence[Op], list[Record]]:
            (raw,) = await tx.get([KEY])
            existing = _records(raw)
            merged = rules.merge(
                existing,
                body.get("entries"),
                mode=body.get("mode"),
                limit=body.get("limit"),
                replace=body.get("replace"),
                now=now,
                make_id=make_id,
            )
            if merged is None:
                return [], existing
            return [Set(KEY, encode(merged))], merged

        return await self._store.update(merge, operation="exec", lock=KEY)

    async def remove(self, ids: Sequence[str]) -> tuple[list[Record], int]:
        async def drop(tx: Tx) -> tuple[Sequence[Op], tuple[list[Record], int]]:
            (raw,) = await tx.get([KEY])
            kept, removed = rules.remove_ids(_records(raw), ids)
            if not removed:
                return [], (kept, 0)
            return [Set(KEY, encode(kept))], (kept, removed)

        return await self._store.update(drop, operation="exec", lock=KEY)
