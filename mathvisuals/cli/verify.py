"""``mathvisuals verify``: V1–V8 against the live deployment."""

from __future__ import annotations

import typer

from mathvisuals.cli import wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption


def verify(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = "aws",
    json_output: JsonOption = False,
) -> None:
    """Prove the deployment works: stacks, Redis flags, security groups, the Lambda's
    resolved configuration, an in-VPC round trip through the function, its logs, and (AWS)
    the public endpoint and alarms. Exit 8 when any check fails."""
    with wiring.session(env, config, target) as s:
        report = wiring.verify_report(s, code_sha256=None)
        wiring.record_verify(s, report)
        s.reporter.stop()
        if json_output:
            typer.echo(report.to_json())
        else:
            s.console.print(report.summary())
        if not report.ok:
            raise typer.Exit(8)
