"""``mathvisuals status``: the generated status report (Markdown and JSON)."""

from __future__ import annotations

from typing import Annotated

import typer

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import (
    ConfigOption,
    EnvOption,
    JsonOption,
    ShowValuesOption,
    TargetOption,
)
from mathvisuals.deploy.errors import CredentialsError


def status(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    json_output: JsonOption = False,
    show_values: ShowValuesOption = False,
    with_verify: Annotated[bool, typer.Option("--verify", help="Run verify first.")] = False,
) -> None:
    """The live status report of the seed's five steps, written to <report.path>.md/.json
    (replaces the hand-written status document). Read-only. Exit 5 when the live state could
    not be read (credentials, network), after printing what could.

    Example: mathvisuals status --env prod --verify
    """
    with wiring.session(env, config, target) as s:
        # Unreachable AWS or unusable credentials: one line and exit 5, not a report of errors.
        s.gateways.identity.account_id()
        observed = wiring.observe(s)
        report = (
            wiring.verify_report(s, code_sha256=None, observed=observed) if with_verify else None
        )
        written = wiring.write_status(s, report, show_values=show_values, observed=observed)
        s.reporter.stop()
        if json_output:
            render.emit_json_text(written.to_json())
        else:
            typer.echo(written.to_markdown())
        unread = [section.title for section in written.sections if "error" in section.rows]
        if unread:
            raise CredentialsError(
                "could not read the live state of: " + ", ".join(unread)
            ).with_hint("see the report's problems; check credentials, IAM and the network")
