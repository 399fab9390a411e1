"""``python -m bench [--quick] [--only NAME]``: run the harness, print figures, write the report.

A full run rewrites docs/performance.md; with ``--only`` the figures are printed only.
NAME is a scenario (``examples-get``, …), ``plain`` or ``tls`` (the Redis), ``http`` (all
scenarios), ``lambda`` or ``orchestrator``; it may be given several times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import api_load, data_transfer, lambda_shape, orchestrator, report, scenarios
from bench.load import redis_benchmark
from bench.servers import REPO, redis_servers

SECTIONS = ("http", "plain", "tls", "lambda", "orchestrator", "data")
CEILING_REQUESTS = 200_000


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 s per scenario instead of 10 s")
    parser.add_argument("--only", action="append", default=[], metavar="NAME")
    parser.add_argument(
        "--workers", type=int, default=2, help="extra rows with N workers (0: none)"
    )
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "performance.md")
    args = parser.parse_args(argv)
    only = set(args.only)
    seconds = 3.0 if args.quick else 10.0

    run = report.Run(dt.datetime.now(dt.UTC), seconds, load_before=_load_average())
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mv-bench-") as tmp:
        work = Path(tmp)
        every = scenarios.build(work / "bodies")
        names = {s.name for s in every}
        chosen = [s for s in every if not (only & names) or s.name in only]
        http = not only or bool(only & (names | {"http", "plain", "tls"}))
        redis_names = (only & {"plain", "tls"}) or {"plain", "tls"}
        with redis_servers(work) as servers:
            if http:
                for name, redis in servers.items():
                    if name not in redis_names:
                        continue
                    ceiling = redis_benchmark(redis.benchmark_args(), CEILING_REQUESTS)
                    run.ceilings[name] = ceiling
                    print(
                        f"redis-benchmark {name}: GET {ceiling.get_rps:,.0f}/s "
                        f"SET {ceiling.set_rps:,.0f}/s",
                        flush=True,
                    )
                    run.results += api_load.run_scenarios(redis, chosen, seconds, work / "logs")
                if http and args.workers > 1 and "plain" in redis_names:
                    headline = [s for s in chosen if s.upstream is not None]
                    print(f"{args.workers} workers, plain Redis:", flush=True)
                    run.results += api_load.run_scenarios(
                        servers["plain"], headline, seconds, work / "logs", workers=args.workers
                    )
                granian = Path(sys.executable).parent / "granian"
                if http and "plain" in redis_names and granian.exists():
                    headline = [s for s in chosen if s.upstream is not None]
                    print("granian (measured side by side, not a dependency), plain Redis:")
                    run.results += api_load.run_scenarios(
                        servers["plain"], headline, seconds, work / "logs", server_name="granian"
                    )
            if not only or "lambda" in only:
                print("Lambda shape (TLS Redis):", flush=True)
                run.lambda_figures = lambda_shape.measure(
                    work / "lambda", servers["tls"], quick=args.quick
                )
            if not only or "data" in only:
                print("data export/import (TLS Redis, inline pages):", flush=True)
                run.data_figures = data_transfer.measure(
                    work / "data", servers["tls"], quick=args.quick
                )
                print("\n".join(run.data_figures.rows()), flush=True)
        if not only or "orchestrator" in only:
            print("Orchestrator on the sandbox:", flush=True)
            run.commands = orchestrator.measure(work / "orchestrator")
    run.wall_seconds = time.monotonic() - started
    run.load_after = _load_average()
    print(f"done in {run.wall_seconds:.0f} s", flush=True)
    if only:
        print("(--only: docs/performance.md not rewritten)")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report.render(run), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
