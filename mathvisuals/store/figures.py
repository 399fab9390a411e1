"""Figure-library keys (api.md §6.1): figures, assets and categories, one watched write each."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mathvisuals.model.clock import iso_now
from mathvisuals.model.figures import (
    KV_MODE_FIELDS,
    CategoryPayload,
    Keep,
    Link,
    Unlink,
    build_asset,
    category_id_for,
    category_link_intent,
    figure_record,
    figure_tags,
    link_figure,
    patch_figure,
    unlink_figure,
    upsert_category,
)
from mathvisuals.model.jsuri import trim
from mathvisuals.model.paths import normalize_category_id
from mathvisuals.store.base import CorruptValueError, Delete, Op, SAdd, Set, SRem, Store, Tx
from mathvisuals.store.rendered import Memo
from mathvisuals.store.repair import Unindex, repair
from mathvisuals.store.values import CORRUPT, decode, encode

FIGURE_PREFIX = "figure:"
FIGURE_INDEX = "figure:__slugs__"
ASSET_PREFIX = "figureAsset:"
ASSET_INDEX = "figureAsset:__slugs__"
CATEGORY_PREFIX = "figure:category:"
CATEGORY_INDEX = "figure:__categories__"
# One name for every figure-library update: links touch several keys, so per-key locks would
# still let two writers in this process race to WATCH conflicts on a shared category.
LOCK = "figure-library"

Record = dict[str, Any]


def figure_key(slug: str) -> str:
    return FIGURE_PREFIX + slug


def asset_key(slug: str) -> str:
    return ASSET_PREFIX + slug


def category_key(category_id: str) -> str:
    return CATEGORY_PREFIX + category_id


@dataclass(frozen=True)
class SavedFigure:
    """The `figure:` record as written, and the category it is linked to (None if unlinked)."""

    record: Record
    category: Record | None


@dataclass(frozen=True)
class CategoryDeletion:
    """`found` False: unknown category. `figure_count` > 0: not deleted (409)."""

    found: bool
    figure_count: int = 0


def _decoded(key: str, raw: str | None) -> Record | None:
    value = decode(raw, dict)
    if value is CORRUPT:
        raise CorruptValueError(key)
    return value if isinstance(value, dict) else None


def _with_field(record: Record, field: str, value: str) -> Record:
    """`record` with `field` = `value`, first when it was missing (upstream forces the key)."""
    if record.get(field) == value:
        return record
    if field in record:
        return {**record, field: value}
    return {field: value, **record}


def _figure(key: str, raw: str | None, slug: str) -> Record | None:
    record = _decoded(key, raw)
    return None if record is None else _with_field(record, "slug", slug)


# Listed figures by (key, stored text): a listing decodes only what changed since the last.
MEMO = Memo()


def _memoised(
    read: Callable[[str, str | None, str], Record | None], key: str, raw: str | None, name: str
) -> Record | None:
    """``read(key, raw, name)``, memoised on (key, stored text); the records are only read."""
    if raw is None:
        return None
    hit = MEMO.lookup(key, raw)
    if hit is not None:
        return hit
    record = read(key, raw, name)
    return None if record is None else MEMO.store(key, raw, record, remember=True)


def _listed_figure(key: str, raw: str | None, slug: str) -> Record | None:
    return _memoised(_figure, key, raw, slug)


def _listed_category(key: str, raw: str | None, category_id: str) -> Record | None:
    return _memoised(_category, key, raw, category_id)


def _category(key: str, raw: str | None, category_id: str) -> Record | None:
    record = _decoded(key, raw)
    if record is None:
        return None
    # As upstream reads it: the normalised stored id, else the id of the key.
    return _with_field(record, "id", normalize_category_id(record.get("id")) or category_id)


def _linked_id(figure: Mapping[str, Any] | None) -> str | None:
    return None if figure is None else normalize_category_id(figure.get("categoryId"))


def figure_count(category: Mapping[str, Any]) -> int:
    """Non-blank `figureSlugs` entries, as the §11.6 409 counts them."""
    slugs = category.get("figureSlugs")
    if not isinstance(slugs, list):
        return 0
    return sum(1 for slug in slugs if isinstance(slug, str) and trim(slug))


def _detached(figure: Mapping[str, Any]) -> Record:
    record = {key: value for key, value in figure.items() if key != "category"}
    record.update(KV_MODE_FIELDS)
    record["categoryId"] = None
    return record


class FigureRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def figure(self, slug: str) -> Record | None:
        key = figure_key(slug)
        (raw,) = await self._store.get([key])
        return _figure(key, raw, slug)

    async def figures(self) -> list[Record]:
        """Every figure, sorted by slug, in one round trip; dangling members are removed."""
        return await self._figures(await self._store.list_index(FIGURE_INDEX, FIGURE_PREFIX))

    async def listing(self) -> tuple[list[Record], list[Record] | CorruptValueError]:
        """Figures and categories in one round trip for any size. A corrupt category is
        returned, not raised: the figures still answer."""
        figure_rows, category_rows = await self._store.list_indexes(
            [(FIGURE_INDEX, FIGURE_PREFIX), (CATEGORY_INDEX, CATEGORY_PREFIX)]
        )
        figures = await self._figures(figure_rows)
        try:
            return figures, await self._categories(category_rows)
        except CorruptValueError as exc:
            return figures, exc

    async def _figures(self, rows: list[tuple[str, str | None]]) -> list[Record]:
        return await self._decoded(rows, FIGURE_INDEX, figure_key, _listed_figure)

    async def categories(self) -> list[Record]:
        """Every stored category record, sorted by id, in one round trip."""
        return await self._categories(await self._store.list_index(CATEGORY_INDEX, CATEGORY_PREFIX))

    async def _categories(self, rows: list[tuple[str, str | None]]) -> list[Record]:
        return await self._decoded(rows, CATEGORY_INDEX, category_key, _listed_category)

    async def _decoded(
        self,
        rows: list[tuple[str, str | None]],
        index: str,
        key_of: Callable[[str], str],
        decode_record: Callable[[str, str | None, str], Record | None],
    ) -> list[Record]:
        """Records sorted by member; members whose key is gone are pruned from the index."""
        found: list[Record] = []
        missing: list[str] = []
        for member, raw in sorted(rows):
            record = decode_record(key_of(member), raw, member)
            if record is None:
                missing.append(member)
            else:
                found.append(record)
        await self._prune(index, key_of, missing)
        return found

    async def _prune(self, index: str, key_of: Callable[[str], str], members: list[str]) -> None:
        """SREM members whose key is still missing, re-checked under WATCH (§7.5)."""
        dangling = [Unindex(index, member, missing=(key_of(member),)) for member in members]
        await repair(self._store, dangling, lock=LOCK)

    async def save_category(self, payload: CategoryPayload) -> Record:
        """§11.4 category upsert; the caller has checked `category_error(payload)`."""
        category_id = category_id_for(payload)
        if category_id is None:
            raise ValueError("category id is not derivable")
        key = category_key(category_id)
        now = iso_now()

        async def upsert(tx: Tx) -> tuple[Sequence[Op], Record]:
            (raw,) = await tx.get([key])
            record = upsert_category(_category(key, raw, category_id), payload, now)
            return [Set(key, encode(record)), SAdd(CATEGORY_INDEX, category_id)], record

        return await self._store.update(upsert, operation="exec", lock=LOCK)

    async def save_figure(
        self, slug: str, body: Mapping[str, Any], *, merge: bool
    ) -> SavedFigure | str | None:
        """POST (`merge` False) or PATCH of a figure with its links, in one watched transaction.

        None: PATCH of an unknown slug. A string: the 400 text of an unusable PATCH body.
        """
        now = iso_now()
        fkey, akey = figure_key(slug), asset_key(slug)

        async def save(tx: Tx) -> tuple[Sequence[Op], SavedFigure | str | None]:
            raw_figure, raw_asset = await tx.get([fkey, akey])
            figure = _figure(fkey, raw_figure, slug)
            asset = _decoded(akey, raw_asset)
            if merge and figure is None:
                return [], None
            # An orphaned record still holds the fields to inherit when its twin is missing.
            base = asset if asset is not None else figure
            if merge:
                built = patch_figure(base or {}, body, now, slug=slug)
                if isinstance(built, str):
                    return [], built
            else:
                built = build_asset(slug, body, base, now)
            current = _linked_id(figure)
            intent = category_link_intent(body, current)
            if isinstance(intent, Keep):
                target = current
            elif isinstance(intent, Unlink):
                target = None
            else:
                target = intent.category_id
            ids = [i for i in dict.fromkeys((current, target)) if i is not None]
            raws = await tx.get([category_key(i) for i in ids])
            stored = {
                i: _category(category_key(i), raw, i) for i, raw in zip(ids, raws, strict=True)
            }
            record = figure_record(built, target, figure_tags(body, figure))
            ops: list[Op] = [
                Set(akey, encode(built)),
                SAdd(ASSET_INDEX, slug),
                Set(fkey, encode(record)),
                SAdd(FIGURE_INDEX, slug),
            ]
            previous = stored.get(current) if current is not None else None
            if current is not None and current != target and previous is not None:
                unlinked = unlink_figure(previous, slug, now)
                if unlinked != previous:
                    ops.append(Set(category_key(current), encode(unlinked)))
            category: Record | None = None
            if target is not None:
                existing = stored[target]
                linking = existing
                if isinstance(intent, Link):
                    linking = upsert_category(existing, intent.payload, now)
                category = link_figure(linking, target, slug, now)
                if category != existing:
                    ops += [
                        Set(category_key(target), encode(category)),
                        SAdd(CATEGORY_INDEX, target),
                    ]
            return ops, SavedFigure(record, category)

        return await self._store.update(save, operation="exec", lock=LOCK)

    async def delete_figure(self, slug: str) -> bool:
        """Delete figure and asset and unlink the figure from its category; False if unknown."""
        now = iso_now()
        fkey = figure_key(slug)

        async def delete(tx: Tx) -> tuple[Sequence[Op], bool]:
            (raw,) = await tx.get([fkey])
            figure = _figure(fkey, raw, slug)
            if figure is None:
                return [], False
            ops: list[Op] = [
                Delete(fkey),
                SRem(FIGURE_INDEX, slug),
                Delete(asset_key(slug)),
                SRem(ASSET_INDEX, slug),
            ]
            category_id = _linked_id(figure)
            if category_id is not None:
                ckey = category_key(category_id)
                (raw_category,) = await tx.get([ckey])
                category = _category(ckey, raw_category, category_id)
                if category is not None:
                    unlinked = unlink_figure(category, slug, now)
                    if unlinked != category:
                        ops.append(Set(ckey, encode(unlinked)))
            return ops, True

        return await self._store.update(delete, operation="exec", lock=LOCK)

    async def delete_category(self, category_id: str) -> CategoryDeletion:
        """Delete an empty category and null `categoryId` on figures still pointing at it."""
        ckey = category_key(category_id)

        async def delete(tx: Tx) -> tuple[Sequence[Op], CategoryDeletion]:
            (raw,) = await tx.get([ckey])
            category = _category(ckey, raw, category_id)
            if category is None:
                return [], CategoryDeletion(found=False)
            count = figure_count(category)
            if count:
                return [], CategoryDeletion(found=True, figure_count=count)
            keys = [figure_key(slug) for slug in sorted(await tx.smembers(FIGURE_INDEX))]
            ops: list[Op] = [Delete(ckey), SRem(CATEGORY_INDEX, category_id)]
            for key, value in zip(keys, await tx.get(keys), strict=True):
                figure = _decoded(key, value)
                if figure is not None and _linked_id(figure) == category_id:
                    ops.append(Set(key, encode(_detached(figure))))
            return ops, CategoryDeletion(found=True)

        return await self._store.update(delete, operation="exec", lock=LOCK)
