"""Redis round trips per request, from ``INFO commandstats`` deltas.

The store sends every write inside MULTI…EXEC as one pipelined packet, and never sends a bare
SET/SADD/DEL/SREM. So one round trip is: each EXEC, plus each command outside a transaction
(GET, MGET, SMEMBERS, WATCH, UNWATCH, PING, AUTH, EVALSHA, …). MULTI and the queued writes ride
with it. Commands a Lua script runs are counted by ``INFO commandstats`` too, but they cost no round
trip: MONITOR, which marks them ``lua``, tells them apart while the requests are counted.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
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


class ScriptCalls:
    """Counts, by command name, what Lua scripts run on the server while the block runs."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._marker = f"mathvisuals-bench-{uuid.uuid4().hex}"
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self.counts: Counter[str] = Counter()

    def _listen(self) -> None:
        with self._client.monitor() as monitor:
            for seen in monitor.listen():
                command = str(seen["command"])
                if self._marker in command:
                    if self._ready.is_set():
                        return
                    self._ready.set()
                elif self._ready.is_set() and seen.get("client_type") == "lua":
                    self.counts[command.split(" ", 1)[0].lower()] += 1

    def __enter__(self) -> ScriptCalls:
        self._thread.start()
        while not self._ready.wait(0.05):  # MONITOR has started once it sees a marker
            self._client.echo(self._marker)
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.echo(self._marker)
        self._thread.join(timeout=10)


@dataclass(frozen=True)
class RoundTrips:
    per_request: float
    commands: dict[str, float]  # command sent → calls per request (queued ones included)
    connections: int  # new connections to Redis while measuring
    in_scripts: dict[str, float] = field(default_factory=dict)  # run by a script, per request

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
            + (f" running {_listed(self.in_scripts)}" if name == "evalsha" else "")
            for name in names
        )
        return f"{self.per_request:g} ({shown})" if shown else f"{self.per_request:g}"


def under_load(delta: Counter[str], sequential: RoundTrips) -> int:
    """Round trips in ``delta`` (commandstats over a load), counting only what the requests
    send themselves as ``sequential`` (MONITOR-checked) found it, and MGET beside GET:
    concurrent reads leave together as one MGET (store/coalesce.py). What scripts run on
    the server is not a round trip."""
    sent = {name for name in sequential.commands if name not in QUEUED}
    if "get" in sent:
        sent.add("mget")
    return sum(calls for name, calls in delta.items() if name in sent)


def _listed(counts: dict[str, float]) -> str:
    return " + ".join(
        name.upper() + (f"×{calls:g}" if calls != 1 else "") for name, calls in counts.items()
    )


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
    with ScriptCalls(client) as scripts:
        connections = connections_received(client)
        before = commandstats(client)
        count = run()
        delta = commandstats(client) - before
        connections = connections_received(client) - connections
    delta.pop("info", None)
    sent = delta - scripts.counts
    return RoundTrips(
        per_request=round(round_trips(sent) / count, 2),
        commands={name: round(calls / count, 2) for name, calls in sent.items()},
        connections=connections,
        in_scripts={name: round(calls / count, 2) for name, calls in scripts.counts.items()},
    )
