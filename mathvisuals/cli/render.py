"""What the CLI prints: progress on stderr (Rich), results as tables, lines or JSON on stdout.

Both streams pass through the masking scrubber (``wiring.install_scrubber``), so no registered
secret can be printed.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from mathvisuals.deploy import masking
from mathvisuals.deploy.check.findings import Report
from mathvisuals.deploy.model import StackEvent
from mathvisuals.deploy.orchestrator import PlanResult, UpResult
from mathvisuals.errors import MathVisualsError

SEED_STEPS = {
    "check": "0 offline checks",
    "preflight": "0 preflight (identity, ownership)",
    "artefact": "0 Lambda artefact",
    "secret": "2 auth-token secret",
    "shared": "1 shared stack (exports)",
    "allow-lists": "4 allow-list parameters",
    "data": "3 data stack (VPC + Redis)",
    "api": "5 api stack (Lambda env)",
}


class RichReporter:
    """Progress on stderr: one line per step and per stack event, with a live spinner."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._status: Any = None

    def step(self, name: str, detail: str = "") -> None:
        text = f"[bold]{name}[/bold] {detail}".rstrip()
        if self._status is None:
            self._status = self._console.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def done(self, name: str, result: str) -> None:
        self._console.print(f"  [green]✓[/green] {name}: {result}")

    def event(self, stack: str, event: StackEvent) -> None:
        color = "red" if "FAILED" in event.status else "dim"
        reason = f" {event.reason}" if event.reason else ""
        self._console.print(
            f"    [{color}]{stack} {event.logical_id} {event.status}{reason}[/{color}]"
        )

    def warn(self, message: str) -> None:
        self._console.print(f"  [yellow]![/yellow] {message}")

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def error(exc: MathVisualsError) -> None:
    """One line on stderr saying what is wrong and how to fix it; never a value."""
    message = f"error: {exc}"
    if exc.hint:
        message += f" (hint: {exc.hint})"
    typer.echo(masking.scrub(message), err=True)


def emit_json(payload: object) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def check_report(report: Report, *, json_output: bool) -> None:
    errors = [item for item in report.findings if item.severity == "error"]
    if json_output:
        typer.echo(report.to_json())
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
    for column in ("seed step", "result", "detail"):
        table.add_column(column)
    for step in result.steps:
        table.add_row(SEED_STEPS.get(step.name, step.name), step.result, step.detail)
    verdict = {True: "passed", False: "FAILED", None: "not run"}[verified]
    table.add_row(f"5 verify ({verify_label})", verdict, "")
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
        emit_json([{"resource": what, "outcome": how} for what, how in done])
    else:
        for what, how in done:
            console.print(f"{what}: {how}")
