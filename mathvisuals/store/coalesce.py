"""Concurrent reads share a round trip: group commit for lookups.

A read goes out at once while fewer than ``limit`` batches are in flight, so a lone request
(a Lambda invocation, a quiet server) waits for nothing. Reads that arrive while the limit is
reached queue up and leave together, as one batch, the moment a batch in flight returns; a
key asked for twice in a batch is fetched once. Every read in a batch was asked for before
the batch was sent, so it sees every write that had been acknowledged by then. A queue held
for ``hold_s`` (a stalled round trip in flight) leaves anyway, so a stall costs a queued read
no more than ``hold_s`` on top of its own timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Fetch = Callable[[list[K]], Awaitable[Sequence[V]]]


class Coalescer(Generic[K, V]):
    """Runs ``fetch(keys) -> values`` (same order) for one caller or for a queued batch."""

    def __init__(self, fetch: Fetch[K, V], *, limit: int = 1, hold_s: float = 0.05) -> None:
        self._fetch = fetch
        self._limit = limit
        self._hold_s = hold_s
        self._timer: asyncio.TimerHandle | None = None
        self._in_flight = 0
        self._queue: list[tuple[Sequence[K], asyncio.Future[list[V]]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.coalesced = 0

    async def fetch(self, keys: Sequence[K]) -> list[V]:
        """The values of ``keys``, in order; shares a round trip with concurrent callers."""
        if self._in_flight < self._limit:
            self._in_flight += 1
            try:
                return list(await self._fetch(list(keys)))
            finally:
                self._in_flight -= 1
                self._send_queued()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[list[V]] = loop.create_future()
        self._queue.append((keys, waiter))
        if self._timer is None:
            self._timer = loop.call_later(self._hold_s, self._overdue)
        return await waiter

    def _overdue(self) -> None:
        self._timer = None
        self._send_queued(force=True)

    def _send_queued(self, *, force: bool = False) -> None:
        if not self._queue or (self._in_flight >= self._limit and not force):
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._queue = self._queue, []
        self._in_flight += 1
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[Sequence[K], asyncio.Future[list[V]]]]) -> None:
        try:
            distinct = list(dict.fromkeys(key for keys, _ in batch for key in keys))
            self.batches += 1
            self.coalesced += len(batch)
            try:
                values = await self._fetch(distinct)
            except asyncio.CancelledError:
                for _, waiter in batch:
                    waiter.cancel()
                raise
            except Exception as exc:  # noqa: BLE001 - every caller of the batch sees it
                for _, waiter in batch:
                    if not waiter.done():
                        waiter.set_exception(exc)
                return
            found = dict(zip(distinct, values, strict=True))
            for keys, waiter in batch:
                if not waiter.done():
                    waiter.set_result([found[key] for key in keys])
        finally:
            self._in_flight -= 1
            self._send_queued()
