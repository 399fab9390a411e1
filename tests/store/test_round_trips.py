"""Redis round trips per API request, counted by the server (``INFO commandstats`` deltas).

One round trip is one EXEC (MULTI and the queued writes travel with it in one packet) or one
command outside a transaction. The minimum the API promises: one for a read, one for a write,
two for a list whatever its length.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx2
import pytest
import redis

from tests.api.conftest import async_api

pytestmark = pytest.mark.anyio

QUEUED = {"multi", "set", "sadd", "del", "srem"}
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()


class Counted:
    """The API in-process, with the server's command counts around each request."""

    def __init__(self, http: httpx2.AsyncClient, env: dict[str, str]) -> None:
        self.http = http
        self.redis = redis.Redis(
            host=env["REDIS_HOST"],
            port=int(env["REDIS_PORT"]),
            password=env["REDIS_PASSWORD"],
            ssl=True,
            ssl_ca_certs=env["REDIS_TLS_CA_FILE"],
        )

    def stats(self) -> Counter[str]:
        info: dict[str, Any] = self.redis.info("commandstats")
        return Counter({k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()})

    async def commands(self, send: Callable[[], Awaitable[httpx2.Response]]) -> Counter[str]:
        before = self.stats()
        response = await send()
        assert response.status_code == 200, response.text
        delta = self.stats() - before
        delta.pop("info", None)
        return delta


def round_trips(commands: Counter[str]) -> int:
    return sum(calls for name, calls in commands.items() if name not in QUEUED)


@pytest.fixture
async def api(redis_env: dict[str, str]) -> AsyncIterator[Counted]:
    async with async_api(redis_env) as http:
        counted = Counted(http, redis_env)
        assert (await http.get("/api/health")).status_code == 200  # the connection is open
        yield counted
        counted.redis.close()


def example_set(path: str) -> dict[str, object]:
    return {"path": path, "examples": [{"title": "a", "config": {"x": 0.5}}], "deletedProvided": []}


async def test_an_examples_read_is_one_get(api: Counted) -> None:
    await api.http.put("/api/examples", json=example_set("/bench"))
    commands = await api.commands(lambda: api.http.get("/api/examples?path=/bench"))
    assert commands == {"get": 1}


async def test_an_examples_write_is_one_transaction(api: Counted) -> None:
    commands = await api.commands(lambda: api.http.put("/api/examples", json=example_set("/a")))
    assert commands == {"multi": 1, "set": 1, "sadd": 1, "exec": 1}
    assert round_trips(commands) == 1


@pytest.mark.parametrize("size", [1, 60])
async def test_an_examples_list_is_two_round_trips_whatever_its_length(
    api: Counted, size: int
) -> None:
    for index in range(size):
        await api.http.put("/api/examples", json=example_set(f"/list/{index}"))
    commands = await api.commands(lambda: api.http.get("/api/examples"))
    assert commands == {"smembers": 1, "get" if size == 1 else "mget": 1}


async def test_a_raw_svg_read_is_one_get(api: Counted) -> None:
    entry = {"slug": "bench/icon", "svg": "<svg/>", "png": PNG}
    assert (await api.http.post("/api/svg", json=entry)).status_code == 200
    commands = await api.commands(lambda: api.http.get("/api/svg/raw?path=/bench/icon.svg"))
    assert commands == {"get": 1}


async def test_an_svg_list_is_two_round_trips(api: Counted) -> None:
    for index in range(25):
        entry = {"slug": f"s{index}", "svg": "<svg/>", "png": PNG}
        assert (await api.http.post("/api/svg", json=entry)).status_code == 200
    commands = await api.commands(lambda: api.http.get("/api/svg"))
    assert commands == {"smembers": 1, "mget": 1}


async def test_the_figure_library_lists_figures_and_categories_in_two_round_trips(
    api: Counted,
) -> None:
    for index in range(12):
        figure = {"slug": f"f{index}", "svg": "<svg/>", "category": {"id": f"c{index % 3}"}}
        assert (await api.http.post("/api/figure-library", json=figure)).status_code == 200
    commands = await api.commands(lambda: api.http.get("/api/figure-library"))
    # Both SMEMBERS travel in one pipeline, then one MGET reads figures and categories.
    assert commands == {"smembers": 2, "mget": 1}
