"""Concurrent reads share a round trip; a lone read waits for nothing (store/coalesce.py)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from mathvisuals.sandbox.redis_server import RedisServer
from mathvisuals.store.base import Set, StoreUnavailableError
from mathvisuals.store.coalesce import Coalescer
from mathvisuals.store.redis import RedisStore
from tests.conftest import config_for, direct_redis

pytestmark = pytest.mark.anyio


class Backend:
    """A fetch that records its calls and answers when released."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.gate = asyncio.Event()
        self.error: Exception | None = None

    async def fetch(self, keys: list[str]) -> list[str]:
        self.calls.append(keys)
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        return [key.upper() for key in keys]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_lone_read_goes_out_at_once_as_asked() -> None:
    backend = Backend()
    backend.gate.set()
    reads = Coalescer(backend.fetch)
    assert await reads.fetch(["a", "a", "b"]) == ["A", "A", "B"]
    assert backend.calls == [["a", "a", "b"]]
    assert reads.batches == 0


async def test_reads_behind_one_in_flight_leave_as_one_batch_without_repeats() -> None:
    backend = Backend()
    reads = Coalescer(backend.fetch)
    first = asyncio.create_task(reads.fetch(["x"]))
    await settle()
    queued = [asyncio.create_task(reads.fetch(keys)) for keys in (["a"], ["b", "a"], ["a"])]
    await settle()
    assert backend.calls == [["x"]]  # the queued ones wait for the round trip in flight
    backend.gate.set()
    assert await first == ["X"]
    assert [await task for task in queued] == [["A"], ["B", "A"], ["A"]]
    assert backend.calls == [["x"], ["a", "b"]]
    assert (reads.batches, reads.coalesced) == (1, 3)


async def test_the_limit_is_how_many_go_out_before_reads_queue() -> None:
    backend = Backend()
    reads = Coalescer(backend.fetch, limit=2)
    tasks = [asyncio.create_task(reads.fetch([key])) for key in "abcd"]
    await settle()
    assert backend.calls == [["a"], ["b"]]
    backend.gate.set()
    assert [await task for task in tasks] == [["A"], ["B"], ["C"], ["D"]]
    assert backend.calls[2:] == [["c", "d"]]


async def test_a_queue_held_behind_a_stalled_read_leaves_after_its_hold() -> None:
    stalled = asyncio.Event()

    async def fetch(keys: list[str]) -> list[str]:
        if keys == ["stuck"]:
            await stalled.wait()  # a round trip that never comes back, until its timeout
        return [key.upper() for key in keys]

    reads = Coalescer(fetch, hold_s=0.05)
    stuck = asyncio.create_task(reads.fetch(["stuck"]))
    await settle()
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await asyncio.wait_for(reads.fetch(["a"]), timeout=5) == ["A"]
    assert 0.04 <= loop.time() - started < 5
    assert not stuck.done()
    stalled.set()
    assert await stuck == ["STUCK"]


async def test_an_error_reaches_every_caller_of_its_batch_and_the_next_batch_still_runs() -> None:
    backend = Backend()
    reads = Coalescer(backend.fetch)
    first = asyncio.create_task(reads.fetch(["x"]))
    await settle()
    queued = [asyncio.create_task(reads.fetch([key])) for key in "ab"]
    await settle()
    backend.error = StoreUnavailableError("TIMEOUT", "mget", "Redis operation failed", "t")
    backend.gate.set()
    for task in (first, *queued):
        with pytest.raises(StoreUnavailableError):
            await task
    backend.error = None
    assert await reads.fetch(["c"]) == ["C"]


async def test_a_cancelled_caller_leaves_the_others_answered() -> None:
    backend = Backend()
    reads = Coalescer(backend.fetch)
    first = asyncio.create_task(reads.fetch(["x"]))
    await settle()
    gone, kept = (asyncio.create_task(reads.fetch([key])) for key in "ab")
    await settle()
    first.cancel()  # the caller whose read is in flight goes away: the queue still leaves
    gone.cancel()
    await settle()
    backend.gate.set()
    assert await kept == ["B"]
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_concurrent_redis_reads_share_round_trips_and_see_acknowledged_writes(
    redis_server: RedisServer, redis_env: dict[str, str]
) -> None:
    store = RedisStore(config_for(redis_server))
    client = direct_redis(redis_env)
    await store.write([Set(f"co:{n}", f"v{n}") for n in range(50)])

    def counts() -> Counter[str]:
        info: dict[str, dict[str, int]] = client.info("commandstats")
        return Counter({k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()})

    before = counts()
    keys = [[f"co:{n % 50}"] for n in range(400)] + [["co:1", "co:missing"]]
    answers = await asyncio.gather(*(store.get(k) for k in keys))
    sent = counts() - before
    sent.pop("info", None)
    assert answers[:400] == [[f"v{n % 50}"] for n in range(400)]
    assert answers[400] == ["v1", None]
    assert sum(sent.values()) < 401 / 10, sent  # 401 reads, a handful of round trips
    await store.write([Set("co:1", "new")])
    both = await asyncio.gather(store.get(["co:1"]), store.get(["co:1"]))
    assert list(both) == [["new"], ["new"]]
    listed = await asyncio.gather(*(store.list_index("co:none", "co:") for _ in range(20)))
    assert listed == [[]] * 20
    await store.aclose()
    client.close()
