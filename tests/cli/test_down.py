"""``down`` on the local target when nothing is up: it starts nothing and deletes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_down_without_a_sandbox_starts_none(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MATHVISUALS_STATE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "mathvisuals", "down", "--target", "local", "--env", "local",
         "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {"resource": "sandbox", "outcome": "not running: nothing to tear down"}
    ]
    assert list(tmp_path.iterdir()) == []  # no sandbox state, no processes, no token
