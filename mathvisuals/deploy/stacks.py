"""Bring one stack to its desired state through change sets, following the recovery table."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mathvisuals.deploy.errors import (
    DeploymentFailedError,
    PreflightBlockedError,
    RefusedError,
    WaitTimeoutError,
)
from mathvisuals.deploy.gateway import CloudFormation
from mathvisuals.deploy.model import (
    Action,
    Change,
    ChangeSet,
    Flags,
    StackEvent,
    StackSpec,
    StackState,
)
from mathvisuals.deploy.plan import Operation, decide, hint_for, refused_replacements, settle
from mathvisuals.deploy.progress import Reporter
from mathvisuals.deploy.takeover.reader import decode

# CloudFormation's own pace: polling faster only burns API quota (throttling).
POLL_SECONDS = 5.0
WAIT_LIMITS = {"shared": 20 * 60.0, "data": 60 * 60.0, "api": 20 * 60.0}

StackResult = Literal["created", "updated", "unchanged", "recreated"]


@dataclass(frozen=True)
class Preview:
    """What ``plan`` shows for a stack: the decision and the changes it would make."""

    stack: str
    action: Action
    why: str
    changes: tuple[Change, ...] = ()
    refused: tuple[Change, ...] = ()
    unchanged: bool = False
    # sha256 of the template body and of the parameter set, for a saved plan (plan --out).
    template_sha256: str = ""
    parameters_sha256: str = ""


def in_sync(spec: StackSpec, state: StackState, deployed_template: str | None) -> bool:
    """True when template, parameters and tags already equal the desired ones.

    Every input the stack resolves is versioned into a parameter (secret VersionId, SSM
    versions, ConfigVersion), so an identical template and parameter set means nothing to do,
    and a converged ``up`` makes no mutating call at all.
    """
    if state.status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"):
        return False
    return (
        deployed_template is not None
        and deployed_template.strip() == spec.template_body.strip()
        and dict(state.parameters) == dict(spec.parameters)
        and all(state.tags.get(key) == value for key, value in spec.tags.items())
    )


def outputs_only(deployed: str | None, wanted: str) -> bool:
    """Whether two template bodies differ in their Outputs and nowhere else."""
    if deployed is None or deployed.strip() == wanted.strip():
        return False
    before, after = decode(deployed), decode(wanted)
    if before is None or after is None:
        return False
    return {k: v for k, v in before.items() if k != "Outputs"} == {
        k: v for k, v in after.items() if k != "Outputs"
    }


class StackDeployer:
    def __init__(
        self,
        cfn: CloudFormation,
        reporter: Reporter,
        *,
        flags: Flags,
        poll_seconds: float = POLL_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cfn = cfn
        self._reporter = reporter
        self._flags = flags
        self._poll = poll_seconds
        self._sleep = sleep
        self._clock = clock

    # Read-only -----------------------------------------------------------------------------

    def preview(self, spec: StackSpec) -> Preview:
        state = self._cfn.describe(spec.name)
        decision = decide(spec, state, self._flags)
        unchanged = decision.action is Action.UPDATE and in_sync(
            spec, state, self._cfn.template(spec.name)
        )
        return Preview(
            spec.name,
            decision.action,
            "up to date" if unchanged else decision.why,
            unchanged=unchanged,
            template_sha256=spec.template_sha256,
            parameters_sha256=spec.parameters_sha256,
        )

    def preview_changes(self, spec: StackSpec) -> tuple[Change, ...]:
        """Create a change set only to describe it, then delete it (``plan``)."""
        state = self._cfn.describe(spec.name)
        healthy = state.exists and state.status != "REVIEW_IN_PROGRESS"
        kind: Literal["CREATE", "UPDATE"] = "UPDATE" if healthy else "CREATE"
        change_set = self._cfn.create_change_set(spec, kind)
        if change_set.empty:
            return ()
        self._cfn.delete_change_set(change_set)
        return change_set.changes

    # Mutating ------------------------------------------------------------------------------

    def deploy(self, spec: StackSpec, role_limit: float) -> StackResult:
        state = self._cfn.describe(spec.name)
        decision = decide(spec, state, self._flags)
        if decision.action is Action.WAIT:
            self._reporter.step(spec.name, f"waiting: {decision.why}")
            state = self._wait_idle(spec.name, role_limit)
            decision = decide(spec, state, self._flags)
        if decision.action is Action.BLOCKED:
            reasons = self._failure_reasons(spec.name)
            raise PreflightBlockedError(
                f"{spec.name}: {decision.why}" + (f"; {reasons}" if reasons else "")
            ).with_hint(decision.hint)
        recreated = False
        if decision.action is Action.UPDATE and in_sync(spec, state, self._cfn.template(spec.name)):
            return "unchanged"
        if decision.action is Action.CONTINUE_ROLLBACK:
            self._reporter.step(spec.name, "continuing the failed rollback")
            self._cfn.continue_rollback(spec.name, self._flags.skip_resources)
            self._wait(spec.name, "CONTINUE_ROLLBACK", role_limit)
            decision = decide(spec, self._cfn.describe(spec.name), self._flags)
        if decision.action in (Action.REPLACE, Action.DELETE_RETAINING):
            self._delete_for_recreate(spec, decision.action, role_limit)
            recreated = True
        kind: Literal["CREATE", "UPDATE"] = (
            "UPDATE" if decision.action in (Action.UPDATE, Action.CONTINUE_ROLLBACK) else "CREATE"
        )
        return self._apply(spec, kind, role_limit, recreated)

    def _apply(
        self, spec: StackSpec, kind: Literal["CREATE", "UPDATE"], limit: float, recreated: bool
    ) -> StackResult:
        self._reporter.step(spec.name, f"change set ({kind.lower()})")
        change_set = self._cfn.create_change_set(spec, kind)
        if change_set.empty:
            if kind == "UPDATE" and outputs_only(self._cfn.template(spec.name), spec.template_body):
                # Only Outputs differ (a takeover dropping exports nobody imports any more).
                started = self._latest_event_time(spec.name)
                if self._cfn.update_outputs(spec):
                    self._wait(spec.name, "UPDATE", limit, since=started)
                    return "updated"
            return "unchanged"
        refused = refused_replacements(change_set.changes, self._flags.allow_replace, spec.in_place)
        if refused:
            self._cfn.delete_change_set(change_set)
            names = ", ".join(f"{c.logical_id} ({c.resource_type})" for c in refused)
            raise RefusedError(f"{spec.name}: the change would replace {names}").with_hint(
                "replacing these loses data; rerun with --allow-replace only if that is intended"
            )
        self.execute(spec, change_set, kind, limit)
        if recreated:
            return "recreated"
        return "created" if kind == "CREATE" else "updated"

    def execute(
        self, spec: StackSpec, change_set: ChangeSet, kind: Operation, limit: float
    ) -> None:
        """Execute a created change set and wait for it; a new stack gets policy and protection."""
        started = self._latest_event_time(spec.name)
        self._cfn.execute(change_set)
        self._wait(spec.name, kind, limit, since=started)
        if kind == "CREATE":
            if spec.stack_policy:
                self._cfn.set_stack_policy(spec.name, spec.stack_policy)
            if spec.termination_protection:
                self._cfn.set_termination_protection(spec.name, True)

    def delete(self, stack: str, limit: float) -> None:
        """Delete a stack and wait until it is gone."""
        self._cfn.delete_stack(stack)
        self._wait(stack, "DELETE", limit)

    def _delete_for_recreate(self, spec: StackSpec, action: Action, limit: float) -> None:
        # Our templates export as "<stack>-<Key>"; a stack whose exports are still imported
        # cannot be deleted, and deleting its consumer first is not this step's call.
        for export in (name for name in self._cfn.exports() if name.startswith(spec.name + "-")):
            importers = self._cfn.importers(export)
            if importers:
                raise PreflightBlockedError(
                    f"{spec.name} must be recreated but {export} is imported by "
                    + ", ".join(importers)
                ).with_hint("remove the importing stacks first (mathvisuals down)")
        retain: list[str] = []
        if action is Action.DELETE_RETAINING:
            retain = sorted(
                {e.logical_id for e in self._cfn.events(spec.name) if e.status.endswith("FAILED")}
                - {spec.name}
            )
        self._reporter.step(spec.name, "deleting the failed stack before recreating it")
        self._cfn.delete_stack(spec.name, retain)
        self._wait(spec.name, "DELETE", limit)
        if retain:
            self._reporter.warn(f"{spec.name}: kept failed resources {', '.join(retain)}")

    # Waiting -------------------------------------------------------------------------------

    def _latest_event_time(self, stack: str) -> str | None:
        events = self._cfn.events(stack) if self._cfn.describe(stack).exists else []
        return events[-1].timestamp if events else None

    def _wait(
        self, stack: str, operation: Operation, limit: float, since: str | None = None
    ) -> StackState:
        deadline = self._clock() + limit
        seen = since
        while True:
            state = self._cfn.describe(stack)
            if state.exists or operation != "DELETE":
                for event in self._cfn.events(stack, seen) if state.status else []:
                    self._reporter.event(stack, event)
                    seen = event.timestamp
            outcome = settle(operation, state.status)
            if outcome == "done":
                return state
            if outcome == "failed":
                reasons = self._failure_reasons(stack, since)
                raise DeploymentFailedError(
                    f"{stack} ended in {state.status}"
                    + (f": {reasons}" if reasons else f" {state.reason}".rstrip())
                ).with_hint(hint_for(reasons or state.reason))
            if self._clock() >= deadline:
                raise WaitTimeoutError(f"{stack} still {state.status} after {limit / 60:.0f} min")
            self._sleep(self._poll)

    def _wait_idle(self, stack: str, limit: float) -> StackState:
        deadline = self._clock() + limit
        while True:
            state = self._cfn.describe(stack)
            status = state.status or ""
            if not (status.endswith("_IN_PROGRESS") or state.pending_execution):
                return state
            if self._clock() >= deadline:
                raise WaitTimeoutError(f"{stack} stayed {status} for {limit / 60:.0f} min")
            self._sleep(self._poll)

    def _failure_reasons(self, stack: str, since: str | None = None) -> str:
        failed: list[StackEvent] = [
            e
            for e in self._cfn.events(stack, since)
            if e.status.endswith("FAILED") and e.reason and "cancelled" not in e.reason.lower()
        ]
        return "; ".join(f"{e.logical_id}: {e.reason}" for e in failed[:3])
