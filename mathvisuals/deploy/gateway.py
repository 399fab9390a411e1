"""What the orchestrator needs from AWS, in its own vocabulary (implemented by ``aws/``).

Expected outcomes are values (a missing stack is ``StackState(status=None)``, an empty change
set is ``ChangeSet.empty``); only failures raise, as :class:`DeployError` subclasses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from mathvisuals.deploy import masking
from mathvisuals.deploy.model import (
    ChangeSet,
    DriftReport,
    ExportInfo,
    StackEvent,
    StackResource,
    StackSpec,
    StackState,
)


class SecretValue:
    """A secret held in memory: its repr and str never show the value (Starlette's ``Secret``)."""

    __slots__ = ("_value",)

    def __init__(self, value: str, *, mask: bool = True) -> None:
        self._value = value
        if mask:
            masking.register(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretValue('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class SecretInfo:
    name: str
    arn: str
    current_version: str | None
    previous_version: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    deleted: bool = False
    owning_stack: str | None = None


@dataclass(frozen=True)
class ParameterInfo:
    name: str
    value: str
    version: int
    type: str = "String"
    owning_stack: str | None = None


@dataclass(frozen=True)
class ReplicationGroupInfo:
    group_id: str
    status: str
    auth_token_enabled: bool
    transit_encryption: bool
    at_rest_encryption: bool
    multi_az: bool
    automatic_failover: bool
    primary_address: str | None
    primary_port: int | None
    reader_address: str | None
    owning_stack: str | None = None


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    state: str
    last_update_status: str
    runtime: str
    code_sha256: str
    last_modified: str
    environment: Mapping[str, SecretValue]  # every env value is treated as sensitive
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    version: str = "$LATEST"
    snapstart: str = ""  # SnapStart OptimizationStatus of a published version: On or Off


@dataclass(frozen=True)
class AlarmInfo:
    name: str
    state: str  # OK, ALARM or INSUFFICIENT_DATA


@dataclass(frozen=True)
class SubscriptionInfo:
    protocol: str
    endpoint: str
    confirmed: bool  # False while the SubscriptionArn is "PendingConfirmation"


class CloudFormation(Protocol):
    def describe(self, stack: str) -> StackState: ...

    def template(self, stack: str) -> str | None:
        """The deployed template body (``GetTemplate``, stage Original); ``None`` if absent."""
        ...

    def events(self, stack: str, since: str | None = None) -> list[StackEvent]:
        """Newest last; only events after ``since`` (an ISO timestamp) when given."""
        ...

    def create_change_set(self, spec: StackSpec, kind: Literal["CREATE", "UPDATE"]) -> ChangeSet:
        """Create and wait until described; "no changes" gives ``empty=True`` (already deleted)."""
        ...

    def execute(self, change_set: ChangeSet) -> None: ...

    def drift(self, stack: str) -> DriftReport:
        """``DetectStackDrift``, polled to a bound; NOT_SUPPORTED where the endpoint lacks it."""
        ...

    def update_outputs(self, spec: StackSpec) -> bool:
        """Apply a spec whose only change is to Outputs (no change set can carry that)."""
        ...

    def delete_change_set(self, change_set: ChangeSet) -> None: ...

    def delete_stack(self, stack: str, retain: Sequence[str] = ()) -> None: ...

    def continue_rollback(self, stack: str, skip: Sequence[str] = ()) -> None: ...

    def physical_ids(self, stack: str) -> set[str]:
        """Physical ids of the stack's resources (empty when the stack does not exist)."""
        ...

    def exports(self) -> Mapping[str, str]: ...

    def importers(self, export: str) -> list[str]: ...

    def resources(self, stack: str) -> list[StackResource]:
        """Every resource of the stack with its logical and physical id (empty when absent)."""
        ...

    def export_table(self) -> list[ExportInfo]:
        """``ListExports`` with the exporting stack's name."""
        ...

    def stacks_elsewhere(self, names: Sequence[str]) -> dict[str, list[str]]:
        """Region -> which of ``names`` exist there, for every other region of the account."""
        ...

    def set_termination_protection(self, stack: str, enabled: bool) -> None: ...

    def set_stack_policy(self, stack: str, policy: str) -> None: ...


class Secrets(Protocol):
    def describe(self, name: str) -> SecretInfo | None: ...

    def value(self, name: str, version_id: str | None = None) -> SecretValue:
        """The ``authToken`` of the JSON secret (the current version unless one is given)."""
        ...

    def create(self, name: str, value: SecretValue, tags: Mapping[str, str]) -> str:
        """Returns the new VersionId."""
        ...

    def put(self, name: str, value: SecretValue) -> str: ...

    def restore_current(self, name: str, version_id: str, from_version_id: str) -> None:
        """Move ``AWSCURRENT`` back to ``version_id`` (rotation rollback)."""
        ...

    def delete(self, name: str, *, force: bool) -> None: ...


class Parameters(Protocol):
    def get(self, names: Sequence[str], *, owners: bool = False) -> dict[str, ParameterInfo]:
        """Only the parameters that exist; ``owners`` also reads their owning stack (a call
        per parameter)."""
        ...

    def put(
        self, name: str, value: str, *, kind: str, tags: Mapping[str, str], overwrite: bool
    ) -> int:
        """Returns the new version."""
        ...

    def delete(self, name: str) -> None: ...


class Identity(Protocol):
    def account_id(self) -> str: ...

    def missing_permissions(
        self,
        actions: Sequence[str],
        resource: str = "*",
        context: Mapping[str, str] | None = None,
    ) -> list[str] | None:
        """Actions the caller may not perform on ``resource`` with the request ``context``;
        ``None`` when simulation itself is not allowed."""
        ...


class Artifacts(Protocol):
    def bucket_region(self, bucket: str) -> str | None:
        """``None`` when the bucket does not exist."""
        ...

    def create_bucket(self, bucket: str, region: str, tags: Mapping[str, str]) -> None: ...

    def head(self, bucket: str, key: str) -> str | None:
        """The object's VersionId ("" when unversioned), ``None`` when absent."""
        ...

    def upload(self, bucket: str, key: str, body: bytes) -> str: ...

    def acquire_lock(self, bucket: str, key: str, body: bytes) -> bool:
        """Write ``key`` only if absent (``If-None-Match: *``); False when it exists."""
        ...

    def read(self, bucket: str, key: str) -> bytes | None: ...

    def delete(self, bucket: str, key: str) -> None: ...

    def put_backup(self, bucket: str, key: str, body: bytes) -> None:
        """Store a data page encrypted (SSE-S3)."""
        ...

    def presign(
        self, bucket: str, key: str, method: Literal["get", "put"], seconds: int
    ) -> tuple[str, dict[str, str]]:
        """A presigned URL and the headers its user must send; no request is made."""
        ...

    def expire_backups(self, bucket: str, prefix: str, days: int) -> None:
        """Ensure a lifecycle rule expires the objects under ``prefix`` after ``days``."""
        ...


class Cache(Protocol):
    def replication_group(self, group_id: str) -> ReplicationGroupInfo | None: ...

    def create_snapshot(self, group_id: str, name: str) -> None:
        """A manual snapshot of the group (``CreateSnapshot``)."""
        ...

    def snapshot_status(self, name: str) -> str | None:
        """``creating``, ``available``, ``failed``…; None when there is no such snapshot."""
        ...

    def modify_auth_token(
        self, group_id: str, token: SecretValue, strategy: Literal["ROTATE", "SET"]
    ) -> None: ...


class Functions(Protocol):
    def configuration(self, name: str, qualifier: str | None = None) -> FunctionInfo | None: ...

    def invoke(self, name: str, event: Mapping[str, object]) -> dict[str, object]: ...


@dataclass(frozen=True)
class LogEvent:
    timestamp_ms: int
    message: str
    event_id: str = ""


class Logs(Protocol):
    def messages(self, group: str, start_ms: int) -> list[str]: ...

    def filter_events(
        self, group: str, start_ms: int, *, pattern: str | None = None, limit: int = 10_000
    ) -> list[LogEvent]:
        """Events from ``start_ms`` on, oldest first, at most ``limit`` (``logs``)."""
        ...


class Network(Protocol):
    def ingress_sources(self, security_group_id: str, port: int) -> list[str]:
        """Security groups allowed to reach ``port`` on the group."""
        ...


class Monitoring(Protocol):
    def alarms(self, prefix: str) -> list[AlarmInfo]:
        """Metric alarms whose names start with ``prefix`` (every page)."""
        ...

    def subscriptions(self, topic_arn: str) -> list[SubscriptionInfo]:
        """The topic's subscriptions, pending ones included (every page)."""
        ...

    def subscribe_email(self, topic_arn: str, address: str) -> None:
        """Subscribe ``address``; AWS mails it a confirmation link (pending until clicked)."""
        ...


@dataclass
class Gateways:
    """Everything the orchestrator talks to; built by ``aws.connect`` or by tests."""

    cloudformation: CloudFormation
    secrets: Secrets
    parameters: Parameters
    identity: Identity
    artifacts: Artifacts
    cache: Cache
    functions: Functions
    logs: Logs
    network: Network
    # The static-site stack may live in another region; read only (its CloudFront domain).
    static_site: CloudFormation | None = None
    # Alarm states and the alarm topic's subscriptions; optional for hand-built gateways.
    monitoring: Monitoring | None = None
