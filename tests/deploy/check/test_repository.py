"""The repository's own environments and templates pass every check (what CI runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mathvisuals.deploy.check import run_checks, template_paths

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "infra"


def test_every_template_exists() -> None:
    assert all(path.exists() for path in template_paths(TEMPLATES).values())


@pytest.mark.parametrize("env", ["prod", "local"])
def test_repository_environment_passes(env: str) -> None:
    report = run_checks(ROOT / "infra" / "environments" / f"{env}.toml", templates_dir=TEMPLATES)
    assert [item for item in report.findings if item.rule.startswith("CFN-E")] == []
    assert report.errors == ()
    assert report.warnings == ()
    assert report.capabilities["api"] == ("CAPABILITY_IAM",)
