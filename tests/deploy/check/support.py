"""Fixture staging for the check tests: the good templates overlaid with one bad case."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mathvisuals.deploy.check import Report

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = FIXTURES / "good"
BAD = FIXTURES / "bad"
CONFIGS = FIXTURES / "configs"
TOKENS = FIXTURES / "tokens"
PROD = CONFIGS / "prod.toml"

_MARKER = re.compile(r"#\s*expect:\s*(.*)$")
_RULE = re.compile(r"(MV\d{3}|CFN-[EWI]\d{4})")

Expectation = tuple[str, str, int]


def stage(tmp_path: Path, case: str | None = None) -> Path:
    """A templates directory: the good templates, with ``bad/<case>/<role>/…`` copied over."""
    target = tmp_path / "infra"
    shutil.copytree(GOOD, target)
    if case is not None:
        shutil.copytree(BAD / case, target, dirs_exist_ok=True)
    return target


def markers(*files: Path) -> set[Expectation]:
    """``# expect: MV120`` at the end of a line: that rule must report that file and line."""
    found: set[Expectation] = set()
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            marker = _MARKER.search(line)
            if marker is None:
                continue
            for word in marker.group(1).split():
                if _RULE.fullmatch(word):
                    found.add((word, str(path), number))
    return found


def template_markers(templates_dir: Path) -> set[Expectation]:
    return markers(*sorted(templates_dir.glob("*/template.yaml")))


def own_rules(report: Report) -> set[Expectation]:
    """Every MV finding (error or warning) as (rule, file, line)."""
    return {(item.rule, item.file, item.line) for item in report.findings if item.rule[:2] == "MV"}


def located(report: Report) -> set[Expectation]:
    return {(item.rule, item.file, item.line) for item in report.findings}
