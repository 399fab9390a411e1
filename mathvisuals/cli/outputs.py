"""``mathvisuals outputs``: the API URL, the endpoints and the names of an environment."""

from __future__ import annotations

import typer
from rich.table import Table

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption


def outputs(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    json_output: JsonOption = False,
) -> None:
    """Each stack's outputs and the names an operator needs (API URL, Redis endpoints,
    function, log group, secret name). Read-only; never a token. Exit 6 when none of the
    environment's stacks exists.

    Example: mathvisuals outputs --env prod --json
    """
    from mathvisuals.deploy.errors import PreflightBlockedError
    from mathvisuals.deploy.outputs import collect

    with wiring.session(env, config, target) as s:
        observed = wiring.observe(s)
        found = collect(s.config, observed.stacks)
        if found.api_url and s.profile.emulated:
            found = found.with_api_url(wiring.emulated_api_url(s.config, found.api_url))
        s.reporter.stop()
        if not found.deployed:
            raise PreflightBlockedError(
                f"no stack of environment {s.config.name!r} exists in {s.config.env.region}"
            ).with_hint(f"deploy it with: mathvisuals up --env {s.config.name}")
        if json_output:
            render.emit_json(found.to_json())
            return
        table = Table(show_header=True, header_style="bold", box=None)
        table.add_column("output")
        table.add_column("value", overflow="fold")
        for key, value in found.rows():
            table.add_row(key, value)
        s.console.print(table)
        typer.echo(found.api_url or "", nl=bool(found.api_url))
