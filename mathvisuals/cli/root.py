"""The ``mathvisuals`` Typer app: every command registered behind one error boundary."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from mathvisuals.cli import (
    adopt,
    check,
    data,
    down,
    github_secrets,
    plan,
    render,
    rotate_token,
    serve,
    status,
    up,
    verify,
)
from mathvisuals.errors import MathVisualsError

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    help=(
        "Math Visuals storage API and the tooling that provisions its Redis data plane.\n\n"
        "The deployment workflow, per environment file infra/environments/<env>.toml: "
        "check (offline) → plan (read-only) → up (artefact, auth secret, shared stack, "
        "allow-lists, data stack, api stack, then verify and the status report) → status / "
        "verify any time → rotate-token → github-secrets → down. "
        "--target local runs the same workflow against the local sandbox "
        "(ministack + a TLS redis-server); serve runs the API alone."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def boundary(command: F) -> F:
    """The one error boundary: any ``MathVisualsError`` (deploy, sandbox, settings, store)
    becomes one scrubbed ``error: …`` line on stderr and its class's exit code. Anything else
    is a bug and keeps its traceback (exit 1)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except MathVisualsError as exc:
            render.error(exc)
            raise typer.Exit(exc.exit_code) from None

    return run  # type: ignore[return-value]


COMMANDS: dict[str, Callable[..., None]] = {
    "serve": serve.serve,
    "check": check.check,
    "plan": plan.plan,
    "adopt": adopt.adopt,
    "up": up.up,
    "verify": verify.verify,
    "status": status.status,
    "rotate-token": rotate_token.rotate_token,
    "github-secrets": github_secrets.github_secrets,
    "down": down.down,
}
for _name, _command in COMMANDS.items():
    app.command(_name)(boundary(_command))
app.add_typer(data.build(boundary), name="data")


@app.callback()
def _root() -> None:
    """Math Visuals storage API and deployment tooling.

    serve runs the API locally; check proves the infrastructure offline before AWS is touched.
    """


def main() -> None:
    app()
