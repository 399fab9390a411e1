"""``mathvisuals up`` killed with SIGKILL while the data stack executes; the next up converges.

The full set of kill points runs in ``./dev reliability``; this is its cheapest variant.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reliability.orchestrator_faults import POINTS, run_points

pytestmark = pytest.mark.timeout(300)


def test_up_killed_during_the_data_stack_converges(tmp_path: Path) -> None:
    point = next(p for p in POINTS if p.name == "data stack executing")
    [result] = run_points(tmp_path, (point,), update=False)
    assert result.problems == [], result.printed[-5:]
    assert result.steps["data"] == "unchanged"  # created before the kill, never again
    assert result.steps["api"] == "created"
