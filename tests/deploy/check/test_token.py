"""MATHVISUALS_TOKEN_FILE is validated against the ElastiCache rules and never echoed (B14)."""

from __future__ import annotations

from pathlib import Path

from mathvisuals.deploy.check import run_checks
from mathvisuals.deploy.check.token import token_findings

from .support import PROD, TOKENS, located, stage


def test_base64_token_is_refused_without_being_shown(tmp_path: Path) -> None:
    token_file = TOKENS / "base64.txt"
    token = token_file.read_text(encoding="utf-8")
    assert {"+", "/", "="} <= set(token)

    report = run_checks(PROD, templates_dir=stage(tmp_path), token_file=token_file, lint=False)

    assert located(report) == {("MV150", str(token_file), 1)}
    assert not report.ok
    (finding,) = report.findings
    assert "'+'" in finding.message and "'/'" in finding.message and "'='" in finding.message
    assert "B14" in finding.hint
    assert token not in report.to_json()
    for chunk in (token[i : i + 8] for i in range(0, len(token), 8)):
        assert chunk not in report.to_json()


def test_trailing_newline_is_refused() -> None:
    token_file = TOKENS / "trailing_newline.txt"
    (finding,) = token_findings(token_file)
    assert finding.rule == "MV150"
    assert "newline" in finding.message


def test_valid_token_passes() -> None:
    assert token_findings(TOKENS / "valid.txt") == []


def test_no_token_file_no_check() -> None:
    assert token_findings(None) == []


def test_unreadable_token_file(tmp_path: Path) -> None:
    missing = tmp_path / "token"
    (finding,) = token_findings(missing)
    assert (finding.rule, finding.file, finding.line) == ("MV150", str(missing), 1)
