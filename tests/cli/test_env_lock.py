"""``wiring.env_lock``: a data command writing outside a deployment holds the env's lock."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mathvisuals.cli import wiring
from mathvisuals.deploy.config import load_config
from mathvisuals.deploy.errors import LockHeldError
from mathvisuals.deploy.profile import LOCAL


def session(state: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MATHVISUALS_STATE_DIR", str(state))
    config = load_config(Path("infra/environments/local.toml"))
    return SimpleNamespace(config=config, profile=LOCAL, gateways=SimpleNamespace(artifacts=None))


def hold(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = f"{socket.gethostname()}:{pid}"
    path.write_text(json.dumps({"holder": holder, "expires": 4e9}))


def test_the_lock_is_held_inside_and_released_after_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = session(tmp_path, monkeypatch)
    lock = tmp_path / "locks" / "local.lock"
    with pytest.raises(RuntimeError), wiring.env_lock(s, break_lock=False):
        assert lock.exists()
        raise RuntimeError("the import failed half way")
    assert not lock.exists()


def test_a_live_holder_refuses_and_break_lock_takes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = session(tmp_path, monkeypatch)
    lock = tmp_path / "locks" / "local.lock"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as other:
        try:
            hold(lock, other.pid)
            with pytest.raises(LockHeldError) as refused, wiring.env_lock(s, break_lock=False):
                pytest.fail("entered while another run holds the lock")
            assert refused.value.exit_code == 11 and "--break-lock" in str(refused.value.hint)
            assert f":{other.pid}" in lock.read_text()  # the other run's lock is untouched
            with wiring.env_lock(s, break_lock=True):
                assert f":{other.pid}" not in lock.read_text()
            assert not lock.exists()
        finally:
            other.kill()
