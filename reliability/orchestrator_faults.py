"""Orchestrator faults on the sandbox: ``mathvisuals up`` killed with SIGKILL at several points.

Each point starts from nothing (its own ``MATHVISUALS_STATE_DIR``), kills the run when its
progress output reaches the point, then requires: the next ``up`` succeeds and verifies, the
data stack is never recreated, a further ``up`` makes no mutating call, and ``down`` leaves no
process behind. One more point kills an update between the allow-list parameters and the api.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reliability.processes import REPO, Completed, child_env, run_cli, spawn_cli
from reliability.result import Row, timed

LOCAL = REPO / "infra" / "environments" / "local.toml"


@dataclass(frozen=True)
class KillPoint:
    name: str
    marker: str | None  # kill when a progress line contains this
    delay: float = 0.0  # or this many seconds after the start


POINTS = (
    KillPoint("starting the sandbox", None, 0.8),
    KillPoint("building the artefact", "✓ preflight"),
    KillPoint("artefact uploaded (lock held)", "✓ artefact"),
    KillPoint("secret created", "✓ secret"),
    KillPoint("data stack executing", "math-visuals-data-local Vpc CREATE_IN_PROGRESS"),
    KillPoint("api stack executing", "math-visuals-api-local ApiFunction CREATE_IN_PROGRESS"),
    KillPoint("verifying", "✓ api"),
)
UPDATE_POINT = KillPoint("update: allow-lists written, api not yet", "✓ allow-lists")


@dataclass
class PointResult:
    point: KillPoint
    last_line: str = ""
    printed: list[str] = field(default_factory=list)
    killed_after: float = 0.0
    recovery_seconds: float = 0.0
    steps: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Environment:
    """One sandbox run: its state folder, its config (status report kept inside it)."""

    def __init__(self, root: Path, origins: tuple[str, ...] = ()) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.config = root / "local.toml"
        self.write_config(origins)
        self.env = child_env({"MATHVISUALS_STATE_DIR": str(root / "state")})
        self.outputs: list[Completed] = []

    def write_config(self, extra_origins: tuple[str, ...] = ()) -> None:
        text = LOCAL.read_text(encoding="utf-8").replace(
            'path = ".mathvisuals/status/local"', f'path = "{self.root / "status" / "local"}"'
        )
        if extra_origins:
            listed = ", ".join(f'"{o}"' for o in ("http://localhost:5173", *extra_origins))
            text = text.replace(
                'allowed_origins = ["http://localhost:5173", "http://127.0.0.1:5173"]',
                f"allowed_origins = [{listed}]",
            )
        self.config.write_text(text, encoding="utf-8")

    def args(self, command: str, *extra: str) -> list[str]:
        return [command, "--config", str(self.config), "--target", "local", *extra]

    def run(self, command: str, *extra: str) -> Completed:
        done = run_cli(self.args(command, *extra), self.env)
        self.outputs.append(done)
        return done

    def up_json(self) -> tuple[Completed, dict[str, Any]]:
        done = self.run("up", "--json")
        try:
            return done, json.loads(done.stdout)
        except ValueError:
            return done, {}

    def leftovers(self) -> list[int]:
        """PIDs of processes still running from this state folder (cwd or command line)."""
        state = str((self.root / "state").resolve())
        found: list[int] = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
                cwd = str((proc / "cwd").resolve())
            except OSError:
                continue
            if state in cmdline or cwd.startswith(state):
                found.append(int(proc.name))
        return found


def kill_at(environment: Environment, point: KillPoint, result: PointResult) -> None:
    started = time.monotonic()
    run = spawn_cli(
        environment.args("up", "--json", "-v"), environment.env
    )  # -v: the events are the markers
    if point.marker is None:
        time.sleep(point.delay)
        reached = run.process.poll() is None
    else:
        reached = run.wait_for(point.marker, timeout=300)
    if run.process.poll() is not None:
        result.problems.append(f"the run ended (exit {run.process.returncode}) before the point")
    elif not reached:
        result.problems.append("the point was never reached")
    run.kill()
    result.killed_after = round(time.monotonic() - started, 1)
    result.printed = [line.strip() for line in run.stderr if line.strip()]
    result.last_line = result.printed[-1] if result.printed else "(nothing printed yet)"


def reached(result: PointResult, marker: str) -> bool:
    return any(marker in line for line in result.printed)


def recover(environment: Environment, result: PointResult, *, data_existed: bool) -> None:
    started = time.monotonic()
    done, summary = environment.up_json()
    result.recovery_seconds = round(time.monotonic() - started, 1)
    if done.returncode != 0 or summary.get("verified") is not True:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        result.problems.append(f"the next up exited {done.returncode}: {tail}")
        return
    result.steps = {step["name"]: step["result"] for step in summary.get("steps", [])}
    data = result.steps.get("data", "")
    if data == "recreated" or (data_existed and data == "created"):
        result.problems.append(f"the data stack was {data} after the kill")
    again, second = environment.up_json()
    if _artefact(second) == "uploaded":
        # The working tree changed under us (another edit): the new artefact is a real change.
        result.notes.append("the source tree changed during the run; converged on a third up")
        again, second = environment.up_json()
    if again.returncode != 0 or second.get("mutating_calls") != 0:
        result.problems.append(
            f"a further up was not a no-op: exit {again.returncode}, "
            f"{second.get('mutating_calls')} mutating calls"
        )


def _artefact(summary: dict[str, Any]) -> str:
    return next((s["result"] for s in summary.get("steps", []) if s["name"] == "artefact"), "")


def tear_down(environment: Environment, result: PointResult) -> None:
    done = environment.run("down")
    if done.returncode != 0:
        result.problems.append(f"down exited {done.returncode}")
    time.sleep(0.2)
    left = environment.leftovers()
    if left:
        result.problems.append(f"processes left behind after down: {left}")


def run_points(work: Path, points: tuple[KillPoint, ...], *, update: bool) -> Iterator[PointResult]:
    for number, point in enumerate(points):
        environment = Environment(work / f"point-{number}")
        result = PointResult(point)
        try:
            kill_at(environment, point, result)
            # Once its change set ran, the data stack exists: recovery must not create it again.
            recover(environment, result, data_existed=reached(result, "data-local"))
            if update and number == len(points) - 1:
                yield result
                result = PointResult(UPDATE_POINT)
                environment.write_config(("https://reliability.example",))
                kill_at(environment, UPDATE_POINT, result)
                recover(environment, result, data_existed=True)
                api = result.steps.get("api")
                if result.steps and api != "updated" and not reached(result, "✓ api"):
                    result.problems.append(f"the recovery did not update the api: {api}")
        finally:
            tear_down(environment, result)
        yield result


def row(work: Path, *, quick: bool) -> Row:
    points = (POINTS[0], POINTS[4]) if quick else POINTS
    result = Row("Orchestrator faults: SIGKILL of `up` (sandbox)")
    lines = [
        "",
        "| kill point | killed after | last line before the kill | recovery `up` | outcome |",
        "|---|---|---|---|---|",
    ]
    count = 0
    with timed(result):
        for found in run_points(work / "orchestrator", points, update=True):
            count += 1
            result.problems += [f"{found.point.name}: {p}" for p in found.problems]
            last = found.last_line.replace("|", "\\|")[:70]
            outcome = "; ".join(found.problems) or "; ".join(["converged", *found.notes])
            lines.append(
                f"| {found.point.name} | {found.killed_after} s | `{last}` | "
                f"{found.recovery_seconds} s | {outcome} |"
            )
    result.size = f"{count} kill points, each from an empty state folder; {count * 3 + 1}+ CLI runs"
    result.faults = f"{count} × SIGKILL of `mathvisuals up` (the process only)"
    result.details = [
        "after each kill: the next `up` exits 0 with verify passed, the data stack is not "
        "recreated once its change set ran, a further `up` makes no mutating call, `down` leaves "
        "no process of that state folder (checked in /proc)",
        *lines,
    ]
    return result
