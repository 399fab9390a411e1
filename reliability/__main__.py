"""``python -m reliability [--quick] [--only NAME]``: run the scenarios and write the report."""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from reliability import (
    cli_input,
    fuzz,
    orchestrator_faults,
    races,
    recovery_table,
    redis_faults,
    report,
    secrets_scan,
    soak,
)
from reliability.processes import REPO
from reliability.result import Row

log = logging.getLogger("reliability")
Scenario = Callable[[Path, bool, int], Row]

SCENARIOS: dict[str, Scenario] = {
    "fuzz": lambda work, quick, seed: fuzz.row(work, quick=quick, rng_seed=seed),
    "soak": lambda work, quick, seed: soak.row(work, quick=quick, rng_seed=seed),
    "redis": lambda work, quick, seed: redis_faults.row(work, quick=quick),
    "races": lambda work, quick, seed: races.row(work, quick=quick),
    "orchestrator": lambda work, quick, seed: orchestrator_faults.row(work, quick=quick),
    "table": lambda work, quick, seed: recovery_table.row(),
    "secrets": lambda work, quick, seed: secrets_scan.row(work),
    "cli": lambda work, quick, seed: cli_input.row(work, quick=quick),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, same checks")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), default=[])
    parser.add_argument("--seed", type=int, help="hypothesis and client seed (default: random)")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "reliability.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    for noisy in ("httpx2", "httpx", "botocore", "hypothesis"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    chosen = [name for name in SCENARIOS if not args.only or name in args.only]
    started = time.monotonic()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="mv-reliability-") as tmp:
        for name in chosen:
            log.info("==> %s", name)
            row = SCENARIOS[name](Path(tmp), args.quick, seed)
            row.problems = [problem.replace(tmp, "…") for problem in row.problems]
            row.details = [detail.replace(tmp, "…") for detail in row.details]
            log.info("    %s in %.0f s: %s", row.outcome, row.seconds, row.size)
            for problem in row.problems[:10]:
                log.info("    - %s", problem)
            rows.append(row)
    written = report.write(rows, args.output, quick=args.quick, seconds=time.monotonic() - started)
    log.info("report: %s (seed %d)", written, seed)
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
