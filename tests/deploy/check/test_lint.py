"""cfn-lint findings keep their id, line and severity; undecodable or missing templates too."""

from __future__ import annotations

import shutil
from pathlib import Path

from mathvisuals.deploy.check import run_checks

from .support import PROD, located, stage, template_markers


def test_good_templates_pass_cfn_lint(tmp_path: Path) -> None:
    report = run_checks(PROD, templates_dir=stage(tmp_path))
    assert [item for item in report.findings if item.rule.startswith("CFN-")] == []


def test_cfn_lint_error_is_an_error_at_its_line(tmp_path: Path) -> None:
    templates = stage(tmp_path, "lint_attribute_typo")
    report = run_checks(PROD, templates_dir=templates)
    (expected,) = template_markers(templates)
    assert expected[0] == "CFN-E1010"
    assert expected in located(report)
    finding = next(item for item in report.findings if item.rule == "CFN-E1010")
    assert finding.severity == "error"
    assert "PrimaryEndpoint.Address" in finding.message
    assert not report.ok


def test_cfn_lint_warning_is_reported_but_does_not_fail(tmp_path: Path) -> None:
    templates = stage(tmp_path, "b13_required_parameter_not_supplied")
    report = run_checks(PROD, templates_dir=templates)
    (unused,) = [item for item in report.findings if item.rule == "CFN-W2001"]
    assert unused.severity == "warning"
    assert "ApiGatewayOriginPath" in unused.message
    assert {item.rule for item in report.errors} == {"MV140"}


def test_undecodable_template_is_reported_without_lint(tmp_path: Path) -> None:
    templates = stage(tmp_path, "malformed_template")
    report = run_checks(PROD, templates_dir=templates, lint=False)
    assert located(report) >= template_markers(templates)
    assert not report.ok


def test_undecodable_template_is_reported_once_with_lint(tmp_path: Path) -> None:
    templates = stage(tmp_path, "malformed_template")
    report = run_checks(PROD, templates_dir=templates)
    shared = str(templates / "shared" / "template.yaml")
    assert [item.rule for item in report.findings if item.file == shared] == ["CFN-E0000"]


def test_missing_template_is_reported(tmp_path: Path) -> None:
    templates = stage(tmp_path)
    shutil.rmtree(templates / "api")
    report = run_checks(PROD, templates_dir=templates)
    missing = str(templates / "api" / "template.yaml")
    assert ("MV100", missing, 1) in located(report)
    assert not report.ok


def test_explicit_template_paths_override_the_directory(tmp_path: Path) -> None:
    templates = stage(tmp_path, "b27_nodejs_runtime")
    paths = {role: templates / role / "template.yaml" for role in ("shared", "data", "api")}
    report = run_checks(PROD, templates_dir=tmp_path / "elsewhere", templates=paths, lint=False)
    assert {item.rule for item in report.errors} == {"MV108"}
