"""Writes docs/performance.md from one run's figures."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.api_load import Result
from bench.data_transfer import DataFigures
from bench.lambda_shape import (
    BEFORE,
    NODE,
    REFERENCE_FLOOR_MS,
    WARM_ROUNDS,
    LambdaFigures,
    Restore,
)
from bench.load import Ceiling
from bench.orchestrator import Command
from bench.servers import REPO

UPSTREAM_CEILING = 90_000  # redis-benchmark GET/SET per second on upstream's machine (issue 6)
COLD_FACTOR = 0.6  # issue 15: cold start ≤ 0.6× upstream's
WARM_CPU_FACTOR = 0.4  # issue 15: warm CPU per call ≤ 0.4× upstream's
CONVERGED_GOAL_S = 10


@dataclass
class Run:
    started: dt.datetime
    seconds_per_scenario: float
    ceilings: dict[str, Ceiling] = field(default_factory=dict)  # "plain"/"tls" → figures
    results: list[Result] = field(default_factory=list)
    lambda_figures: LambdaFigures | None = None
    data_figures: DataFigures | None = None
    commands: list[Command] = field(default_factory=list)
    load_before: str = ""
    load_after: str = ""
    wall_seconds: float = 0.0


def _sh(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    commit = _sh("git", "-C", str(REPO), "rev-parse", "--short", "HEAD")
    dirty = (
        " (with uncommitted changes)" if _sh("git", "-C", str(REPO), "status", "--short") else ""
    )
    redis_version = _sh("redis-server", "--version").split(" sha")[0]
    wrk_version = (_sh("wrk", "--version") or "wrk").splitlines()[0].split(" Copyright")[0]
    return [
        f"- CPU: {os.cpu_count()} × {cpu}; memory {mem_kib / 1024**2:.1f} GiB; "
        f"Linux {platform.release()}",
        f"- Python {platform.python_version()}; {redis_version}; {wrk_version}",
        f"- commit {commit}{dirty}",
    ]


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _ceiling(run: Run, r: Result) -> float:
    ceiling = run.ceilings[r.redis]
    return ceiling.set_rps if r.scenario.writes else ceiling.get_rps


def server_choice(run: Run) -> list[str]:
    """granian beside uvicorn on the same scenarios in this run, and why serve keeps uvicorn."""
    by_row = {(r.scenario.name, r.redis, r.workers, r.server): r for r in run.results}
    pairs = [
        (r, by_row.get((r.scenario.name, r.redis, r.workers, "uvicorn")))
        for r in run.results
        if r.server == "granian"
    ]
    compared = [
        f"{g.scenario.name} {g.load.rps / u.load.rps:.2f}× the requests per second "
        f"({g.cpu_ms / u.cpu_ms:.2f}× the CPU per request)"
        for g, u in pairs
        if u is not None and u.load.rps > 0 and u.cpu_ms > 0
    ]
    if not compared:
        return ["", "granian was not measured in this run (`./dev bench` installs it)."]
    return [
        "",
        "The alternative server, measured side by side: under granian (2.x, one worker, its "
        "Rust HTTP/1 layer) the same app served "
        + "; ".join(compared)
        + " of uvicorn's in this run. `serve` stays on uvicorn all the same: its protocol "
        "gives each request a header deadline and a body deadline with a 408 "
        "(`mathvisuals/cli/serve_protocol.py`, issue 13), while granian bounds only the "
        "header read: a request whose body stopped half way held its granian connection open "
        "for the 90 s we watched (2.8.9, defaults). In "
        "production the API runs in Lambda, where neither server runs.",
    ]


def throughput_table(run: Run) -> list[str]:
    lines = [
        "| scenario | Redis | req/s | p50 ms | p99 ms | ratio to redis-benchmark | "
        "upstream's ratio | × upstream's ratio | goal (2× upstream's ratio) | "
        "upstream req/s (p99 ms) | × upstream | × upstream, machine-normalised | goal | "
        "round trips / request |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|---|---|",
    ]
    plain = run.ceilings.get("plain")
    for r in run.results:
        s, load = r.scenario, r.load
        ratio = load.rps / _ceiling(run, r)
        kind = "SET" if s.writes else "GET"
        up = s.upstream
        upstream = times = norm = "—"
        verdict = f"{s.goal} (no upstream figure)" if s.goal else ""
        if up is not None:
            upstream = f"{up.note or f'{up.rps:,.0f}'} ({up.p99_ms:g})"
            raw = load.rps / up.rps
            times = f"{raw:.2f}×"
            verdict = f"{s.goal}: {'met' if raw >= s.goal_factor else 'missed'}"
            if plain is not None:
                # Upstream ran against plain Redis: this machine's speed is its plain ceiling.
                machine = (plain.set_rps if s.writes else plain.get_rps) / UPSTREAM_CEILING
                normalised = raw / machine
                norm = f"{normalised:.2f}×"
                verdict += f" ({'met' if normalised >= s.goal_factor else 'missed'} normalised)"
            half = up.p99_ms / 2
            verdict += f"; p99 ≤ {half:g}: {'met' if load.p99_ms <= half else 'missed'}"
        up_ratio = times_ratio = ratio_goal = "—"
        if s.upstream_ratio is not None:
            low, high = s.upstream_ratio
            up_ratio = f"{low:.3f}" if low == high else f"{low:.3f}–{high:.3f}"
            times_ratio = (
                f"{ratio / low:.2f}×" if low == high else f"{ratio / high:.2f}–{ratio / low:.2f}×"
            )
            met = ratio >= 2 * high  # against upstream's best ratio
            ratio_goal = f"{'met' if met else 'missed'} ({ratio / high:.2f}×)"
        lines.append(
            f"| {r.label} | {r.redis} | {load.rps:,.0f} | {_ms(load.p50_ms)} | "
            f"{_ms(load.p99_ms)} | {ratio:.3f} of {kind} | {up_ratio} | {times_ratio} | "
            f"{ratio_goal} | {upstream} | {times} | {norm} | {verdict} | "
            f"{r.round_trips.describe()} |"
        )
    return lines


def resources_table(run: Run) -> list[str]:
    lines = [
        "| scenario | Redis | CPU ms / request | RSS idle → peak MiB | errors | "
        "new Redis connections while counting | Redis round trips / request under load |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for r in run.results:
        lines.append(
            f"| {r.label} | {r.redis} | {r.cpu_ms:.2f} | "
            f"{r.rss_idle_kib / 1024:.0f} → {r.rss_peak_kib / 1024:.0f} | {r.load.errors} | "
            f"{r.round_trips.connections} | {r.load_trips:.2f} |"
        )
    return lines


LIST_GOAL_US = 20  # issue 15: ≤ 20 µs of CPU per listed entry


def lists_section(run: Run) -> list[str]:
    lines = [
        "| list | Redis | entries | CPU ms / request | CPU µs / listed entry | "
        f"goal ≤ {LIST_GOAL_US} µs |",
        "|---|---|--:|--:|--:|---|",
    ]
    for r in run.results:
        n = r.scenario.entries
        if n < 100 or r.workers != 1 or r.server != "uvicorn":
            continue
        per_entry = r.cpu_ms * 1000 / n
        lines.append(
            f"| {r.scenario.name} | {r.redis} | {n} | {r.cpu_ms:.2f} | {per_entry:.1f} | "
            f"{'met' if per_entry <= LIST_GOAL_US else 'missed'} |"
        )
    return lines


def _verdict(value: float, goal: float) -> str:
    return f"{'met' if value <= goal else 'missed'}"


def snapstart_lines(restore: Restore | None, factor: float) -> list[str]:
    if restore is None:
        return ["- SnapStart: not measured (snapshot_restore_py, a dev extra, is not installed)."]
    return [
        "- SnapStart (`[api] snapstart = true`, off by default; `mathvisuals/api/snapstart.py`): "
        "the init Lambda snapshots (the handler built, primed with one `GET /api/health` through "
        f"TLS Redis, its pool closed) took {restore.init_ms:.0f} ms here, paid once per published "
        "version, at deploy. A restored process runs the after-restore hook, connects afresh and "
        f"answers the first event in {restore.restored_ms:.0f} ms here "
        f"({restore.restored_ms * factor:.0f} ms normalised; medians of {restore.runs}). "
        "Lambda's own restore of the snapshot comes on top and cannot be measured here "
        "(CloudWatch reports it as Restore Duration), so no verdict is drawn from it. SnapStart "
        "for Python is billed: a snapshot cache charge per GB-second while the version is "
        "active (3 hours at least) and a charge per GB restored (Lambda's pricing page); each "
        "deployment deletes the replaced version, so one snapshot is cached.",
    ]


def lambda_section(f: LambdaFigures) -> list[str]:
    a = f.artefact
    node, before = NODE, BEFORE
    cold_goal = COLD_FACTOR * node["total_ms"]
    cpu_goal = WARM_CPU_FACTOR * node["warm_cpu_ms"]
    largest = ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in a.largest)
    shipped, plain = f.shipped, f.no_bytecode
    factor = REFERENCE_FLOOR_MS / f.reference_floor_ms
    normalised = shipped.total_ms * factor
    rows = [
        ("process start → first response", "total_ms", shipped.total_ms, plain.total_ms),
        ("handler import", "import_ms", shipped.import_ms, plain.import_ms),
        ("first invocation", "first_ms", shipped.first_ms, plain.first_ms),
    ]
    lines = [
        f"The artefact `up` ships (`mathvisuals package --env prod`), unpacked and run by "
        f"Python 3.12 in a fresh process (`-I -S -B`) per cold start, against the TLS + AUTH "
        f"redis-server on loopback, with the event `GET /prod/api/examples?path=/bench`; "
        f"medians of {shipped.runs}. The Node column is upstream's handler (express + "
        "serverless-express + ioredis, Node 20) as measured in issue 15, kept as a fixed "
        "reference; 'issue 15' is ours as it shipped then.",
        "",
        "| | ours, as shipped now (bytecode) | same tree without bytecode | ours in issue 15 | "
        "upstream Node (fixed) | now ÷ Node |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for label, key, now, without in rows:
        lines.append(
            f"| {label} | {now:.0f} ms | {without:.0f} ms | {before[key]:.0f} ms | "
            f"{node[key]:.0f} ms | {now / node[key]:.2f}× |"
        )
    lines += [
        f"| warm CPU per call (GET, user + system) | {f.warm_cpu_ms:.3f} ms | | "
        f"{before['warm_cpu_ms']:.3f} ms | {node['warm_cpu_ms']:.3f} ms | "
        f"{f.warm_cpu_ms / node['warm_cpu_ms']:.2f}× |",
        f"| warm p99 (GET) | {f.warm_p99_ms:.2f} ms | | {before['warm_p99_ms']:.2f} ms | "
        f"{node['warm_p99_ms']:.2f} ms | {f.warm_p99_ms / node['warm_p99_ms']:.2f}× |",
        f"| RSS after warm-up | {f.rss_mib:.1f} MB | | {before['rss_mib']:.1f} MB | "
        f"{node['rss_mib']:.1f} MB | {f.rss_mib / node['rss_mib']:.2f}× |",
        "",
        f"- Goal, cold start ≤ {COLD_FACTOR:g}× upstream's ({cold_goal:.0f} ms): "
        f"{_verdict(shipped.total_ms, cold_goal)} ({shipped.total_ms:.0f} ms); "
        f"machine-normalised: {_verdict(normalised, cold_goal)} ({normalised:.0f} ms). "
        "The normalisation: a fresh process that imports the libraries whole (mangum, "
        "Starlette's request and response, `import redis.asyncio`; no code of ours, no I/O) "
        f"took {REFERENCE_FLOOR_MS:.0f} ms in the quiet run of commit b46a18e and "
        f"{f.reference_floor_ms:.0f} ms in this one, so this run's figure is scaled by "
        f"{factor:.2f}.",
        "- The libraries alone, imported as the store imports them (redis-py's package "
        "initialisers deferred, `mathvisuals/store/lean_import.py`), take "
        f"{f.floor_ms:.0f} ms here ({f.floor_ms * factor:.0f} ms normalised): the cold start "
        f"is {shipped.total_ms / f.floor_ms:.2f}× that floor, the rest being our modules, the "
        "TLS connection and the first request.",
        *snapstart_lines(f.restore, factor),
        f"- Goal, warm CPU per call ≤ {WARM_CPU_FACTOR:g}× upstream's ({cpu_goal:.3f} ms): "
        f"{_verdict(f.warm_cpu_ms, cpu_goal)} ({f.warm_cpu_ms:.3f} ms, the median of "
        f"{WARM_ROUNDS} rounds); machine-normalised by the same factor: "
        f"{_verdict(f.warm_cpu_ms * factor, cpu_goal)} ({f.warm_cpu_ms * factor:.3f} ms). That "
        "factor is an estimate here: part of a warm call is the kernel's loopback send to "
        "Redis, which need not slow down with the interpreter.",
        f"- Warm handler latency, GET p50 / p99 {f.warm_p50_ms:.2f} / {f.warm_p99_ms:.2f} ms; "
        f"PUT {f.warm_put_p50_ms:.2f} / {f.warm_put_p99_ms:.2f} ms.",
        f"- Artefact: {a.zip_bytes / 1e6:.2f} MB zip, {a.unzipped_bytes / 1e6:.2f} MB unzipped, "
        f"{a.files} files of which {a.pycs} pycs ({a.cache_tag or 'none'}, unchecked-hash); "
        f"boto3 inside: {'yes' if a.has_boto3 else 'no'}. Largest parts (unzipped): {largest}.",
        "",
        "### Imports (`-X importtime`, bytecode, medians of 5)",
        "",
        f"The handler module imports in {f.import_handler_ms:.0f} ms (cumulative); redis-py "
        f"and the Redis store, imported at the first event, add {f.import_redis_ms:.0f} ms. "
        "Self time by package: "
        + ", ".join(f"{name} {ms:.1f} ms" for name, ms in f.import_packages[:8])
        + ".",
        "",
        "| module (cumulative) | ms | module (self) | ms |",
        "|---|--:|---|--:|",
    ]
    for (cname, cms), (sname, sms) in zip(f.import_cumulative, f.import_self, strict=False):
        lines.append(f"| {cname} | {cms:.1f} | {sname} | {sms:.1f} |")
    return lines


def orchestrator_section(commands: Sequence[Command]) -> list[str]:
    lines = [
        "| command | wall time | AWS API calls | mutating calls (by operation) | "
        "mutating calls (CLI's count) | exit |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for c in commands:
        reported = "—" if c.reported_mutations is None else str(c.reported_mutations)
        lines.append(
            f"| `{c.name}` | {c.seconds:.1f} s | {c.total_calls} | {c.mutating_calls} | "
            f"{reported} | {c.exit_code} |"
        )
    converged = next((c for c in commands if c.name == "up (converged)"), None)
    if converged is not None:
        ok = converged.reported_mutations == 0 and converged.mutating_calls == 0
        fast = converged.seconds <= CONVERGED_GOAL_S
        lines += [
            "",
            f"Converged `up`: {converged.mutating_calls} mutating calls in "
            f"{converged.seconds:.1f} s (goal: 0 and ≤ {CONVERGED_GOAL_S} s: "
            f"{'met' if ok and fast else 'missed'}).",
        ]
    lines += ["", "Calls per operation:", ""]
    for c in commands:
        detail = ", ".join(f"{op} {n}" for op, n in sorted(c.calls.items()))
        lines.append(f"- `{c.name}`: {detail or 'none'}")
    return lines


def python_speed(run: Run) -> list[str]:
    """How fast this run's Python was against the quiet reference run: ratio goals hinge on it."""
    f = run.lambda_figures
    if f is None or f.reference_floor_ms <= 0:
        return []
    factor = f.reference_floor_ms / REFERENCE_FLOOR_MS
    return [
        f"- Python speed: a fresh process importing the libraries took {f.reference_floor_ms:.0f} "
        f"ms in this run against {REFERENCE_FLOOR_MS:.0f} ms in the quiet run of commit b46a18e, "
        f"so this run's Python was {factor:.2f}× as slow. `redis-benchmark` is C and varies "
        "less, so where that factor is well above 1 every ratio of a Python figure to the "
        "Redis ceiling below reads low by up to that much, and its verdict with it.",
    ]


