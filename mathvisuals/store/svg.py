"""SVG entries under ``svg:<slug>`` and figure assets under ``figureAsset:<slug>`` (api.md §6)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mathvisuals.model.svg import apply_patch, build_entry, svg_url
from mathvisuals.store.base import CorruptValueError, Delete, Op, SAdd, Set, SRem, Store, Tx
from mathvisuals.store.rendered import Memo
from mathvisuals.store.repair import Unindex, repair
from mathvisuals.store.values import CORRUPT, decode, encode

PREFIX = "svg:"
INDEX = "svg:__slugs__"
ASSET_PREFIX = "figureAsset:"

Record = dict[str, Any]


def key(slug: str) -> str:
    return PREFIX + slug


def asset_key(slug: str) -> str:
    return ASSET_PREFIX + slug


def _record(store_key: str, raw: str | None) -> Record | None:
    value = decode(raw, dict)
    if value is CORRUPT:
        raise CorruptValueError(store_key)
    return value  # type: ignore[no-any-return]


@dataclass(frozen=True)
class View:
    name: str
    render: Callable[[Record], Record]


# (view name + key, stored text) → the view of the record, shared by the process.
MEMO = Memo()


def _as_stored(record: Record) -> Record:
    return record


# The record as decoded, for readers that only look at it (the raw endpoints).
STORED = View("stored", _as_stored)


def _viewed(store_key: str, raw: str | None, view: View) -> Record | None:
    if raw is None:
        return None
    memo_key = view.name + "\0" + store_key
    hit = MEMO.lookup(memo_key, raw)
    if hit is not None:
        return hit
    record = _record(store_key, raw)
    return None if record is None else MEMO.store(memo_key, raw, view.render(record), remember=True)


class SvgRepository:
    """Entry slugs in, stored records out; mode fields are the handler's business."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def read(self, slug: str) -> Record | None:
        (raw,) = await self._store.get([key(slug)])
        return _record(key(slug), raw)

    async def peek(self, slug: str) -> Record | None:
        """:meth:`read`, memoised on the stored text: the caller must not change the record."""
        (raw,) = await self._store.get([key(slug)])
        return _viewed(key(slug), raw, STORED)

    async def list(self, view: View | None = None) -> list[Record]:
        """All indexed entries in slug order; members whose key is gone are SREMed (§6.4).

        With a ``view`` (a pure function, named for the memo) each entry is ``view(record)``,
        a :class:`Rendered` memoised on its key and stored text.
        """
        pairs = sorted(await self._store.list_index(INDEX, PREFIX), key=lambda pair: pair[0])
        entries: list[Record] = []
        cleanup: list[Unindex] = []
        corrupt: str | None = None
        for member, raw in pairs:
            try:
                entry = _viewed(key(member), raw, view) if view else _record(key(member), raw)
            except CorruptValueError as exc:
                corrupt = corrupt or exc.key
                continue
            if entry is None:
                cleanup.append(Unindex(INDEX, member, missing=(key(member),)))
            else:
                entries.append(entry)
        await repair(self._store, cleanup, lock=INDEX)
        # Raised after the clean-up so dangling members still go even when the list fails.
        if corrupt is not None:
            raise CorruptValueError(corrupt)
        return entries

    async def upsert(self, slug: str, payload: Mapping[str, object], now: str) -> Record:
        """POST/PUT: build from the payload and the stored entry, watched on ``svg:<slug>``."""

        async def build(tx: Tx) -> tuple[Sequence[Op], Record]:
            (raw,) = await tx.get([key(slug)])
            entry = build_entry(slug, payload, _record(key(slug), raw), now, url_for=svg_url)
            return [Set(key(slug), encode(entry)), SAdd(INDEX, slug)], entry

        return await self._store.update(build, operation="exec", lock=key(slug))

    async def patch(
        self,
        slug: str,
        body: Mapping[str, object],
        now: str,
        mode_fields: Mapping[str, object],
    ) -> Record | None:
        """PATCH in a watched read-modify-write; None for an unknown entry.

        Upstream's PATCH writes the five mode fields into the record, so ours does too.
        Nothing is written when the patch changes nothing.
        """

        async def change(tx: Tx) -> tuple[Sequence[Op], Record | None]:
            (raw,) = await tx.get([key(slug)])
            stored = _record(key(slug), raw)
            if stored is None:
                return [], None
            outcome = apply_patch(stored, body, now)
            if isinstance(outcome, str):
                raise ValueError(outcome)  # the handler validates first; unreachable
            entry, changed = outcome
            entry.pop("limitation", None)
            entry.update(mode_fields)
            if not changed:
                return [], entry
            return [Set(key(slug), encode(entry))], entry

        return await self._store.update(change, operation="exec", lock=key(slug))

    async def delete(self, slug: str) -> None:
        await self._store.write([Delete(key(slug)), SRem(INDEX, slug)])


class FigureAssetReader:
    """One GET of ``figureAsset:<slug>`` for the figure raw endpoint (§12)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def peek(self, slug: str) -> Record | None:
        """The stored asset record, memoised on its stored text (never to be changed)."""
        (raw,) = await self._store.get([asset_key(slug)])
        return _viewed(asset_key(slug), raw, STORED)
