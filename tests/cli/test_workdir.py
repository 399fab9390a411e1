"""The CLI from any directory of the checkout, and the --env/--config rules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mathvisuals.cli import workdir
from mathvisuals.deploy.config import config_path, load_config
from mathvisuals.deploy.errors import ConfigError, UsageError

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "mathvisuals", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_root_is_found_upward(tmp_path: Path) -> None:
    assert workdir.project_root(ROOT / "infra" / "data") == ROOT
    assert workdir.project_root(tmp_path) is None


def test_check_runs_from_a_subdirectory_and_reads_a_relative_config_from_there() -> None:
    done = cli("check", "--env", "prod", cwd=ROOT / "infra" / "data")
    assert done.returncode == 0, done.stderr
    assert "check passed" in done.stdout + done.stderr
    relative = cli("check", "--config", "../environments/local.toml", cwd=ROOT / "infra" / "data")
    assert relative.returncode == 0, relative.stderr


def test_a_missing_config_named_from_a_subdirectory_is_named_as_typed() -> None:
    done = cli("check", "--config", "nope.toml", cwd=ROOT / "infra")
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [
        f"error: {ROOT / 'infra' / 'nope.toml'}: file not found (hint: create it or pass --config)"
    ]


def test_env_and_config_together_are_a_usage_error() -> None:
    with pytest.raises(UsageError, match="both given") as caught:
        config_path("prod", Path("infra/environments/prod.toml"))
    assert caught.value.exit_code == 2


def test_no_env_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no environment given") as caught:
        config_path(None, None)
    assert "--env NAME" in caught.value.hint


def test_an_unknown_env_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match="infra/environments has local, prod"):
        config_path("staging", None)


def test_a_typo_is_named_first_with_the_key_it_meant(tmp_path: Path) -> None:
    text = Path("infra/environments/prod.toml").read_text(encoding="utf-8")
    assert "artifact_bucket = " in text  # required: its typo also reads as a missing key
    bad = tmp_path / "typo.toml"
    bad.write_text(text.replace("artifact_bucket = ", "artifact_bukket = ", 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert caught.value.key == "api.artifact_bukket"
    assert "unknown key (did you mean artifact_bucket?) (and 1 more problem)" in str(caught.value)


def test_the_file_names_its_target_and_the_option_must_agree() -> None:
    from mathvisuals.cli.wiring import resolve_target

    local, prod = Path("infra/environments/local.toml"), Path("infra/environments/prod.toml")
    assert resolve_target(None, load_config(local), local).name == "local"  # = ./dev up
    assert resolve_target(None, load_config(prod), prod).name == "aws"
    assert resolve_target("local", load_config(local), local).name == "local"
    with pytest.raises(UsageError, match=r"env\.target is aws, so --target local") as caught:
        resolve_target("local", load_config(prod), prod)
    assert caught.value.exit_code == 2 and "--target aws" in caught.value.hint
    unnamed = load_config(prod).model_copy(
        update={"env": load_config(prod).env.model_copy(update={"target": None})}
    )
    assert resolve_target("local", unnamed, prod).name == "local"  # a file that names none
    assert resolve_target(None, unnamed, prod).name == "aws"


@pytest.mark.parametrize(
    "command",
    [
        ("plan", "--env", "prod"),
        ("data", "export", "--env", "prod"),
        ("data", "copy", "--from-env", "prod", "--to-env", "local"),
        ("package", "--env", "prod"),
    ],
)
def test_an_out_that_cannot_be_written_is_refused_before_any_work(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for out, says in ((tmp_path, "is a folder"), (blocker / "x", "is not a writable folder")):
        done = cli(*command, "--out", str(out), cwd=ROOT)
        assert done.returncode == 2, done.stderr
        (line,) = [x for x in done.stderr.splitlines() if x.strip()]
        assert line.startswith("error: Invalid value for '--out'") and says in line


def test_a_relative_archive_is_read_where_the_command_was_typed() -> None:
    here = ROOT / "docs"
    archive = here / f".test-archive-{os.getpid()}.jsonl.gz"
    archive.write_bytes(b"not gzip")
    try:
        done = cli("data", "verify", "--env", "local", archive.name, cwd=here)
    finally:
        archive.unlink()
    assert done.returncode == 8  # read (and found damaged) in docs/, not looked for in the root
    assert "no such file" not in done.stderr and "not a gzip" in done.stderr.lower()
