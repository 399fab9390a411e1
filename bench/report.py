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
from bench.lambda_shape import LambdaFigures
from bench.load import Ceiling
from bench.orchestrator import Command
from bench.servers import REPO

UPSTREAM_CEILING = 90_000  # redis-benchmark GET/SET per second on upstream's machine (issue 6)
COLD_GOAL_MS = 250
WARM_GOAL_MS = 2
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


def throughput_table(run: Run) -> list[str]:
    lines = [
        "| scenario | Redis | req/s | p50 ms | p99 ms | ratio to redis-benchmark | "
        "upstream req/s (p99 ms) | × upstream | × upstream, machine-normalised | goal | "
        "round trips / request |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|",
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
        name = s.name + (f" ({r.workers} workers)" if r.workers != 1 else "")
        lines.append(
            f"| {name} | {r.redis} | {load.rps:,.0f} | {_ms(load.p50_ms)} | {_ms(load.p99_ms)} | "
            f"{ratio:.3f} of {kind} | {upstream} | {times} | {norm} | {verdict} | "
            f"{r.round_trips.describe()} |"
        )
    return lines


def resources_table(run: Run) -> list[str]:
    lines = [
        "| scenario | Redis | CPU ms / request | RSS idle → peak MiB | errors | "
        "new Redis connections while counting |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for r in run.results:
        name = r.scenario.name + (f" ({r.workers} workers)" if r.workers != 1 else "")
        lines.append(
            f"| {name} | {r.redis} | {r.cpu_ms:.2f} | "
            f"{r.rss_idle_kib / 1024:.0f} → {r.rss_peak_kib / 1024:.0f} | {r.load.errors} | "
            f"{r.round_trips.connections} |"
        )
    return lines


def lambda_section(f: LambdaFigures) -> list[str]:
    a = f.artefact
    cold = f.cold_import_ms + f.cold_first_event_ms
    largest = ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in a.largest)
    return [
        "| figure | value | goal |",
        "|---|--:|---|",
        f"| cold: import handler + first event (median of 20, as shipped: no bytecode) | "
        f"{f.cold_import_ms:.0f} + {f.cold_first_event_ms:.0f} = {cold:.0f} ms | "
        f"≤ {COLD_GOAL_MS} ms: {'met' if cold <= COLD_GOAL_MS else 'missed'} |",
        f"| cold: whole process, interpreter start-up included | {f.cold_process_ms:.0f} ms | |",
        f"| cold with bytecode compiled ahead (import + first event) | "
        f"{f.cold_pyc_import_ms:.0f} + {f.cold_pyc_first_event_ms:.0f} = "
        f"{f.cold_pyc_import_ms + f.cold_pyc_first_event_ms:.0f} ms | "
        "what shipping .pyc would buy |",
        f"| of which imports (bytecode, -X importtime): handler module / redis-py at first "
        f"event | {f.import_handler_ms:.0f} / {f.import_redis_ms:.0f} ms | |",
        f"| warm GET /api/examples?path=/bench, TLS Redis: handler p50 / p99 | "
        f"{f.warm_get_p50_ms:.2f} / {f.warm_get_p99_ms:.2f} ms | "
        f"p50 ≤ {WARM_GOAL_MS} ms: {'met' if f.warm_get_p50_ms <= WARM_GOAL_MS else 'missed'} |",
        f"| warm PUT /api/examples, TLS Redis: handler p50 / p99 | "
        f"{f.warm_put_p50_ms:.2f} / {f.warm_put_p99_ms:.2f} ms | |",
        f"| artefact | {a.zip_bytes / 1e6:.2f} MB zip, {a.unzipped_bytes / 1e6:.2f} MB unzipped, "
        f"{a.files} files | boto3 inside: {'yes' if a.has_boto3 else 'no'} |",
        "",
        f"Largest parts of the artefact (unzipped): {largest}.",
    ]


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
        "One `mathvisuals serve` process (uvicorn, uvloop, httptools), kv mode, Redis with "
        "`requirepass` and no persistence; 'plain' is Redis without TLS (upstream's set-up), "
        "'tls' the same with TLS as in ElastiCache. Round trips are counted from "
        "`INFO commandstats` deltas over 20 sequential requests after the load: MULTI…EXEC "
        "counts once, every other command once. The figure library lists two indexes "
        "(figures and categories): both SMEMBERS in one pipeline, then one MGET, so two "
        "round trips counted here as three commands; an SVG POST is a read-modify-write "
        "under WATCH (WATCH, MGET, MULTI…EXEC).",
        "",
        *throughput_table(run),
        "",
        "Server resources under the same load (CPU from /proc, RSS sampled every 100 ms; "
        "upstream's Node.js process used 82–168 MB):",
        "",
        *resources_table(run),
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
