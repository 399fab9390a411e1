"""Pure decisions: what to do for each stack state, when a wait ends, what a failure means.

The recovery table of deploy.md §5.11 lives here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from mathvisuals.deploy.model import Action, Change, Decision, Flags, StackSpec, StackState

HEALTHY = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "IMPORT_COMPLETE",
        # The previous update failed and rolled back cleanly: healthy and updatable (B39).
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)
FAILED_CREATE = frozenset({"ROLLBACK_COMPLETE", "CREATE_FAILED"})
DELETE_TO_RECOVER = frozenset({"ROLLBACK_FAILED", "DELETE_FAILED", "IMPORT_ROLLBACK_FAILED"})

ALL_STATUSES = frozenset(
    {
        "CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE", "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_FAILED", "ROLLBACK_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_FAILED",
        "DELETE_COMPLETE", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_COMPLETE", "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS", "IMPORT_IN_PROGRESS", "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_IN_PROGRESS", "IMPORT_ROLLBACK_FAILED", "IMPORT_ROLLBACK_COMPLETE",
    }
)  # fmt: skip


NO_FLAGS = Flags()


def decide(spec: StackSpec, state: StackState, flags: Flags = NO_FLAGS) -> Decision:
    """The §5.11 row for ``state``. Never deletes the data stack without its flag."""
    status = state.status
    if status is None or status == "DELETE_COMPLETE":
        return Decision(Action.CREATE, "the stack does not exist")
    if status == "REVIEW_IN_PROGRESS":
        if state.pending_execution:
            return Decision(Action.WAIT, "a change set is being executed")
        # CreateChangeSet leaves a stack in REVIEW_IN_PROGRESS until executed; nothing exists yet.
        return Decision(Action.CREATE, "an unexecuted change set left the stack in review")
    if status in HEALTHY:
        return Decision(Action.UPDATE, f"{status} is healthy and updatable")
    if status.endswith("_IN_PROGRESS"):
        return Decision(Action.WAIT, f"{status}: another operation is running")
    if status in FAILED_CREATE:
        if spec.stateful and not flags.force_recreate_data:
            return Decision(
                Action.BLOCKED,
                f"the data stack's first create failed ({status})",
                "read the failure events, fix the cause, then rerun with --force-recreate-data",
            )
        return _if_ours(state, Decision(Action.REPLACE, f"{status}: nothing survived the create"))
    if status == "UPDATE_ROLLBACK_FAILED":
        return Decision(Action.CONTINUE_ROLLBACK, "the rollback of an update failed")
    if status in DELETE_TO_RECOVER:
        allowed = flags.force_recreate_data if spec.stateful else flags.recreate_failed
        if not allowed:
            flag = "--force-recreate-data" if spec.stateful else "--recreate-failed"
            return Decision(
                Action.BLOCKED,
                f"{status} needs an operator decision",
                f"rerun with {flag} to delete it (keeping the failed resources) and recreate",
            )
        return _if_ours(state, Decision(Action.DELETE_RETAINING, f"{status}: recreate"))
    return Decision(
        Action.BLOCKED,
        f"{status} is not a state this tool recovers from",
        "inspect the stack in the console",
    )


def _if_ours(state: StackState, decision: Decision) -> Decision:
    if not state.managed:
        return Decision(
            Action.BLOCKED,
            f"{decision.why}, but the stack is not tagged managed-by=mathvisuals",
            "this tool only deletes stacks it created; delete or import it by hand",
        )
    return decision


Operation = Literal["CREATE", "UPDATE", "DELETE", "CONTINUE_ROLLBACK"]
Outcome = Literal["done", "failed", "wait"]

_SETTLED: dict[Operation, tuple[frozenset[str], frozenset[str]]] = {
    "CREATE": (
        frozenset({"CREATE_COMPLETE"}),
        frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_COMPLETE"}),
    ),
    "UPDATE": (
        frozenset({"UPDATE_COMPLETE"}),
        frozenset({"UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED"}),
    ),
    "DELETE": (frozenset({"DELETE_COMPLETE"}), frozenset({"DELETE_FAILED"})),
    "CONTINUE_ROLLBACK": (
        frozenset({"UPDATE_ROLLBACK_COMPLETE"}),
        frozenset({"UPDATE_ROLLBACK_FAILED"}),
    ),
}


def settle(operation: Operation, status: str | None) -> Outcome:
    """Whether a wait is over, with the terminal states right for the operation (B37)."""
    if status is None:
        return "done" if operation == "DELETE" else "failed"
    success, failure = _SETTLED[operation]
    if status in success:
        return "done"
    if status in failure:
        return "failed"
    if status.endswith("_IN_PROGRESS") or status == "REVIEW_IN_PROGRESS":
        return "wait"
    return "failed"


def refused_replacements(
    changes: Iterable[Change], allow_replace: bool, in_place: frozenset[str] = frozenset()
) -> list[Change]:
    """Changes that would replace a stateful resource and need ``--allow-replace``.

    ``Conditional`` is settled by the predictor (deploy/takeover): a resource it judged to be
    modified in place (``in_place``) passes. A definite ``True`` always needs the flag.
    """
    if allow_replace:
        return []
    return [
        change
        for change in changes
        if change.replaces_protected
        and not (change.replacement == "Conditional" and change.logical_id in in_place)
    ]


TOKEN_PROPERTIES = frozenset({"AuthToken", "AuthTokenUpdateStrategy"})


def token_only(change: Change) -> bool:
    """A Modify of the replication group that changes only its AUTH token.

    The ElastiCache schema lists AuthToken as conditionally create-only, so CloudFormation shows
    ``Replacement: Conditional``; with AuthTokenUpdateStrategy it is an in-place modify. Judged
    from the change set's Details (Target.Name, RequiresRecreation), never from the flag alone.
    """
    return (
        change.resource_type == "AWS::ElastiCache::ReplicationGroup"
        and change.action == "Modify"
        and change.replacement in ("False", "Conditional")
        and bool(change.details)
        and all(
            item.name in TOKEN_PROPERTIES and item.requires_recreation != "Always"
            for item in change.details
        )
    )


HINTS: tuple[tuple[str, str], ...] = (
    ("already exists", "a resource of that name exists outside this stack: import it or rename"),
    ("Invalid AUTH token", "the token breaks ElastiCache rules (16-128 of [A-Za-z0-9!&#$^<>-])"),
    ("PermanentRedirect", "the artefact bucket is in another region than the stack"),
    ("ResourceExistenceCheck", "the artefact object version no longer exists: rebuild and upload"),
    ("No export named", "a stack name in the config does not match the deployed stack"),
    ("Requires capabilities", "the stack needs IAM capabilities: check the template"),
    ("AccessDenied", "the deploying role lacks a permission: see the action in the message"),
    ("not authorized to perform", "the deploying role lacks a permission: see the action named"),
)


def hint_for(reason: str) -> str:
    for needle, hint in HINTS:
        if needle.lower() in reason.lower():
            return hint
    return ""
