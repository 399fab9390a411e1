"""Mutations of OUR templates and config that AWS refuses or runs wrongly (MV160-MV175).

Each ``fixtures/refused/<case>.toml`` edits a copy of ``infra/`` (a template or prod.toml); the
finding must be exactly the ``# expect:`` marks of the edited files, or ``expect_at``'s line.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mathvisuals.deploy.check import run_checks

from .support import FIXTURES, Expectation, markers, own_rules

ROOT = Path(__file__).resolve().parents[3]
REFUSED = FIXTURES / "refused"
CASES = sorted(path.stem for path in REFUSED.glob("*.toml"))


def _stage(tmp_path: Path, case: dict[str, Any]) -> tuple[Path, Path, Path]:
    templates = tmp_path / "infra"
    shutil.copytree(ROOT / "infra", templates, ignore=shutil.ignore_patterns("status"))
    config = templates / "environments" / "prod.toml"
    target = config if case["target"] == "config" else templates / case["target"] / "template.yaml"
    text = target.read_text(encoding="utf-8")
    for edit in case["edit"]:
        assert text.count(edit["old"]) == 1, f"{edit['old']!r} is not in {target.name} once"
        text = text.replace(edit["old"], edit["new"])
    target.write_text(text, encoding="utf-8")
    return templates, config, target


def _expected(case: dict[str, Any], templates: Path, target: Path) -> set[Expectation]:
    if "expect_at" not in case:
        return markers(target)
    where = templates / case["expect_in"] / "template.yaml"
    lines = where.read_text(encoding="utf-8").splitlines()
    (line,) = [n for n, text in enumerate(lines, 1) if case["expect_at"] in text]
    return {(str(case["rule"]), str(where), line)}


@pytest.mark.parametrize("name", CASES)
def test_refused_mutation_is_reported_at_its_line(tmp_path: Path, name: str) -> None:
    case = tomllib.loads((REFUSED / f"{name}.toml").read_text(encoding="utf-8"))
    templates, config, target = _stage(tmp_path, case)
    expected = _expected(case, templates, target)

    report = run_checks(config, templates_dir=templates, lint=bool(case.get("lint", False)))

    assert expected, "the fixture marks no finding"
    assert own_rules(report) == expected
    assert not report.ok
    assert all("\n" not in item.message for item in report.findings)


def test_the_unmutated_copy_is_clean(tmp_path: Path) -> None:
    templates, config, _ = _stage(tmp_path, {"target": "config", "edit": []})
    assert own_rules(run_checks(config, templates_dir=templates, lint=False)) == set()


def test_every_new_rule_has_a_refused_fixture() -> None:
    rules = set()
    for name in CASES:
        case = tomllib.loads((REFUSED / f"{name}.toml").read_text(encoding="utf-8"))
        rules |= {case["rule"]} if "rule" in case else set()
        rules |= {rule for edit in case["edit"] for rule in _marks(edit["new"])}
    assert rules == {f"MV{n}" for n in range(160, 176)}


def _marks(text: str) -> set[str]:
    return {word for word in text.split() if word.startswith("MV")}
