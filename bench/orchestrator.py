"""The orchestrator on the sandbox: a full ``up`` from nothing, a converged one, AWS calls."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.servers import REPO

# Control-plane writes by operation name. lambda.Invoke (verify's requests through the function)
# is counted as a call, not as a mutation.
MUTATING = re.compile(
    r"^(?:[a-z0-9-]+)\.(?:Create|Delete|Put|Update|Modify|Execute|Set|Continue|Restore|Upload|"
    r"Tag|Untag|Attach|Detach|Add|Remove|Publish|Rotate|Register|Deregister)"
)


@dataclass(frozen=True)
class Command:
    name: str  # e.g. "up (from nothing)"
    seconds: float
    exit_code: int
    calls: dict[str, int]  # service.Operation → count
    reported_mutations: int | None  # the CLI's own count (``up --json``: mutating_calls)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def mutating_calls(self) -> int:
        return sum(n for op, n in self.calls.items() if MUTATING.match(op))


def local_config(workdir: Path) -> Path:
    """infra/environments/local.toml with its status report under ``workdir``."""
    text = (REPO / "infra" / "environments" / "local.toml").read_text(encoding="utf-8")
    report = workdir / "status" / "local"
    text = re.sub(r'(?m)^path = ".*"$', f'path = "{report}"', text)
    path = workdir / "local.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(workdir: Path, name: str, *args: str) -> Command:
    """One CLI command in a fresh process, in the bench's own state directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REDIS_"))}
    env["MATHVISUALS_STATE_DIR"] = str(workdir / "state")
    calls_file = workdir / f"calls-{len(list(workdir.glob('calls-*')))}.json"
    command = [sys.executable, "-m", "bench.aws_calls", str(calls_file), "--", *args,
               "--target", "local", "--config", str(local_config(workdir))]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    seconds = time.monotonic() - started
    (workdir / f"{name.split()[0]}-{len(list(workdir.glob('calls-*')))}.log").write_text(
        done.stdout + done.stderr, encoding="utf-8"
    )
    calls = json.loads(calls_file.read_text()) if calls_file.exists() else {}
    reported = None
    if "--json" in args and done.stdout.strip().startswith("{"):
        reported = json.loads(done.stdout).get("mutating_calls")
    result = Command(name, seconds, done.returncode, calls, reported)
    print(
        f"  {name:<22} {seconds:6.1f} s  exit {done.returncode}  AWS calls {result.total_calls}"
        f" (mutating {result.mutating_calls}"
        + (f", CLI reports {reported}" if reported is not None else "")
        + ")",
        flush=True,
    )
    return result


def measure(workdir: Path) -> list[Command]:
    workdir.mkdir(parents=True, exist_ok=True)
    commands: list[Command] = []
    try:
        commands.append(run(workdir, "up (from nothing)", "up", "--json"))
        commands.append(run(workdir, "up (converged)", "up", "--json"))
        commands.append(run(workdir, "plan", "plan", "--json"))
        commands.append(run(workdir, "verify", "verify", "--json"))
    finally:
        commands.append(run(workdir, "down", "down", "--json"))
    return commands
