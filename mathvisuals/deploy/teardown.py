"""``down``: api, then data (only with both flags), then shared; secret only on request (§5.17)."""

from __future__ import annotations

from dataclasses import dataclass

from mathvisuals.deploy.errors import PreflightBlockedError, RefusedError
from mathvisuals.deploy.orchestrator import Orchestrator
from mathvisuals.deploy.stacks import WAIT_LIMITS


@dataclass(frozen=True)
class DownOptions:
    include_data: bool = False
    confirm_env: str | None = None
    delete_secret: bool = False
    force_delete_secret: bool = False


def down(o: Orchestrator, options: DownOptions) -> list[tuple[str, str]]:
    """Returns (what, outcome) pairs. A profile that ``down_removes_everything`` (local)
    deletes data and secret without flags."""
    config, gateways = o.config, o.gateways
    everything = o.context.profile.down_removes_everything
    include_data = everything or options.include_data
    if options.include_data and not everything and options.confirm_env != config.name:
        raise RefusedError("--include-data needs --confirm-env " + config.name).with_hint(
            "the data stack holds the Redis data; a final snapshot is kept"
        )
    done: list[tuple[str, str]] = []
    with o.context.locked():
        done.append((config.stacks.api, _delete(o, config.stacks.api, "api")))
        if include_data:
            state = gateways.cloudformation.describe(config.stacks.data)
            if state.exists and state.termination_protection:
                gateways.cloudformation.set_termination_protection(config.stacks.data, False)
            done.append((config.stacks.data, _delete(o, config.stacks.data, "data")))
        else:
            done.append((config.stacks.data, "kept (pass --include-data --confirm-env)"))
        shared_exports = [
            name for name in gateways.cloudformation.exports()
            if name.startswith(config.stacks.shared + "-")
        ]  # fmt: skip
        importers = sorted(
            {s for e in shared_exports for s in gateways.cloudformation.importers(e)}
        )
        if importers:
            done.append((config.stacks.shared, f"kept (imported by {', '.join(importers)})"))
        else:
            done.append((config.stacks.shared, _delete(o, config.stacks.shared, "shared")))
            deleted = 0
            for key in ("examples-origins", "svg-origins"):
                if gateways.parameters.get([config.ssm_name(key)]):
                    gateways.parameters.delete(config.ssm_name(key))
                    deleted += 1
            done.append(("allow-list parameters", "deleted" if deleted else "absent"))
        secret = config.redis.auth_secret_name
        if everything or options.delete_secret or options.force_delete_secret:
            info = gateways.secrets.describe(secret)
            if info is not None and not info.deleted:
                force = everything or options.force_delete_secret
                gateways.secrets.delete(secret, force=force)
                done.append((secret, "deleted" if force else "scheduled for deletion (30 days)"))
            else:
                done.append((secret, "absent"))
        else:
            done.append((secret, "kept (pass --delete-secret)"))
    return done


def _delete(o: Orchestrator, stack: str, role: str) -> str:
    state = o.gateways.cloudformation.describe(stack)
    if not state.exists:
        return "absent"
    if state.tags.get("managed-by") != "mathvisuals":
        raise PreflightBlockedError(f"{stack} is not tagged managed-by=mathvisuals; not deleting")
    o.context.reporter.step("down", f"deleting {stack}")
    o.deployer.delete(stack, WAIT_LIMITS[role])
    return "deleted"
