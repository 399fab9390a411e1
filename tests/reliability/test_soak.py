"""A short concurrency soak: two API instances (one pool and lock set each) on one Redis."""

from __future__ import annotations

import pytest

from mathvisuals.sandbox.redis_server import RedisServer
from reliability.harness import flushall, in_process, redis_env
from reliability.soak import SoakReport, run_soak


async def soak(server: RedisServer) -> SoakReport:
    flushall(server)
    async with in_process(redis_env(server), instances=2) as apis:
        return await run_soak(server, apis, clients=12, seconds=3.0, rng_seed=7)


@pytest.mark.anyio
async def test_acknowledged_writes_survive_concurrent_clients(redis_server: RedisServer) -> None:
    report = await soak(redis_server)
    assert report.problems == []
    assert report.acknowledged >= 100
    for name in ("examples PUT", "trash POST", "svg POST", "figure POST", "settings PUT"):
        assert report.requests[name] > 0, name
