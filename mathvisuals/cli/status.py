"""``mathvisuals status``: the generated status report (Markdown and JSON)."""

from __future__ import annotations

from typing import Annotated

import typer

from mathvisuals.cli import wiring
from mathvisuals.cli.options import (
    ConfigOption,
    EnvOption,
    JsonOption,
    ShowValuesOption,
    TargetOption,
)


def status(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = "aws",
    json_output: JsonOption = False,
    show_values: ShowValuesOption = False,
    with_verify: Annotated[bool, typer.Option("--verify", help="Run verify first.")] = False,
) -> None:
    """The live status report of the seed's five steps, written to <report.path>.md/.json
    (replaces the hand-written status document). Read-only."""
    with wiring.session(env, config, target) as s:
        observed = wiring.observe(s)
        report = (
            wiring.verify_report(s, code_sha256=None, observed=observed) if with_verify else None
        )
        written = wiring.write_status(s, report, show_values=show_values, observed=observed)
        s.reporter.stop()
        if json_output:
            typer.echo(written.to_json())
        else:
            typer.echo(written.to_markdown())
