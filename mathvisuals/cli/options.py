"""The options the deploy commands share (``--env``, ``--config``, ``--target``, ``--json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mathvisuals.cli.workdir import user_path
from mathvisuals.deploy.profile import PROFILES


def known_target(value: str) -> str:
    """A target is the name of a profile (``deploy/profile.py``); anything else is usage."""
    if value not in PROFILES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(sorted(PROFILES))}")
    return value


EnvOption = Annotated[
    str | None,
    typer.Option("--env", "-e", help="Environment: reads infra/environments/<env>.toml."),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        callback=user_path,
        metavar="FILE",
        help="An environment TOML file instead of --env.",
    ),
]
TargetOption = Annotated[
    str,
    typer.Option(
        "--target",
        callback=known_target,
        metavar="[" + "|".join(sorted(PROFILES)) + "]",
        help="aws (default) or local: every client pointed at the local emulator.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable result on stdout.")]
ShowValuesOption = Annotated[
    bool, typer.Option("--show-values", help="Show endpoint/port/origin values (never tokens).")
]
