"""Concurrency soak: many clients on several API instances mixing example, trash, SVG, figure and
settings traffic for a bounded time; afterwards every acknowledged write must be readable, every
index consistent with its keys and no trash entry lost.

Each client owns its example paths, SVG slugs and figure slugs, so the expected final state is
known exactly; the trash, four figure categories, one example path and the settings document are
shared, which is where concurrent writers race (WATCH/MULTI across instances, FIX-E).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from mathvisuals.sandbox.redis_server import RedisServer
from reliability import integrity
from reliability.harness import direct, over_http, redis_env, redis_server
from reliability.processes import api_servers
from reliability.result import Row, timed

PNG = "data:image/png;base64,iVBORw0KGgo="
CATEGORIES = tuple(f"soak-cat-{n}" for n in range(4))
SHARED_PATH = "/soak/shared"
TRASH_LIVE_CAP = 150  # below the 200 cap, so no acknowledged entry may be truncated away
CONFLICT = "Redis transaction conflict"


@dataclass
class SoakReport:
    clients: int
    instances: int
    seconds: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    acknowledged: int = 0
    conflicts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.requests.values())


@dataclass
class Expected:
    """What the database must hold at the end, from acknowledged (200) writes only."""

    examples: dict[str, list[Any] | None] = field(default_factory=dict)
    svg: dict[str, str | None] = field(default_factory=dict)
    figures: dict[str, str | None] = field(default_factory=dict)
    trash_added: set[str] = field(default_factory=set)
    trash_removed: set[str] = field(default_factory=set)
    shared_bodies: list[list[Any]] = field(default_factory=list)
    settings: list[Any] = field(default_factory=list)
    trash_live: int = 0


class Client:
    def __init__(
        self, number: int, apis: Sequence[httpx2.AsyncClient], rng: random.Random,
        expected: Expected, report: SoakReport,
    ) -> None:  # fmt: skip
        self.number = number
        self.apis = apis
        self.rng = rng
        self.expected = expected
        self.report = report
        self.version = 0
        self.own_trash: list[str] = []

    async def call(self, name: str, method: str, url: str, body: Any = None) -> Any:
        """One request to a random instance; the parsed 200 body, or None (counted) otherwise."""
        api = self.rng.choice(self.apis)
        self.report.requests[name] += 1
        try:
            response = await api.request(method, url, json=body)
        except httpx2.HTTPError as exc:
            self.report.problems.append(f"{name}: {type(exc).__name__}")
            return None
        self.report.statuses[response.status_code] += 1
        if response.status_code == 200:
            return response.json()
        if response.status_code == 404 and method in ("GET", "DELETE"):
            return {}  # the caller knows whether the entry should exist
        text = response.text
        if response.status_code == 503 and CONFLICT in text:
            self.report.conflicts[name] += 1  # FIX-E allows it; nothing was written
        else:
            self.report.problems.append(f"{name}: {response.status_code} {text[:120]}")
        return None

    def tag(self) -> str:
        self.version += 1
        return f"c{self.number}-v{self.version}"

    async def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.25:
            await self.put_example()
        elif roll < 0.35:
            await self.get_example()
        elif roll < 0.40:
            await self.delete_example()
        elif roll < 0.55:
            await self.trash()
        elif roll < 0.68:
            await self.svg()
        elif roll < 0.88:
            await self.figure()
        elif roll < 0.95:
            await self.shared_example()
        else:
            await self.settings()

    def path(self) -> str:
        return f"/soak/c{self.number}/p{self.rng.randrange(4)}"

    async def put_example(self) -> None:
        path, examples = self.path(), [{"title": self.tag(), "n": self.version}]
        body = {"examples": examples, "deletedProvided": []}
        got = await self.call("examples PUT", "PUT", f"/api/examples?path={path}", body)
        if got:
            self.expected.examples[path] = got["examples"]  # as sanitised and stored
            self.report.acknowledged += 1
            await self.check_example(path)

    async def get_example(self) -> None:
        path = self.path()
        if path in self.expected.examples:
            await self.check_example(path)

    async def check_example(self, path: str) -> None:
        """Read-your-writes through any instance: no cache may shadow Redis (FIX-G)."""
        got = await self.call("examples GET", "GET", f"/api/examples?path={path}")
        if got is None:
            return
        wanted = self.expected.examples.get(path)
        if (got.get("examples") if got else None) != wanted:
            self.report.problems.append(f"{path}: read {got.get('examples')} after {wanted}")

    async def delete_example(self) -> None:
        path = self.path()
        if await self.call("examples DELETE", "DELETE", f"/api/examples?path={path}"):
            self.expected.examples[path] = None
            self.report.acknowledged += 1

    async def shared_example(self) -> None:
        examples = [{"title": self.tag()}]
        body = {"examples": examples, "deletedProvided": []}
        got = await self.call(
            "examples PUT shared", "PUT", f"/api/examples?path={SHARED_PATH}", body
        )
        if got:
            self.expected.shared_bodies.append(got["examples"])
            self.report.acknowledged += 1

    async def trash(self) -> None:
        expected = self.expected
        if expected.trash_live >= TRASH_LIVE_CAP and self.own_trash:
            entry_id = self.own_trash.pop(self.rng.randrange(len(self.own_trash)))
            got = await self.call(
                "trash DELETE", "DELETE", f"/api/examples/trash?entryId={entry_id}"
            )
            if got is not None:
                expected.trash_removed.add(entry_id)
                expected.trash_live -= 1
                self.report.acknowledged += 1
            else:
                self.own_trash.append(entry_id)
            return
        entry_id = self.tag()
        expected.trash_live += 1  # reserved before the await, so the cap holds under races
        body = {"entries": [{"id": entry_id, "example": {"title": entry_id}}], "mode": "append"}
        got = await self.call("trash POST", "POST", "/api/examples/trash", body)
        if got is None:
            expected.trash_live -= 1
            return
        expected.trash_added.add(entry_id)
        self.own_trash.append(entry_id)
        self.report.acknowledged += 1
        if entry_id not in [item.get("id") for item in got["entries"]]:
            self.report.problems.append(f"trash POST {entry_id}: not in the returned list")

    async def svg(self) -> None:
        slug = f"soak/c{self.number}/s{self.rng.randrange(3)}"
        if self.rng.random() < 0.2:
            if await self.call("svg DELETE", "DELETE", f"/api/svg?slug={slug}"):
                self.expected.svg[slug] = None
                self.report.acknowledged += 1
            return
        markup = f"<svg id='{self.tag()}'/>"
        if await self.call(
            "svg POST", "POST", "/api/svg", {"slug": slug, "svg": markup, "png": PNG}
        ):
            self.expected.svg[slug] = markup
            self.report.acknowledged += 1

    async def figure(self) -> None:
        slug = f"soak-c{self.number}-f{self.rng.randrange(3)}"
        if self.rng.random() < 0.2:
            got = await self.call("figure DELETE", "DELETE", f"/api/figure-library?slug={slug}")
            if got == {} and self.expected.figures.get(slug) is not None:
                self.report.problems.append(f"figure DELETE {slug}: 404 for an acknowledged figure")
            elif got:
                self.expected.figures[slug] = None
                self.report.acknowledged += 1
            return
        category = self.rng.choice(CATEGORIES)
        body = {"slug": slug, "svg": f"<svg id='{self.tag()}'/>", "categoryId": category}
        if await self.call("figure POST", "POST", "/api/figure-library", body):
            self.expected.figures[slug] = category
            self.report.acknowledged += 1

    async def settings(self) -> None:
        colour = f"#{self.rng.randrange(0x1000000):06x}"
        body = {"settings": {"projects": {"kikora": {"graftegner": [colour]}}}}
        got = await self.call("settings PUT", "PUT", "/api/settings", body)
        if got is not None:
            self.expected.settings.append(got["settings"]["projects"])
            self.report.acknowledged += 1


async def run_soak(
    server: RedisServer,
    apis: Sequence[httpx2.AsyncClient],
    *,
    clients: int,
    seconds: float,
    rng_seed: int,
) -> SoakReport:
    """Drive ``clients`` concurrent clients over ``apis`` for ``seconds``, then check everything."""
    report = SoakReport(clients, len(apis))
    expected = Expected()
    workers = [
        Client(n, apis, random.Random(rng_seed * 1000 + n), expected, report)
        for n in range(clients)
    ]
    started = time.monotonic()
    deadline = started + seconds

    async def work(client: Client) -> None:
        while time.monotonic() < deadline:
            await client.step()

    await asyncio.gather(*(work(client) for client in workers))
    report.seconds = time.monotonic() - started
    with direct(server) as resp:
        snap = integrity.snapshot(resp)
    report.problems += integrity.check(snap)
    report.problems += final_state(snap, expected)
    report.problems += await integrity.api_readback(apis[0], snap)
    return report


def final_state(snap: integrity.Snapshot, expected: Expected) -> list[str]:
    """Every acknowledged write is what the database holds now."""
    problems: list[str] = []
    examples = snap.entries(integrity.EXAMPLES)
    for path, wanted in expected.examples.items():
        got = examples.get(path, {}).get("examples")
        if got != wanted:
            problems.append(f"examples {path}: holds {got}, the last acknowledged was {wanted}")
    if expected.shared_bodies and examples.get(SHARED_PATH, {}).get("examples") not in (
        expected.shared_bodies
    ):
        problems.append(f"examples {SHARED_PATH}: holds a body no client had acknowledged")
    svgs = snap.entries(integrity.SVG)
    for slug, markup in expected.svg.items():
        if (svgs.get(slug) or {}).get("svg") != markup:
            problems.append(f"svg {slug}: not the last acknowledged markup")
    figures = snap.entries(integrity.FIGURE)
    for slug, category in expected.figures.items():
        figure = figures.get(slug)
        if (figure is None) != (category is None):
            problems.append(f"figure {slug}: {'missing' if figure is None else 'not deleted'}")
        elif figure is not None and figure.get("categoryId") != category:
            problems.append(
                f"figure {slug}: in {figure.get('categoryId')}, acknowledged {category}"
            )
    stored = set(snap.trash_ids())
    live = expected.trash_added - expected.trash_removed
    for entry_id in sorted(live - stored):
        problems.append(f"trash {entry_id}: acknowledged append lost")
    for entry_id in sorted(stored & expected.trash_removed):
        problems.append(f"trash {entry_id}: acknowledged delete undone")
    settings = snap.value(integrity.SETTINGS) if integrity.SETTINGS in snap.strings else None
    if expected.settings and (settings or {}).get("projects") not in expected.settings:
        problems.append("settings: the stored document was never acknowledged")
    return problems


def row(work: Path, *, quick: bool, rng_seed: int) -> Row:
    instances, clients, seconds = (2, 16, 8.0) if quick else (3, 48, 30.0)
    result = Row("Concurrency soak", faults="none (contention only)")
    with (
        timed(result),
        redis_server(work / "soak") as server,
        api_servers(redis_env(server), instances, work / "soak" / "logs") as urls,
    ):
        report = asyncio.run(_over_http(server, urls, clients, seconds, rng_seed))
    writes = sum(n for name, n in report.requests.items() if "GET" not in name)
    result.size = (
        f"{clients} concurrent clients on {instances} `mathvisuals serve` processes for "
        f"{report.seconds:.0f} s: {report.total:,} requests, {writes:,} writes, "
        f"{report.acknowledged:,} acknowledged"
    )
    result.problems = report.problems
    conflicts = sum(report.conflicts.values())
    result.details = [
        "requests: " + ", ".join(f"{name} {n:,}" for name, n in sorted(report.requests.items())),
        "answers: " + ", ".join(f"{code}: {n:,}" for code, n in sorted(report.statuses.items())),
        f"503 `Redis transaction conflict` (FIX-E: WATCH retries exhausted, nothing written): "
        f"{conflicts}" + (f" ({dict(report.conflicts)})" if conflicts else ""),
        "checked: read-your-writes through a random instance after every PUT; at the end every "
        "acknowledged example, SVG and figure is the stored one, every acknowledged trash append "
        "is present and every acknowledged trash delete absent, the shared path and settings hold "
        "an acknowledged body, no orphan key or dangling member, figure/category links both ways",
    ]
    return result


async def _over_http(
    server: RedisServer, urls: list[str], clients: int, seconds: float, rng_seed: int
) -> SoakReport:
    async with over_http(urls) as apis:
        return await run_soak(server, apis, clients=clients, seconds=seconds, rng_seed=rng_seed)
