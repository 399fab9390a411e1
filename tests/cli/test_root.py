"""The CLI's one error boundary and its command table."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mathvisuals.cli import app
from mathvisuals.cli.root import COMMANDS, boundary
from mathvisuals.deploy.errors import LockHeldError
from mathvisuals.errors import MathVisualsError, SettingsError
from mathvisuals.sandbox import SandboxError


def test_every_command_is_behind_the_boundary() -> None:
    registered = {str(info.name): info.callback for info in app.registered_commands}
    assert set(registered) == set(COMMANDS)
    for name, callback in registered.items():
        assert getattr(callback, "__wrapped__", None) is COMMANDS[name], name


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (SandboxError("ministack did not answer on 127.0.0.1:4566"), 13),
        (SettingsError("REDIS_PORT is not a number"), 3),
        (LockHeldError("another run holds the lock").with_hint("wait for it"), 11),
    ],
)
def test_the_tree_becomes_one_line_and_its_exit_code(error: MathVisualsError, code: int) -> None:
    def command() -> None:
        raise error

    probe = typer.Typer()
    probe.command()(boundary(command))
    result = CliRunner().invoke(probe, [])
    assert result.exit_code == code
    assert result.stderr.strip().splitlines() == [
        f"error: {error}" + (f" (hint: {error.hint})" if error.hint else "")
    ]
    assert "Traceback" not in result.output


def test_other_exceptions_keep_their_traceback() -> None:
    def command() -> None:
        raise KeyError("a bug")

    probe = typer.Typer()
    probe.command()(boundary(command))
    result = CliRunner().invoke(probe, [])
    assert result.exit_code == 1
    assert isinstance(result.exception, KeyError)


def test_a_sandbox_that_cannot_start_is_one_line_exit_13(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mathvisuals.deploy import local

    def refuse(state_dir: Path, ministack_venv: Path | None = None) -> local.LocalTarget:
        raise SandboxError("ministack exited with status 1 before listening")

    monkeypatch.setattr(local, "start_local", refuse)
    monkeypatch.setenv("MATHVISUALS_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["verify", "--target", "local", "--env", "local"])
    assert result.exit_code == 13
    assert result.stderr.strip().splitlines()[-1] == (
        "error: ministack exited with status 1 before listening"
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)
