"""Ctrl-C during rotate-token on the sandbox, after the api update and before SET (§5.14).

``status`` shows the unfinished rotation, ``up`` refuses with the rotate-token hint (never
``--allow-replace``), and a second ``rotate-token`` finishes it: the data stack pins the new
secret version and a converged ``up`` changes nothing.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_local_workflow import Runs, aws

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
SECRET = "math-visuals/local/redis/auth"
API_UPDATED = re.compile(r"api\b.*\bupdated\b")


def _interrupt_after_api_update(state: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REDIS_"))}
    env |= {"MATHVISUALS_STATE_DIR": str(state), "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    process = subprocess.Popen(
        [sys.executable, "-m", "mathvisuals", "rotate-token", "--target", "local", "--env", "local"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    seen: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line)
        if API_UPDATED.search(line):
            process.send_signal(signal.SIGINT)
            break
    rest, _ = process.communicate(timeout=300)
    return process.returncode, "".join(seen) + rest


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "sandbox-state"


def test_interrupted_rotation_shows_blocks_up_and_resumes(state: Path) -> None:
    runs = Runs(state)
    try:
        runs("up", "--json")
        secrets = aws(state, "secretsmanager")
        before = secrets.describe_secret(SecretId=SECRET)
        code, output = _interrupt_after_api_update(state)
        assert code != 0, output
        assert "Traceback" not in output
        after = secrets.describe_secret(SecretId=SECRET)
        assert after["VersionIdsToStages"] != before["VersionIdsToStages"], output

        runs("status")  # the report is written; its problems list the unfinished rotation
        assert "a token rotation is unfinished" in runs.output[-2] + runs.output[-1]
        runs("up", expect=10)
        refusal = runs.output[-2] + runs.output[-1]
        assert "rotate-token" in refusal and "--allow-replace" not in refusal

        runs("rotate-token")
        finished = runs.output[-2] + runs.output[-1]
        assert "rotation: resumed" in finished and "data: updated" in finished
        assert runs("up", "--json")["changed"] is False
        runs("status")
    finally:
        subprocess.run(
            [sys.executable, "-m", "mathvisuals", "down", "--target", "local", "--env", "local"],
            env={**os.environ, "MATHVISUALS_STATE_DIR": str(state)},
            capture_output=True, check=False, timeout=300,
        )  # fmt: skip
