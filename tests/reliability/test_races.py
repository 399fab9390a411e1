"""The races scenario against real serve processes: no unlisted entry, no failed request."""

from __future__ import annotations

from pathlib import Path

import pytest

from reliability import races


@pytest.mark.slow
def test_races_scenario_passes(tmp_path: Path) -> None:
    result = races.row(tmp_path, quick=True)
    assert result.problems == []
    assert any("500 × 200" in detail for detail in result.details)
