"""The takeover's safety steps: one production per account, the live token, a backup first."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from mathvisuals.deploy.context import DeployContext
from mathvisuals.deploy.errors import PreflightBlockedError, RefusedError, WaitTimeoutError
from mathvisuals.deploy.gateway import SecretValue
from mathvisuals.deploy.takeover.survey import Survey, names_of
from mathvisuals.deploy.token import fingerprint

SNAPSHOT_WAIT_SECONDS = 60 * 60.0


def one_production(context: DeployContext, *, new_environment: bool) -> None:
    """No second production by accident: stop when this region holds none of our stacks while
    another region of the account does (the seed says eu-north-1; upstream lives elsewhere)."""
    config = context.config
    names = list(names_of(config))
    cfn = context.raw.cloudformation
    if new_environment or any(cfn.describe(name).exists for name in names):
        return
    elsewhere = cfn.stacks_elsewhere(names)
    if not elsewhere:
        return
    regions = ", ".join(f"{region} ({', '.join(found)})" for region, found in elsewhere.items())
    raise PreflightBlockedError(
        f"{config.env.region} holds no Math Visuals stacks, but {regions} does: this would "
        "create a second production"
    ).with_hint(
        f"set env.region in the environment file to take over the live one, or pass "
        f"--new-environment to create {config.name} in {config.env.region} on purpose"
    )


def adoption_recorded(survey: Survey) -> None:
    missing = survey.missing_adoption()
    if missing:
        raise RefusedError(
            f"{', '.join(missing)} exist{'s' if len(missing) == 1 else ''} but "
            f"{'is' if len(missing) == 1 else 'are'} not managed by mathvisuals (no ownership "
            "tag), and the environment file records no adoption"
        ).with_hint(
            f"run mathvisuals adopt --env {survey.config.name}, review what it writes, then "
            "mathvisuals plan and up"
        )


def _live_token(context: DeployContext, survey: Survey) -> SecretValue | None:
    config = context.config
    api = survey.live.get(config.stacks.api)
    if config.stacks.api not in survey.foreign or api is None or "ApiFunction" not in api.resources:
        return None
    function = context.raw.functions.configuration(api.resources["ApiFunction"].physical_id)
    return function.environment.get("REDIS_PASSWORD") if function else None


def _our_token(context: DeployContext) -> SecretValue | None:
    name = context.config.redis.auth_secret_name
    secret = context.raw.secrets.describe(name)
    if secret is None or not secret.current_version or secret.deleted:
        return None
    return context.raw.secrets.value(name)


def sync_token(context: DeployContext, survey: Survey) -> str:
    """``adopt``: put the live function's token into our secret when it holds another one (a
    new version; the previous stays as AWSPREVIOUS). Returns what was done, for the report."""
    live = _live_token(context, survey)
    if live is None:
        return "no live function token to compare"
    ours = _our_token(context)
    name = context.config.redis.auth_secret_name
    if ours is not None and fingerprint(ours.reveal()) == fingerprint(live.reveal()):
        return f"{name} already holds the live token ({fingerprint(live.reveal())})"
    if context.raw.secrets.describe(name) is None:
        context.gateways.secrets.create(name, live, context.config.tags)
        return f"{name} created with the live token ({fingerprint(live.reveal())})"
    context.gateways.secrets.put(name, live)
    return f"{name}: new version with the live token ({fingerprint(live.reveal())})"


def live_token_matches(context: DeployContext, survey: Survey) -> None:
    """Our secret must hold the token the live function uses: the data stack's AuthToken is
    about to be read from it, and the live input cannot be read back (NoEcho)."""
    config = context.config
    live = _live_token(context, survey)
    if live is None:
        return
    ours = _our_token(context)
    if ours is None or fingerprint(ours.reveal()) != fingerprint(live.reveal()):
        shown = fingerprint(ours.reveal()) if ours is not None else "absent"
        raise RefusedError(
            f"{config.redis.auth_secret_name} ({shown}) does not hold the token the live "
            f"function uses ({fingerprint(live.reveal())})"
        ).with_hint(f"mathvisuals adopt --env {config.name} writes the live token into it")


def snapshot(context: DeployContext, group_id: str) -> str:
    """ElastiCache's own backup of the group, taken and waited for; returns its name."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name = f"{group_id}-takeover-{stamp}"
    cache = context.gateways.cache
    context.reporter.step("backup", f"snapshot {name}")
    cache.create_snapshot(group_id, name)
    deadline = time.monotonic() + SNAPSHOT_WAIT_SECONDS
    while True:
        status = cache.snapshot_status(name)
        if status == "available":
            context.record("backup", "snapshot", name)
            return name
        if status in (None, "failed", "deleted"):
            raise RefusedError(f"the snapshot {name} ended {status or 'missing'}").with_hint(
                "nothing was changed; look at the replication group, then run up again"
            )
        if time.monotonic() >= deadline:
            raise WaitTimeoutError(f"snapshot {name} still {status}")
        context.sleep(context.profile.stack_poll_seconds)
