"""The bootstrap stack: artefact bucket, GitHub OIDC provider, least-privilege deploy role.

``render`` fills the two policy placeholders of infra/bootstrap/template.yaml with the
statements of :mod:`mathvisuals.deploy.permissions`, one JSON line each, so line numbers of
the file stay those of the rendered template (``check`` reports file:line on it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mathvisuals.deploy import permissions
from mathvisuals.deploy.config import EnvironmentConfig, check_account
from mathvisuals.deploy.errors import ConfigError, PreflightBlockedError
from mathvisuals.deploy.gateway import Gateways
from mathvisuals.deploy.model import Flags, StackSpec
from mathvisuals.deploy.progress import Reporter
from mathvisuals.deploy.stacks import StackDeployer

TEMPLATE = Path("infra/bootstrap/template.yaml")
MARKERS = ("Statement: [] # deploy-policy-1", "Statement: [] # deploy-policy-2")
MANAGED_POLICY_LIMIT = 6144  # characters of a managed policy, whitespace not counted
CREATE_LIMIT_SECONDS = 30 * 60.0
_ENVELOPE = len('{"Version":"2012-10-17","Statement":[]}')


def read_template(path: Path = TEMPLATE) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            str(path),
            "",
            f"cannot read the bootstrap template: {exc.strerror}",
            "run mathvisuals from the repository root (infra/ holds the templates)",
        ) from exc


def stack_name(config: EnvironmentConfig) -> str:
    return f"math-visuals-bootstrap-{config.name}"


def github_subject(config: EnvironmentConfig, source: str) -> str:
    """``repo:<owner>/<repo>:environment:<environment>``: deploy.yml's job runs in the GitHub
    environment named like the env (``environment: ${{ inputs.env || 'prod' }}``) unless
    ``[github].environment`` names another."""
    if not config.github.repository:
        raise ConfigError(source, "github.repository", "is not set", 'set it to "<owner>/<repo>"')
    environment = config.github.environment or config.name
    return f"repo:{config.github.repository}:environment:{environment}"


def split_statements(statements: list[dict[str, object]]) -> tuple[list[dict[str, object]], ...]:
    """The statements in len(MARKERS) managed policies, each under the size limit, in order."""
    parts: list[list[dict[str, object]]] = [[]]
    size = _ENVELOPE
    for statement in statements:
        length = len(json.dumps(statement, separators=(",", ":"))) + 1
        if parts[-1] and size + length > MANAGED_POLICY_LIMIT:
            parts.append([])
            size = _ENVELOPE
        parts[-1].append(statement)
        size += length
    if len(parts) > len(MARKERS) or size > MANAGED_POLICY_LIMIT:
        raise ValueError(f"the deploy policy needs more than {len(MARKERS)} managed policies")
    parts += [[] for _ in range(len(MARKERS) - len(parts))]
    return tuple(parts)


def render(text: str, config: EnvironmentConfig) -> str:
    """The template with the deploy role's statements in place of the placeholders."""
    for part, marker in zip(
        split_statements(permissions.policy_statements(config)), MARKERS, strict=True
    ):
        if text.count(marker) != 1:
            raise ValueError(f"the bootstrap template must hold {marker!r} exactly once")
        text = text.replace(marker, "Statement: " + json.dumps(part, separators=(",", ":")))
    return text


def parameters(config: EnvironmentConfig, source: str, *, create_oidc: bool) -> dict[str, str]:
    return {
        "EnvironmentName": config.name,
        "ArtifactBucketName": config.api.artifact_bucket,
        "ArtifactPrefix": config.api.artifact_prefix,
        "DeployRoleName": permissions.deploy_role_name(config),
        "GitHubSubject": github_subject(config, source),
        "CreateOidcProvider": "true" if create_oidc else "false",
    }


def spec(config: EnvironmentConfig, text: str, source: str, *, create_oidc: bool) -> StackSpec:
    return StackSpec(
        role="bootstrap",
        name=stack_name(config),
        template_body=render(text, config),
        parameters=parameters(config, source, create_oidc=create_oidc),
        tags=config.tags,
        capabilities=("CAPABILITY_NAMED_IAM",),
        termination_protection=config.protection.termination_protection,
    )


@dataclass(frozen=True)
class BootstrapResult:
    stack: str
    result: str  # created | updated | unchanged | recreated
    outputs: Mapping[str, str]


def deploy(
    config: EnvironmentConfig,
    source: str,
    gateways: Gateways,
    reporter: Reporter,
    *,
    create_oidc: bool,
    flags: Flags,
    text: str,
) -> BootstrapResult:
    """Create or update the bootstrap stack in the configured account (admin credentials)."""
    check_account(config, gateways.identity.account_id())
    wanted = spec(config, text, source, create_oidc=create_oidc)
    state = gateways.cloudformation.describe(wanted.name)
    bucket = config.api.artifact_bucket
    if not state.exists and gateways.artifacts.bucket_region(bucket) is not None:
        raise PreflightBlockedError(
            f"the artefact bucket {bucket} exists outside the {wanted.name} stack"
        ).with_hint(
            "empty and delete it, or set api.artifact_bucket to a new name, then run bootstrap"
        )
    reporter.step(wanted.name, "artefact bucket, OIDC provider, deploy role")
    result = StackDeployer(gateways.cloudformation, reporter, flags=flags).deploy(
        wanted, CREATE_LIMIT_SECONDS
    )
    outputs = gateways.cloudformation.describe(wanted.name).outputs
    reporter.done(wanted.name, result)
    return BootstrapResult(wanted.name, result, dict(outputs))
