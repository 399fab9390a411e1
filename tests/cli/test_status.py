"""`mathvisuals status`: a section it could not read is printed, then the run exits 5."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mathvisuals.cli import app, wiring
from mathvisuals.cli.render import RichReporter
from mathvisuals.deploy.config import load_config
from mathvisuals.deploy.errors import DeploymentFailedError
from mathvisuals.deploy.gateway import ReplicationGroupInfo
from mathvisuals.deploy.profile import LOCAL
from tests.deploy.fakes import FakeCache
from tests.deploy.test_verify import converged


class DeniedCache(FakeCache):
    def replication_group(self, group_id: str) -> ReplicationGroupInfo | None:
        raise DeploymentFailedError("DescribeReplicationGroups: AccessDenied")


def run_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: FakeCache | None, *args: str
) -> Any:
    config_file = Path("infra/environments/local.toml").resolve()
    loaded = load_config(config_file)
    report = loaded.report.model_copy(update={"path": str(tmp_path / "status")})
    world = converged(loaded.model_copy(update={"report": report}))
    if cache is not None:
        world.gateways.cache = cache
    monkeypatch.setenv("MATHVISUALS_STATE_DIR", str(tmp_path / "state"))

    @contextlib.contextmanager
    def session(env: str | None, config: Path | None, target: str | None) -> Iterator[Any]:
        console = Console(file=None, stderr=True)
        yield wiring.Session(
            world.config, config_file, LOCAL, world.gateways, RichReporter(console), console
        )

    monkeypatch.setattr(wiring, "session", session)
    return CliRunner().invoke(app, ["status", "--env", "local", *args])


def test_an_unread_section_prints_the_report_then_exits_5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_status(tmp_path, monkeypatch, DeniedCache())
    assert result.exit_code == 5, result.output
    assert "## 3. Data stack" in result.output and "## 5. API and verification" in result.output
    assert "error: could not read the live state of: " in result.output
    assert "Traceback" not in result.output


def test_json_output_still_holds_every_section_when_one_is_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_status(tmp_path, monkeypatch, DeniedCache(), "--json")
    assert result.exit_code == 5
    body = json.loads(result.stdout)  # one object: the report and the error together
    assert len(body["sections"]) == 5 and body["ok"] is False
    assert body["error"]["exit_code"] == 5 and "3. Data stack" in body["error"]["message"]


def test_a_fully_read_status_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_status(tmp_path, monkeypatch, None)
    assert result.exit_code == 0, result.output
    assert "could not read" not in result.output
