"""``mathvisuals up``: the seed's five steps, then verify and the status report."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption
from mathvisuals.deploy.model import Flags

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
BreakLock = Annotated[
    bool, typer.Option("--break-lock", help="Take the environment lock held by a dead run.")
]
NewEnvironment = Annotated[
    bool,
    typer.Option(
        "--new-environment",
        help="Create this environment although another region holds Math Visuals stacks.",
    ),
]
NoBackup = Annotated[
    bool,
    typer.Option("--no-backup", help="Take over without the replication group snapshot first."),
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
    target: TargetOption = "aws",
    json_output: JsonOption = False,
    allow_replace: AllowReplace = False,
    recreate_failed: RecreateFailed = False,
    force_recreate_data: ForceRecreateData = False,
    skip_resources: SkipResources = "",
    no_verify: NoVerify = False,
    break_lock: BreakLock = False,
    new_environment: NewEnvironment = False,
    no_backup: NoBackup = False,
) -> None:
    """Deploy everything, in order, idempotently: artefact, secret, shared, allow-lists,
    data, api; then verify and write the status report.

    A second run with nothing changed makes no mutating AWS call and says so.

    Example: mathvisuals up --env prod
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
    started = time.monotonic()
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
