"""Wrap gateways so every mutating call first passes a hook: the lazy lock, and call counting."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from mathvisuals.deploy.gateway import Gateways

# Method names of the gateway protocols that change AWS state.
MUTATING = frozenset(
    {
        "create_change_set", "execute", "delete_change_set", "delete_stack", "continue_rollback",
        "set_termination_protection", "set_stack_policy", "create", "put", "restore_current",
        "delete", "create_bucket", "upload", "acquire_lock", "modify_auth_token",
        "subscribe_email", "create_snapshot", "update_outputs",
        "put_backup", "expire_backups",
    }
)  # fmt: skip

# Every other gateway method: it reads, and passes the guard untouched. A method in neither set
# fails tests/deploy/test_guard.py, so a new mutating call cannot bypass the lock unnoticed.
READ_ONLY = frozenset(
    {
        "describe", "template", "events", "physical_ids", "exports", "importers", "value", "get",
        "account_id", "missing_permissions", "bucket_region", "head", "read", "replication_group",
        "configuration", "messages", "ingress_sources", "alarms", "subscriptions", "resources",
        "filter_events", "export_table", "stacks_elsewhere", "snapshot_status",
        # Signs a URL locally; the signature alone changes nothing.
        "presign",
        # Runs the function (verify's round trip through the API); it changes no AWS resource.
        "invoke",
        # DetectStackDrift starts a detection operation (IAM counts it as a write) but changes
        # no resource or stack, so verify and status may run it without the lock.
        "drift",
    }
)  # fmt: skip

T = TypeVar("T")


class _Guarded:
    def __init__(self, target: Any, service: str, hook: Callable[[str], None]) -> None:
        self._target = target
        self._service = service
        self._hook = hook

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if name not in MUTATING or not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._hook(f"{self._service}.{name}")
            return attribute(*args, **kwargs)

        return call


def guard(gateways: Gateways, hook: Callable[[str], None]) -> Gateways:
    """The same gateways, with ``hook("<service>.<method>")`` before each mutating call."""
    wrapped: dict[str, Any] = {
        field.name: (
            None
            if getattr(gateways, field.name) is None
            else _Guarded(getattr(gateways, field.name), field.name, hook)
        )
        for field in dataclasses.fields(gateways)
    }
    return Gateways(**wrapped)
