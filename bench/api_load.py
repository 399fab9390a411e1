"""Runs the HTTP scenarios against one ``mathvisuals serve`` process and one Redis."""

from __future__ import annotations

import functools
import http.client
import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import redis_stats
from bench.load import LoadResult, Request, wrk
from bench.redis_stats import RoundTrips
from bench.scenarios import Scenario
from bench.servers import ApiServer, BenchRedis, request
from mathvisuals.sandbox.redis_server import LOOPBACK

WARMUP_S = 1.0
ROUND_TRIP_REQUESTS = 20


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    redis: str  # "plain" or "tls"
    workers: int
    load: LoadResult
    round_trips: RoundTrips
    rss_idle_kib: int
    rss_peak_kib: int
    cpu_ms: float  # server CPU time per request under load
    server: str = "uvicorn"
    load_trips: float = 0.0  # Redis round trips per request under the load (reads coalesce)

    @property
    def row(self) -> str:
        return f"{self.scenario.name}/{self.redis}" + (
            f"/w{self.workers}" if self.workers != 1 else ""
        )

    @property
    def label(self) -> str:
        extra = [f"{self.workers} workers"] if self.workers != 1 else []
        extra += [self.server] if self.server != "uvicorn" else []
        return self.scenario.name + (f" ({', '.join(extra)})" if extra else "")


class RssSampler(threading.Thread):
    """Samples the server's resident memory every 100 ms while the load runs."""

    def __init__(self, server: ApiServer) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.1):
            self.peak = max(self.peak, self.server.rss_kib())

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def send_all(port: int, requests: Sequence[Request]) -> int:
    """Send ``requests`` in order on one keep-alive connection; every one must succeed."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    try:
        for item in requests:
            body = item.body.read_bytes() if item.body else None
            status, text = request(port, item.method, item.path, body, connection=conn)
            if status >= 300:
                raise RuntimeError(f"{item.method} {item.path} → {status}: {text[:200]!r}")
    finally:
        conn.close()
    return len(requests)


def run_scenarios(
    redis: BenchRedis,
    scenarios: Sequence[Scenario],
    seconds: float,
    logdir: Path,
    *,
    workers: int = 1,
    server_name: str = "uvicorn",
) -> list[Result]:
    server = ApiServer(redis.env(), logdir, workers=workers, server=server_name)
    server.start()
    client = redis.client()
    results: list[Result] = []
    try:
        for scenario in scenarios:
            client.flushall()
            send_all(server.port, scenario.seed)
            wrk(server.base, scenario.requests, WARMUP_S)
            idle = server.rss_kib()
            sampler = RssSampler(server)
            sampler.start()
            cpu = server.cpu_seconds()
            commands = redis_stats.commandstats(client)
            load = wrk(server.base, scenario.requests, seconds)
            cpu = server.cpu_seconds() - cpu
            peak = sampler.stop()
            redis_stats.quiesce(client)  # requests in flight when wrk stopped finish
            commands = redis_stats.commandstats(client) - commands
            cycle = list(itertools.islice(itertools.cycle(scenario.requests), ROUND_TRIP_REQUESTS))
            trips = redis_stats.measure(client, functools.partial(send_all, server.port, cycle))
            load_trips = redis_stats.under_load(commands, trips) / max(load.requests, 1)
            cpu_ms = cpu * 1000 / max(load.requests, 1)
            result = Result(
                scenario, redis.name, workers, load, trips, idle, peak, cpu_ms, server_name,
                round(load_trips, 3),
            )  # fmt: skip
            print_result(result)
            results.append(result)
    finally:
        client.close()
        server.stop()
    return results


def print_result(r: Result) -> None:
    load = r.load
    print(
        f"  {r.label:<26} {r.redis:<5} {load.rps:>9,.0f} req/s  "
        f"p50 {load.p50_ms:6.2f} ms  p99 {load.p99_ms:6.2f} ms  cpu {r.cpu_ms:5.2f} ms/req  "
        f"errors {load.errors}  "
        f"rss {r.rss_peak_kib / 1024:5.1f} MiB  round trips {r.round_trips.describe()}, "
        f"{r.load_trips:g} under load",
        flush=True,
    )
