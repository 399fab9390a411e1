"""The Lambda shape: cold start of the artefact in fresh processes, warm handler time, size."""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import json
import statistics
import subprocess
import sys
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.data import example_set
from bench.servers import REPO, BenchRedis
from mathvisuals import jsonfmt

COLD_RUNS = 20
WARM_EVENTS = 2000

# Runs in a fresh interpreter with -I -S: only the standard library and the unpacked artefact
# are importable, as in Lambda. -B: no bytecode is written, as /var/task is read-only, so an
# artefact without .pyc files is compiled again at every cold start. Interpreter start-up itself
# is timed by the parent.
COLD_SCRIPT = r"""
import sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from mathvisuals.api.lambda_handler import handler
imported = time.perf_counter()
import json
class Context:
    aws_request_id = "cold-start"
result = handler(json.loads(sys.argv[2]), Context())
answered = time.perf_counter()
sys.stderr.write("BENCH " + json.dumps({
    "import_ms": (imported - started) * 1000,
    "first_event_ms": (answered - imported) * 1000,
    "status": result["statusCode"],
    "boto3": "boto3" in sys.modules,
}) + "\n")
"""


@dataclass(frozen=True)
class Artefact:
    zip_bytes: int
    unzipped_bytes: int
    files: int
    has_boto3: bool
    largest: list[tuple[str, int]]  # top-level entries by unzipped size


@dataclass(frozen=True)
class LambdaFigures:
    artefact: Artefact
    cold_import_ms: float  # median
    cold_first_event_ms: float  # median
    cold_process_ms: float  # median wall time of the whole process, interpreter start included
    cold_pyc_import_ms: float  # the same with the artefact compiled to bytecode beforehand
    cold_pyc_first_event_ms: float
    import_handler_ms: float  # -X importtime, with bytecode: the handler module and its imports
    import_redis_ms: float  # the store's redis-py, imported on the first event
    warm_get_p50_ms: float
    warm_get_p99_ms: float
    warm_put_p50_ms: float
    warm_put_p99_ms: float


def event(method: str, path: str, query: str = "", body: object = None) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event on stage ``prod``."""
    payload: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": "/prod" + path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "origin": "https://example.org"},
        "requestContext": {
            "stage": "prod",
            "http": {"method": method, "path": "/prod" + path, "sourceIp": "203.0.113.1"},
            "requestId": "bench",
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        payload["body"] = jsonfmt.dumps_str(body)
    return payload


def build(workdir: Path) -> tuple[Path, Artefact]:
    """Build the artefact as ``up --target local`` does and unpack it."""
    from mathvisuals.deploy.artifact import build_artifact

    built = build_artifact(
        workdir / "artifact",
        python_version=None,
        cache_dir=REPO / ".mathvisuals" / "cache",
        verify_import=False,
    )
    unpacked = workdir / "unpacked"
    sizes: Counter[str] = Counter()
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(unpacked)
        infos = archive.infolist()
    for info in infos:
        sizes[info.filename.split("/", 1)[0]] += info.file_size
    artefact = Artefact(
        zip_bytes=built.size,
        unzipped_bytes=sum(info.file_size for info in infos),
        files=len(infos),
        has_boto3=any(name.startswith(("boto3/", "botocore/")) for name in built.manifest),
        largest=sizes.most_common(6),
    )
    return unpacked, artefact


def cold_starts(unpacked: Path, redis: BenchRedis, runs: int) -> list[dict[str, float]]:
    env = {**redis.env(), "MATHVISUALS_REQUIRE_KV": "true", "PATH": "/usr/bin:/bin"}
    get = json.dumps(event("GET", "/api/examples", "path=/bench"))
    samples: list[dict[str, float]] = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-c", COLD_SCRIPT, str(unpacked), get],
            env=env, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        wall = (time.perf_counter() - started) * 1000
        line = next(x for x in done.stderr.splitlines() if x.startswith("BENCH "))
        sample = json.loads(line[len("BENCH ") :])
        if sample["status"] != 200 or sample["boto3"]:
            raise RuntimeError(f"cold start answered {sample}")
        samples.append({**sample, "process_ms": wall})
    return samples


def import_times(unpacked: Path, runs: int = 5) -> tuple[float, float]:
    """Median cumulative import times (ms) of the handler, then of the Redis store on top."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "import mathvisuals.api.lambda_handler, mathvisuals.store.redis"
    )
    handler: list[float] = []
    store: list[float] = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-X", "importtime", "-c", code, str(unpacked)],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        cumulative = {}
        for line in done.stderr.splitlines():
            parts = line.removeprefix("import time:").split("|")
            if len(parts) == 3 and parts[1].strip().isdigit():
                cumulative[parts[2].strip()] = int(parts[1]) / 1000
        handler.append(cumulative["mathvisuals.api.lambda_handler"])
        store.append(cumulative["mathvisuals.store.redis"])
    return statistics.median(handler), statistics.median(store)


