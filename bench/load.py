"""Load generation with ``wrk`` (same shape as upstream's figures: -t2 -c32) and its parsing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("wrk.lua")
THREADS = 2
CONNECTIONS = 32


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Path | None = None


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors, timeouts and non-2xx/3xx responses

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def parse(output: str) -> LoadResult:
    """The ``BENCH {…}`` line that bench/wrk.lua prints from done()."""
    for line in output.splitlines():
        if line.startswith("BENCH "):
            data = json.loads(line[len("BENCH ") :])
            errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
            return LoadResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p90_ms=data["p90_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                max_ms=data["max_us"] / 1000,
                errors=errors,
            )
    raise RuntimeError(f"wrk printed no BENCH line:\n{output}")


def wrk(
    base: str,
    requests: Sequence[Request],
    seconds: float,
    *,
    threads: int = THREADS,
    connections: int = CONNECTIONS,
) -> LoadResult:
    """Run wrk against ``base`` cycling through ``requests`` on every connection."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        for item in requests:
            listing.write(f"{item.method} {item.path} {item.body or ''}\n")
    try:
        done = subprocess.run(
            [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "5s",
             "-s", str(SCRIPT), base + requests[0].path],
            env={**os.environ, "BENCH_REQUESTS": listing.name},
            capture_output=True, text=True, check=True, timeout=seconds + 30,
        )  # fmt: skip
    finally:
        Path(listing.name).unlink()
    return parse(done.stdout)


@dataclass(frozen=True)
class Ceiling:
    """``redis-benchmark`` GET and SET per second: the ceiling each scenario is set against."""

    get_rps: float
    set_rps: float
    get_p99_ms: float
    set_p99_ms: float


def redis_benchmark(args: Sequence[str], requests: int, connections: int = CONNECTIONS) -> Ceiling:
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise RuntimeError("redis-benchmark is not installed (apt-get install redis-tools)")
    done = subprocess.run(
        [binary, *args, "-t", "get,set", "-n", str(requests), "-c", str(connections), "--csv"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    rows: dict[str, dict[str, float]] = {}
    header: list[str] = []
    for line in done.stdout.splitlines():
        cells = [cell.strip('"') for cell in line.split(",")]
        if cells[0] == "test":
            header = cells
        elif header and len(cells) == len(header):
            rows[cells[0]] = {
                name: float(value) for name, value in zip(header[1:], cells[1:], strict=True)
            }
    return Ceiling(
        get_rps=rows["GET"]["rps"],
        set_rps=rows["SET"]["rps"],
        get_p99_ms=rows["GET"]["p99_latency_ms"],
        set_p99_ms=rows["SET"]["p99_latency_ms"],
    )
