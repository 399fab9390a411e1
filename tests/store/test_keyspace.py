"""Export and import against a real TLS redis-server: byte-exact, in pages, FIX-E writes."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import pytest

from mathvisuals.model.archive import ArchiveError, Entry, EntrySpool, Manifest, read_archive
from mathvisuals.model.restore import changed_keys
from mathvisuals.sandbox.redis_server import RedisServer
from mathvisuals.store.keyspace import KeyspaceStore, connect
from tests.conftest import config_for


@pytest.fixture
def client(redis_server: RedisServer, redis_env: dict[str, str]) -> Any:
    made = connect(config_for(redis_server))
    yield made
    made.close()


def export_all(store: KeyspaceStore, count: int = 200) -> dict[str, Any]:
    entries, cursor = {}, 0
    while True:
        page = store.page(cursor, count)
        entries.update({e.key: e for e in page.entries})
        cursor = page.cursor
        if cursor == 0:
            return entries


def seed(client: Any) -> None:
    client.set(
        "examples:/diagram",
        b'{"path":"/diagram","examples":[],"updatedAt":"2024-01-01T00:00:00.000Z"}',
    )
    client.sadd("examples:__paths__", "/diagram", "/gone")
    client.set("examples:__trash__", "[]")
    client.set("svg:bar", '"{\\"slug\\":\\"bar\\"}"')  # double-encoded
    client.sadd("svg:__slugs__", "bar")
    client.set("figureAsset:f1", b"\xff\xfe not utf-8 \x00")
    client.sadd("figureAsset:__slugs__", "f1")
    client.set("figure:f1", "{}")
    client.sadd("figure:__slugs__", "f1")
    client.set("figure:category:c", '{"id":"c"}')
    client.sadd("figure:__categories__", "c")
    client.set("settings:projects", "{}")
    client.set("session:other", "not ours")


def test_every_area_round_trips_byte_exact(client: Any) -> None:
    seed(client)
    store = KeyspaceStore(client)
    before = export_all(store, count=3)
    assert "session:other" not in before and len(before) == 12
    assert before["figureAsset:f1"].value == b"\xff\xfe not utf-8 \x00"
    client.flushall()
    outcomes = [store.restore(e, overwrite=False, dry_run=False).action for e in before.values()]
    assert set(outcomes) <= {"create", "same", "merge"}
    after = export_all(store)
    assert {k: e.sha256() for k, e in after.items()} == {k: e.sha256() for k, e in before.items()}
    assert client.get("figureAsset:f1") == b"\xff\xfe not utf-8 \x00"
    # idempotent: the second import writes nothing
    again = {store.restore(e, overwrite=False, dry_run=False).action for e in before.values()}
    assert again == {"same"}


def test_entry_is_written_with_its_index(client: Any) -> None:
    client.set("svg:x", "{}")
    client.sadd("svg:__slugs__", "x")
    entry = KeyspaceStore(client).read(["svg:x"])[0]
    client.flushall()
    KeyspaceStore(client).restore(entry, overwrite=False, dry_run=False)
    assert client.smembers("svg:__slugs__") == {b"x"}


def test_newer_live_data_is_refused_unless_overwrite(client: Any) -> None:
    store = KeyspaceStore(client)
    client.set("examples:/a", '{"updatedAt":"2024-01-01T00:00:00.000Z"}')
    old = store.read(["examples:/a"])[0]
    client.set("examples:/a", '{"updatedAt":"2025-01-01T00:00:00.000Z"}')
    assert store.restore(old, overwrite=False, dry_run=False).action == "refused"
    assert store.restore(old, overwrite=True, dry_run=True).action == "update"
    assert client.get("examples:/a") == b'{"updatedAt":"2025-01-01T00:00:00.000Z"}'  # dry run
    store.restore(old, overwrite=True, dry_run=False)
    assert client.get("examples:/a") == b'{"updatedAt":"2024-01-01T00:00:00.000Z"}'


def test_older_live_data_is_updated(client: Any) -> None:
    store = KeyspaceStore(client)
    client.set("examples:/a", '{"updatedAt":"2026-01-01T00:00:00.000Z"}')
    new = store.read(["examples:/a"])[0]
    client.set("examples:/a", '{"updatedAt":"2025-01-01T00:00:00.000Z"}')
    assert store.restore(new, overwrite=False, dry_run=False).action == "update"
    assert store.read(["examples:/a"])[0] == new


def test_writes_during_an_export_are_found_by_the_second_pass(client: Any) -> None:
    for i in range(300):
        client.set(f"svg:s{i}", "{}")
    store = KeyspaceStore(client)
    first = store.page(0, 50)
    exported = {e.key: e.sha256() for e in first.entries}
    touched = first.entries[0].key
    client.set(touched, '{"changed":true}')  # a write after its page was read
    client.set("svg:new", "{}")
    cursor, rest = first.cursor, {}
    while cursor:
        page = store.page(cursor, 50)
        rest.update({e.key: e.sha256() for e in page.entries})
        cursor = page.cursor
    exported.update(rest)
    second = {k: e.sha256() for k, e in export_all(store).items()}
    changed = changed_keys(exported, second)
    assert touched in changed


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ten_thousand_keys_and_fifty_megabytes_in_pages(client: Any, tmp_path: Path) -> None:
    blob = os.urandom(5000)  # not UTF-8: base64 in the archive; 50 MB of values in all
    with client.pipeline(transaction=False) as pipe:
        for i in range(10_000):
            pipe.set(f"examples:/p{i}", blob + str(i).encode())
            pipe.sadd("examples:__paths__", f"/p{i}")
        pipe.execute()
    store = KeyspaceStore(client)
    spool = EntrySpool(tmp_path / "spool")
    cursor, pages = 0, 0
    while True:
        page = store.page(cursor, 500)
        spool.add_lines(
            gzip.decompress(gzip.compress(b"".join(e.line() for e in page.entries))).splitlines(
                keepends=True
            )
        )
        cursor, pages = page.cursor, pages + 1
        if cursor == 0:
            break
    assert pages > 10
    out = tmp_path / "a.jsonl.gz"
    manifest = spool.finish(Manifest("t", "test", "local", "now"), out)
    assert manifest.keys == 10_001 and spool.bytes > 50_000_000
    _, entries = read_archive(out)
    client.flushall()
    for entry in entries:
        store.restore(entry, overwrite=False, dry_run=False)
    assert client.dbsize() == 10_001
    assert client.get("examples:/p9999") == blob + b"9999"
    truncated = tmp_path / "t.jsonl.gz"
    truncated.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    with pytest.raises(ArchiveError):
        read_archive(truncated)


def test_a_batch_decides_each_entry_and_writes_them_in_one_transaction(client: Any) -> None:
    store = KeyspaceStore(client)
    client.set("examples:/old", '{"updatedAt":"2024-01-01T00:00:00.000Z"}')
    client.set("examples:/new", '{"updatedAt":"2026-01-01T00:00:00.000Z"}')
    client.set("examples:/same", "{}")
    batch = [
        Entry("examples:/old", "string", b'{"updatedAt":"2025-01-01T00:00:00.000Z"}'),
        Entry("examples:/new", "string", b'{"updatedAt":"2025-01-01T00:00:00.000Z"}'),
        Entry("examples:/same", "string", b"{}"),
        Entry("examples:/fresh", "string", b"{}"),
        Entry("examples:__paths__", "set", [b"/fresh", b"/old"]),
    ]
    dry = [o.action for o in store.restore_many(batch, overwrite=False, dry_run=True)]
    assert dry == ["update", "refused", "same", "create", "create"]
    assert client.exists("examples:/fresh") == 0
    store.restore_many(batch, overwrite=False, dry_run=False)
    assert client.get("examples:/old") == batch[0].value
    assert client.get("examples:/new") == b'{"updatedAt":"2026-01-01T00:00:00.000Z"}'
    assert client.smembers("examples:__paths__") == {b"/fresh", b"/old"}
    again = {o.action for o in store.restore_many(batch, overwrite=False, dry_run=False)}
    assert again == {"same", "refused"}
