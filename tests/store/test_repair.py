"""Read repairs apply only what still holds when they commit (api.md §7.5)."""

from __future__ import annotations

import pytest

from mathvisuals.store.memory import MemoryStore
from mathvisuals.store.repair import Purge, Unindex, repair


def store_with(strings: dict[str, str], members: set[str]) -> MemoryStore:
    store = MemoryStore()
    store.strings.update(strings)
    store.sets["idx"] = set(members)
    return store


@pytest.mark.anyio
async def test_a_member_whose_key_appeared_is_kept() -> None:
    store = store_with({"k:a": "{}"}, {"a", "b"})
    await repair(store, [Unindex("idx", "a", missing=("k:a",)), Unindex("idx", "b", ("k:b",))])
    assert store.sets["idx"] == {"a"}


@pytest.mark.anyio
async def test_unconditional_unindex_and_purge() -> None:
    store = store_with({"k:c": "bad", "k:d": "fresh"}, {"x", "c", "d"})
    await repair(
        store,
        [
            Unindex("idx", "x"),
            Purge("k:c", "bad", "idx", "c"),
            Purge("k:d", "bad", "idx", "d"),  # rewritten since it was read corrupt
        ],
    )
    assert store.sets["idx"] == {"d"}
    assert store.strings == {"k:d": "fresh"}


@pytest.mark.anyio
async def test_nothing_to_repair_writes_nothing() -> None:
    store = store_with({}, {"a"})
    await repair(store, [])
    assert store.sets["idx"] == {"a"}
