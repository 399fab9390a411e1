"""The layout rules the tools do not check: no module over 500 lines in the packages."""

from __future__ import annotations

from pathlib import Path

import pytest

LIMIT = 500
PACKAGES = sorted(Path("mathvisuals").rglob("*.py"))


@pytest.mark.parametrize("path", PACKAGES, ids=str)
def test_no_module_is_over_the_limit(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= LIMIT, f"{path} has {lines} lines; split it by theme"
