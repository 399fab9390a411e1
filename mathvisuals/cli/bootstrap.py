"""``mathvisuals bootstrap``: the one-time stack an administrator deploys before ``up``."""

from __future__ import annotations

from typing import Annotated

import typer

from mathvisuals.cli import render, wiring
from mathvisuals.cli.options import ConfigOption, EnvOption, JsonOption, TargetOption

DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="Print the rendered template and parameters; no AWS call."),
]
ExistingOidc = Annotated[
    bool,
    typer.Option(
        "--existing-oidc-provider",
        help="The account already has GitHub's OIDC provider: use it instead of creating one.",
    ),
]
RecreateFailed = Annotated[
    bool,
    typer.Option("--recreate-failed", help="Delete a bootstrap stack whose create failed first."),
]


def bootstrap(
    env: EnvOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    dry_run: DryRun = False,
    existing_oidc_provider: ExistingOidc = False,
    recreate_failed: RecreateFailed = False,
    json_output: JsonOption = False,
) -> None:
    """Deploy infra/bootstrap/template.yaml: the artefact bucket (encrypted, versioned, private,
    TLS only, with lifecycles), optionally the GitHub OIDC provider, and the deploy role the
    workflow assumes (trust: repo:<owner>/<repo>:environment:<env>; a least-privilege policy
    rendered from mathvisuals/deploy/permissions.py). Run it once with administrator
    credentials, then set the DeployRoleArn output as the AWS_DEPLOY_ROLE_ARN variable.
    Exit codes: 0 ok, 3 bad config, 5 credentials, 6 blocked, 7 deploy failed.

    Example: mathvisuals bootstrap --env prod --dry-run > bootstrap.yaml
    """
    from mathvisuals.deploy import bootstrap as stack

    create_oidc_provider = not existing_oidc_provider
    from mathvisuals.deploy.config import config_path, load_config
    from mathvisuals.deploy.model import Flags

    path = config_path(env, config)
    text = stack.read_template()
    if dry_run:
        loaded = load_config(path)
        spec = stack.spec(loaded, text, str(path), create_oidc=create_oidc_provider)
        if json_output:
            render.emit_json(
                {
                    "stack": spec.name,
                    "parameters": dict(spec.parameters),
                    "template": spec.template_body,
                }
            )
        else:
            typer.echo(spec.template_body)
            for key, value in sorted(spec.parameters.items()):
                typer.echo(f"# parameter {key} = {value}", err=True)
        return
    with wiring.session(env, config, target) as s:
        result = stack.deploy(
            s.config,
            str(path),
            s.gateways,
            s.reporter,
            create_oidc=create_oidc_provider,
            flags=Flags(recreate_failed=recreate_failed),
            text=text,
        )
        s.reporter.stop()
        if json_output:
            render.emit_json(vars(result))
        else:
            s.console.print(f"{result.stack}: {result.result}")
            for key, value in sorted(result.outputs.items()):
                s.console.print(f"  {key}: {value}")
