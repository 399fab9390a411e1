"""``mathvisuals plan``: read-only preflight and change preview."""

from __future__ import annotations

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption


def plan(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = "aws",
    json_output: JsonOption = False,
) -> None:
    """Read-only preflight: identity, permissions, ownership, and what each stack would do.

    Nothing is changed. Exit 0 when the plan can run, 5/6 when blocked.
    """
    with wiring.session(env, config, target) as s:
        result = wiring.orchestrator(s).plan()
        s.reporter.stop()
        render.plan_result(s.console, result, json_output=json_output)
