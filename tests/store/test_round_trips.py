"""Redis round trips per API request, counted by the server (``INFO commandstats`` deltas).

One round trip is one EXEC (MULTI and the queued writes travel with it in one packet) or one
command outside a transaction; what a Lua script runs on the server is told apart through MONITOR
(the bench's :class:`ScriptCalls`). The API promises one round trip for a read, for a write and
for a list whatever its length.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx2
import pytest

from bench.redis_stats import ScriptCalls
from tests.api.conftest import async_api
from tests.conftest import direct_redis

pytestmark = pytest.mark.anyio

QUEUED = {"multi", "set", "sadd", "del", "srem"}
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()


class Counted:
    """The API in-process, with the server's command counts around each request."""

    def __init__(self, http: httpx2.AsyncClient, env: dict[str, str]) -> None:
        self.http = http
        self.in_scripts: Counter[str] = Counter()
        self.redis = direct_redis(env)

    def stats(self) -> Counter[str]:
        info: dict[str, Any] = self.redis.info("commandstats")
        return Counter({k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()})

    async def commands(self, send: Callable[[], Awaitable[httpx2.Response]]) -> Counter[str]:
        """What the API sent; what scripts ran for it lands in ``in_scripts``."""
        with ScriptCalls(self.redis) as scripts:
            before = self.stats()
            response = await send()
            assert response.status_code == 200, response.text
            delta = self.stats() - before
        delta.pop("info", None)
        self.in_scripts = scripts.counts
        return delta - scripts.counts


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
async def test_an_examples_list_is_one_round_trip_whatever_its_length(
    api: Counted, size: int
) -> None:
    for index in range(size):
        await api.http.put("/api/examples", json=example_set(f"/list/{index}"))
    assert (await api.http.get("/api/examples")).status_code == 200  # the script is loaded
    commands = await api.commands(lambda: api.http.get("/api/examples"))
    assert commands == {"evalsha": 1}
    assert api.in_scripts == {"smembers": 1, "mget": 1}


async def test_a_raw_svg_read_is_one_get(api: Counted) -> None:
    entry = {"slug": "bench/icon", "svg": "<svg/>", "png": PNG}
    assert (await api.http.post("/api/svg", json=entry)).status_code == 200
    commands = await api.commands(lambda: api.http.get("/api/svg/raw?path=/bench/icon.svg"))
    assert commands == {"get": 1}


async def test_an_svg_list_is_one_round_trip(api: Counted) -> None:
    for index in range(25):
        entry = {"slug": f"s{index}", "svg": "<svg/>", "png": PNG}
        assert (await api.http.post("/api/svg", json=entry)).status_code == 200
    assert (await api.http.get("/api/svg")).status_code == 200  # the script is loaded
    commands = await api.commands(lambda: api.http.get("/api/svg"))
    assert commands == {"evalsha": 1}
    assert api.in_scripts == {"smembers": 1, "mget": 1}


async def test_the_figure_library_lists_figures_and_categories_in_one_round_trip(
    api: Counted,
) -> None:
    for index in range(12):
        figure = {"slug": f"f{index}", "svg": "<svg/>", "category": {"id": f"c{index % 3}"}}
        assert (await api.http.post("/api/figure-library", json=figure)).status_code == 200
    assert (await api.http.get("/api/figure-library")).status_code == 200  # the script is loaded
    commands = await api.commands(lambda: api.http.get("/api/figure-library"))
    # One script reads both indexes and every figure and category they list.
    assert commands == {"evalsha": 1}
    assert api.in_scripts == {"smembers": 2, "mget": 2}
