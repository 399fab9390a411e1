"""``mathvisuals up``: the seed's five steps, then verify and the status report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import (
    BreakLockOption,
    ConfigOption,
    EnvOption,
    JsonOption,
    TargetOption,
)
from mathvisuals.cli.workdir import user_path
from mathvisuals.deploy.model import Flags

if TYPE_CHECKING:
    from mathvisuals.deploy.orchestrator import Orchestrator
    from mathvisuals.deploy.saved_plan import SavedPlan

AllowReplace = Annotated[
    bool,
    typer.Option("--allow-replace", help="Allow replacing the replication group, VPC or subnets."),
]
RecreateFailed = Annotated[
    bool,
    typer.Option(
        "--recreate-failed",
        help="Recreate a failed shared/api stack (ROLLBACK_FAILED, DELETE_FAILED).",
    ),
]
ForceRecreateData = Annotated[
    bool, typer.Option("--force-recreate-data", help="Delete and recreate a failed data stack.")
]
NoVerify = Annotated[bool, typer.Option("--no-verify", help="Skip verify after deploying.")]
NewEnvironment = Annotated[
    bool,
    typer.Option(
        "--new-environment",
        help="Create this environment although another region holds Math Visuals stacks.",
    ),
]
NoBackup = Annotated[
    bool,
    typer.Option(
        "--no-backup",
        help="Skip the backup before the first mutation: the replication group snapshot of a "
        "takeover, the data export before a data stack change.",
    ),
]
PlanFile = Annotated[
    Path | None,
    typer.Option(
        "--plan",
        callback=user_path,
        metavar="FILE",
        help="Apply the plan saved by plan --out FILE; refuse if the live state has moved.",
    ),
]
Yes = Annotated[
    bool,
    typer.Option("--yes", help="Deploy without a saved plan where [protection] require_plan."),
]
SkipResources = Annotated[
    str,
    typer.Option(
        "--skip-resources",
        metavar="A,B",
        help="Logical ids to skip when continuing a failed rollback.",
    ),
]


def up(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    json_output: JsonOption = False,
    allow_replace: AllowReplace = False,
    recreate_failed: RecreateFailed = False,
    force_recreate_data: ForceRecreateData = False,
    skip_resources: SkipResources = "",
    no_verify: NoVerify = False,
    break_lock: BreakLockOption = False,
    new_environment: NewEnvironment = False,
    no_backup: NoBackup = False,
    plan_file: PlanFile = None,
    yes: Yes = False,
) -> None:
    """Deploy everything, in order, idempotently: artefact, secret, shared, allow-lists,
    data, api; then verify and write the status report.

    A second run with nothing changed makes no mutating AWS call and says so. With
    --plan FILE it first plans again and refuses (exit 10) unless the result equals the
    reviewed plan; an environment with [protection] require_plan needs --plan or --yes.

    Example: mathvisuals up --env prod --plan prod.plan.json
    """
    from mathvisuals.deploy.check.cache import cached_check
    from mathvisuals.deploy.context import StepResult
    from mathvisuals.settings import deploy_environment

    flags = Flags(
        allow_replace=allow_replace,
        recreate_failed=recreate_failed,
        force_recreate_data=force_recreate_data,
        skip_resources=tuple(x for x in skip_resources.split(",") if x),
        new_environment=new_environment,
        backup=not no_backup,
    )
    from mathvisuals.deploy.saved_plan import read

    started = time.monotonic()
    saved = read(plan_file) if plan_file is not None else None  # bad input fails before AWS
    with wiring.session(env, config, target) as s:
        checked = cached_check(
            s.config_file,
            s.config.name,
            token_file=deploy_environment().token_file,
            cache_dir=wiring.CACHE_DIR,
            # Only a transient progress line: a failure later in `up` stays the one line printed.
            on_run=lambda: s.reporter.step("check", "config, cfn-lint, our rules"),
        )
        orchestrator = wiring.orchestrator(s, flags=flags, break_lock=break_lock)
        reviewed(s, orchestrator, plan_file, saved, yes=yes)
        if not no_backup and data_will_change(orchestrator):
            from mathvisuals.cli.data import backup_before

            backup_before(s, "up")  # issue 14: users' data is exported before the data stack moves
        result = orchestrator.up()
        result.steps.insert(0, StepResult("check", checked))
        s.reporter.stop()
        verified = None
        if not no_verify:
            # V1–V8 (less the profile's skipped checks), the summary, the status report: one
            # reading of the live state for both.
            s.reporter.step("verify", s.profile.verify_label)
            observed = wiring.observe(s)
            report = wiring.verify_report(
                s, code_sha256=orchestrator.code_sha256, observed=observed
            )
            s.reporter.stop()
            s.console.print(report.summary())
            wiring.write_status(s, report, observed=observed)
            verified = report.ok
        endpoint = result.outputs.get("api.ApiEndpoint")
        if endpoint and s.profile.emulated:
            endpoint = wiring.emulated_api_url(s.config, endpoint)
        summary = {
            "changed": result.changed,
            "mutating_calls": len(result.mutations),
            "steps": [vars(step) for step in result.steps],
            "api_endpoint": endpoint,
            "config_version": result.config_version,
            "secret": result.secret_fingerprint,
            "verified": verified,
            "seconds": round(time.monotonic() - started, 1),
        }
        if json_output:
            render.emit_json(summary)
        else:
            render.up_summary(
                s.console,
                f"{s.config.name} ({s.profile.name})",
                s.profile.verify_label,
                result,
                verified,
                endpoint,
                s.config.report.path,
            )
        if verified is False:
            raise typer.Exit(8)


def reviewed(
    s: wiring.Session,
    orchestrator: Orchestrator,
    plan_file: Path | None,
    saved: SavedPlan | None = None,
    *,
    yes: bool,
) -> None:
    """Refuse unless what ``up`` would do is what was reviewed (``--plan``) or waived."""
    from mathvisuals.deploy.errors import RefusedError
    from mathvisuals.deploy.saved_plan import differences, read

    name = s.config.name
    if plan_file is None:
        if s.config.protection.require_plan and not yes:
            raise RefusedError(
                f"environment {name!r} requires a reviewed plan ([protection] require_plan)"
            ).with_hint(
                f"mathvisuals plan --env {name} --out {name}.plan.json, then "
                f"mathvisuals up --env {name} --plan {name}.plan.json (or pass --yes)"
            )
        return
    saved = saved or read(plan_file)
    s.reporter.step("plan", f"comparing with {plan_file}")
    fresh = wiring.saved_plan(s, orchestrator.plan())
    moved = differences(saved, fresh)
    if moved:
        more = f" (and {len(moved) - 3} more)" if len(moved) > 3 else ""
        raise RefusedError(
            f"the live state or the inputs moved since {plan_file} was saved: "
            + "; ".join(moved[:3])
            + more
        ).with_hint(f"review again: mathvisuals plan --env {name} --out {plan_file}")


def data_will_change(orchestrator: Orchestrator) -> bool:
    """Whether ``up`` is about to change a live data stack of ours, served by our function.

    Before the first ``up`` there is nothing to export; upstream's function (a takeover) cannot
    run our maintenance event, so there the replication group snapshot is the backup.
    """
    config, cfn = orchestrator.config, orchestrator.gateways.cloudformation
    data, api = cfn.describe(config.stacks.data), cfn.describe(config.stacks.api)
    if not (data.exists and data.managed and api.exists and api.managed):
        return False
    shown = orchestrator.plan(describe_changes=False).stacks
    return any(p.stack == data.name and not p.unchanged for p in shown)
