"""``mathvisuals down``: teardown in reverse order; data and secret only on request."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption

IncludeData = Annotated[
    bool, typer.Option(help="Also delete the data stack (a final snapshot is kept).")
]
DeleteSecret = Annotated[bool, typer.Option(help="Delete the auth secret (30-day recovery).")]
ForceDeleteSecret = Annotated[bool, typer.Option(help="Delete the auth secret without recovery.")]
ConfirmEnv = Annotated[
    str | None, typer.Option(help="Repeat the environment name to confirm --include-data.")
]


def down(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = "aws",
    include_data: IncludeData = False,
    confirm_env: ConfirmEnv = None,
    delete_secret: DeleteSecret = False,
    force_delete_secret: ForceDeleteSecret = False,
    json_output: JsonOption = False,
) -> None:
    """Tear down: api, then data (only with --include-data --confirm-env <env>), then shared
    when nothing imports it. The local target deletes everything without flags."""
    from mathvisuals.deploy.profile import PROFILES
    from mathvisuals.deploy.teardown import DownOptions
    from mathvisuals.deploy.teardown import down as run_down

    if PROFILES[target].emulated and not wiring.sandbox_recorded():
        # Nothing was brought up: starting the sandbox only to delete nothing helps nobody.
        render.pairs(
            Console(stderr=True), [("sandbox", "not running: nothing to tear down")],
            json_output=json_output,
        )  # fmt: skip
        return
    with wiring.session(env, config, target) as s:
        done = run_down(
            wiring.orchestrator(s),
            DownOptions(include_data, confirm_env, delete_secret, force_delete_secret),
        )
        s.reporter.stop()
        if s.profile.emulated:
            from mathvisuals.sandbox.sandbox import Sandbox

            Sandbox(wiring.state_dir()).down()
            done.append(("sandbox processes", "stopped"))
        render.pairs(s.console, done, json_output=json_output)
