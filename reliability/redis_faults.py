"""Redis faults: SIGKILL redis-server under write load, keep it down, restart it on the same port.

While it is down every answer must be a 503 (never a 200 from some memory); once it answers
again the API must serve within a second; and no write the API acknowledged may be missing
(AOF with ``appendfsync always``, as durable as the stand-in allows).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from mathvisuals.sandbox.redis_server import RedisServer
from reliability import integrity
from reliability.harness import direct, flushall, over_http, redis_env, redis_server
from reliability.processes import api_servers
from reliability.result import Row, timed

RECOVERY_LIMIT_S = 1.0


@dataclass
class Sample:
    name: str
    sent: float
    done: float
    status: int
    mode: str | None
    body: str


@dataclass
class Outage:
    dead: float  # redis-server reaped (after SIGKILL)
    restart: float  # start() called
    up: float = 0.0  # redis-server answers again
    recovered: float = 0.0  # first 200 from the API after that


@dataclass
class FaultReport:
    outages: list[Outage] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    acknowledged: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def recoveries_ms(self) -> list[float]:
        return [round((o.recovered - o.up) * 1000) for o in self.outages if o.recovered]

    def during(self, outage: Outage) -> list[Sample]:
        """Requests sent and answered while the server was certainly down."""
        return [s for s in self.samples if s.sent >= outage.dead and s.done <= outage.restart]

    @property
    def down_statuses(self) -> Counter[int]:
        return Counter(s.status for o in self.outages for s in self.during(o))


class Load:
    """Writers that PUT fresh example paths and a prober that GETs health, until stopped."""

    def __init__(self, apis: Sequence[httpx2.AsyncClient], report: FaultReport) -> None:
        self.apis = apis
        self.report = report
        self.running = True

    async def request(self, name: str, api: httpx2.AsyncClient, method: str, url: str,
                      body: Any = None) -> tuple[int, Any]:  # fmt: skip
        sent = time.monotonic()
        try:
            response = await api.request(method, url, json=body)
        except httpx2.HTTPError as exc:
            self.report.samples.append(Sample(name, sent, time.monotonic(), 0, None, repr(exc)))
            return 0, None
        mode = response.headers.get("x-examples-store-mode")
        self.report.samples.append(
            Sample(name, sent, time.monotonic(), response.status_code, mode, response.text[:200])
        )
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None

    async def writer(self, number: int) -> None:
        count = 0
        while self.running:
            count += 1
            path = f"/fault/w{number}/n{count}"
            api = self.apis[count % len(self.apis)]
            body = {"examples": [{"writer": number, "n": count}], "deletedProvided": []}
            status, got = await self.request("PUT", api, "PUT", f"/api/examples?path={path}", body)
            if status == 200 and isinstance(got, dict):
                self.report.acknowledged[path] = got["examples"]
            elif status == 503:
                await asyncio.sleep(0.02)  # a client backing off, not a tight loop

    async def prober(self) -> None:
        while self.running:
            for api in self.apis:
                await self.request("health", api, "GET", "/api/health")
            await asyncio.sleep(0.02)


async def run_faults(
    server: RedisServer,
    apis: Sequence[httpx2.AsyncClient],
    *,
    kills: int,
    writers: int = 8,
    up_seconds: float = 1.5,
    down_seconds: float = 1.0,
) -> FaultReport:
    flushall(server)
    report = FaultReport()
    load = Load(apis, report)
    tasks = [asyncio.create_task(load.writer(n)) for n in range(writers)]
    tasks.append(asyncio.create_task(load.prober()))
    try:
        for _ in range(kills):
            await asyncio.sleep(up_seconds)
            await asyncio.to_thread(server.stop, signal.SIGKILL)
            outage = Outage(dead=time.monotonic(), restart=0.0)
            await asyncio.sleep(down_seconds)
            outage.restart = time.monotonic()
            await asyncio.to_thread(server.start)
            outage.up = time.monotonic()
            outage.recovered = await first_success(apis, outage.up + 5.0)
            report.outages.append(outage)
        await asyncio.sleep(up_seconds)
    finally:
        load.running = False
        await asyncio.gather(*tasks)
    report.problems += judge(report)
    with direct(server) as resp:
        snap = integrity.snapshot(resp)
    examples = snap.entries(integrity.EXAMPLES)
    lost = [
        path
        for path, body in report.acknowledged.items()
        if examples.get(path, {}).get("examples") != body
    ]
    report.problems += [f"acknowledged write lost: {path}" for path in lost[:10]]
    if len(lost) > 10:
        report.problems.append(f"… and {len(lost) - 10} more acknowledged writes lost")
    report.problems += integrity.check(snap)
    return report


async def first_success(apis: Sequence[httpx2.AsyncClient], deadline: float) -> float:
    """When every instance first answers a health check and a write with 200 (0 if never)."""
    pending = list(apis)
    while pending and time.monotonic() < deadline:
        api = pending[0]
        try:
            health = await api.get("/api/health")
            write = await api.put(
                "/api/examples?path=/fault/probe", json={"examples": [], "deletedProvided": []}
            )
            if health.status_code == 200 and write.status_code == 200:
                pending.pop(0)
                continue
        except httpx2.HTTPError:
            pass
        await asyncio.sleep(0.01)
    return 0.0 if pending else time.monotonic()


def judge(report: FaultReport) -> list[str]:
    problems: list[str] = []
    for number, outage in enumerate(report.outages, 1):
        down = report.during(outage)
        if not down:
            problems.append(f"outage {number}: no request was answered while Redis was down")
        for sample in down:
            if sample.status != 503:
                problems.append(
                    f"outage {number}: {sample.name} answered {sample.status} while down"
                )
            elif sample.name == "PUT" and '"KVUnavailable"' not in sample.body:
                problems.append(f"outage {number}: a 503 without KVUnavailable: {sample.body}")
        if not outage.recovered:
            problems.append(f"outage {number}: the API did not recover within 5 s")
        elif outage.recovered - outage.up > RECOVERY_LIMIT_S:
            problems.append(
                f"outage {number}: recovered {outage.recovered - outage.up:.2f} s after "
                "Redis returned"
            )
    for sample in report.samples:
        if sample.status == 200 and sample.name == "PUT" and sample.mode != "kv":
            problems.append(f"a 200 in mode {sample.mode}, not kv")
        if sample.status not in (200, 503):
            problems.append(f"{sample.name} answered {sample.status}: {sample.body[:80]}")
    return problems


def row(work: Path, *, quick: bool) -> Row:
    kills, instances = (2, 2) if quick else (5, 3)
    result = Row("Redis faults: SIGKILL under load")
    with (
        timed(result),
        redis_server(work / "faults") as server,
        api_servers(redis_env(server), instances, work / "faults" / "logs") as urls,
    ):
        report = asyncio.run(_over_http(server, urls, kills))
    down = report.down_statuses
    writes = sum(1 for s in report.samples if s.name == "PUT")
    result.faults = f"{kills} × SIGKILL of redis-server (1 s down each), restarted on its port"
    result.size = (
        f"8 writers and a health prober on {instances} `mathvisuals serve` processes: "
        f"{len(report.samples):,} requests, {writes:,} writes, "
        f"{len(report.acknowledged):,} acknowledged"
    )
    result.problems = report.problems
    result.details = [
        "answers while Redis was down: "
        + ", ".join(f"{code}: {n:,}" for code, n in sorted(down.items()))
        + " (a 200 there would be a memory fallback)",
        "recovery after redis-server answered again (every instance: health and a write 200): "
        + ", ".join(f"{ms} ms" for ms in report.recoveries_ms)
        + f" (limit {RECOVERY_LIMIT_S * 1000:.0f} ms)",
        f"acknowledged writes missing afterwards: {sum(1 for p in report.problems if 'lost' in p)} "
        f"of {len(report.acknowledged):,} (AOF, appendfsync always)",
    ]
    return result


async def _over_http(server: RedisServer, urls: list[str], kills: int) -> FaultReport:
    async with over_http(urls) as apis:
        return await run_faults(server, apis, kills=kills)
