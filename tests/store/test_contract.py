"""One contract, two backends: memory and a real TLS + AUTH redis-server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import pytest

from mathvisuals.sandbox.redis_server import RedisServer, free_port
from mathvisuals.settings import redis_config
from mathvisuals.store import open_store
from mathvisuals.store.base import (
    CONFLICT,
    CONNECT_FAILED,
    Delete,
    Op,
    SAdd,
    Set,
    SRem,
    Store,
    StoreUnavailableError,
    Tx,
    Update,
)
from mathvisuals.store.memory import MemoryStore
from mathvisuals.store.redis import RedisStore
from tests.conftest import config_for, direct_redis

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_env: dict[str, str]) -> AsyncIterator[Store]:
    backend: Store = (
        MemoryStore() if request.param == "memory" else open_store(redis_config(redis_env))
    )
    yield backend
    await backend.aclose()


async def test_get_returns_values_in_key_order(store: Store) -> None:
    await store.write([Set("a", "1"), Set("b", "2")])
    assert await store.get(["b", "missing", "a"]) == ["2", None, "1"]
    assert await store.get(["a"]) == ["1"]
    assert await store.get([]) == []


async def test_write_applies_every_op(store: Store) -> None:
    await store.write([Set("k", "v"), SAdd("idx", "k"), SAdd("idx", "gone"), Set("gone", "x")])
    await store.write([Delete("gone"), SRem("idx", "gone")])
    assert await store.smembers("idx") == {"k"}
    assert await store.get(["gone", "k"]) == [None, "v"]


async def test_list_index_reads_members_with_values(store: Store) -> None:
    await store.write([SAdd("i", "x"), SAdd("i", "y"), Set("p:x", "1")])
    listed = await store.list_index("i", "p:")
    assert sorted(listed, key=lambda pair: pair[0]) == [("x", "1"), ("y", None)]
    assert await store.list_index("empty", "") == []


async def test_list_index_reads_an_index_larger_than_one_script_chunk(store: Store) -> None:
    # More members than Lua's unpack() takes at once (about 8,000): the script reads in chunks.
    members = [f"m{n:05}" for n in range(9_000)]
    ops: list[Op] = [SAdd("big", m) for m in members]
    ops += [Set("v:" + m, m.upper()) for m in members[::2]]
    await store.write(ops)
    listed = dict(await store.list_index("big", "v:"))
    assert len(listed) == len(members)
    assert all(listed[m] == (m.upper() if n % 2 == 0 else None) for n, m in enumerate(members))


async def test_list_index_survives_a_server_that_forgot_the_script(
    redis_env: dict[str, str],
) -> None:
    """A failover or restart empties the script cache: the listing loads it again."""
    store = open_store(redis_config(redis_env))
    await store.write([SAdd("i", "x"), Set("p:x", "1")])
    assert await store.list_index("i", "p:") == [("x", "1")]
    with direct_redis(redis_env) as client:
        client.script_flush()
    assert await store.list_index("i", "p:") == [("x", "1")]
    await store.aclose()


async def test_update_commits_ops_and_returns_result(store: Store) -> None:
    async def bump(tx: Tx) -> tuple[Sequence[Op], int]:
        (raw,) = await tx.get(["n"])
        value = int(raw or 0) + 1
        return [Set("n", str(value))], value

    assert await store.update(bump, operation="exec") == 1
    assert await store.update(bump, operation="exec") == 2
    assert await store.get(["n"]) == ["2"]


async def test_update_without_ops_writes_nothing(store: Store) -> None:
    async def read_only(tx: Tx) -> tuple[Sequence[Op], set[str]]:
        return [], await tx.smembers("nothing")

    assert await store.update(read_only, operation="exec") == set()
    assert await store.get(["nothing"]) == [None]


async def test_concurrent_updates_lose_nothing(store: Store) -> None:
    """20 concurrent read-modify-write appends to one key all survive (FIX-E)."""

    def appender(item: str) -> Update[None]:
        async def append(tx: Tx) -> tuple[Sequence[Op], None]:
            (raw,) = await tx.get(["list"])
            items = raw.split(",") if raw else []
            await asyncio.sleep(0)  # let the others interleave between read and commit
            return [Set("list", ",".join([*items, item]))], None

        return append

    stores: list[Store] = [store]
    if isinstance(store, RedisStore):
        # Separate clients, as separate Lambda instances would have: WATCH arbitrates.
        stores = [open_store(store._config) for _ in range(3)]
    items = [f"i{n}" for n in range(20)]
    await asyncio.gather(
        *(
            stores[n % len(stores)].update(appender(item), operation="exec", lock="list")
            for n, item in enumerate(items)
        )
    )
    (raw,) = await store.get(["list"])
    assert raw is not None
    assert sorted(raw.split(",")) == sorted(items)
    for extra in stores:
        if extra is not store:
            await extra.aclose()


async def test_ping_measures_a_round_trip(store: Store) -> None:
    assert await store.ping() >= 0.0


async def test_watch_conflicts_are_reported_after_five_attempts(
    redis_env: dict[str, str],
) -> None:
    store = open_store(redis_config(redis_env))
    other = open_store(redis_config(redis_env))
    attempts = 0

    async def always_conflicting(tx: Tx) -> tuple[Sequence[Op], None]:
        nonlocal attempts
        attempts += 1
        await tx.get(["hot"])
        await other.write([Set("hot", str(attempts))])  # a concurrent writer wins every time
        return [Set("hot", "mine")], None

    with pytest.raises(StoreUnavailableError) as caught:
        await store.update(always_conflicting, operation="exec")
    assert caught.value.error_class == "WATCH_CONFLICT"
    assert caught.value.message == CONFLICT
    assert attempts == 5
    await store.aclose()
    await other.aclose()


async def test_wrong_password_is_wrongpass(redis_server: RedisServer) -> None:
    store = RedisStore(config_for(redis_server, password="not-the-password"))
    with pytest.raises(StoreUnavailableError) as caught:
        await store.get(["a"])
    assert caught.value.error_class == "WRONGPASS"
    assert caught.value.message == CONNECT_FAILED
    assert "not-the-password" not in str(caught.value)
    await store.aclose()


async def test_untrusted_certificate_is_tls(redis_server: RedisServer) -> None:
    env = {
        "REDIS_HOST": "localhost",
        "REDIS_PORT": str(redis_server.port),
        "REDIS_PASSWORD": redis_server.password,
        "REDIS_TLS": "true",
    }
    store = RedisStore(redis_config(env))  # system trust store: our test CA is not in it
    with pytest.raises(StoreUnavailableError) as caught:
        await store.ping()
    assert caught.value.error_class == "TLS"
    await store.aclose()


async def test_unreadable_ca_file_fails_every_connection_as_tls(
    redis_server: RedisServer,
) -> None:
    config = redis_config(
        {
            "REDIS_HOST": "localhost",
            "REDIS_PORT": str(redis_server.port),
            "REDIS_PASSWORD": redis_server.password,
            "REDIS_TLS_CA_FILE": "/nonexistent/ca.pem",
            "REDIS_TLS": "1",
        }
    )
    assert "ca_file_unreadable" in config.warnings
    store = RedisStore(config)
    with pytest.raises(StoreUnavailableError) as caught:
        await store.get(["a"])
    assert caught.value.error_class == "TLS"


async def test_closed_port_fails_fast_as_connection() -> None:
    config = redis_config(
        {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(free_port()), "REDIS_PASSWORD": "x"}
    )
    store = RedisStore(config)
    started = time.perf_counter()
    with pytest.raises(StoreUnavailableError) as caught:
        await store.get(["a"])
    assert caught.value.error_class == "CONNECTION"
    assert caught.value.operation == "connect"
    # Bounded retries: well under the second the API promises (redis-py's default is ~3.5 s).
    assert time.perf_counter() - started < 1.0
    await store.aclose()


async def test_list_indexes_reads_several_indexes_at_once(store: Store) -> None:
    await store.write([SAdd("a", "1"), SAdd("a", "2"), Set("ka:1", "x"), SAdd("b", "9")])
    first, second, empty = await store.list_indexes([("a", "ka:"), ("b", "kb:"), ("none", "")])
    assert sorted(first, key=lambda pair: pair[0]) == [("1", "x"), ("2", None)]
    assert second == [("9", None)] and empty == []
