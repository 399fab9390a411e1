"""``mathvisuals check``: the offline proof of config and templates (no credentials, no network)."""

from __future__ import annotations

import typer

from mathvisuals.cli import render
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, require_env


def check(
    env: EnvOption = None, config: ConfigOption = None, json_output: JsonOption = False
) -> None:
    """Prove the config and the three templates sound, offline (no credentials, no network).

    Runs the config validation, cfn-lint and our own rules (ElastiCache TLS+AUTH, dynamic
    reference forms, physical-name collisions, the export/import graph, parameter coverage,
    capabilities, and the token in MATHVISUALS_TOKEN_FILE when set).
    Exit codes: 0 clean, 3 bad config, 4 findings.

    Example: mathvisuals check --env prod
    """
    from mathvisuals.deploy.check import run_checks
    from mathvisuals.deploy.config import config_path
    from mathvisuals.settings import token_file_from_env

    require_env(env, config)
    report = run_checks(config_path(env, config), token_file=token_file_from_env())
    render.check_report(report, json_output=json_output)
    if any(item.severity == "error" for item in report.findings):
        raise typer.Exit(4)
