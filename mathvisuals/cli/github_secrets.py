"""``mathvisuals github-secrets``: AWS → GitHub Actions secrets."""

from __future__ import annotations

from typing import Annotated

import typer

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption

DryRun = Annotated[bool, typer.Option("--dry-run", help="List what would be written only.")]


def github_secrets(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    dry_run: DryRun = False,
    json_output: JsonOption = False,
) -> None:
    """Copy REDIS_* values from AWS (SSM, the auth secret) into GitHub Actions secrets,
    encrypted with the repository's public key. AWS → GitHub only. Needs GITHUB_TOKEN.

    Example: mathvisuals github-secrets --env prod --dry-run
    """
    from mathvisuals.deploy import github
    from mathvisuals.deploy.errors import ConfigError
    from mathvisuals.deploy.gateway import SecretValue
    from mathvisuals.settings import deploy_environment

    with wiring.session(env, config, target) as s:
        environment = deploy_environment()
        values = github.resolve_sources(s.config, s.gateways.parameters, s.gateways.secrets)
        token = environment.github_token
        if not dry_run and not token:
            raise ConfigError(
                "GITHUB_TOKEN", "", "is not set", "export a token with secrets write access"
            )
        client = github.GitHubClient(
            environment.github_api_url, SecretValue(token or "unused-token")
        )
        with client:
            results = github.sync(s.config, values, client, dry_run=dry_run)
        if json_output:
            render.emit_json({"secrets": [vars(r) for r in results]})
        else:
            for r in results:
                s.console.print(f"{r.name}: {r.action} ({r.fingerprint})")
