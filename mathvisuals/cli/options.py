"""The options the commands share, and what the root and each command were given for this run.

``--env``, ``--config``, ``--target`` and ``--json`` are declared by each command; ``--profile``,
``--region``, ``-v/--verbose`` and ``--debug`` are added to every command by ``root.boundary``
(and accepted before the command name too) and read back through :func:`current`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from mathvisuals.cli.workdir import user_path
from mathvisuals.deploy.profile import PROFILES


def known_target(value: str | None) -> str | None:
    """A target is the name of a profile (``deploy/profile.py``); anything else is usage."""
    if value is not None and value not in PROFILES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(sorted(PROFILES))}")
    return value


class UsageProblem(typer.BadParameter):
    """A usage error raised by a command itself (exit 2), shown as its bare message."""

    def format_message(self) -> str:
        return self.message


def require_env(env: str | None, config: Path | None) -> None:
    if env is None and config is None:
        raise UsageProblem("no environment given: pass --env NAME or --config FILE")


EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env", "-e", metavar="NAME", help="Environment: reads infra/environments/NAME.toml."
    ),
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
    str | None,
    typer.Option(
        "--target",
        callback=known_target,
        metavar="[" + "|".join(sorted(PROFILES)) + "]",
        help="aws or local (every client pointed at the local emulator); default: the "
        "environment file's env.target, else aws.",
        show_default=False,
    ),
]
BreakLockOption = Annotated[
    bool, typer.Option("--break-lock", help="Take the environment lock held by a dead run.")
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="One JSON object on stdout (docs/cli-json.md).")
]
ShowValuesOption = Annotated[
    bool, typer.Option("--show-values", help="Show endpoint/port/origin values (never tokens).")
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="NAME",
        help="AWS profile to use (default: AWS_PROFILE, then the default credential chain).",
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option(
        "--region",
        metavar="REGION",
        help="Expected AWS region; must match env.region of the environment file.",
    ),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Print every stack event and retried call.")
]
DebugOption = Annotated[
    bool, typer.Option("--debug", help="Show the traceback behind an error message.")
]

# The parameters root.boundary adds to each command: name -> (annotation, default).
AWS_EXTRAS: dict[str, tuple[Any, Any]] = {
    "profile": (ProfileOption, None),
    "region": (RegionOption, None),
}
EVERY_EXTRAS: dict[str, tuple[Any, Any]] = {
    "verbose": (VerboseOption, False),
    "debug": (DebugOption, False),
}


@dataclass(frozen=True)
class RunOptions:
    """What the root callback and the running command were given."""

    command: str = ""
    profile: str | None = None
    region: str | None = None
    verbose: bool = False
    debug: bool = False
    json_output: bool = False


_RUN: ContextVar[RunOptions] = ContextVar("mathvisuals_run", default=RunOptions())  # noqa: B039


def current() -> RunOptions:
    return _RUN.get()


def set_root(**given: Any) -> None:
    """The root callback's options: the defaults for the command that follows."""
    _RUN.set(RunOptions(**given))


@contextmanager
def running(command: str, json_output: bool, given: dict[str, Any]) -> Iterator[RunOptions]:
    """A command's own options override the root's (a flag given either place counts)."""
    base = current()
    merged = {key: value for key, value in given.items() if value not in (None, False)}
    run = replace(base, command=command, json_output=json_output, **merged)
    token = _RUN.set(run)
    try:
        yield run
    finally:
        _RUN.reset(token)
