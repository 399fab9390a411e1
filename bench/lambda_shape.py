"""The Lambda shape: cold start of the artefact as shipped, warm handler cost, imports, size.

The artefact is the one `up` ships to AWS (`mathvisuals package --env prod`: Python 3.12 wheels
for manylinux x86_64, with bytecode compiled by a Python 3.12), unpacked and run by a Python
3.12 in fresh processes against the TLS + AUTH redis-server, as Lambda would. The same tree
without its ``__pycache__`` directories is the artefact as it shipped before (no bytecode).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import shutil
import statistics
import subprocess
import time
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.data import example_set
from bench.servers import REPO, BenchRedis
from mathvisuals import jsonfmt

COLD_RUNS = 9
WARM_EVENTS = 2000
IMPORT_RUNS = 5

# Runs in a fresh interpreter with -I -S -B: only the standard library and the unpacked
# artefact are importable, as in Lambda, and nothing is written (/var/task is read-only).
# Times are epoch seconds, so the parent can count from before it started the process.
COLD_SCRIPT = r"""
import sys, time
entered = time.time()
sys.path.insert(0, sys.argv[1])
from mathvisuals.api.lambda_handler import handler
imported = time.time()
import json
class Context:
    aws_request_id = "cold-start"
result = handler(json.loads(sys.argv[2]), Context())
answered = time.time()
sys.stderr.write("BENCH " + json.dumps({
    "entered": entered, "imported": imported, "answered": answered,
    "status": result["statusCode"], "boto3": "boto3" in sys.modules,
}) + "\n")
"""

# A SnapStart cold start as far as it runs here: the init Lambda snapshots (the handler built
# and primed, its pool closed), then what a restored process does before answering (the
# after-restore hooks, a fresh TLS connection, the first event). Lambda's own restore of the
# snapshot is not part of it. argv[3] holds snapshot_restore_py, as /var/runtime does in Lambda.
RESTORE_SCRIPT = r"""
import sys, time
entered = time.time()
sys.path.insert(0, sys.argv[1])
sys.path.append(sys.argv[3])
import mathvisuals.api.lambda_handler as entry
import snapshot_restore_py as hooks
for func, args, kwargs in reversed(hooks.get_before_snapshot()):
    func(*args, **kwargs)
snapshot = time.time()
for func, args, kwargs in hooks.get_after_restore():
    func(*args, **kwargs)
import json
class Context:
    aws_request_id = "restored"
result = entry.handler(json.loads(sys.argv[2]), Context())
answered = time.time()
sys.stderr.write("BENCH " + json.dumps({
    "entered": entered, "snapshot": snapshot, "answered": answered,
    "status": result["statusCode"], "hooks": len(hooks.get_after_restore()),
}) + "\n")
"""

# The floor the libraries set: a fresh process that only imports what every cold start must
# (the Lambda adapter, Starlette's request and response, the redis-py modules the store names,
# with redis-py's package initialisers deferred as the store defers them), no I/O.
FLOOR_SCRIPT = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import mangum, starlette.requests, starlette.responses
from mathvisuals.store.lean_import import defer_package_init
defer_package_init("redis", "redis.asyncio")
import redis.exceptions, redis.asyncio.client, redis.asyncio.connection, redis.asyncio.retry
import redis.backoff
sys.stderr.write("BENCH %r\n" % time.time())
"""

# The same libraries imported whole (``import redis.asyncio``), as the floor was defined in the
# quiet run of commit b46a18e: comparing the two runs' figures for it gives the machine factor.
REFERENCE_FLOOR_SCRIPT = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import mangum, starlette.requests, starlette.responses, redis.asyncio
sys.stderr.write("BENCH %r\n" % time.time())
"""
REFERENCE_FLOOR_MS = 131.0  # REFERENCE_FLOOR_SCRIPT in that run (2026-12-02 15:44 UTC)

# A warm handler in one process: per-event wall time, CPU per event (user + system of the whole
# process, the median over WARM_ROUNDS rounds, so that a burst of noise on a shared machine moves
# one round, not the figure), RSS after the warm-up. Logs go to stdout (discarded).
WARM_ROUNDS = 10
WARM_SCRIPT = r"""
import json, os, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from mathvisuals.api.lambda_handler import handler
events = json.loads(sys.argv[2])
count = int(sys.argv[3])
rounds = int(sys.argv[4])
class Context:
    aws_request_id = "warm"
