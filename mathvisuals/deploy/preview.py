"""``plan``: preflight, the takeover plan, and a preview of each stack. Nothing is deployed."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from mathvisuals.deploy.model import Action
from mathvisuals.deploy.parameters import Live
from mathvisuals.deploy.plan import refused_replacements
from mathvisuals.deploy.stacks import StackDeployer
from mathvisuals.deploy.takeover.survey import summarise

if TYPE_CHECKING:
    from mathvisuals.deploy.orchestrator import Orchestrator, PlanResult

ROLES = ("shared", "data", "api")


def preview(o: Orchestrator, *, describe_changes: bool = True) -> PlanResult:
    """Change sets are created only to be described and deleted, through the unguarded gateway
    (no lock taken). Stacks that are not ours are judged by the predictor alone: their change
    sets would describe templates nobody has adopted yet."""
    from mathvisuals.deploy.orchestrator import PlanResult

    o.preflight()
    result = PlanResult()
    found = o.take_survey(for_up=False)
    if found.plan is not None and (found.taking_over or found.adopted):
        result.takeover = summarise(found)
        for name in found.missing_adoption():
            result.notes.append(
                f"{name}: not managed by mathvisuals; the adoption above is derived, not "
                f"recorded: mathvisuals adopt --env {o.config.name} writes it"
            )
    result.refusals = found.refusals(allow_replace=o.flags.allow_replace)
    secret = o.gateways.secrets.describe(o.config.redis.auth_secret_name)
    version = secret.current_version if secret and secret.current_version else None
    if version is None:
        result.notes.append("secret: would be created with a generated token")
    previewer = StackDeployer(o.context.raw.cloudformation, o.context.reporter, flags=o.flags)
    for role in ROLES:
        name = str(getattr(o.config.stacks, role))
        if name in found.missing_adoption():
            continue
        live = Live(secret_version_id=version or "")
        if role == "api":
            planned = o.planned_api_inputs(version)
            if planned is None:
                result.notes.append("api: previewed once the data stack has written its parameters")
                continue
            live = planned
        spec = o.spec(role, live)  # type: ignore[arg-type]
        shown = previewer.preview(spec)
        if (
            describe_changes
            and version
            and not shown.unchanged
            and shown.action in (Action.CREATE, Action.UPDATE)
        ):
            changes = previewer.preview_changes(spec)
            shown = dataclasses.replace(
                shown,
                changes=changes,
                refused=tuple(refused_replacements(changes, o.flags.allow_replace)),
            )
        result.stacks.append(shown)
    return result
