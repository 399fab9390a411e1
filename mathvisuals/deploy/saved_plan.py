"""A saved plan (``plan --out``) and the check that ``up --plan`` applies exactly that.

The file records what ``plan`` showed: per stack, the action, the digests of the template and
of the parameters, and the change set's content. ``up --plan`` plans again and refuses when
anything differs, so what is applied is what was reviewed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mathvisuals.deploy.errors import UsageError

if TYPE_CHECKING:
    from mathvisuals.deploy.orchestrator import PlanResult

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SavedStack:
    stack: str
    action: str
    unchanged: bool
    template_sha256: str
    parameters_sha256: str
    changes: tuple[tuple[str, str, str, str], ...] = ()  # action, logical id, type, replacement


@dataclass(frozen=True)
class SavedPlan:
    environment: str
    region: str
    account_id: str
    tool_version: str
    created: str
    stacks: tuple[SavedStack, ...] = ()
    takeover: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    def to_json(self) -> str:
        body: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "environment": self.environment,
            "region": self.region,
            "account_id": self.account_id,
            "tool_version": self.tool_version,
            "created": self.created,
            "stacks": [
                {
                    "stack": s.stack,
                    "action": s.action,
                    "unchanged": s.unchanged,
                    "template_sha256": s.template_sha256,
                    "parameters_sha256": s.parameters_sha256,
                    "changes": [
                        dict(
                            zip(
                                ("action", "logical_id", "resource_type", "replacement"),
                                c,
                                strict=True,
                            )
                        )
                        for c in s.changes
                    ],
                }
                for s in self.stacks
            ],
            "takeover": list(self.takeover),
            "notes": list(self.notes),
        }
        return json.dumps(body, indent=2, sort_keys=False) + "\n"


class PlanFileError(UsageError):
    """The file is not a plan this tool wrote (or not one of this schema version)."""


def from_result(
    result: PlanResult,
    *,
    environment: str,
    region: str,
    account_id: str,
    tool_version: str,
    created: str,
) -> SavedPlan:
    stacks = tuple(
        SavedStack(
            stack=p.stack,
            action=p.action.value,
            unchanged=p.unchanged,
            template_sha256=p.template_sha256,
            parameters_sha256=p.parameters_sha256,
            changes=tuple(
                (c.action, c.logical_id, c.resource_type, c.replacement) for c in p.changes
            ),
        )
        for p in result.stacks
    )
    return SavedPlan(
        environment,
        region,
        account_id,
        tool_version,
        created,
        stacks,
        tuple(result.takeover),
        tuple(result.notes),
    )


def read(path: Path) -> SavedPlan:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise PlanFileError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(body, dict) or body.get("schema_version") != SCHEMA_VERSION:
        raise PlanFileError(f"{path} is not a plan written by `mathvisuals plan --out`")
    try:
        stacks = tuple(
            SavedStack(
                stack=str(s["stack"]),
                action=str(s["action"]),
                unchanged=bool(s["unchanged"]),
                template_sha256=str(s["template_sha256"]),
                parameters_sha256=str(s["parameters_sha256"]),
                changes=tuple(
                    (
                        str(c["action"]),
                        str(c["logical_id"]),
                        str(c["resource_type"]),
                        str(c["replacement"]),
                    )
                    for c in s["changes"]
                ),
            )
            for s in body["stacks"]
        )
        return SavedPlan(
            environment=str(body["environment"]),
            region=str(body["region"]),
            account_id=str(body["account_id"]),
            tool_version=str(body["tool_version"]),
            created=str(body["created"]),
            stacks=stacks,
            takeover=tuple(str(line) for line in body["takeover"]),
            notes=tuple(str(line) for line in body.get("notes", [])),
        )
    except (KeyError, TypeError) as exc:
        raise PlanFileError(f"{path}: a plan field is missing or malformed ({exc})") from exc


def differences(saved: SavedPlan, fresh: SavedPlan) -> list[str]:
    """What moved between the reviewed plan and one made now; empty means apply it."""
    found: list[str] = []
    for name in ("environment", "region", "account_id"):
        if getattr(saved, name) != getattr(fresh, name):
            found.append(f"{name}: planned {getattr(saved, name)}, now {getattr(fresh, name)}")
    before = {s.stack: s for s in saved.stacks}
    after = {s.stack: s for s in fresh.stacks}
    for stack in sorted(set(before) | set(after)):
        old, new = before.get(stack), after.get(stack)
        if old is None or new is None:
            found.append(f"{stack}: {'not in the plan' if old is None else 'no longer planned'}")
            continue
        if old.action != new.action or old.unchanged != new.unchanged:
            was = "unchanged" if old.unchanged else old.action
            now = "unchanged" if new.unchanged else new.action
            found.append(f"{stack}: planned {was}, now {now}")
        if old.template_sha256 != new.template_sha256:
            found.append(f"{stack}: the template changed")
        if old.parameters_sha256 != new.parameters_sha256:
            found.append(f"{stack}: the parameters or tags changed")
        if old.changes != new.changes:
            found.append(
                f"{stack}: the change set differs ({len(old.changes)} → {len(new.changes)} changes)"
            )
    if saved.takeover != fresh.takeover:
        found.append("the takeover plan differs")
    return found
