"""A burst beyond the Redis pool waits for a connection instead of failing (issue #13)."""

from __future__ import annotations

import asyncio

import pytest

from mathvisuals.store.base import StoreUnavailableError
from mathvisuals.store.redis import MAX_CONNECTIONS, RedisStore, classify
from tests.api.conftest import async_api
from tests.conftest import config_for

BURST = 500


@pytest.mark.anyio
async def test_a_burst_of_500_requests_gets_no_error(redis_env: dict[str, str]) -> None:
    """Upstream-shaped pool (capped, raising) gave 503 KVUnavailable to a third of a burst."""
    async with async_api(redis_env) as http:
        body = {"examples": [{"title": "x"}], "deletedProvided": []}
        responses = await asyncio.gather(
            *(http.put(f"/api/examples?path=/burst{n}", json=body) for n in range(BURST))
        )
        statuses = [response.status_code for response in responses]
        assert statuses == [200] * BURST
        listed = (await http.get("/api/examples")).json()["entries"]
    assert len(listed) == BURST


@pytest.mark.anyio
async def test_pool_exhaustion_is_not_a_connection_error(redis_server: object) -> None:
    """A pool that stays busy past its wait is load (TIMEOUT), not a broken link (CONNECTION)."""
    from redis import exceptions as rex

    assert classify(rex.MaxConnectionsError("Too many connections"))[0] == "TIMEOUT"
    assert classify(rex.ConnectionError("No connection available."))[0] == "TIMEOUT"
    assert classify(rex.ConnectionError("Error 111 connecting to h:1."))[0] == "CONNECTION"
    store = RedisStore(config_for(redis_server))  # type: ignore[arg-type]
    pool = store._redis().connection_pool
    assert pool.max_connections == MAX_CONNECTIONS
    pool.timeout = 0.2
    held = [await pool.get_connection() for _ in range(MAX_CONNECTIONS)]
    with pytest.raises(StoreUnavailableError) as caught:
        await store.get(["k"])
    assert caught.value.error_class == "TIMEOUT"
    for connection in held:
        await pool.release(connection)
    assert await store.get(["k"]) == [None]
    await store.aclose()
