"""``mathvisuals package``: the artefact as up builds it, described, without AWS."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mathvisuals.cli import app


def test_the_local_artefact_is_built_and_described(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MATHVISUALS_STATE_DIR", str(tmp_path / "state"))
    out = tmp_path / "dist" / "lambda.zip"
    result = CliRunner().invoke(
        app, ["package", "--env", "local", "--target", "local", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    data = out.read_bytes()
    assert facts["path"] == str(out)
    assert facts["sha256"] == hashlib.sha256(data).hexdigest()
    assert facts["size"] == len(data)
    with zipfile.ZipFile(out) as archive:
        infos = archive.infolist()
    assert facts["unzipped_size"] == sum(info.file_size for info in infos)
    assert facts["files"] == len(infos)
    # The sandbox target is built for this interpreter, which is always there to compile.
    assert facts["bytecode"] is True
    assert facts["cache_tag"] == sys.implementation.cache_tag
    assert any(info.filename.endswith(f".{sys.implementation.cache_tag}.pyc") for info in infos)


def test_without_python_3_12_the_aws_artefact_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sys.version_info[:2] == (3, 12):
        pytest.skip("this interpreter is the runtime's version, so it is always found")
    monkeypatch.setenv("MATHVISUALS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    result = CliRunner().invoke(app, ["package", "--env", "prod"])
    assert result.exit_code == 6
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: no Python 3.12 found")
    assert "Traceback" not in result.output
    assert not (tmp_path / "state" / "artifacts").exists()


def test_an_unknown_environment_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["package", "--env", "no-such-env"])
    assert result.exit_code == 2  # as for every deploy command
    assert "no-such-env" in result.stderr
    assert "Traceback" not in result.output
