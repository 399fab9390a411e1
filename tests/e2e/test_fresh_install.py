"""What an operator installs is what runs: a fresh venv with ``.[deploy]`` alone, non-editable.

The package is installed from a copy of the source tree into a new venv, and every deploy
command runs with that venv's ``mathvisuals`` from a directory that holds only ``infra/``, so
nothing can come from this checkout or from the dev extra: up, verify, status,
github-secrets (dry run, then for real against the loopback GitHub fake), rotate-token, down.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.github_fake import FakeGitHub

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(
    ".venv", ".mathvisuals", ".git", "__pycache__", "*.pyc", "build", "*.egg-info", ".*_cache"
)
REPOSITORY = "example/math_visuals"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fresh")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=SKIP)
    env = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300)
    done = subprocess.run(
        [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", f"{source}[deploy]"],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    shutil.rmtree(source)  # nothing may read the source tree after the install
    return env


@pytest.fixture(scope="module")
def work(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory with infra/ only, the reusable caches of this checkout linked in."""
    work = tmp_path_factory.mktemp("work")
    shutil.copytree(REPO / "infra", work / "infra")
    local = work / "infra" / "environments" / "local.toml"
    local.write_text(
        local.read_text() + f'\n[github]\nrepository = "{REPOSITORY}"\n', encoding="utf-8"
    )
    (work / ".mathvisuals").mkdir()
    for name in ("ministack", "cache"):
        shared = REPO / ".mathvisuals" / name
        shared.mkdir(parents=True, exist_ok=True)
        (work / ".mathvisuals" / name).symlink_to(shared)
    yield work
    if (work / "state" / "sandbox.json").exists():  # never leave processes behind
        subprocess.run(
            [str(venv / "bin" / "mathvisuals"), "down", "--target", "local", "--env", "local"],
            cwd=work, env=environment(work), capture_output=True, check=False, timeout=300,
        )  # fmt: skip


def environment(work: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REDIS_", "GITHUB_"))}
    keep.pop("PYTHONPATH", None)
    return {**keep, "MATHVISUALS_STATE_DIR": str(work / "state"), **extra}


def cli(venv: Path, work: Path, *args: str, **extra: str) -> Any:
    done = subprocess.run(
        [str(venv / "bin" / "mathvisuals"), *args, "--target", "local", "--env", "local", "--json"],
        cwd=work, env=environment(work, **extra), capture_output=True, text=True,
        check=False, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}{done.stderr}"
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_the_installed_package_is_not_the_checkout(venv: Path) -> None:
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import mathvisuals, importlib.util as u; print(mathvisuals.__file__);"
         "print(u.find_spec('moto') is None, u.find_spec('pytest') is None)"],
        cwd=venv, env=environment(venv), capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()  # fmt: skip
    assert Path(where[0]).is_relative_to(venv) and where[1:] == ["True", "True"]


def test_the_local_workflow_runs_on_deploy_alone(venv: Path, work: Path) -> None:
    up = cli(venv, work, "up")
    assert up["changed"] is True and up["verified"] is True
    cli(venv, work, "verify")
    cli(venv, work, "status")
    dry = cli(venv, work, "github-secrets", "--dry-run")["secrets"]
    assert {row["name"] for row in dry} == {"REDIS_ENDPOINT", "REDIS_PORT", "REDIS_PASSWORD"}
    assert {row["action"] for row in dry} == {"would write"}
    with FakeGitHub("ghp_fresh") as github:
        written = cli(
            venv, work, "github-secrets", GITHUB_TOKEN="ghp_fresh", GITHUB_API_URL=github.base_url
        )["secrets"]
        assert {row["action"] for row in written} == {"created"}
        assert {name for repo, _, name in github.secrets if repo == REPOSITORY} == {
            "REDIS_ENDPOINT", "REDIS_PORT", "REDIS_PASSWORD"
        }  # fmt: skip
    token = (work / "state" / "token").read_text()
    rotated = cli(venv, work, "rotate-token")
    assert (work / "state" / "token").read_text() != token and rotated["secret"]
    cli(venv, work, "down")
    assert not (work / "state" / "sandbox.json").exists()
