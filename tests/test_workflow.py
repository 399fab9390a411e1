"""The deploy workflow: valid for GitHub, audited by zizmor, and only a caller of the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

WORKFLOW = Path(".github/workflows/deploy.yml")


def test_workflow_matches_github_schema() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema",
         "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_passes_the_security_audit() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "zizmor"), "--offline", "--config", ".github/zizmor.yml", str(WORKFLOW)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


def test_workflow_shape() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["concurrency"]["group"].startswith("deploy-")
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert workflow["permissions"]["id-token"] == "write"
    runs = [step.get("run", "") for step in workflow["jobs"]["deploy"]["steps"]]
    assert any(run.startswith("mathvisuals check") for run in runs)
    assert any(run.startswith("mathvisuals up") for run in runs)
    # No AWS CLI and no stored AWS keys: OIDC credentials and the tested CLI only.
    assert not any("aws " in run for run in runs)
    assert "AWS_SECRET_ACCESS_KEY" not in WORKFLOW.read_text()


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    import re

    uses = [
        line.strip()
        for line in WORKFLOW.read_text().splitlines()
        if line.strip().startswith(("- uses:", "uses:"))
    ]
    assert len(uses) >= 4
    for line in uses:
        assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), line


def test_the_dependabot_config_the_workflow_names_exists() -> None:
    assert ".github/dependabot.yml" in WORKFLOW.read_text()
    config = yaml.safe_load(Path(".github/dependabot.yml").read_text())
    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    assert ecosystems == {"github-actions", "pip"}
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.dependabot",
         ".github/dependabot.yml"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_session_lasts_as_long_as_the_bootstrap_role_allows() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["deploy"]["steps"]
    aws = next(s for s in steps if "configure-aws-credentials" in s.get("uses", ""))
    template = Path("infra/bootstrap/template.yaml").read_text()
    assert f"MaxSessionDuration: {aws['with']['role-duration-seconds']}" in template


def test_ci_installs_the_lambda_runtimes_python_for_the_bytecode() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["deploy"]["steps"]
    setup = [s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python")]
    versions = str(setup[0]["with"]["python-version"]).split()
    assert "3.12" in versions  # python3.12 on PATH: the artefact builder compiles with it
    runs = [step.get("run", "") for step in steps]
    assert runs.index(next(r for r in runs if r.startswith("mathvisuals package"))) < runs.index(
        next(r for r in runs if r.startswith("mathvisuals up"))
    )
