"""In-memory implementations of the gateway protocols, recording every call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from mathvisuals.deploy.errors import DeploymentFailedError
from mathvisuals.deploy.gateway import (
    AlarmInfo,
    FunctionInfo,
    Gateways,
    LogEvent,
    ParameterInfo,
    ReplicationGroupInfo,
    SecretInfo,
    SecretValue,
    SubscriptionInfo,
)
from mathvisuals.deploy.model import (
    Change,
    ChangeSet,
    DriftReport,
    ExportInfo,
    StackEvent,
    StackResource,
    StackSpec,
    StackState,
)


@dataclass
class FakeStack:
    state: StackState
    template: str = ""
    events: list[StackEvent] = field(default_factory=list)
    resources: list[StackResource] = field(default_factory=list)


class FakeCloudFormation:
    def __init__(self, on_execute: Callable[[StackSpec], Mapping[str, str]] | None = None) -> None:
        self.stacks: dict[str, FakeStack] = {}
        self.calls: list[tuple[str, str]] = []
        self.pending: dict[str, tuple[StackSpec, ChangeSet]] = {}
        self.on_execute = on_execute or (lambda spec: {})
        self.next_changes: tuple[Change, ...] | None = None
        self.fail_next_execute: str | None = None
        self.elsewhere: dict[str, set[str]] = {}  # region -> stack names there
        self.drifts: dict[str, DriftReport] = {}  # stack -> what DetectStackDrift finds
        self._clock = 0

    def _tick(self) -> str:
        self._clock += 1
        return f"2026-01-01T00:00:{self._clock:02d}Z"

    def put_state(self, state: StackState, template: str = "") -> None:
        self.stacks[state.name] = FakeStack(state, template)

    def describe(self, stack: str) -> StackState:
        found = self.stacks.get(stack)
        return found.state if found else StackState(stack, None)

    def drift(self, stack: str) -> DriftReport:
        self.calls.append(("drift", stack))
        return self.drifts.get(stack, DriftReport(stack, "IN_SYNC"))

    def template(self, stack: str) -> str | None:
        found = self.stacks.get(stack)
        return found.template if found else None

    def events(self, stack: str, since: str | None = None) -> list[StackEvent]:
        found = self.stacks.get(stack)
        events = found.events if found else []
        return [e for e in events if since is None or e.timestamp > since]

    def create_change_set(self, spec: StackSpec, kind: Literal["CREATE", "UPDATE"]) -> ChangeSet:
        self.calls.append(("create_change_set", f"{spec.name}:{kind}"))
        current = self.stacks.get(spec.name)
        if (
            kind == "UPDATE"
            and current is not None
            and current.template == spec.template_body
            and dict(current.state.parameters) == dict(spec.parameters)
        ):
            return ChangeSet(spec.name, "cs", kind, empty=True)
        changes = self.next_changes or (
            Change("Add" if kind == "CREATE" else "Modify", "R", "AWS::SSM::Parameter"),
        )
        self.next_changes = None
        change_set = ChangeSet(spec.name, f"cs-{len(self.calls)}", kind, changes)
        self.pending[change_set.name] = (spec, change_set)
        return change_set

    def execute(self, change_set: ChangeSet) -> None:
        self.calls.append(("execute", change_set.stack))
        spec, _ = self.pending.pop(change_set.name)
        if self.fail_next_execute:
            status = (
                "ROLLBACK_COMPLETE" if change_set.kind == "CREATE" else "UPDATE_ROLLBACK_COMPLETE"
            )
            stack = self.stacks.get(spec.name) or FakeStack(StackState(spec.name))
            stack.events.append(
                StackEvent(self._tick(), "Thing", "AWS::X", "CREATE_FAILED", self.fail_next_execute)
            )
            stack.state = replace(stack.state, status=status, tags=dict(spec.tags))
            self.stacks[spec.name] = stack
            self.fail_next_execute = None
            return
        outputs = dict(self.on_execute(spec))
        status = "CREATE_COMPLETE" if change_set.kind == "CREATE" else "UPDATE_COMPLETE"
        stack = self.stacks.get(spec.name) or FakeStack(StackState(spec.name))
        stack.events.append(
            StackEvent(self._tick(), spec.name, "AWS::CloudFormation::Stack", status)
        )
        stack.state = StackState(
            spec.name,
            status,
            outputs=outputs,
            parameters=dict(spec.parameters),
            tags=dict(spec.tags),
        )
        stack.template = spec.template_body
        self.stacks[spec.name] = stack

    def update_outputs(self, spec: StackSpec) -> bool:
        self.calls.append(("update_outputs", spec.name))
        found = self.stacks[spec.name]
        found.template = spec.template_body
        return True

    def delete_change_set(self, change_set: ChangeSet) -> None:
        self.calls.append(("delete_change_set", change_set.stack))
        self.pending.pop(change_set.name, None)

    def delete_stack(self, stack: str, retain: Sequence[str] = ()) -> None:
        self.calls.append(("delete_stack", stack))
        self.stacks.pop(stack, None)

    def continue_rollback(self, stack: str, skip: Sequence[str] = ()) -> None:
        self.calls.append(("continue_rollback", stack))
        found = self.stacks[stack]
        found.state = replace(found.state, status="UPDATE_ROLLBACK_COMPLETE")

    def physical_ids(self, stack: str) -> set[str]:
        found = self.stacks.get(stack)
        return set(found.state.outputs.values()) if found else set()

    def exports(self) -> Mapping[str, str]:
        return {
            f"{name}-{key}": value
            for name, stack in self.stacks.items()
            for key, value in stack.state.outputs.items()
        }

    def importers(self, export: str) -> list[str]:
        return []

    def resources(self, stack: str) -> list[StackResource]:
        found = self.stacks.get(stack)
        return list(found.resources) if found else []

    def export_table(self) -> list[ExportInfo]:
        return [
            ExportInfo(f"{name}-{key}", value, name)
            for name, stack in self.stacks.items()
            for key, value in stack.state.outputs.items()
        ]

    def stacks_elsewhere(self, names: Sequence[str]) -> dict[str, list[str]]:
        return {
            region: [n for n in names if n in present]
            for region, present in self.elsewhere.items()
            if any(n in present for n in names)
        }

    def set_termination_protection(self, stack: str, enabled: bool) -> None:
        self.calls.append(("set_termination_protection", stack))

    def set_stack_policy(self, stack: str, policy: str) -> None:
        self.calls.append(("set_stack_policy", stack))


class FakeSecrets:
    def __init__(self) -> None:
        self.values: dict[str, list[tuple[str, SecretValue]]] = {}
        self.owners: dict[str, str] = {}
        self.calls: list[str] = []

    def describe(self, name: str) -> SecretInfo | None:
        versions = self.values.get(name)
        if not versions:
            return None
        previous = versions[-2][0] if len(versions) > 1 else None
        return SecretInfo(
            name, f"arn:{name}", versions[-1][0], previous, owning_stack=self.owners.get(name)
        )

    def value(self, name: str, version_id: str | None = None) -> SecretValue:
        for version, value in reversed(self.values[name]):
            if version_id is None or version == version_id:
                return value
        raise DeploymentFailedError("no such version")

    def create(self, name: str, value: SecretValue, tags: Mapping[str, str]) -> str:
        self.calls.append(f"create {name}")
        self.values[name] = [("v1", value)]
        return "v1"

    def put(self, name: str, value: SecretValue) -> str:
        self.calls.append(f"put {name}")
        version = f"v{len(self.values[name]) + 1}"
        self.values[name].append((version, value))
        return version

    def restore_current(self, name: str, version_id: str, from_version_id: str) -> None:
        self.calls.append(f"restore {name}")

    def delete(self, name: str, *, force: bool) -> None:
        self.calls.append(f"delete {name}")
        self.values.pop(name, None)


class FakeParameters:
    def __init__(self) -> None:
        self.items: dict[str, ParameterInfo] = {}

    def get(self, names: Sequence[str], *, owners: bool = False) -> dict[str, ParameterInfo]:
        return {name: self.items[name] for name in names if name in self.items}

    def put(
        self, name: str, value: str, *, kind: str, tags: Mapping[str, str], overwrite: bool
    ) -> int:
        old = self.items.get(name)
        version = old.version + 1 if old else 1
        self.items[name] = ParameterInfo(
            name, value, version, kind, old.owning_stack if old else None
        )
        return version

    def delete(self, name: str) -> None:
        self.items.pop(name, None)


@dataclass
class FakeIdentity:
    account: str = "000000000000"
    missing: list[str] | None = field(default_factory=list)
    simulated: list[tuple[tuple[str, ...], str, dict[str, str]]] = field(default_factory=list)

    def account_id(self) -> str:
        return self.account

    def missing_permissions(
        self,
        actions: Sequence[str],
        resource: str = "*",
        context: Mapping[str, str] | None = None,
    ) -> list[str] | None:
        self.simulated.append((tuple(actions), resource, dict(context or {})))
        if self.missing is None:
            return None
        return [action for action in actions if action in self.missing]


class FakeArtifacts:
    def __init__(self, region: str | None = "eu-north-1") -> None:
        self.region = region
        self.objects: dict[tuple[str, str], bytes] = {}

    def bucket_region(self, bucket: str) -> str | None:
        return self.region

    def create_bucket(self, bucket: str, region: str, tags: Mapping[str, str]) -> None:
        self.region = region

    def head(self, bucket: str, key: str) -> str | None:
        return "ver1" if (bucket, key) in self.objects else None

    def upload(self, bucket: str, key: str, body: bytes) -> str:
        self.objects[(bucket, key)] = body
        return "ver1"

    def acquire_lock(self, bucket: str, key: str, body: bytes) -> bool:
        if (bucket, key) in self.objects:
            return False
        self.objects[(bucket, key)] = body
        return True

    def read(self, bucket: str, key: str) -> bytes | None:
        return self.objects.get((bucket, key))

    def delete(self, bucket: str, key: str) -> None:
        self.objects.pop((bucket, key), None)

    def put_backup(self, bucket: str, key: str, body: bytes) -> None:
        self.objects[(bucket, key)] = body

    def presign(
        self, bucket: str, key: str, method: str, seconds: int
    ) -> tuple[str, dict[str, str]]:
        return f"fake://{bucket}/{key}?{method}", {}

    def expire_backups(self, bucket: str, prefix: str, days: int) -> None:
        self.lifecycle = (prefix, days)


class FakeCache:
    def __init__(self) -> None:
        self.groups: dict[str, ReplicationGroupInfo] = {}
        self.calls: list[str] = []
        self.snapshots: dict[str, str] = {}

    def replication_group(self, group_id: str) -> ReplicationGroupInfo | None:
        return self.groups.get(group_id)

    def modify_auth_token(
        self, group_id: str, token: SecretValue, strategy: Literal["ROTATE", "SET"]
    ) -> None:
        self.calls.append(f"{strategy} {group_id}")

    def create_snapshot(self, group_id: str, name: str) -> None:
        self.calls.append(f"snapshot {group_id} {name}")
        self.snapshots[name] = "available"

    def snapshot_status(self, name: str) -> str | None:
        return self.snapshots.get(name)


class FakeFunctions:
    def __init__(self) -> None:
        self.functions: dict[str, FunctionInfo] = {}

    def configuration(self, name: str, qualifier: str | None = None) -> FunctionInfo | None:
        """``functions[name]``, or ``functions["name:qualifier"]`` for a version or alias."""
        return self.functions.get(f"{name}:{qualifier}" if qualifier else name)

    def invoke(self, name: str, event: Mapping[str, object]) -> dict[str, object]:
        raise NotImplementedError


class FakeLogs:
    def __init__(self) -> None:
        self.lines: dict[str, list[str]] = {}

    def messages(self, group: str, start_ms: int) -> list[str]:
        return list(self.lines.get(group, []))

    def filter_events(
        self, group: str, start_ms: int, *, pattern: str | None = None, limit: int = 10_000
    ) -> list[LogEvent]:
        lines = self.lines.get(group, [])
        return [LogEvent(start_ms + i, line, str(i)) for i, line in enumerate(lines)][:limit]


class FakeNetwork:
    def __init__(self) -> None:
        self.rules: dict[str, list[str]] = {}

    def ingress_sources(self, security_group_id: str, port: int) -> list[str]:
        return list(self.rules.get(security_group_id, []))


class FakeMonitoring:
    """Alarm states by name, and each topic's subscriptions; new e-mails start pending."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.topics: dict[str, list[SubscriptionInfo]] = {}
        self.calls: list[str] = []

    def alarms(self, prefix: str) -> list[AlarmInfo]:
        return [AlarmInfo(n, s) for n, s in sorted(self.states.items()) if n.startswith(prefix)]

    def subscriptions(self, topic_arn: str) -> list[SubscriptionInfo]:
        return list(self.topics.get(topic_arn, []))

    def subscribe_email(self, topic_arn: str, address: str) -> None:
        self.calls.append(f"subscribe {address}")
        self.topics.setdefault(topic_arn, []).append(SubscriptionInfo("email", address, False))


@dataclass(frozen=True)
class FakeArtifact:
    path: Path
    sha256: str = "ab" * 32
    code_sha256: str = "q83vEjRWeJA="

    def key(self, prefix: str) -> str:
        return f"{prefix}{self.sha256}.zip"


def fake_gateways(cfn: FakeCloudFormation | None = None, **overrides: Any) -> Gateways:
    parts: dict[str, Any] = {
        "cloudformation": cfn or FakeCloudFormation(),
        "secrets": FakeSecrets(),
        "parameters": FakeParameters(),
        "identity": FakeIdentity(),
        "artifacts": FakeArtifacts(),
        "cache": FakeCache(),
        "functions": FakeFunctions(),
        "logs": FakeLogs(),
        "network": FakeNetwork(),
        "monitoring": FakeMonitoring(),
    }
    parts.update(overrides)
    return Gateways(**parts)