def render(run: Run) -> str:
    out = [
        "# Performance",
        "",
        "Generated by `./dev bench` (`python -m bench`); do not edit by hand. Every figure below "
        "comes from one run on one machine, side by side: the API under `wrk -t2 -c32 -d"
        f"{run.seconds_per_scenario:g}s` (upstream's load shape) with the load generator, the "
        "server and Redis sharing the CPUs, and `redis-benchmark` (GET and SET, 32 clients) "
        "against the same Redis as the ceiling each scenario is set against.",
        "",
        f"Run {run.started:%Y-%m-%d %H:%M} UTC, {run.wall_seconds / 60:.1f} min; "
        f"load average before {run.load_before}, after {run.load_after}.",
        "",
        *machine(),
        *python_speed(run),
        "",
        "## Redis ceiling",
        "",
        "| Redis | GET/s | SET/s | GET p99 ms | SET p99 ms |",
        "|---|--:|--:|--:|--:|",
    ]
    for name, c in run.ceilings.items():
        out.append(
            f"| {name} | {c.get_rps:,.0f} | {c.set_rps:,.0f} | {c.get_p99_ms:g} | "
            f"{c.set_p99_ms:g} |"
        )
    out += [
        "",
        f"Upstream measured ~{UPSTREAM_CEILING:,} GET or SET per second on its machine; "
        "'× upstream, machine-normalised' divides '× upstream' by this machine's plain "
        f"ceiling over {UPSTREAM_CEILING:,}, which takes the machines' speed out of the "
        "comparison (upstream's figures are for Redis without TLS, so TLS rows are normalised "
        "by the plain ceiling too).",
        "",
        "## API throughput and latency",
        "",
        "One `mathvisuals serve` process (uvicorn, uvloop, httptools; rows marked granian run "
        "the same app factory under granian, measured only), kv mode, Redis with "
        "`requirepass` and no persistence; 'plain' is Redis without TLS (upstream's set-up), "
        "'tls' the same with TLS as in ElastiCache. Round trips are counted from "
        "`INFO commandstats` deltas over 20 sequential requests after the load: MULTI…EXEC "
        "counts once, every other command sent once; what a Lua script runs on the server "
        "(seen through MONITOR, which marks it `lua`) costs no round trip and is shown after "
        "'running'. Every list is one script (`store/redis.py`, LIST_SCRIPT) that reads its "
        "indexes and the values they list together; an SVG POST is a read-modify-write "
        "under WATCH (WATCH, MGET, MULTI…EXEC). Under load, reads that arrive while two are "
        "in flight wait for one of them to return and leave together (`store/coalesce.py`: "
        "one MGET, or one list script, with each key once): the last column of the "
        "resources table counts the round trips per request the load itself made. Every "
        "scenario asks for one key over and over, so a batch holds one distinct key: the "
        "best case for the round trip, though not for the HTTP and rendering work, which "
        "every request still does.",
        "",
        *throughput_table(run),
        "",
        *server_choice(run),
        "Server resources under the same load (CPU from /proc, RSS sampled every 100 ms; "
        "upstream's Node.js process used 82–168 MB):",
        "",
        *resources_table(run),
    ]
    out += [
        "",
        "### Lists: CPU per listed entry",
        "",
        "The server's CPU per request under the load above (HTTP, TLS, Redis client, "
        "rendering) divided by the entries the list answers. Stored records are decoded and "
        "sanitised once per (key, stored text) and memoised in the process with their JSON "
        "(`mathvisuals/store/rendered.py`); examples and SVG entries are then spliced into the "
        "response without being parsed, walked or encoded again, and figure-library entries "
        "and category views are memoised encoded, keyed on the stored texts of the figure and "
        "of the category it links to (`mathvisuals/api/figures.py`). Before issue 15 the "
        "200-entry examples list cost 40.8 ms (204 µs per entry) and the figure library "
        "6.58 ms (66 µs per figure).",
        "",
        *lists_section(run),
    ]
    if run.lambda_figures is not None:
        out += ["", "## Lambda shape", "", *lambda_section(run.lambda_figures)]
    if run.data_figures is not None:
        out += ["", "## data export and import", "", *run.data_figures.rows()]
    if run.commands:
        out += [
            "",
            "## Orchestrator on the sandbox",
            "",
            "`mathvisuals <command> --target local` in a fresh state directory (ministack and a "
            "TLS redis-server started by the first `up`; the dependency cache for the artefact "
            "and ministack's virtualenv are reused). AWS calls are counted by a botocore "
            "`before-call` hook in a bench-only wrapper (`bench/aws_calls.py`); "
            "`lambda.Invoke` (verify's round trips through the function) is a call, not a "
            "mutation.",
            "",
            *orchestrator_section(run.commands),
        ]
    return "\n".join(out) + "\n"
