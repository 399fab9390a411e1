"""The report: sorted findings, ``ok`` only without errors, and a JSON form for --json."""

from __future__ import annotations

import json
from pathlib import Path

from mathvisuals.deploy.check import Finding, run_checks
from mathvisuals.deploy.check.findings import build_report

from .support import PROD, stage


def test_report_is_sorted_by_file_and_line(tmp_path: Path) -> None:
    report = run_checks(PROD, templates_dir=stage(tmp_path, "b1_shared_and_data_create_same_names"))
    keys = [(item.file, item.line) for item in report.findings]
    assert keys == sorted(keys)
    assert len({item.file for item in report.findings}) == 3  # config, shared and data


def test_warnings_alone_keep_the_report_ok() -> None:
    warning = Finding("MV122", "a.yaml", 3, "cannot resolve", "", "warning")
    error = Finding("MV120", "a.yaml", 2, "collides", "B1")
    assert build_report([warning], {}).ok
    report = build_report([warning, error, error], {"api": ("CAPABILITY_IAM",)})
    assert not report.ok
    assert report.findings == (error, warning)  # de-duplicated, sorted by line


def test_to_json() -> None:
    error = Finding("MV120", "a.yaml", 2, "collides", "B1")
    document = json.loads(build_report([error], {"api": ("CAPABILITY_IAM",)}).to_json())
    assert document == {
        "ok": False,
        "errors": 1,
        "warnings": 0,
        "capabilities": {"api": ["CAPABILITY_IAM"]},
        "findings": [
            {
                "rule": "MV120",
                "file": "a.yaml",
                "line": 2,
                "message": "collides",
                "hint": "B1",
                "severity": "error",
            }
        ],
    }
