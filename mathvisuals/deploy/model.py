"""The orchestrator's vocabulary: stacks, change sets, decisions. Plain data, no AWS types."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

StackRole = Literal["shared", "data", "api"]

PROTECTED_TYPES = frozenset(
    {"AWS::ElastiCache::ReplicationGroup", "AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::S3::Bucket"}
)


@dataclass(frozen=True)
class StackState:
    """What ``DescribeStacks`` says; ``status is None`` means the stack does not exist."""

    name: str
    status: str | None = None
    reason: str = ""
    outputs: Mapping[str, str] = field(default_factory=dict)
    parameters: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    pending_execution: bool = False
    termination_protection: bool = False

    @property
    def exists(self) -> bool:
        return self.status is not None and self.status != "DELETE_COMPLETE"

    @property
    def managed(self) -> bool:
        return self.tags.get("managed-by") == "mathvisuals"


@dataclass(frozen=True)
class StackResource:
    """One row of ``ListStackResources``."""

    logical_id: str
    type: str
    physical_id: str
    status: str = ""


@dataclass(frozen=True)
class ExportInfo:
    """One row of ``ListExports``: who exports which name with which value."""

    name: str
    value: str
    stack: str


@dataclass(frozen=True)
class StackSpec:
    """The desired stack: template, explicit parameters, tags, capabilities."""

    role: StackRole
    name: str
    template_body: str
    parameters: Mapping[str, str]
    tags: Mapping[str, str]
    capabilities: tuple[str, ...] = ()
    stack_policy: str | None = None
    termination_protection: bool = False
    # Logical ids the predictor judged to be kept or modified in place: a change set's
    # "Replacement: Conditional" on them is not a replacement (deploy/takeover).
    in_place: frozenset[str] = frozenset()

    @property
    def stateful(self) -> bool:
        return self.role == "data"

    @property
    def template_sha256(self) -> str:
        return hashlib.sha256(self.template_body.encode("utf-8")).hexdigest()

    @property
    def parameters_sha256(self) -> str:
        """Over the sorted parameters and tags: the inputs a change set is made of."""
        inputs = {"parameters": dict(self.parameters), "tags": dict(self.tags)}
        canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Change:
    action: str  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    resource_type: str
    replacement: str = "False"  # True | False | Conditional

    @property
    def replaces_protected(self) -> bool:
        return self.resource_type in PROTECTED_TYPES and self.replacement in ("True", "Conditional")


@dataclass(frozen=True)
class ChangeSet:
    stack: str
    name: str
    kind: Literal["CREATE", "UPDATE"]
    changes: tuple[Change, ...] = ()
    empty: bool = False
    change_set_id: str = ""


@dataclass(frozen=True)
class StackEvent:
    timestamp: str
    logical_id: str
    resource_type: str
    status: str
    reason: str = ""


class Action(Enum):
    CREATE = "create"
    UPDATE = "update"
    WAIT = "wait"
    REPLACE = "replace"  # delete the failed stack, then create
    CONTINUE_ROLLBACK = "continue-rollback"
    DELETE_RETAINING = "delete-retaining"  # delete keeping the failed resources, then create
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Decision:
    action: Action
    why: str
    hint: str = ""


@dataclass(frozen=True)
class Flags:
    """Operator decisions given on the command line (deploy.md §5.18)."""

    allow_replace: bool = False
    recreate_failed: bool = False
    force_recreate_data: bool = False
    skip_resources: tuple[str, ...] = ()
    new_environment: bool = False  # deploy where no stack exists although another region has ours
    backup: bool = True  # a takeover snapshots the replication group before its first mutation
