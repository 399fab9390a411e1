"""What the CLI prints: progress on stderr (Rich), results as tables, lines or JSON on stdout.

Both streams pass through the masking scrubber (``wiring.install_scrubber``), so no registered
secret can be printed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from mathvisuals.deploy import masking
from mathvisuals.deploy.check.findings import Report
from mathvisuals.deploy.model import StackEvent
from mathvisuals.deploy.orchestrator import PlanResult, UpResult
from mathvisuals.errors import MathVisualsError

# The workflow's steps -> the section of the seed's status document each replaces (deploy.md §7);
# None: a step the seed does not have (§1.7). Rows are numbered in the order `up` ran them.
SEED_STEPS: dict[str, tuple[str, int | None]] = {
    "check": ("offline checks", None),
    "preflight": ("preflight (identity, ownership)", None),
    "backup": ("replication group snapshot", None),
    "artefact": ("Lambda artefact", None),
    "secret": ("auth-token secret", 2),
    "shared": ("shared stack (exports)", 1),
    "allow-lists": ("allow-list parameters", 4),
    "data": ("data stack (VPC + Redis)", 3),
    "api": ("api stack (Lambda env)", 5),
    "alarms": ("alarm e-mail subscriptions", None),
    "verify": ("verify", 5),
}
SCHEMA_VERSION = 1
HISTORY_SKEW = timedelta(minutes=2)  # tolerated difference between this clock and AWS's
# What an exit code means (README), for a --json error that has no message of its own.
EXIT_MEANINGS = {
    1: "internal error",
    2: "usage error",
    3: "configuration invalid",
    4: "offline check failed",
    5: "credentials, account or network",
    6: "preflight blocked",
    7: "deployment failed",
    8: "verification failed",
    9: "timed out",
    10: "refused: needs a flag",
    11: "lock held by another run",
    12: "GitHub API error",
    13: "the local sandbox could not start or stop",
    130: "interrupted",
}


class RichReporter:
    """Progress on stderr: one live line (spinner, step, current resource, elapsed time).

    Each finished step leaves one ``✓`` line. Stack events are printed only when they failed,
    or all of them with ``verbose``. Without a terminal (CI logs) only those lines are printed.
    """

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        self._console = console
        self._verbose = verbose
        # Events older than this run are a stack's history (down replays it): never printed.
        self._since = datetime.now(UTC) - HISTORY_SKEW
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._label = ""
        self._name = ""

    def _live(self) -> tuple[Progress, TaskID]:
        if self._progress is None or self._task is None:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TextColumn("[dim]{task.fields[resource]}"),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("", resource="")
        return self._progress, self._task

    def step(self, name: str, detail: str = "") -> None:
        label = f"[bold]{name}[/bold] {detail}".rstrip()
        if not self._console.is_terminal:
            return  # a log: only the ✓ lines and failures, no redraws
        progress, task = self._live()
        if name != self._name:
            progress.reset(task)  # a new step: its elapsed time starts now
        progress.update(task, description=label, resource="")
        self._label, self._name = label, name

    def done(self, name: str, result: str) -> None:
        self._console.print(f"  [green]✓[/green] {name}: {result}")
        if self._progress is not None and self._task is not None:
            self._progress.reset(self._task, description="", resource="")
        self._label = self._name = ""

    def _history(self, event: StackEvent) -> bool:
        try:
            when = datetime.fromisoformat(event.timestamp)
        except ValueError:
            return False
        return (when if when.tzinfo else when.replace(tzinfo=UTC)) < self._since

    def event(self, stack: str, event: StackEvent) -> None:
        if self._history(event):
            return
        failed = "FAILED" in event.status
        if failed or self._verbose:
            color = "red" if failed else "dim"
            reason = f" {event.reason}" if event.reason else ""
            self._console.print(
                f"    [{color}]{stack} {event.logical_id} {event.status}{reason}[/{color}]",
                markup=True,
            )
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task, resource=f"· {event.logical_id} {event.status.lower()}"
            )

    def warn(self, message: str) -> None:
        self._console.print(f"  [yellow]![/yellow] {message}")

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None
        self._label = self._name = ""


def error(exc: MathVisualsError) -> None:
    """One line on stderr saying what is wrong and how to fix it; never a value."""
    error_line(str(exc), exc.hint)


def error_line(message: str, hint: str = "") -> None:
    line = f"error: {message}" + (f" (hint: {hint})" if hint else "")
    typer.echo(masking.scrub(" ".join(line.split())), err=True)


# --json: one object per run -----------------------------------------------------------------


@dataclass
class _JsonRun:
    command: str
    result: object = None
    error: dict[str, object] | None = None


_json_run: _JsonRun | None = None


def snake_keys(value: object) -> object:
    """Every mapping key in snake_case (labels such as "caller account" become caller_account)."""
    if isinstance(value, dict):
        return {_snake(str(key)): snake_keys(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [snake_keys(item) for item in value]
    return value


def _snake(key: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_") or "_"


def envelope(command: str, result: object, failure: dict[str, object] | None) -> dict[str, object]:
    """The command's result fields at the top level, beside ``schema_version``, ``command``,
    ``ok`` (exit 0) and ``error`` (null, or exit code, message and hint)."""
    fields = snake_keys(result)
    body = fields if isinstance(fields, dict) else {"result": fields}
    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        **body,
        "ok": failure is None,
        "error": failure,
    }


def failure(exit_code: int, message: str = "", hint: str = "") -> dict[str, object]:
    return {
        "exit_code": exit_code,
        "message": masking.scrub(message or EXIT_MEANINGS.get(exit_code, "failed")),
        "hint": masking.scrub(hint),
    }


def begin_json(command: str) -> None:
    global _json_run
    _json_run = _JsonRun(command)


def fail_json(exit_code: int, message: str = "", hint: str = "") -> None:
    """Record the run's failure (the first one counts)."""
    if _json_run is not None and _json_run.error is None:
        _json_run.error = failure(exit_code, message, hint)


