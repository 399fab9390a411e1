"""Parameter constraints and capabilities (deploy.md §5.9.7, §5.9.8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mathvisuals.deploy.check import run_checks
from mathvisuals.deploy.check.coverage import constraint_problems

from .support import PROD, stage


@pytest.mark.parametrize(
    ("case", "api"),
    [
        (None, ("CAPABILITY_IAM",)),
        ("named_iam_role", ("CAPABILITY_NAMED_IAM",)),
        ("b9_transform", ("CAPABILITY_AUTO_EXPAND", "CAPABILITY_IAM")),
    ],
)
def test_capabilities_follow_the_resource_types(
    tmp_path: Path, case: str | None, api: tuple[str, ...]
) -> None:
    report = run_checks(PROD, templates_dir=stage(tmp_path, case), lint=False)
    assert report.capabilities == {"shared": (), "data": (), "api": api}
    assert json.loads(report.to_json())["capabilities"]["api"] == list(api)


@pytest.mark.parametrize(
    ("declared", "value", "problem"),
    [
        ({"AllowedValues": ["true", "false"]}, "yes", "AllowedValues"),
        ({"AllowedValues": [True, False]}, "true", None),
        ({"AllowedPattern": "^cache\\.[a-z0-9]+\\.[a-z0-9]+$"}, "t4g.small", "AllowedPattern"),
        ({"MinLength": 1}, "", "MinLength"),
        ({"MaxLength": 3}, "abcd", "MaxLength"),
        ({"Type": "Number", "MinValue": 1}, "0", "MinValue"),
        ({"Type": "Number", "MaxValue": 5}, "6", "MaxValue"),
        ({"Type": "Number"}, "one", "not a number"),
        ({"Type": "Number", "MinValue": 1, "MaxValue": 5}, "1", None),
        (
            {"Type": "CommaDelimitedList", "AllowedPattern": "^https://.+$"},
            "https://a,http://b",
            "AllowedPattern",
        ),
        (
            {"Type": "CommaDelimitedList", "AllowedPattern": "^https://.+$"},
            "https://a,https://b",
            None,
        ),
        ({"Type": "CommaDelimitedList", "AllowedPattern": "^https://.+$"}, "", None),
    ],
)
def test_constraint_problems(declared: dict[str, object], value: str, problem: str | None) -> None:
    found = list(constraint_problems(declared, value))
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0]
