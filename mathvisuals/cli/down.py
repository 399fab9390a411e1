"""``mathvisuals down``: teardown in reverse order; data and secret only on request."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption

IncludeData = Annotated[
    bool,
    typer.Option("--include-data", help="Also delete the data stack (a final snapshot is kept)."),
]
DeleteSecret = Annotated[
    bool, typer.Option("--delete-secret", help="Delete the auth secret (30-day recovery).")
]
ForceDeleteSecret = Annotated[
    bool, typer.Option("--force-delete-secret", help="Delete the auth secret without recovery.")
]
NoBackup = Annotated[
    bool,
    typer.Option(
        "--no-backup", help="Allow --include-data without a `data export` of the last hour."
    ),
]
ConfirmEnv = Annotated[
    str | None,
    typer.Option(
        "--confirm-env",
        metavar="NAME",
        help="Repeat the environment name to confirm --include-data.",
    ),
]


def down(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    include_data: IncludeData = False,
    confirm_env: ConfirmEnv = None,
    delete_secret: DeleteSecret = False,
    force_delete_secret: ForceDeleteSecret = False,
    no_backup: NoBackup = False,
    json_output: JsonOption = False,
) -> None:
    """Tear down: api, then data (only with --include-data --confirm-env <env>), then shared
    when nothing imports it. The local target deletes everything without flags.

    Example: mathvisuals down --env local --target local
    """
    from mathvisuals.deploy.teardown import DownOptions
    from mathvisuals.deploy.teardown import down as run_down

    if include_data and not no_backup:
        from mathvisuals.deploy.config import config_path, load_config

        require_fresh_export(load_config(config_path(env, config)).name)  # before any client
    if wiring.target_profile(env, config, target).emulated and not wiring.sandbox_recorded():
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


def require_fresh_export(env: str) -> None:
    """``--include-data`` deletes the data stack: ask for a recent, intact export first."""
    import time

    from mathvisuals.deploy.data import FRESH_SECONDS, fresh_export
    from mathvisuals.deploy.errors import RefusedError

    if fresh_export(wiring.state_dir(), env, time.time()) is None:
        raise RefusedError(
            f"--include-data deletes {env}'s data and no export of the last "
            f"{FRESH_SECONDS // 60} minutes is here"
        ).with_hint(f"run `mathvisuals data export --env {env}` first, or pass --no-backup")
