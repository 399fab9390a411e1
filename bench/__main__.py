"""``python -m bench [--quick] [--only NAME]``: run the harness, print figures, write the report."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench import api_load, scenarios
from bench.load import redis_benchmark
from bench.servers import redis_servers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 s per scenario instead of 10 s")
    parser.add_argument("--only", action="append", default=[], help="a scenario or section name")
    args = parser.parse_args(argv)
    seconds = 3.0 if args.quick else 10.0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mv-bench-") as tmp:
        work = Path(tmp)
        chosen = [
            s for s in scenarios.build(work / "bodies")
            if not args.only or any(name in s.name for name in args.only)
        ]  # fmt: skip
        with redis_servers(work) as servers:
            for name, redis in servers.items():
                ceiling = redis_benchmark(redis.benchmark_args(), 100_000)
                print(f"redis-benchmark {name}: GET {ceiling.get_rps:,.0f}/s SET {ceiling.set_rps:,.0f}/s")
                api_load.run_scenarios(redis, chosen, seconds, work / "logs")
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
