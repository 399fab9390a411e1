"""What the CLI prints: progress that informs instead of scrolling, the summary table, --json."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

import pytest
from rich.console import Console

from mathvisuals.cli import render
from mathvisuals.deploy.context import StepResult
from mathvisuals.deploy.model import StackEvent
from mathvisuals.deploy.orchestrator import UpResult


def console(*, terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=200, highlight=False), out


def now() -> str:
    """Read when the event is made: the reporter skips events from before it started (less its
    clock skew), so a time taken at import goes stale in a long test run."""
    return datetime.now(UTC).isoformat()


def events(count: int, when: str | None = None) -> list[StackEvent]:
    return [
        StackEvent(when or now(), f"Resource{n}", "AWS::X::Y", "CREATE_COMPLETE")
        for n in range(count)
    ]


@pytest.mark.parametrize("terminal", [False, True])
def test_a_stack_create_is_not_an_event_per_line(terminal: bool) -> None:
    shown, out = console(terminal=terminal)
    reporter = render.RichReporter(shown)
    reporter.step("data", "math-visuals-data")
    for event in events(95):
        reporter.event("math-visuals-data", event)
    reporter.done("data", "created")
    reporter.stop()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())  # less the terminal's codes
    assert "CREATE_COMPLETE" not in text  # no event line (the live line shows it in lower case)
    assert "✓ data: created" in text


def test_failed_events_are_printed_and_verbose_prints_all() -> None:
    shown, out = console(terminal=False)
    reporter = render.RichReporter(shown)
    failed = StackEvent(now(), "RedisGroup", "AWS::ElastiCache::ReplicationGroup", "CREATE_FAILED",
                        "quota exceeded")  # fmt: skip
    reporter.event("math-visuals-data", events(1)[0])
    reporter.event("math-visuals-data", failed)
    assert out.getvalue().strip().splitlines() == [
        "math-visuals-data RedisGroup CREATE_FAILED quota exceeded"
    ]
    loud, all_out = console(terminal=False)
    verbose = render.RichReporter(loud, verbose=True)
    for event in events(3):
        verbose.event("math-visuals-data", event)
    assert len(all_out.getvalue().strip().splitlines()) == 3


def test_the_live_line_shows_the_current_resource() -> None:
    shown, _ = console(terminal=True)
    reporter = render.RichReporter(shown)
    reporter.step("data", "change set (create)")
    reporter.event("math-visuals-data", events(3)[2])
    progress = reporter._progress
    assert progress is not None
    task = progress.tasks[0]
    assert "data" in task.description and "Resource2" in task.fields["resource"]
    reporter.stop()


def test_the_summary_is_in_the_workflows_order_with_the_seeds_step_numbers() -> None:
    ran = ("check", "preflight", "artefact", "secret", "shared", "allow-lists", "data", "api")
    result = UpResult(steps=[StepResult(name, "ok") for name in ran])
    shown, out = console(terminal=False)
    render.up_summary(shown, "prod (aws)", "V1-V8", result, True, None, "infra/status/prod")
    rows = [line.split("│") for line in out.getvalue().splitlines() if line.count("│") == 6]
    cells = [[cell.strip() for cell in row[1:-1]] for row in rows]
    assert [row[0] for row in cells] == [str(n) for n in range(1, 10)]  # the order up ran
    seeds = {row[1]: row[2] for row in cells}
    assert seeds == {
        "offline checks": "—", "preflight (identity, ownership)": "—", "Lambda artefact": "—",
        "auth-token secret": "2", "shared stack (exports)": "1", "allow-list parameters": "4",
        "data stack (VPC + Redis)": "3", "api stack (Lambda env)": "5", "verify": "5",
    }  # fmt: skip


def test_the_envelope_keeps_the_result_and_snake_cases_its_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    render.begin_json("status")
    render.emit_json({"header": {"caller account": "1", "CONFIG_VERSION expected": "x"}})
    render.fail_json(5, "could not read the live state of: data")
    render.end_json()
    document = json.loads(capsys.readouterr().out)
    assert document == {
        "schema_version": 1,
        "command": "status",
        "header": {"caller_account": "1", "config_version_expected": "x"},
        "ok": False,
        "error": {"exit_code": 5, "message": "could not read the live state of: data", "hint": ""},
    }


def test_a_stacks_history_is_not_replayed() -> None:
    """down reads every event of the stack; failures of earlier runs are not this run's."""
    shown, out = console(terminal=False)
    reporter = render.RichReporter(shown, verbose=True)
    old = StackEvent("2025-01-01T00:00:00+00:00", "Api", "AWS::Lambda::Function", "CREATE_FAILED")
    reporter.event("math-visuals-api", old)
    assert out.getvalue() == ""