def end_json() -> None:
    """Print the run's one object on stdout."""
    global _json_run
    run, _json_run = _json_run, None
    if run is not None:
        print_json(envelope(run.command, run.result, run.error))


def print_json(document: object) -> None:
    typer.echo(json.dumps(document, indent=2, default=str, ensure_ascii=False))


def emit_json(payload: object) -> None:
    """A command's machine-readable result; printed in the run's envelope (docs/cli-json.md)."""
    if _json_run is None:
        print_json(payload)
    else:
        _json_run.result = payload


def emit_json_text(text: str) -> None:
    """A result that arrives as JSON text (the reports' own ``to_json``)."""
    emit_json(json.loads(text))


def check_report(report: Report, *, json_output: bool) -> None:
    errors = [item for item in report.findings if item.severity == "error"]
    if json_output:
        emit_json_text(report.to_json())
        return
    for item in report.findings:
        typer.echo(
            f"{item.file}:{item.line}: {item.severity} {item.rule} {item.message}"
            + (f" (hint: {item.hint})" if item.hint else ""),
            err=True,
        )
    summary = f"{len(errors)} error(s), {len(report.findings) - len(errors)} warning(s)"
    typer.echo(("check failed: " if errors else "check passed: ") + summary, err=True)


def plan_result(console: Console, result: PlanResult, *, json_output: bool) -> None:
    stacks: list[dict[str, Any]] = [
        {
            "stack": p.stack,
            "action": "none" if p.unchanged else p.action.value,
            "why": "up to date" if p.unchanged else p.why,
            "changes": [vars(c) for c in p.changes],
            "needs_allow_replace": [c.logical_id for c in p.refused],
        }
        for p in result.stacks
    ]
    if json_output:
        emit_json(
            {
                "stacks": stacks,
                "notes": result.notes,
                "takeover": result.takeover,
                "refusals": result.refusals,
            }
        )
        return
    if result.takeover:
        console.print("takeover plan (predicted from the resource schemas, not the change sets):")
        for line in result.takeover:
            console.print(f"  {line}")
    for line in result.refusals:
        console.print(f"refused: {line}")
    for item in stacks:
        console.print(f"{item['stack']}: {item['action']} ({item['why']})")
        for change in item["changes"]:
            console.print(
                f"    {change['action']} {change['logical_id']} "
                f"({change['resource_type']}) replacement={change['replacement']}"
            )
        if item["needs_allow_replace"]:
            console.print(
                "    refused without --allow-replace: " + ", ".join(item["needs_allow_replace"])
            )
    for note in result.notes:
        console.print(note)


def adopt_result(
    console: Console, summary: dict[str, Any], shown: str, *, json_output: bool
) -> None:
    if json_output:
        emit_json(summary)
        return
    if not summary.get("foreign"):
        console.print("nothing to adopt: every stack of this environment is ours or absent")
        return
    console.print(shown or "the environment file already records this adoption")
    console.print(f"token: {summary['token']}")
    for line in summary.get("refusals", []):
        console.print(f"refused: {line}")
    verb = "written to" if summary.get("written") else "not written (--dry-run)"
    if not summary.get("changed"):
        verb = "unchanged:"
    console.print(f"adoption {verb} {summary['file']}; next: mathvisuals plan, then up")


def up_summary(
    console: Console,
    title: str,
    verify_label: str,
    result: UpResult,
    verified: bool | None,
    endpoint: str | None,
    report_path: str,
) -> None:
    """The status table of the seed's steps, the verdict and the URL a person can curl."""
    table = Table(title=title, title_justify="left")
    for column in ("#", "step", "seed step", "result", "detail"):
        table.add_column(column)
    rows = [(step.name, step.result, step.detail) for step in result.steps]
    verdict = {True: "passed", False: "FAILED", None: "not run"}[verified]
    rows.append(("verify", verdict, verify_label))
    for number, (name, outcome, detail) in enumerate(rows, start=1):
        label, seed = SEED_STEPS.get(name, (name, None))
        table.add_row(str(number), label, "—" if seed is None else str(seed), outcome, detail)
    console.print(table)
    console.print(
        "no changes: everything was already up to date"
        if not result.changed
        else f"deployed with {len(result.mutations)} mutating calls"
    )
    if verified:
        console.print("mode: kv (verified)")
    console.print(f"report: {report_path}.md")
    if endpoint:
        console.print(f"api: {endpoint}/api/health")


def pairs(console: Console, done: list[tuple[str, str]], *, json_output: bool) -> None:
    """``down``'s (resource, outcome) list."""
    if json_output:
        emit_json({"deleted": [{"resource": what, "outcome": how} for what, how in done]})
    else:
        for what, how in done:
            console.print(f"{what}: {how}")