out = {}
for name, event in events.items():
    for _ in range(50):
        assert handler(event, Context())["statusCode"] == 200
    times, per_round = [], []
    for _ in range(rounds):
        cpu = time.process_time()
        for _ in range(count // rounds):
            started = time.perf_counter()
            handler(event, Context())
            times.append((time.perf_counter() - started) * 1000)
        per_round.append((time.process_time() - cpu) * 1000 / (count // rounds))
    out[name] = {"times": times, "cpu_ms": statistics.median(per_round), "rounds": per_round}
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:"))
out["rss_kib"] = rss
sys.stderr.write("BENCH " + json.dumps(out) + "\n")
"""

# The table (same machine kind, same event, fresh processes, medians of 5).
NODE = {
    "total_ms": 244.0,
    "import_ms": 63.0,
    "first_ms": 141.0,
    "warm_cpu_ms": 0.731,
    "warm_p99_ms": 4.05,
    "rss_mib": 113.7,
}
BEFORE = {  # ours as shipped when the issue was filed
    "total_ms": 565.0,
    "import_ms": 207.0,
    "first_ms": 322.0,
    "warm_cpu_ms": 0.384,
    "warm_p99_ms": 1.06,
    "rss_mib": 52.6,
}


@dataclass(frozen=True)
class Artefact:
    zip_bytes: int
    unzipped_bytes: int
    files: int
    pycs: int
    cache_tag: str | None
    has_boto3: bool
    largest: list[tuple[str, int]]  # top-level entries by unzipped size


@dataclass(frozen=True)
class Restore:
    init_ms: float  # process start → snapshot taken (paid once per published version)
    restored_ms: float  # after-restore hooks → first response (every SnapStart cold start)
    runs: int


@dataclass(frozen=True)
class Cold:
    total_ms: float  # process start → first response
    import_ms: float
    first_ms: float
    runs: int


@dataclass
class LambdaFigures:
    artefact: Artefact
    interpreter: str
    shipped: Cold
    no_bytecode: Cold
    warm_cpu_ms: float
    warm_p50_ms: float
    warm_p99_ms: float
    warm_put_p50_ms: float
    warm_put_p99_ms: float
    rss_mib: float
    import_handler_ms: float
    import_redis_ms: float
    floor_ms: float  # process start → the libraries imported (FLOOR_SCRIPT), median
    reference_floor_ms: float  # the same for REFERENCE_FLOOR_SCRIPT
    restore: Restore | None = None  # SnapStart, when snapshot_restore_py is installed
    import_self: list[tuple[str, float]] = field(default_factory=list)  # module, ms (self)
    import_cumulative: list[tuple[str, float]] = field(default_factory=list)
    import_packages: list[tuple[str, float]] = field(default_factory=list)


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


def build(workdir: Path) -> tuple[Path, Artefact, Path]:
    """Build the artefact exactly as `up` does for AWS, unpack it; (tree, facts, python3.12)."""
    from mathvisuals.deploy.artifact import build_artifact
    from mathvisuals.deploy.bytecode import find_interpreter

    interpreter = find_interpreter("3.12")
    if interpreter is None:
        raise RuntimeError("the Lambda shape needs a Python 3.12 (PATH or pyenv)")
    built = build_artifact(
        workdir / "artifact",
        python_version="3.12",
        platform="manylinux2014_x86_64",
        cache_dir=REPO / ".mathvisuals" / "cache",
        bytecode="required",
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
        pycs=sum(1 for info in infos if info.filename.endswith(".pyc")),
        cache_tag=built.bytecode,
        has_boto3=any(name.startswith(("boto3/", "botocore/")) for name in built.manifest),
        largest=sizes.most_common(6),
    )
    return unpacked, artefact, interpreter.path


def without_bytecode(unpacked: Path, dest: Path) -> Path:
    shutil.copytree(unpacked, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def cold_start(python: Path, tree: Path, redis: BenchRedis) -> dict[str, float]:
    """One cold start in a fresh process: total, import and first-event times in ms."""
    env = {**redis.env(), "MATHVISUALS_REQUIRE_KV": "true", "PATH": "/usr/bin:/bin"}
    get = json.dumps(event("GET", "/api/examples", "path=/bench"))
    started = time.time()
    done = subprocess.run(
        [str(python), "-I", "-S", "-B", "-c", COLD_SCRIPT, str(tree), get],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    line = next(x for x in done.stderr.splitlines() if x.startswith("BENCH "))
    sample = json.loads(line[len("BENCH ") :])
    if sample["status"] != 200 or sample["boto3"]:
        raise RuntimeError(f"cold start answered {sample}")
    return {
        "total_ms": (sample["answered"] - started) * 1000,
        "import_ms": (sample["imported"] - sample["entered"]) * 1000,
        "first_ms": (sample["answered"] - sample["imported"]) * 1000,
    }


def restore_runtime(workdir: Path) -> Path | None:
    """A directory holding only snapshot_restore_py (the dev extra), as Lambda's runtime has."""
    spec = importlib.util.find_spec("snapshot_restore_py")
    if spec is None or spec.origin is None:
        return None
    runtime = workdir / "runtime"
    runtime.mkdir(exist_ok=True)
    shutil.copy(spec.origin, runtime / "snapshot_restore_py.py")
    return runtime


def restored_start(python: Path, tree: Path, runtime: Path, redis: BenchRedis) -> dict[str, float]:
    """One SnapStart init and restore in a fresh process, in ms."""
    env = {**redis.env(), "MATHVISUALS_REQUIRE_KV": "true", "PATH": "/usr/bin:/bin",
           "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}  # fmt: skip
    get = json.dumps(event("GET", "/api/examples", "path=/bench"))
    started = time.time()
    done = subprocess.run(
        [str(python), "-I", "-S", "-B", "-c", RESTORE_SCRIPT, str(tree), get, str(runtime)],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    line = next(x for x in done.stderr.splitlines() if x.startswith("BENCH "))
    sample = json.loads(line[len("BENCH ") :])
    if sample["status"] != 200 or sample["hooks"] != 1:
        raise RuntimeError(f"SnapStart restore answered {sample}")
    return {
        "init_ms": (sample["snapshot"] - started) * 1000,
        "restored_ms": (sample["answered"] - sample["snapshot"]) * 1000,
    }


def cold(samples: list[dict[str, float]]) -> Cold:
    return Cold(
        total_ms=statistics.median(s["total_ms"] for s in samples),
        import_ms=statistics.median(s["import_ms"] for s in samples),
        first_ms=statistics.median(s["first_ms"] for s in samples),
        runs=len(samples),
    )


def floor(python: Path, tree: Path, script: str) -> float:
    """One fresh process that imports the libraries: process start → imported, in ms."""
    started = time.time()
    done = subprocess.run(
        [str(python), "-I", "-S", "-B", "-c", script, str(tree)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    line = next(x for x in done.stderr.splitlines() if x.startswith("BENCH "))
    return (float(line[len("BENCH ") :]) - started) * 1000


def cold_rounds(
    python: Path, unpacked: Path, plain: Path, redis: BenchRedis, runtime: Path | None
) -> dict[str, Any]:
    """COLD_RUNS rounds, each one of every kind in turn, so a noisy spell hits all alike."""
    restores: list[dict[str, float]] = []
    shipped: list[dict[str, float]] = []
    no_bytecode: list[dict[str, float]] = []
    floors: list[float] = []
    references: list[float] = []
    for _ in range(COLD_RUNS):
        shipped.append(cold_start(python, unpacked, redis))
        no_bytecode.append(cold_start(python, plain, redis))
        floors.append(floor(python, unpacked, FLOOR_SCRIPT))
        references.append(floor(python, unpacked, REFERENCE_FLOOR_SCRIPT))
        if runtime is not None:
            restores.append(restored_start(python, unpacked, runtime, redis))
    restore = None
    if restores:
        restore = Restore(
            init_ms=statistics.median(r["init_ms"] for r in restores),
            restored_ms=statistics.median(r["restored_ms"] for r in restores),
            runs=len(restores),
        )
    return {
        "restore": restore,
        "shipped": cold(shipped),
        "no_bytecode": cold(no_bytecode),
        "floor": statistics.median(floors),
        "reference": statistics.median(references),
    }


def warm(python: Path, tree: Path, redis: BenchRedis, count: int) -> dict[str, Any]:
    env = {**redis.env(), "MATHVISUALS_REQUIRE_KV": "true", "PATH": "/usr/bin:/bin"}
    events = {
        "PUT": event("PUT", "/api/examples", body=example_set("/bench")),
        "GET": event("GET", "/api/examples", "path=/bench"),
    }
    done = subprocess.run(
        [str(python), "-I", "-S", "-B", "-c", WARM_SCRIPT, str(tree), json.dumps(events),
         str(count), str(WARM_ROUNDS)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True,
        timeout=600,
    )  # fmt: skip
    line = next(x for x in done.stderr.splitlines() if x.startswith("BENCH "))
    result: dict[str, Any] = json.loads(line[len("BENCH ") :])
    return result


def import_times(python: Path, tree: Path, runs: int = IMPORT_RUNS) -> dict[str, Any]:
    """-X importtime of the handler, then the Redis store on top as the first event imports it;
    medians over ``runs``."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "import mathvisuals.api.lambda_handler; from mathvisuals.store import redis_store; "
        "redis_store()"
    )
    selfs: defaultdict[str, list[float]] = defaultdict(list)
    cumulative: defaultdict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        done = subprocess.run(
            [str(python), "-I", "-S", "-B", "-X", "importtime", "-c", code, str(tree)],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        for line in done.stderr.splitlines():
            parts = line.removeprefix("import time:").split("|")
            if len(parts) == 3 and parts[1].strip().isdigit():
                name = parts[2].strip()
                selfs[name].append(int(parts[0]) / 1000)
                cumulative[name].append(int(parts[1]) / 1000)
    self_ms = {name: statistics.median(v) for name, v in selfs.items()}
    packages: defaultdict[str, float] = defaultdict(float)
    for name, ms in self_ms.items():
        top = name.split(".")[0]
        packages[top if (tree / top).exists() or (tree / f"{top}.py").exists() else "stdlib"] += ms
    return {
        "handler": statistics.median(cumulative["mathvisuals.api.lambda_handler"]),
        "redis": statistics.median(cumulative["mathvisuals.store.redis"]),
        "self": sorted(self_ms.items(), key=lambda item: -item[1])[:12],
        "cumulative": sorted(
            ((n, statistics.median(v)) for n, v in cumulative.items()), key=lambda i: -i[1]
        )[:12],
        "packages": sorted(packages.items(), key=lambda item: -item[1]),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(workdir: Path, redis: BenchRedis, *, quick: bool) -> LambdaFigures:
    unpacked, artefact, python = build(workdir)
    print(
        f"  artefact {artefact.zip_bytes / 1e6:.2f} MB zip, "
        f"{artefact.unzipped_bytes / 1e6:.2f} MB unzipped, {artefact.pycs} pycs "
        f"({artefact.cache_tag}), boto3 inside: {artefact.has_boto3}; run by {python}",
        flush=True,
    )
    with contextlib.closing(redis.client()) as client:
        client.flushall()
        client.set("examples:/bench", jsonfmt.dumps_str(example_set("/bench")))
        client.sadd("examples:__paths__", "/bench")
    plain_tree = without_bytecode(unpacked, workdir / "no-pyc")
    rounds = cold_rounds(python, unpacked, plain_tree, redis, restore_runtime(workdir))
    shipped, plain = rounds["shipped"], rounds["no_bytecode"]
    floor_ms, reference_floor_ms = rounds["floor"], rounds["reference"]
    warm_figures = warm(python, unpacked, redis, WARM_EVENTS // 4 if quick else WARM_EVENTS)
    imports = import_times(python, unpacked)
    figures = LambdaFigures(
        artefact=artefact,
        interpreter=str(python),
        shipped=shipped,
        no_bytecode=plain,
        warm_cpu_ms=warm_figures["GET"]["cpu_ms"],
        warm_p50_ms=percentile(warm_figures["GET"]["times"], 0.5),
        warm_p99_ms=percentile(warm_figures["GET"]["times"], 0.99),
        warm_put_p50_ms=percentile(warm_figures["PUT"]["times"], 0.5),
        warm_put_p99_ms=percentile(warm_figures["PUT"]["times"], 0.99),
        rss_mib=warm_figures["rss_kib"] / 1024,
        import_handler_ms=imports["handler"],
        import_redis_ms=imports["redis"],
        floor_ms=floor_ms,
        reference_floor_ms=reference_floor_ms,
        restore=rounds["restore"],
        import_self=imports["self"],
        import_cumulative=imports["cumulative"],
        import_packages=imports["packages"],
    )
    print(
        f"  cold start (median of {COLD_RUNS}), as shipped: {shipped.total_ms:.0f} ms "
        f"(import {shipped.import_ms:.0f} + first event {shipped.first_ms:.0f}); without "
        f"bytecode {plain.total_ms:.0f} ms; the libraries alone {floor_ms:.0f} ms "
        f"(imported whole {reference_floor_ms:.0f} ms)\n"
        + (
            f"  SnapStart: init {figures.restore.init_ms:.0f} ms (once per version), restore → "
            f"first response {figures.restore.restored_ms:.0f} ms\n"
            if figures.restore
            else "  SnapStart: not measured (snapshot_restore_py is not installed)\n"
        )
        + f"  warm GET: CPU {figures.warm_cpu_ms:.3f} ms/call, p50 {figures.warm_p50_ms:.2f} ms, "
        f"p99 {figures.warm_p99_ms:.2f} ms; RSS {figures.rss_mib:.1f} MiB",
        flush=True,
    )
    return figures
