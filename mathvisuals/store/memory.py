"""Per-process memory backend with the Redis key layout (api.md §3.7)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from mathvisuals.store.base import Delete, Mode, Op, SAdd, Set, SRem, T, Update


class _MemoryTx:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def get(self, keys: Sequence[str]) -> list[str | None]:
        return [self._store.strings.get(key) for key in keys]

    async def smembers(self, key: str) -> set[str]:
        return set(self._store.sets.get(key, ()))


class MemoryStore:
    """Values are kept as JSON text, exactly as Redis would hold them; access is serialised."""

    mode: Mode = "memory"

    def __init__(self) -> None:
        self.strings: dict[str, str] = {}
        self.sets: dict[str, set[str]] = {}
        self._lock = asyncio.Lock()

    async def get(self, keys: Sequence[str]) -> list[str | None]:
        return [self.strings.get(key) for key in keys]

    async def smembers(self, key: str) -> set[str]:
        return set(self.sets.get(key, ()))

    async def list_index(self, index: str, prefix: str) -> list[tuple[str, str | None]]:
        return [(member, self.strings.get(prefix + member)) for member in self.sets.get(index, ())]

    async def list_indexes(
        self, indexes: Sequence[tuple[str, str]]
    ) -> list[list[tuple[str, str | None]]]:
        return [await self.list_index(index, prefix) for index, prefix in indexes]

    async def write(self, ops: Sequence[Op]) -> None:
        async with self._lock:
            self._apply(ops)

    async def update(self, fn: Update[T], *, operation: str, lock: str = "") -> T:
        async with self._lock:
            ops, result = await fn(_MemoryTx(self))
            self._apply(ops)
            return result

    async def ping(self) -> float:
        return 0.0

    async def aclose(self) -> None:
        return None

    def _apply(self, ops: Sequence[Op]) -> None:
        for op in ops:
            if isinstance(op, Set):
                self.strings[op.key] = op.value
                self.sets.pop(op.key, None)
            elif isinstance(op, Delete):
                self.strings.pop(op.key, None)
                self.sets.pop(op.key, None)
            elif isinstance(op, SAdd):
                self.sets.setdefault(op.key, set()).add(op.member)
            elif isinstance(op, SRem):
                members = self.sets.get(op.key)
                if members is not None:
                    members.discard(op.member)
                    if not members:
                        del self.sets[op.key]
