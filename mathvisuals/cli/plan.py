"""``mathvisuals plan``: read-only preflight and change preview."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption
from mathvisuals.cli.workdir import out_file
from mathvisuals.deploy.model import Flags


def plan(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    json_output: JsonOption = False,
    new_environment: Annotated[
        bool,
        typer.Option(
            "--new-environment",
            help="Plan this environment although another region holds Math Visuals stacks.",
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            callback=out_file,
            metavar="FILE",
            help="Save what the plan showed (change sets, template and parameter digests) "
            "for up --plan FILE.",
        ),
    ] = None,
) -> None:
    """Read-only preflight: identity, permissions, ownership, and what each stack would do.

    Stacks that exist but are not ours (upstream's) get a takeover plan: per phase, every
    resource's predicted action (keep, modify, replace, delete, create, collision) judged
    from the CloudFormation resource schemas, and every export still imported. Nothing is
    changed. Exit 0 when up can run, 5 for credentials, 6 when blocked or refused.
    With --out FILE the plan is saved; up --plan FILE applies exactly it or refuses.

    Example: mathvisuals plan --env prod --out prod.plan.json
    """
    with wiring.session(env, config, target) as s:
        flags = Flags(new_environment=new_environment)
        result = wiring.orchestrator(s, flags=flags).plan()
        s.reporter.stop()
        render.plan_result(s.console, result, json_output=json_output)
        if s.profile.emulated:
            how = "started the sandbox; it keeps" if s.sandbox_started else "the sandbox keeps"
            s.console.print(
                f"note: plan {how} running for up; stop it with: "
                f"mathvisuals down --target local --env {s.config.name}"
            )
        if result.refusals:
            raise typer.Exit(6)
        if out is not None:
            wiring.save_plan(s, result, out)
            s.console.print(f"plan saved: {out} (apply it with: mathvisuals up --plan {out})")
