"""Bytecode for the Lambda artefact, compiled by an interpreter of the runtime's version.

Lambda's ``/var/task`` is read-only, so an artefact without ``__pycache__`` compiles every
module it imports on every cold start. The ``.pyc`` files are written by a Python of the
target's minor version (found on PATH or among pyenv's versions), as ``unchecked-hash`` pycs:
no source mtime inside, so with the zip's fixed timestamps the same tree gives the same bytes.
Compiled files are cached by content, so a warm build compiles only what changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil

# py_compile must run inside the target's interpreter, so this starts that interpreter.
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mathvisuals.deploy.errors import DeploymentFailedError
from mathvisuals.settings import deploy_environment

log = logging.getLogger(__name__)

_PROBE = (
    "import sys, importlib.util; "
    "print(sys.executable, sys.implementation.cache_tag, importlib.util.MAGIC_NUMBER.hex(), "
    "'%d.%d.%d' % sys.version_info[:3])"
)
_VERSION_DIR = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")

# Runs in the target's interpreter: reads [source, pyc, name] triples as JSON on stdin,
# writes the names that do not compile (kept as source only) as JSON on stdout.
_COMPILE = """
import json, py_compile, sys
failed = []
for source, target, name in json.load(sys.stdin):
    try:
        py_compile.compile(source, cfile=target, dfile=name, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError:
        failed.append(name)
json.dump(failed, sys.stdout)
"""


@dataclass(frozen=True)
class Interpreter:
    path: Path
    version: str  # "3.12.1"
    cache_tag: str  # "cpython-312"
    magic: str  # importlib.util.MAGIC_NUMBER, hex


def _probe(command: str) -> Interpreter | None:
    try:
        done = subprocess.run(
            [command, "-S", "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 4:
        return None
    return Interpreter(Path(parts[0]), parts[3], parts[1], parts[2])


def _pyenv_candidates(version: str) -> list[Path]:
    root = (deploy_environment().pyenv_root or Path.home() / ".pyenv") / "versions"
    found: list[tuple[tuple[int, ...], Path]] = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    for entry in entries:
        match = _VERSION_DIR.match(entry.name)
        if match and f"{match.group(1)}.{match.group(2)}" == version:
            binary = entry / "bin" / f"python{version}"
            if binary.is_file():
                found.append((tuple(int(part) for part in match.groups()), binary))
    return [path for _, path in sorted(found, reverse=True)]  # newest patch release first


def find_interpreter(version: str) -> Interpreter | None:
    """A CPython ``version`` (``"3.12"``): this one, ``python3.12`` on PATH, or pyenv's."""
    candidates: list[str] = []
    if version == "{}.{}".format(*sys.version_info[:2]):
        candidates.append(sys.executable)
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    candidates += [str(path) for path in _pyenv_candidates(version)]
    for candidate in candidates:
        interpreter = _probe(candidate)
        if interpreter and interpreter.version.startswith(version + "."):
            return interpreter
    return None


def pyc_name(source_name: str, cache_tag: str) -> str:
    """``redis/client.py`` → ``redis/__pycache__/client.cpython-312.pyc`` (PEP 3147)."""
    path = PurePosixPath(source_name)
    return str(path.parent / "__pycache__" / f"{path.stem}.{cache_tag}.pyc").removeprefix("./")


def compile_files(
    files: Mapping[str, Path], interpreter: Interpreter, cache_root: Path
) -> dict[str, Path]:
    """The pycs for every ``.py`` in ``files`` (member name → source), as member name → file.

    Each pyc is cached under its interpreter's magic number, its member name and its source
    bytes; only misses start the interpreter, once for all of them.
    """
    store = cache_root / "bytecode" / f"{interpreter.cache_tag}-{interpreter.magic}"
    wanted: dict[str, Path] = {}
    jobs: list[tuple[str, str, str]] = []
    for name, source in sorted(files.items()):
        if not name.endswith(".py"):
            continue
        digest = hashlib.sha256(name.encode() + b"\0" + source.read_bytes()).hexdigest()
        cached = store / digest[:2] / f"{digest}.pyc"
        wanted[name] = cached
        if not cached.is_file() and not cached.with_suffix(".fails").is_file():
            cached.parent.mkdir(parents=True, exist_ok=True)
            jobs.append((str(source), str(cached), name))
    if jobs:
        _run_compiler(interpreter, jobs)
    out: dict[str, Path] = {}
    for name, cached in wanted.items():
        if cached.is_file():
            out[pyc_name(name, interpreter.cache_tag)] = cached
    return out


def _run_compiler(interpreter: Interpreter, jobs: list[tuple[str, str, str]]) -> None:
    # A fixed hash seed: set and frozenset constants are marshalled in iteration order.
    env = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"}
    try:
        done = subprocess.run(
            [str(interpreter.path), "-S", "-c", _COMPILE],
            input=json.dumps(jobs),
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        failed = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise DeploymentFailedError(f"compiling the artefact's bytecode failed: {exc}") from exc
    if failed is None:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise DeploymentFailedError(f"compiling the artefact's bytecode failed:\n{tail}")
    targets = {name: target for _, target, name in jobs}
    for name in failed:  # remembered, so a warm build does not retry them
        Path(targets[name]).with_suffix(".fails").touch()
    if failed:
        log.info("artifact.bytecode: %d files do not compile, shipped as source", len(failed))
