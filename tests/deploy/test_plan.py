"""The recovery decision table (deploy.md §5.11) over every CloudFormation stack status."""

from __future__ import annotations

import pytest

from mathvisuals.deploy.model import Action, Change, Flags, StackSpec, StackState
from mathvisuals.deploy.plan import (
    ALL_STATUSES,
    decide,
    hint_for,
    refused_replacements,
    settle,
)

OURS = {"managed-by": "mathvisuals", "app": "math-visuals"}


def spec(role: str) -> StackSpec:
    return StackSpec(role=role, name=f"mv-{role}", template_body="{}", parameters={}, tags=OURS)  # type: ignore[arg-type]


# The expected action per status, for a non-stateful stack without flags.
EXPECTED: dict[str | None, Action] = {
    None: Action.CREATE,
    "DELETE_COMPLETE": Action.CREATE,
    "REVIEW_IN_PROGRESS": Action.CREATE,
    "CREATE_COMPLETE": Action.UPDATE,
    "UPDATE_COMPLETE": Action.UPDATE,
    "IMPORT_COMPLETE": Action.UPDATE,
    "UPDATE_ROLLBACK_COMPLETE": Action.UPDATE,
    "IMPORT_ROLLBACK_COMPLETE": Action.UPDATE,
    "CREATE_IN_PROGRESS": Action.WAIT,
    "ROLLBACK_IN_PROGRESS": Action.WAIT,
    "DELETE_IN_PROGRESS": Action.WAIT,
    "UPDATE_IN_PROGRESS": Action.WAIT,
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": Action.WAIT,
    "UPDATE_ROLLBACK_IN_PROGRESS": Action.WAIT,
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": Action.WAIT,
    "IMPORT_IN_PROGRESS": Action.WAIT,
    "IMPORT_ROLLBACK_IN_PROGRESS": Action.WAIT,
    "ROLLBACK_COMPLETE": Action.REPLACE,
    "CREATE_FAILED": Action.REPLACE,
    "UPDATE_ROLLBACK_FAILED": Action.CONTINUE_ROLLBACK,
    "ROLLBACK_FAILED": Action.BLOCKED,
    "DELETE_FAILED": Action.BLOCKED,
    "IMPORT_ROLLBACK_FAILED": Action.BLOCKED,
    "UPDATE_FAILED": Action.BLOCKED,
}


def test_every_status_is_covered() -> None:
    assert set(EXPECTED) - {None} == ALL_STATUSES


@pytest.mark.parametrize("status", sorted(EXPECTED, key=str))
def test_non_stateful_table(status: str | None) -> None:
    decision = decide(spec("api"), StackState("mv-api", status, tags=OURS))
    assert decision.action is EXPECTED[status]


@pytest.mark.parametrize("status", sorted(EXPECTED, key=str))
def test_data_stack_is_never_deleted_without_its_flag(status: str | None) -> None:
    decision = decide(
        spec("data"), StackState("mv-data", status, tags=OURS), Flags(recreate_failed=True)
    )
    assert decision.action not in (Action.REPLACE, Action.DELETE_RETAINING)
    if status in ("ROLLBACK_COMPLETE", "CREATE_FAILED", "ROLLBACK_FAILED", "DELETE_FAILED"):
        assert decision.action is Action.BLOCKED
        assert "--force-recreate-data" in decision.hint


@pytest.mark.parametrize(
    ("status", "expected"),
    [("ROLLBACK_COMPLETE", Action.REPLACE), ("CREATE_FAILED", Action.REPLACE),
     ("ROLLBACK_FAILED", Action.DELETE_RETAINING), ("DELETE_FAILED", Action.DELETE_RETAINING)],
)  # fmt: skip
def test_data_stack_recreated_only_with_force_flag(status: str, expected: Action) -> None:
    decision = decide(
        spec("data"), StackState("mv-data", status, tags=OURS), Flags(force_recreate_data=True)
    )
    assert decision.action is expected


def test_failed_stack_recreated_with_recreate_failed() -> None:
    decision = decide(
        spec("api"), StackState("a", "ROLLBACK_FAILED", tags=OURS), Flags(recreate_failed=True)
    )
    assert decision.action is Action.DELETE_RETAINING


def test_foreign_stack_is_never_deleted() -> None:
    decision = decide(spec("api"), StackState("a", "ROLLBACK_COMPLETE", tags={}))
    assert decision.action is Action.BLOCKED
    assert "managed-by" in decision.why


def test_review_in_progress_with_pending_execution_waits() -> None:
    state = StackState("a", "REVIEW_IN_PROGRESS", pending_execution=True)
    assert decide(spec("api"), state).action is Action.WAIT


@pytest.mark.parametrize(
    ("operation", "status", "outcome"),
    [
        ("CREATE", "CREATE_COMPLETE", "done"),
        ("CREATE", "CREATE_IN_PROGRESS", "wait"),
        ("CREATE", "ROLLBACK_IN_PROGRESS", "wait"),
        ("CREATE", "ROLLBACK_COMPLETE", "failed"),  # terminal for a create (B37)
        ("UPDATE", "UPDATE_COMPLETE", "done"),
        ("UPDATE", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "wait"),
        ("UPDATE", "UPDATE_ROLLBACK_COMPLETE", "failed"),
        ("DELETE", None, "done"),
        ("DELETE", "DELETE_COMPLETE", "done"),
        ("DELETE", "DELETE_FAILED", "failed"),
        ("CONTINUE_ROLLBACK", "UPDATE_ROLLBACK_COMPLETE", "done"),
        ("CREATE", None, "failed"),
    ],
)
def test_settle(operation: str, status: str | None, outcome: str) -> None:
    assert settle(operation, status) == outcome  # type: ignore[arg-type]


def test_replacement_guard() -> None:
    changes = [
        Change("Modify", "RedisReplicationGroup", "AWS::ElastiCache::ReplicationGroup", "True"),
        Change("Modify", "Vpc", "AWS::EC2::VPC", "Conditional"),
        Change("Modify", "ApiFunction", "AWS::Lambda::Function", "True"),
        Change("Modify", "PrivateSubnet1", "AWS::EC2::Subnet", "False"),
    ]
    refused = refused_replacements(changes, allow_replace=False)
    assert [c.logical_id for c in refused] == ["RedisReplicationGroup", "Vpc"]
    assert refused_replacements(changes, allow_replace=True) == []


@pytest.mark.parametrize(
    ("reason", "needle"),
    [
        ("Resource of type 'AWS::SSM::Parameter' with identifier 'x' already exists.", "import it"),
        ("Invalid AUTH token provided", "ElastiCache rules"),
        ("Error occurred while GetObject. S3 Error Code: PermanentRedirect", "region"),
        ("No export named math-visuals-shared-X found", "stack name"),
        (
            "User: arn:aws:iam::1:user/x is not authorized to perform: ssm:PutParameter",
            "permission",
        ),
    ],
)
def test_hints(reason: str, needle: str) -> None:
    assert needle in hint_for(reason)
    assert hint_for("something else entirely") == ""
