"""The artefact's bytecode: compiled by the target's Python, unchecked-hash, cached, required."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from mathvisuals.deploy import bytecode
from mathvisuals.deploy.artifact import build_artifact
from mathvisuals.deploy.errors import DeploymentFailedError, PreflightBlockedError

HERE = f"{sys.version_info.major}.{sys.version_info.minor}"
TAG = sys.implementation.cache_tag


def fake_pyenv(root: Path, version: str) -> Path:
    """A pyenv tree whose ``versions/<version>.0/bin/python<major.minor>`` is this Python."""
    minor = ".".join(version.split(".")[:2])
    binary = root / "versions" / version / "bin" / f"python{minor}"
    binary.parent.mkdir(parents=True)
    binary.symlink_to(sys.executable)
    return binary


def test_pyenv_versions_are_found_when_path_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setattr(sys, "version_info", (0, 0, 0))  # not the running interpreter's version
    fake_pyenv(tmp_path / "pyenv", f"{HERE}.0")
    found = bytecode.find_interpreter(HERE)
    assert found is not None
    assert found.cache_tag == TAG
    assert found.magic == importlib.util.MAGIC_NUMBER.hex()
    assert bytecode.find_interpreter("3.4") is None


def test_a_wrong_version_behind_the_name_is_not_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # python3.4 on PATH that is really this interpreter: the probe sees through the name.
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python3.4").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "none"))
    assert bytecode.find_interpreter("3.4") is None


def test_pycs_are_unchecked_hash_and_name_their_member(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text("VALUE = {'a', 'b', 'c'}\n", encoding="utf-8")
    interpreter = bytecode.find_interpreter(HERE)
    assert interpreter is not None
    pycs = bytecode.compile_files({"pkg/mod.py": source}, interpreter, tmp_path / "cache")
    assert list(pycs) == [f"pkg/__pycache__/mod.{TAG}.pyc"]
    data = next(iter(pycs.values())).read_bytes()
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, source not checked
    assert data[8:16] == importlib.util.source_hash(source.read_bytes())


def test_a_file_that_does_not_compile_ships_as_source_and_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text("X = 1\n", encoding="utf-8")
    bad.write_text("def (:\n", encoding="utf-8")
    interpreter = bytecode.find_interpreter(HERE)
    assert interpreter is not None
    files = {"p/good.py": good, "p/bad.py": bad}
    assert list(bytecode.compile_files(files, interpreter, tmp_path / "c")) == [
        f"p/__pycache__/good.{TAG}.pyc"
    ]

    def no_compiler(*args: object) -> None:
        raise AssertionError("everything was cached")

    monkeypatch.setattr(bytecode, "_run_compiler", no_compiler)
    assert len(bytecode.compile_files(files, interpreter, tmp_path / "c")) == 1


def test_a_compiler_that_crashes_fails_the_build(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("X = 1\n", encoding="utf-8")
    broken = bytecode.Interpreter(tmp_path / "no-such-python", "3.12.0", "cpython-312", "00")
    with pytest.raises(DeploymentFailedError, match="compiling the artefact's bytecode failed"):
        bytecode.compile_files({"m.py": source}, broken, tmp_path / "c")


def test_without_the_runtimes_python_a_deployable_build_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "none"))
    with pytest.raises(PreflightBlockedError, match=r"no Python 3\.4 found") as caught:
        build_artifact(tmp_path / "out", python_version="3.4", cache_dir=tmp_path / "cache")
    assert caught.value.exit_code == 6
    assert not (tmp_path / "out").exists()  # refused before pip or anything else ran
