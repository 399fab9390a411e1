"""Races a failover provokes, and a burst beyond the Redis pool (issue #13).

* **Paused-write race.** ``CLIENT PAUSE <ms> WRITE`` holds every write while reads go on, as
  while a replica is promoted. A PUT of a path is sent, a GET of the same path 0.2 s later
  answers 404, and when the pause ends the PUT commits first. A read that repairs the index
  without WATCH then unlists the acknowledged entry for good; ours must leave it listed. The
  same is tried on the examples, SVG and figure lists with a dangling member.
* **Burst.** 500 concurrent PUTs on one ``mathvisuals serve`` process with a healthy Redis:
  every one must be answered 200 (the pool waits for a free connection instead of failing),
  and the log must carry no ``redis.error``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx2

from mathvisuals.sandbox.redis_server import RedisServer
from reliability.harness import direct, redis_env, redis_server
from reliability.processes import api_servers
from reliability.result import Row, timed

PAUSE_MS = 800
BURST = 500
PNG = "data:image/png;base64,iVBORw0KGgo="
EXAMPLE = {"examples": [{"title": "kept"}], "deletedProvided": []}

# (label, index key, key prefix, dangling member, write request, read URL)
LISTS: list[tuple[str, str, str, str, tuple[str, str, Any], str]] = [
    (
        "examples list",
        "examples:__paths__",
        "examples:",
        "/late",
        ("PUT", "/api/examples?path=/late", EXAMPLE),
        "/api/examples",
    ),
    (
        "svg list",
        "svg:__slugs__",
        "svg:",
        "late",
        ("POST", "/api/svg", {"slug": "late", "png": PNG, "svg": "<svg/>"}),
        "/api/svg",
    ),
    (
        "figure list",
        "figure:__slugs__",
        "figure:",
        "late",
        ("POST", "/api/figure-library", {"slug": "late", "svg": "<svg/>"}),
        "/api/figure-library",
    ),
]


async def _paused(
    server: RedisServer, api: httpx2.AsyncClient, write: tuple[str, str, Any], read: str
) -> tuple[int, int]:
    """Pause writes, send ``write`` now and ``read`` 0.2 s later; both statuses."""
    with direct(server) as client:
        client.command("CLIENT", "PAUSE", str(PAUSE_MS), "WRITE")
    method, url, body = write
    writer = asyncio.create_task(api.request(method, url, json=body))
    await asyncio.sleep(0.2)
    reader = await api.get(read)
    return (await writer).status_code, reader.status_code


def _listed(server: RedisServer, index: str, key: str, member: str) -> tuple[bool, bool]:
    with direct(server) as client:
        exists = client.command("EXISTS", key) == 1
        listed = client.command("SISMEMBER", index, member) == 1
    return exists, listed


async def race_rounds(server: RedisServer, api: httpx2.AsyncClient, rounds: int) -> list[str]:
    """The paused-write race, ``rounds`` times on a path GET and once per list."""
    problems: list[str] = []
    for number in range(rounds):
        path = f"/race{number}"
        written, read = await _paused(
            server,
            api,
            ("PUT", f"/api/examples?path={path}", EXAMPLE),
            f"/api/examples?path={path}",
        )
        exists, listed = _listed(server, "examples:__paths__", f"examples:{path}", path)
        if written != 200 or read != 404:
            problems.append(f"GET race {number}: PUT {written}, GET {read} (expected 200, 404)")
        if exists and not listed:
            problems.append(f"GET race {number}: {path} is stored but no longer listed")
    for label, index, prefix, member, write, read_url in LISTS:
        with direct(server) as client:
            client.command("SADD", index, member)
        written, read = await _paused(server, api, write, read_url)
        exists, listed = _listed(server, index, prefix + member, member)
        if written != 200 or read != 200:
            problems.append(f"{label} race: write {written}, list {read}")
        if exists and not listed:
            problems.append(f"{label} race: {member} is stored but no longer listed")
    return problems


async def burst(url: str, size: int) -> list[int]:
    """``size`` PUTs at once on one process; their statuses (0 for a transport failure)."""
    limits = httpx2.Limits(max_connections=size, max_keepalive_connections=size)
    async with httpx2.AsyncClient(base_url=url, timeout=30, limits=limits) as api:

        async def one(number: int) -> int:
            try:
                response = await api.put(f"/api/examples?path=/burst{number}", json=EXAMPLE)
            except httpx2.HTTPError:
                return 0
            return response.status_code

        return list(await asyncio.gather(*(one(n) for n in range(size))))


def redis_errors(log: Path) -> list[dict[str, Any]]:
    events = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{") and '"redis.error"' in line:
            events.append(json.loads(line))
    return events


def row(work: Path, *, quick: bool) -> Row:
    rounds = 3 if quick else 10
    result = Row("Races: paused writes and a burst")
    logs = work / "races" / "logs"
    with (
        timed(result),
        redis_server(work / "races") as server,
        api_servers(redis_env(server), 1, logs) as urls,
    ):
        problems = asyncio.run(_races(server, urls[0], rounds))
        statuses = asyncio.run(burst(urls[0], BURST))
    errors = redis_errors(logs / "api-0.log")
    failed = [status for status in statuses if status != 200]
    if failed:
        problems.append(f"burst: {len(failed)} of {BURST} requests failed ({sorted(set(failed))})")
    if errors:
        classes = sorted({str(event.get("error_class")) for event in errors})
        problems.append(f"burst: {len(errors)} redis.error lines ({', '.join(classes)})")
    result.faults = f"CLIENT PAUSE {PAUSE_MS} ms WRITE, {rounds + len(LISTS)} times"
    result.size = (
        f"{rounds} PUT/GET races on a path, one per list (examples, svg, figures); "
        f"a burst of {BURST} concurrent PUTs on one `mathvisuals serve` process"
    )
    result.problems = problems
    result.details = [
        "acknowledged entries unlisted by a read repair: "
        f"{sum(1 for p in problems if 'no longer listed' in p)} of {rounds + len(LISTS)}",
        f"burst answers: {len(statuses) - len(failed)} × 200, {len(failed)} other; "
        f"redis.error lines: {len(errors)}",
    ]
    return result


async def _races(server: RedisServer, url: str, rounds: int) -> list[str]:
    async with httpx2.AsyncClient(base_url=url, timeout=10) as api:
        return await race_rounds(server, api, rounds)
