"""Redis round trips per request, from ``INFO commandstats`` deltas.

The store sends every write inside MULTI…EXEC as one pipelined packet, and never sends a bare
SET/SADD/DEL/SREM. So one round trip is: each EXEC, plus each command outside a transaction
(GET, MGET, SMEMBERS, WATCH, UNWATCH, PING, AUTH, …). MULTI and the queued writes ride with it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

QUEUED = frozenset({"multi", "set", "sadd", "del", "srem"})
# Sent by the harness itself between snapshots.
HARNESS = frozenset({"info"})


def commandstats(client: Any) -> Counter[str]:
    stats = client.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})


def connections_received(client: Any) -> int:
    return int(client.info("stats")["total_connections_received"])


def round_trips(delta: Counter[str]) -> int:
    return sum(calls for name, calls in delta.items() if name not in QUEUED | HARNESS)


@dataclass(frozen=True)
class RoundTrips:
    per_request: float
    commands: dict[str, float]  # command → calls per request (queued ones included)
    connections: int  # new connections to Redis while measuring

    def describe(self) -> str:
        """``2 (SMEMBERS, MGET)``: round trips, then the commands sent per request."""
        order = ["watch", "smembers", "get", "mget", "exec"]
        names = sorted(
            (n for n in self.commands if n not in QUEUED),
            key=lambda n: order.index(n) if n in order else len(order),
        )
        shown = ", ".join(
            ("MULTI…EXEC" if name == "exec" else name.upper())
            + (f"×{self.commands[name]:g}" if self.commands[name] != 1 else "")
            for name in names
        )
        return f"{self.per_request:g} ({shown})" if shown else f"{self.per_request:g}"


def quiesce(client: Any, timeout: float = 10.0) -> None:
    """Wait until no command arrives for 200 ms: requests in flight when wrk stopped finish."""
    deadline = time.monotonic() + timeout
    last = sum(commandstats(client).values())
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = sum(commandstats(client).values())
        if now == last + 1:  # only our own INFO
            return
        last = now


def measure(client: Any, run: Callable[[], int]) -> RoundTrips:
    """Deltas around ``run()``, which returns how many requests it made."""
    quiesce(client)
    connections = connections_received(client)
    before = commandstats(client)
    count = run()
    delta = commandstats(client) - before
    delta.pop("info", None)
    connections = connections_received(client) - connections
    return RoundTrips(
        per_request=round(round_trips(delta) / count, 2),
        commands={name: round(calls / count, 2) for name, calls in delta.items()},
        connections=connections,
    )
