"""``mathvisuals check``: config, templates and token proven sound offline (deploy.md §5.9)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mathvisuals.deploy.check.bootstrap import bootstrap_findings
from mathvisuals.deploy.check.coverage import capabilities, coverage_findings
from mathvisuals.deploy.check.findings import Finding, Report, build_report
from mathvisuals.deploy.check.graph import import_findings
from mathvisuals.deploy.check.lint import lint_template
from mathvisuals.deploy.check.names import (
    ConfigFile,
    auth_secret_export,
    collisions,
    orchestrator_claims,
    stack_claims,
)
from mathvisuals.deploy.check.references import reference_findings
from mathvisuals.deploy.check.regions import known_region
from mathvisuals.deploy.check.rules import template_findings
from mathvisuals.deploy.check.stacks import build_stacks
from mathvisuals.deploy.check.templates import load_template
from mathvisuals.deploy.check.token import token_findings
from mathvisuals.deploy.config import EnvironmentConfig, load_config
from mathvisuals.deploy.parameters import STACK_ROLES

__all__ = ["Finding", "Report", "check_environment", "run_checks", "template_paths"]

TEMPLATE_FILE = "template.yaml"


def template_paths(templates_dir: Path) -> dict[str, Path]:
    """``<dir>/shared/template.yaml`` and so on, in deploy order; bootstrap when present."""
    paths = {role: templates_dir / role / TEMPLATE_FILE for role in STACK_ROLES}
    if (templates_dir / "bootstrap" / TEMPLATE_FILE).is_file():
        paths["bootstrap"] = templates_dir / "bootstrap" / TEMPLATE_FILE
    return paths


def run_checks(
    config_path: Path,
    *,
    templates_dir: Path = Path("infra"),
    token_file: Path | None = None,
    templates: Mapping[str, Path] | None = None,
    lint: bool = True,
) -> Report:
    """Every offline check; raises ConfigError (exit 3) for an invalid environment file.

    ``templates`` (role → path) overrides ``templates_dir``; ``lint=False`` skips cfn-lint.
    """
    config = load_config(config_path)
    source = ConfigFile(str(config_path), config_path.read_text(encoding="utf-8"))
    paths = templates if templates is not None else template_paths(templates_dir)
    return check_environment(config, source, paths, token_file=token_file, lint=lint)


def check_environment(
    config: EnvironmentConfig,
    source: ConfigFile,
    paths: Mapping[str, Path],
    *,
    token_file: Path | None = None,
    lint: bool = True,
) -> Report:
    loaded = [load_template(paths[role], role) for role in STACK_ROLES if role in paths]
    findings: list[Finding] = [problem for template in loaded for problem in template.problems]
    region = config.env.region
    if not known_region(region):
        findings.append(
            Finding(
                "MV165",
                source.file,
                source.line("env", "region"),
                f"region {region!r} does not exist",
                "use an AWS region code such as eu-north-1 (cfn-lint's region list)",
            )
        )
    elif lint:
        for template in loaded:
            findings += lint_template(template, config.env.region)
    stacks = build_stacks(config, loaded)
    claims = orchestrator_claims(config, source)
    for stack in stacks:
        findings += template_findings(stack)
        findings += coverage_findings(stack)
        owned, unresolved = stack_claims(stack)
        claims += owned
        findings += unresolved
    findings += collisions(claims)
    findings += reference_findings(stacks, claims)
    findings += auth_secret_export(stacks, config, source)
    findings += import_findings(stacks)
    findings += token_findings(token_file)
    if "bootstrap" in paths:  # cfn-lint only in a region it knows (MV165 said so above)
        lint_bootstrap = lint and known_region(region)
        findings += bootstrap_findings(config, paths["bootstrap"], lint=lint_bootstrap)
    return build_report(findings, {stack.role: capabilities(stack.template) for stack in stacks})
