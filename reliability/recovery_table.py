"""The recovery decision table of deploy.md §5.11, injected state by state.

Every CloudFormation stack status (and "absent", and review with or without a pending execution)
is put into the in-memory CloudFormation of ``tests/deploy/fakes.py`` for each stack role, with
and without the operator flags, tagged ours or not, and a stack deployer runs against it. The
calls it makes and its exit code are compared with the table, written out here independently
of ``mathvisuals.deploy.plan``; and the data stack must never be deleted without
``--force-recreate-data``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from mathvisuals.deploy.errors import DeployError
from mathvisuals.deploy.model import Flags, StackEvent, StackRole, StackSpec, StackState
from mathvisuals.deploy.plan import ALL_STATUSES
from mathvisuals.deploy.progress import RecordingReporter
from mathvisuals.deploy.stacks import WAIT_LIMITS, StackDeployer
from reliability.result import Row, timed
from tests.deploy.fakes import FakeCloudFormation

ROLES: tuple[StackRole, ...] = ("shared", "data", "api")
FLAG_SETS = {
    "no flag": Flags(),
    "--recreate-failed": Flags(recreate_failed=True),
    "--force-recreate-data": Flags(force_recreate_data=True),
}
TAGS = {"app": "math-visuals", "env": "rel", "managed-by": "mathvisuals"}
HEALTHY = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE", "UPDATE_ROLLBACK_COMPLETE",
           "IMPORT_ROLLBACK_COMPLETE"}  # fmt: skip
FAILED_CREATE = {"ROLLBACK_COMPLETE", "CREATE_FAILED"}
DELETE_TO_RECOVER = {"ROLLBACK_FAILED", "DELETE_FAILED", "IMPORT_ROLLBACK_FAILED"}
# Where a running operation ends when it is left to finish (for the "wait, then act" rows).
SETTLES_TO = {
    "CREATE_IN_PROGRESS": "CREATE_COMPLETE",
    "ROLLBACK_IN_PROGRESS": "ROLLBACK_COMPLETE",
    "DELETE_IN_PROGRESS": None,
    "UPDATE_IN_PROGRESS": "UPDATE_COMPLETE",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_IN_PROGRESS": "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_IN_PROGRESS": "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_IN_PROGRESS": "IMPORT_ROLLBACK_COMPLETE",
    "REVIEW_IN_PROGRESS": "CREATE_COMPLETE",  # a pending execution finishing
}
Call = tuple[str, ...]
Running = Literal["stays", "settles"]


@dataclass(frozen=True)
class Case:
    role: StackRole
    status: str | None
    flags: str
    managed: bool = True
    pending_execution: bool = False
    running: Running = "stays"

    @property
    def label(self) -> str:
        parts = [self.role, str(self.status or "absent"), self.flags]
        if not self.managed:
            parts.append("untagged")
        if self.pending_execution:
            parts.append("pending execution")
        if self.status in SETTLES_TO or self.pending_execution:
            parts.append(f"operation {self.running}")
        return " / ".join(parts)


@dataclass(frozen=True)
class Expected:
    calls: tuple[Call, ...]
    exit_code: int | None = None  # None: success


class ScriptedCloudFormation(FakeCloudFormation):
    """The fake, plus: a running operation can settle after a few polls, and deletes record
    the resources they keep."""

    def __init__(self, settle_after: int | None) -> None:
        super().__init__()
        self.settle_after = settle_after
        self.target: StackState | None = None
        self.polls = 0
        self.deletes: list[tuple[str, tuple[str, ...]]] = []

    def describe(self, stack: str) -> StackState:
        state = super().describe(stack)
        running = (state.status or "").endswith("_IN_PROGRESS") or state.pending_execution
        if running and self.settle_after is not None:
            self.polls += 1
            if self.polls > self.settle_after:
                settled = SETTLES_TO[state.status or ""]
                if settled is None:
                    self.stacks.pop(stack, None)
                    return StackState(stack, None)
                self.stacks[stack].state = replace(state, status=settled, pending_execution=False)
                return self.stacks[stack].state
        return state

    def delete_stack(self, stack: str, retain: Sequence[str] = ()) -> None:
        self.deletes.append((stack, tuple(retain)))
        super().delete_stack(stack, retain)


def cases() -> list[Case]:
    found: list[Case] = []
    for role in ROLES:
        for flags in FLAG_SETS:
            for status in [None, *sorted(ALL_STATUSES)]:
                outcomes: tuple[Running, ...] = ("stays", "settles")
                for running in outcomes if status in SETTLES_TO else ("stays",):
                    found.append(Case(role, status, flags, running=running))
                if status in FAILED_CREATE | DELETE_TO_RECOVER:
                    found.append(Case(role, status, flags, managed=False))
            for running in outcomes:
                found.append(
                    Case(role, "REVIEW_IN_PROGRESS", flags, pending_execution=True, running=running)
                )
    return found


def expected(case: Case, name: str) -> Expected:
    """The table, row by row."""
    flags = FLAG_SETS[case.flags]
    create = (("create_change_set", f"{name}:CREATE"), ("execute", name))
    update = (("create_change_set", f"{name}:UPDATE"), ("execute", name))
    status = case.status
    if status is None or status == "DELETE_COMPLETE":
        return Expected(create)
    if status == "REVIEW_IN_PROGRESS" and not case.pending_execution:
        return Expected(create)  # an unexecuted change set: treated as absent
    if status.endswith("_IN_PROGRESS"):
        if case.running == "stays":
            return Expected((), 9)  # bounded wait, then timeout
        return expected(replace(case, status=SETTLES_TO[status], pending_execution=False), name)
    if status in HEALTHY:
        return Expected(update)
    stateful = case.role == "data"
    if status in FAILED_CREATE:
        if (stateful and not flags.force_recreate_data) or not case.managed:
            return Expected((), 6)
        return Expected((("delete_stack", name), *create))
    if status == "UPDATE_ROLLBACK_FAILED":
        return Expected((("continue_rollback", name), *update))
    if status in DELETE_TO_RECOVER:
        allowed = flags.force_recreate_data if stateful else flags.recreate_failed
        if not allowed or not case.managed:
            return Expected((), 6)
        return Expected((("delete_stack", name), *create))
    return Expected((), 6)  # not a state the tool recovers from


def run(case: Case) -> tuple[tuple[Call, ...], int | None, ScriptedCloudFormation]:
    name = f"math-visuals-{case.role}-rel"
    cfn = ScriptedCloudFormation(settle_after=2 if case.running == "settles" else None)
    if case.status is not None:
        state = StackState(
            name,
            case.status,
            tags=TAGS if case.managed else {},
            pending_execution=case.pending_execution,
        )
        cfn.put_state(state, template="old: 1")
        if case.status.endswith("FAILED"):
            cfn.stacks[name].events.append(
                StackEvent("2026-01-01T00:00:00Z", "Broken", "AWS::X", "DELETE_FAILED", "boom")
            )
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    deployer = StackDeployer(
        cfn,
        RecordingReporter(),
        flags=FLAG_SETS[case.flags],
        poll_seconds=30.0,
        sleep=sleep,
        clock=lambda: clock[0],
    )
    spec = StackSpec(case.role, name, "new: 1", {"P": "1"}, TAGS)
    try:
        deployer.deploy(spec, WAIT_LIMITS[case.role])
    except DeployError as exc:
        return tuple(cfn.calls), exc.exit_code, cfn
    return tuple(cfn.calls), None, cfn


@dataclass
class TableReport:
    cases: int = 0
    problems: list[str] = field(default_factory=list)
    data_deletes_with_flag: int = 0


def run_table() -> TableReport:
    report = TableReport()
    problems = report.problems
    for case in cases():
        name = f"math-visuals-{case.role}-rel"
        calls, code, cfn = run(case)
        want = expected(case, name)
        report.cases += 1
        if calls != want.calls or code != want.exit_code:
            problems.append(
                f"{case.label}: made {list(calls)} exit {code}, the table says "
                f"{list(want.calls)} exit {want.exit_code}"
            )
        data_deleted = any(call[0] == "delete_stack" and "data" in call[1] for call in calls)
        if data_deleted and case.flags != "--force-recreate-data":
            problems.append(f"{case.label}: DELETED THE DATA STACK without --force-recreate-data")
        if data_deleted:
            report.data_deletes_with_flag += 1
        for stack, retained in cfn.deletes:
            if case.status in DELETE_TO_RECOVER and retained != ("Broken",):
                problems.append(f"{case.label}: deleted {stack} keeping {retained}, not Broken")
    return report


def row() -> Row:
    result = Row("Recovery table (deploy.md §5.11)")
    with timed(result):
        report = run_table()
    statuses = len(ALL_STATUSES) + 1
    result.size = (
        f"{report.cases} injected states: {statuses} statuses (every CloudFormation status and "
        f"absent) × {len(ROLES)} stacks × {len(FLAG_SETS)} flag sets, plus untagged failed "
        "stacks, running operations that settle or never do, and reviews with a pending execution"
    )
    result.faults = "each stack state injected into the in-memory CloudFormation"
    result.problems = report.problems
    result.details = [
        "expected calls and exit codes written from the table, independently of "
        "mathvisuals.deploy.plan; a running operation that never settles must time out (exit 9) "
        "on a fake clock",
        f"data stack deletions: {report.data_deletes_with_flag}, all with --force-recreate-data; "
        "none without it",
    ]
    return result