def warm(redis: BenchRedis, logfile: Path, events: int) -> dict[str, list[float]]:
    """Handler time per event for a warm handler in this process (logs go to a file)."""
    from mathvisuals.api.lambda_handler import build_handler
    from mathvisuals.logs import EventLog
    from mathvisuals.settings import Settings

    class Context:
        aws_request_id = "warm"

    with logfile.open("a", encoding="utf-8") as log:

        def sink(line: str) -> None:
            log.write(line + "\n")
            log.flush()

        handler = build_handler(Settings.from_env(redis.env()), EventLog(sink))
        put = event("PUT", "/api/examples", body=example_set("/bench"))
        get = event("GET", "/api/examples", "path=/bench")
        times: dict[str, list[float]] = {"GET": [], "PUT": []}
        try:
            for name, item in (("PUT", put), ("GET", get)):
                for index in range(events + 50):
                    started = time.perf_counter()
                    result = handler(item, Context())
                    elapsed = (time.perf_counter() - started) * 1000
                    if result["statusCode"] != 200:
                        raise RuntimeError(f"warm {name} answered {result['statusCode']}")
                    if index >= 50:  # the first events connect and warm caches
                        times[name].append(elapsed)
        finally:
            loop = asyncio.get_event_loop()
            loop.run_until_complete(handler.app.state.ctx.store.aclose())
            loop.close()
            asyncio.set_event_loop(None)
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(workdir: Path, redis: BenchRedis, *, quick: bool) -> LambdaFigures:
    unpacked, artefact = build(workdir)
    print(
        f"  artefact {artefact.zip_bytes / 1e6:.2f} MB zip, "
        f"{artefact.unzipped_bytes / 1e6:.2f} MB unzipped, boto3 inside: {artefact.has_boto3}",
        flush=True,
    )
    # The first event of each cold start writes /bench in kv: seed it once.
    with contextlib.closing(redis.client()) as client:
        client.flushall()
    times = warm(redis, workdir / "lambda-warm.log", WARM_EVENTS // 4 if quick else WARM_EVENTS)
    runs = 5 if quick else COLD_RUNS
    samples = cold_starts(unpacked, redis, runs)
    compileall.compile_dir(unpacked, quiet=1, workers=0)
    compiled = cold_starts(unpacked, redis, runs)
    import_handler, import_redis = import_times(unpacked)
    figures = LambdaFigures(
        artefact=artefact,
        cold_import_ms=statistics.median(s["import_ms"] for s in samples),
        cold_first_event_ms=statistics.median(s["first_event_ms"] for s in samples),
        cold_process_ms=statistics.median(s["process_ms"] for s in samples),
        cold_pyc_import_ms=statistics.median(s["import_ms"] for s in compiled),
        cold_pyc_first_event_ms=statistics.median(s["first_event_ms"] for s in compiled),
        import_handler_ms=import_handler,
        import_redis_ms=import_redis,
        warm_get_p50_ms=percentile(times["GET"], 0.5),
        warm_get_p99_ms=percentile(times["GET"], 0.99),
        warm_put_p50_ms=percentile(times["PUT"], 0.5),
        warm_put_p99_ms=percentile(times["PUT"], 0.99),
    )
    print(
        f"  cold start (median of {runs}): import {figures.cold_import_ms:.0f} ms + first "
        f"event {figures.cold_first_event_ms:.0f} ms; whole process {figures.cold_process_ms:.0f}"
        f" ms; with bytecode {figures.cold_pyc_import_ms:.0f} + "
        f"{figures.cold_pyc_first_event_ms:.0f} ms\n"
        f"  warm handler: GET p50 {figures.warm_get_p50_ms:.2f} ms p99 "
        f"{figures.warm_get_p99_ms:.2f} ms; PUT p50 {figures.warm_put_p50_ms:.2f} ms p99 "
        f"{figures.warm_put_p99_ms:.2f} ms",
        flush=True,
    )
    return figures
