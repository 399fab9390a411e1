"""``mathvisuals adopt``: record what our templates take from stacks that upstream created."""

from __future__ import annotations

from typing import Annotated

import typer

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption

DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Show the diff and the token check; write nothing.")
]


def adopt(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    json_output: JsonOption = False,
    dry_run: DryRun = False,
) -> None:
    """Take over stacks that exist but are not ours: write the live values into the env file.

    Reads the live stacks (templates, parameters, resources, exports and who imports them)
    and works out what our templates must keep so that AWS replaces and deletes nothing that
    holds state: upstream's logical ids, the live values of replacement-forcing properties
    (subnet ranges, security-group descriptions, log group names), retained deletion
    policies and the function's generated name. Writes them to the adopt section of the
    environment file (comments kept) and prints the diff. If the auth secret does not hold
    the token the live function uses, it writes that token as a new secret version.

    Then review the diff, run plan (the takeover plan: phases, every resource's predicted
    action, zero replacements expected) and up.

    Example: mathvisuals adopt --env prod --dry-run
    """
    from mathvisuals.deploy.takeover import guards
    from mathvisuals.deploy.takeover.envfile import diff, with_adoption
    from mathvisuals.deploy.takeover.survey import adoption_settings

    with wiring.session(env, config, target) as s:
        orchestrator = wiring.orchestrator(s)
        orchestrator.preflight()
        found = orchestrator.take_survey(for_up=False)
        settings = adoption_settings(found)
        if settings:
            # Plan again with the live function name, so the adoption needs no name overrides.
            api = s.config.api.model_copy(update=settings["api"])
            found = orchestrator.take_survey(
                for_up=False, config=s.config.model_copy(update={"api": api})
            )
        s.reporter.stop()
        if found.plan is None or not found.foreign:
            render.adopt_result(
                s.console, {"changed": False, "foreign": []}, "", json_output=json_output
            )
            return
        text = s.config_file.read_text(encoding="utf-8")
        new = with_adoption(text, found.plan.adoptions, settings)
        shown = diff(text, new, str(s.config_file))
        token = (
            "not checked (--dry-run)" if dry_run else guards.sync_token(orchestrator.context, found)
        )
        if not dry_run and new != text:
            s.config_file.write_text(new, encoding="utf-8")
        summary = {
            "changed": new != text,
            "written": not dry_run and new != text,
            "file": str(s.config_file),
            "foreign": list(found.foreign),
            "resources": {r: len(a.resources) for r, a in found.plan.adoptions.items()},
            "settings": settings,
            "token": token,
            "refusals": found.refusals(),
        }
        render.adopt_result(s.console, summary, shown, json_output=json_output)
        if summary["refusals"]:
            raise typer.Exit(6)
