"""Example sets under ``examples:<canonicalPath>`` with legacy clean-up (api.md §7.5)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mathvisuals.model.clock import iso_now as _now
from mathvisuals.model.examples import sanitize_entry
from mathvisuals.model.paths import normalize_path
from mathvisuals.store.base import Delete, Op, SAdd, Set, SRem, Store, Tx
from mathvisuals.store.rendered import Memo
from mathvisuals.store.repair import Purge, Repair, Unindex, repair
from mathvisuals.store.values import CORRUPT, decode, encode

PREFIX = "examples:"
INDEX = "examples:__paths__"

Entry = dict[str, Any]

# Sanitised entries by (canonical path, stored text), shared by every repository in the process.
MEMO = Memo()


def key(path: str) -> str:
    return PREFIX + path


def _sanitized(canon: str, raw: str | None, now: Callable[[], str]) -> Any:
    """``sanitize_entry(canon, decode(raw), now)`` as a :class:`Rendered`, or what ``decode``
    gave (None, CORRUPT). Memoised unless the result read the clock (no stored ``updatedAt``)."""
    if raw is None:
        return None
    hit = MEMO.lookup(canon, raw)
    if hit is not None:
        return hit
    found = decode(raw)
    if not isinstance(found, dict):
        return found
    entry = sanitize_entry(canon, found, now())
    return MEMO.store(canon, raw, entry, remember=isinstance(found.get("updatedAt"), str))


class ExamplesRepository:
    def __init__(self, store: Store, log_corrupt: Any = None) -> None:
        self._store = store
        self._log_corrupt = log_corrupt

    def _corrupt(self, path: str, value: str | None) -> list[Repair]:
        if self._log_corrupt is not None:
            self._log_corrupt(key(path), "deleted")
        return [Purge(key(path), value or "", INDEX, path)]

    @staticmethod
    def _dangling(canon: str, member: str, value: str | None) -> Unindex:
        """Unlist ``member`` of an entry that has no usable value, while that still holds."""
        if member == canon:
            return Unindex(INDEX, member, missing=(key(canon),))
        # A legacy member goes with its key missing or unusable, as long as no canon appears.
        missing = (key(canon), key(member)) if value is None else (key(canon),)
        return Unindex(INDEX, member, missing=missing)

    async def read(self, raw: str) -> Entry | None:
        canon = normalize_path(raw)
        if canon is None:
            return None
        keys = [key(canon)] if raw == canon else [key(canon), key(raw)]
        values = await self._store.get(keys)
        found = _sanitized(canon, values[0], _now)  # the clock is read on a memo miss only
        cleanup: list[Repair] = []
        if found is CORRUPT:
            cleanup += self._corrupt(canon, values[0])
            found = None
        if found is not None:
            if raw != canon:
                cleanup.append(Unindex(INDEX, raw))
            await repair(self._store, cleanup)
            return found  # type: ignore[no-any-return]
        legacy = decode(values[1]) if len(values) > 1 else None
        if legacy is CORRUPT:
            cleanup += self._corrupt(raw, values[1])
            legacy = None
        if legacy is None:
            # Only while both keys are still missing: a PUT that commits in between keeps
            # its index member (§7.5).
            cleanup.append(Unindex(INDEX, raw, missing=tuple(keys)))
            await repair(self._store, cleanup)
            return None
        await repair(self._store, cleanup)
        return await self._migrate(raw, canon)

    async def _migrate(self, raw: str, canon: str) -> Entry | None:
        """Move a legacy raw-path entry to its canonical key, under WATCH."""

        async def move(tx: Tx) -> tuple[Sequence[Op], Entry | None]:
            current, legacy = (decode(value) for value in await tx.get([key(canon), key(raw)]))
            if isinstance(current, dict):
                return [], sanitize_entry(canon, current, _now())
            if not isinstance(legacy, dict):
                return [], None
            entry = sanitize_entry(canon, legacy, _now())
            ops: list[Op] = [
                Set(key(canon), encode(entry)),
                SAdd(INDEX, canon),
                Delete(key(raw)),
                SRem(INDEX, raw),
            ]
            return ops, entry

        return await self._store.update(move, operation="exec")

    async def write(self, raw: str | None, canon: str, entry: Entry) -> None:
        ops: list[Op] = [Set(key(canon), encode(entry)), SAdd(INDEX, canon)]
        if raw is not None and raw != canon:
            ops += [Delete(key(raw)), SRem(INDEX, raw)]
        await self._store.write(ops)

    async def delete(self, raw: str) -> None:
        canon = normalize_path(raw)
        ops: list[Op] = []
        if canon is not None:
            ops += [Delete(key(canon)), SRem(INDEX, canon)]
        if raw != canon:
            ops += [Delete(key(raw)), SRem(INDEX, raw)]
        await self._store.write(ops)

    async def list(self) -> list[Entry]:
        listed = sorted(await self._store.list_index(INDEX, PREFIX), key=lambda pair: pair[0])
        by_key = {key(member): value for member, value in listed}
        groups: dict[str, list[str]] = {}
        cleanup: list[Repair] = []
        for member, _ in listed:
            canon = normalize_path(member)
            if canon is None:
                cleanup.append(Unindex(INDEX, member))
            else:
                groups.setdefault(canon, []).append(member)
        # A legacy member whose canonical path is not indexed itself: one more read for those.
        unread = [key(canon) for canon in groups if key(canon) not in by_key]
        if unread:
            by_key.update(zip(unread, await self._store.get(unread), strict=True))
        entries: list[Entry] = []
        migrations: list[tuple[str, str]] = []
        now = _now()
        for canon, group in groups.items():
            found = _sanitized(canon, by_key[key(canon)], lambda: now)
            if found is CORRUPT:
                cleanup += self._corrupt(canon, by_key[key(canon)])
                found = None
            if found is not None:
                entries.append(found)
                cleanup += [Unindex(INDEX, m) for m in group if m != canon]
                continue
            candidates = [m for m in group if m != canon]
            usable = [m for m in candidates if isinstance(decode(by_key[key(m)]), dict)]
            if usable:
                migrations.append((usable[0], canon))
                cleanup += [Unindex(INDEX, m) for m in candidates if m != usable[0]]
            else:
                cleanup += [self._dangling(canon, m, by_key[key(m)]) for m in group]
        await repair(self._store, cleanup)
        for raw, canon in migrations:
            migrated = await self._migrate(raw, canon)
            if migrated is not None:
                entries.append(migrated)
        return entries

    async def read_many(self, paths: Sequence[str]) -> dict[str, Entry | None]:
        """One MGET of canonical entries (trash augmentation, §8.3); no clean-up."""
        values = await self._store.get([key(path) for path in paths])
        result: dict[str, Entry | None] = {}
        for path, value in zip(paths, values, strict=True):
            found = decode(value)
            result[path] = found if isinstance(found, dict) else None
        return result
