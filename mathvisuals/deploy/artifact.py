"""Builds the Lambda zip: pinned deps + the runtime package, deterministic, manifest-checked.

deploy.md §5.8 "Artefact", C7–C10, B40, B41. The zip is always written fresh from an explicit
file list (B40), its key is content-addressed (B41, C9), and a manifest check plus an optional
import check in a clean interpreter catch missing files before Lambda does (C10).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import platform as _platform
import re
import shutil

# pip has no Python API, so installing the dependencies and the import check in a clean
# interpreter are the one place outside sandbox/ that starts a process.
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from mathvisuals.deploy import bytecode as _bytecode
from mathvisuals.deploy.errors import DeploymentFailedError, PreflightBlockedError

log = logging.getLogger(__name__)

DISTRIBUTION = "mathvisuals"  # the installed distribution an artefact is built from
CACHE_SUBDIR = Path(".mathvisuals", "cache", "artifact-deps")
CACHE_FORMAT = 1  # bump when _clean_deps changes what a cached tree holds

# Not needed in Lambda: the deploy tooling (boto3), the sandbox (processes), the CLI.
# __main__.py only runs the CLI, so it would not even import without cli/.
EXCLUDED = ("mathvisuals/deploy/", "mathvisuals/sandbox/", "mathvisuals/cli/",
            "mathvisuals/__main__.py")  # fmt: skip
# The wheels' platform; the function's Architectures must match it (check MV169).
LAMBDA_PLATFORM = "manylinux2014_x86_64"
REQUIRED_FILES = ("mathvisuals/api/lambda_handler.py", "mathvisuals/store/redis.py")
REQUIRED_DIRS = ("starlette/", "mangum/", "redis/", "orjson/")
FORBIDDEN = ("boto3/", "botocore/", *EXCLUDED)
FORBIDDEN_DISTS = ("boto3-", "botocore-")  # their *.dist-info directories
RUNTIME_MODULES = ("starlette", "mangum", "redis", "hiredis", "orjson")

# pip writes these per install (hashes, installer name, source URL), and console scripts carry
# the build machine's interpreter path in their shebang.
_VOLATILE_NAMES = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o100644  # regular file, rw-r--r--
ZIP_COMPRESSLEVEL = 9
LAMBDA_UNZIPPED_LIMIT = 262_144_000  # 250 MB, the hard limit for a zip-deployed function

_PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,.-]+\])?==[A-Za-z0-9.+!-]+$")
_PYTHON_VERSION = re.compile(r"^3\.\d+$")
_MANYLINUX = re.compile(r"^manylinux(?:1|2010|2014|_(\d+)_(\d+))_(\w+)$")
_PYC = re.compile(r"__pycache__/(?P<stem>[^/]+)\.(?P<tag>cpython-\d+)\.pyc$")
_LEGACY_GLIBC = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


@dataclass(frozen=True)
class Artifact:
    path: Path
    sha256: str  # hex digest of the zip bytes
    size: int
    manifest: tuple[str, ...]  # sorted member names
    bytecode: str | None = None  # the pycs' cache tag ("cpython-312"), None without any

    def key(self, prefix: str) -> str:
        return f"{prefix}{self.sha256}.zip"

    @property
    def code_sha256(self) -> str:
        """The digest as Lambda reports ``CodeSha256``: base64 of the raw SHA-256."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode("ascii")


class Installer(Protocol):
    def __call__(
        self, requirements: Sequence[str], target: Path, *, python_version: str, platform: str
    ) -> None: ...


def pip_install(
    requirements: Sequence[str], target: Path, *, python_version: str, platform: str
) -> None:
    """Binary wheels for the target (not this machine) into ``target``; no bytecode."""
    command = [
        sys.executable, "-m", "pip", "install", "--target", str(target),
        "--only-binary=:all:", "--platform", platform, "--python-version", python_version,
        "--implementation", "cp", "--no-compile", "--disable-pip-version-check",
        "--no-warn-script-location", "--quiet", *requirements,
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DeploymentFailedError(f"pip install for the artefact failed: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise DeploymentFailedError(
            f"pip install for the artefact failed (exit {done.returncode}):\n{tail}"
        )


def pinned_requirements(pyproject: Path) -> tuple[str, ...]:
    """``[project].dependencies``, each required to be an exact ``name==version`` pin."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DeploymentFailedError(f"cannot read {pyproject}: {exc}") from exc
    dependencies = data.get("project", {}).get("dependencies", [])
    if not isinstance(dependencies, list) or not dependencies:
        raise DeploymentFailedError(f"{pyproject}: [project].dependencies is empty")
    requirements = tuple(str(item).replace(" ", "") for item in dependencies)
    loose = [item for item in requirements if not _PIN.match(item)]
    if loose:
        raise DeploymentFailedError(
            f"{pyproject}: runtime dependencies must be pinned with '==': {', '.join(loose)}"
        )
    return requirements


def installed_distribution(path: list[str] | None = None) -> importlib.metadata.Distribution:
    """The installed distribution (a ``.dist-info`` with a RECORD), not a stale build's
    ``mathvisuals.egg-info`` in the checkout, which Python finds first from the root."""
    search = {"name": DISTRIBUTION} if path is None else {"name": DISTRIBUTION, "path": path}
    found = list(importlib.metadata.distributions(**search))
    installed = [d for d in found if d.read_text("RECORD") is not None]
    if not (installed or found):
        raise DeploymentFailedError(
            f"the {DISTRIBUTION} distribution is not installed: pip install '.[deploy]'"
        )
    return (installed or found)[0]


def installed_sources(
    distribution: importlib.metadata.Distribution | None = None,
) -> tuple[tuple[str, ...], dict[str, Path]]:
    """The pins and package files of the installed distribution, not of a source checkout.

    The pins are its unconditional ``Requires-Dist`` (``[project].dependencies``; extras carry
    an ``extra ==`` marker). The files are those its RECORD lists under ``mathvisuals/``; an
    editable install records none, so its package directory (the checkout) is read instead.
    """
    dist = distribution or installed_distribution()
    requirements: list[str] = []
    for line in dist.requires or []:
        requirement, _, marker = line.partition(";")
        if "extra" in marker:
            continue
        if marker.strip():
            raise DeploymentFailedError(
                f"runtime dependency {line!r} is conditional; the artefact needs plain pins"
            )
        requirements.append(requirement.replace(" ", ""))
    name = f"{dist.metadata['Name']} {dist.version}"
    if not requirements:
        raise DeploymentFailedError(f"{name} declares no runtime dependencies")
    loose = [item for item in requirements if not _PIN.match(item)]
    if loose:
        raise DeploymentFailedError(
            f"{name}: runtime dependencies must be pinned with '==': {', '.join(loose)}"
        )
    recorded = {
        record.as_posix(): Path(str(dist.locate_file(record)))
        for record in dist.files or []
        if record.as_posix().startswith(f"{DISTRIBUTION}/")
    }
    if recorded:
        files = {n: p for n, p in recorded.items() if _is_package_source(n)}
        missing = sorted(n for n, p in files.items() if not p.is_file())
        if missing:
            raise DeploymentFailedError(
                f"{name} is installed incompletely (no {missing[0]}); reinstall it"
            )
        return tuple(requirements), files
    spec = importlib.util.find_spec(DISTRIBUTION)
    if spec is None or spec.origin is None:
        raise DeploymentFailedError(f"{name} records no package files and cannot be imported")
    return tuple(requirements), package_files(Path(spec.origin).parent)


def build_artifact(
    out_dir: Path,
    *,
    python_version: str | None = "3.12",
    platform: str = LAMBDA_PLATFORM,
    source_root: Path | None = None,
    cache_dir: Path | None = None,
    verify_import: bool | None = None,
    install: Installer = pip_install,
    bytecode: Literal["required", "optional"] = "required",
) -> Artifact:
    """Build ``out_dir/<sha256>.zip``.

    The pins and package come from the installed distribution, or from a source tree
    (``source_root``: its pyproject.toml and mathvisuals/). ``python_version=None`` targets the
    running interpreter (the local sandbox). The import
    check runs when the target is this interpreter (``verify_import=None``), always (``True``:
    refused if the target cannot run here) or never (``False``). Bytecode is compiled by an
    interpreter of the target's version; without one the build is refused (``"required"``)
    or ships source only, with a note (``"optional"``).
    """
    started = time.monotonic()
    version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    if not _PYTHON_VERSION.match(version):
        raise DeploymentFailedError(f"python_version must look like '3.12', not {version!r}")
    runs_here = _runs_here(version, platform)
    if verify_import and not runs_here:
        raise DeploymentFailedError(
            f"cannot import-check a {version}/{platform} artefact with Python "
            f"{sys.version_info.major}.{sys.version_info.minor} on {sys.platform}/"
            f"{_platform.machine()}"
        )
    interpreter = _bytecode.find_interpreter(version)
    if interpreter is None and bytecode == "required":
        raise PreflightBlockedError(
            f"no Python {version} found (on PATH as python{version} or among pyenv's versions) "
            "to compile the artefact's bytecode"
        ).with_hint(f"install Python {version} (pyenv install {version}, or setup-python in CI)")
    if source_root is None:
        requirements, package = installed_sources()
    else:
        requirements = pinned_requirements(source_root / "pyproject.toml")
        package = package_files(source_root / DISTRIBUTION)
    cache_root = cache_dir or (source_root or Path()) / CACHE_SUBDIR
    deps = _cached_deps(requirements, version, platform, cache_root, install)
    files = _dep_files(deps)
    clash = sorted(files.keys() & package.keys())
    if clash:
        raise DeploymentFailedError(f"dependencies ship package files: {', '.join(clash[:5])}")
    files.update(package)
    if interpreter is not None:
        files.update(_bytecode.compile_files(files, interpreter, cache_root))
    else:
        log.warning("artifact: no Python %s here; the artefact ships no bytecode", version)
    check_manifest(files)
    unzipped = sum(source.stat().st_size for source in files.values())
    if unzipped > LAMBDA_UNZIPPED_LIMIT:
        raise DeploymentFailedError(
            f"artefact unzips to {unzipped} bytes; Lambda allows {LAMBDA_UNZIPPED_LIMIT}"
        )
    artifact = _write_zip(files, out_dir)
    if verify_import is not False and runs_here:
        try:
            _verify_import(artifact)
        except DeploymentFailedError:
            artifact.path.unlink(missing_ok=True)  # never leave a zip that failed the check
            raise
    elif verify_import is None:
        log.info("artifact.import_check skipped: %s/%s does not run here", version, platform)
    log.info(
        "artifact %s: %d files, %d bytes (%d unzipped) in %.1fs",
        artifact.path.name, len(artifact.manifest), artifact.size, unzipped,
        time.monotonic() - started,
    )  # fmt: skip
    return artifact


def load_artifact(path: Path) -> Artifact:
    """Read an existing zip back (e.g. before upload) and check its manifest again."""
    try:
        data = path.read_bytes()
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except (OSError, zipfile.BadZipFile) as exc:
        raise DeploymentFailedError(f"cannot read artefact {path}: {exc}") from exc
    tag = check_manifest(names)
    return Artifact(path, hashlib.sha256(data).hexdigest(), len(data), tuple(sorted(names)), tag)


def check_manifest(names: Iterable[str]) -> str | None:
    """Raise unless every required module is present and nothing forbidden is (C10).

    Bytecode is allowed only as PEP 3147 pycs of one cache tag, each beside its source;
    returns that tag (``None`` for an artefact without bytecode).
    """
    members = sorted(names)
    missing = [name for name in REQUIRED_FILES if name not in members]
    missing += [d for d in REQUIRED_DIRS if not any(m.startswith(d) for m in members)]
    forbidden = sorted(
        {
            prefix.rstrip("/")
            for member in members
            for prefix in (*FORBIDDEN, *FORBIDDEN_DISTS)
            if member.startswith(prefix)
        }
    )
    bytecode = [m for m in members if "__pycache__/" in m or m.endswith((".pyc", ".pyo"))]
    tags = {match.group("tag") for m in bytecode if (match := _PYC.search(m))}
    sources = set(members)
    stray = [
        m
        for m in bytecode
        if len(tags) != 1
        or not (match := _PYC.search(m))
        or m[: match.start()] + match.group("stem") + ".py" not in sources
    ]
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if forbidden:
        problems.append(f"forbidden {', '.join(forbidden)}")
    if stray:
        problems.append(f"bytecode {', '.join(stray[:3])}")
    if problems:
        raise DeploymentFailedError(f"artefact manifest check failed: {'; '.join(problems)}")
    return next(iter(tags)) if bytecode else None


def _cache_key(requirements: Sequence[str], python_version: str, platform: str) -> str:
    material = {
        "format": CACHE_FORMAT,
        "requirements": sorted(requirements),
        "python_version": python_version,
        "platform": platform,
        "implementation": "cp",
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]


def _cached_deps(
    requirements: Sequence[str],
    python_version: str,
    platform: str,
    cache_root: Path,
    install: Installer,
) -> Path:
    """The installed, cleaned dependency tree; only a cache miss runs the installer."""
    final = cache_root / _cache_key(requirements, python_version, platform)
    if final.is_dir():
        log.debug("artifact deps from cache %s", final)
        return final
    cache_root.mkdir(parents=True, exist_ok=True)
    # Install into a fresh sibling and rename it into place, so a crashed or concurrent
    # build never leaves a half-filled tree under the final name.
    fresh = cache_root / f".tmp-{final.name}-{uuid.uuid4().hex}"
    fresh.mkdir()
    try:
        install(requirements, fresh, python_version=python_version, platform=platform)
        _clean_deps(fresh)
        try:
            fresh.rename(final)
        except OSError:
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    return final


def _clean_deps(root: Path) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        if not path.exists():
            continue
        if path.is_dir() and path.name == "__pycache__":
            shutil.rmtree(path)
        elif path.is_file() and (
            path.suffix in (".pyc", ".pyo")
            or (path.name in _VOLATILE_NAMES and path.parent.name.endswith(".dist-info"))
        ):
            path.unlink()
    shutil.rmtree(root / "bin", ignore_errors=True)


def _dep_files(deps: Path) -> dict[str, Path]:
    return {path.relative_to(deps).as_posix(): path for path in deps.rglob("*") if path.is_file()}


def package_files(package: Path) -> dict[str, Path]:
    """The runtime package, read fresh from the source tree on every build."""
    if not (package / "__init__.py").is_file():
        raise DeploymentFailedError(f"no package at {package}")
    files: dict[str, Path] = {}
    for path in package.rglob("*"):
        name = path.relative_to(package.parent).as_posix()
        if path.is_file() and _is_package_source(name):
            files[name] = path
    return files


def lambda_architecture(platform: str = LAMBDA_PLATFORM) -> str | None:
    """The Lambda architecture that loads wheels for ``platform`` (x86_64 or arm64)."""
    match = _MANYLINUX.match(platform)
    machine = match.group(3) if match is not None else ""
    return {"x86_64": "x86_64", "aarch64": "arm64"}.get(machine)


def _is_package_source(name: str) -> bool:
    """A package file the artefact ships: no bytecode, hidden files or deploy-only modules."""
    parts = name.split("/")
    return not (
        any(part == "__pycache__" or part.startswith(".") for part in parts)
        or name.endswith((".pyc", ".pyo"))
        or name.startswith(EXCLUDED)
    )


def _write_zip(files: Mapping[str, Path], out_dir: Path) -> Artifact:
    """Sorted entries, fixed timestamp and mode, fixed compression: same tree, same bytes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out_dir / f".artifact-{uuid.uuid4().hex}.zip.partial"
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
                info.create_system = 3  # Unix, so external_attr carries the mode everywhere
                info.external_attr = ZIP_FILE_MODE << 16
                archive.writestr(
                    info,
                    files[name].read_bytes(),
                    compress_type=zipfile.ZIP_DEFLATED,
                    compresslevel=ZIP_COMPRESSLEVEL,
                )
        data = partial.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        path = partial.replace(out_dir / f"{sha256}.zip")
    finally:
        partial.unlink(missing_ok=True)
    tags = {match.group("tag") for name in files if (match := _PYC.search(name))}
    return Artifact(path, sha256, len(data), tuple(sorted(files)), next(iter(tags), None))


def _runs_here(python_version: str, platform: str) -> bool:
    """True when this interpreter can load wheels built for ``python_version``/``platform``."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    match = _MANYLINUX.match(platform)
    if python_version != running or match is None or sys.platform != "linux":
        return False
    if match.group(3) != _platform.machine():
        return False
    libc, libc_version = _platform.libc_ver()
    if libc != "glibc":
        return False
    if match.group(1):
        needed = (int(match.group(1)), int(match.group(2)))
    else:
        needed = _LEGACY_GLIBC[platform.split("_", 1)[0]]
    have = tuple(int(part) for part in libc_version.split(".")[:2])
    return have >= needed


# Runs in `python -S` (no site-packages) with only the unzipped artefact on sys.path, and
# fails unless every module imports and was loaded from inside the artefact.
_IMPORT_CHECK = """
import importlib, os, sys
root = os.path.realpath(sys.argv[1])
outside = []
for name in sys.argv[2:]:
    module = importlib.import_module(name)
    origin = getattr(module, "__file__", None)
    if origin and not os.path.realpath(origin).startswith(root + os.sep):
        outside.append(f"{name} from {origin}")
if outside:
    sys.exit("loaded from outside the artefact: " + ", ".join(outside))
"""


def _modules(manifest: Sequence[str]) -> list[str]:
    names = []
    for member in manifest:
        if member.startswith("mathvisuals/") and member.endswith(".py"):
            parts = member.removesuffix(".py").split("/")
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return [*RUNTIME_MODULES, *sorted(names)]


def _verify_import(artifact: Artifact) -> None:
    """Unzip into an empty directory and import every package module there, REDIS_* unset."""
    with tempfile.TemporaryDirectory(prefix="mathvisuals-artifact-") as scratch:
        root = Path(scratch)
        with zipfile.ZipFile(artifact.path) as archive:
            archive.extractall(root)
        # A fresh environment: no REDIS_*, no user site, nothing from this venv.
        env = {"PYTHONPATH": str(root), "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        command = [sys.executable, "-S", "-c", _IMPORT_CHECK, str(root)]
        try:
            done = subprocess.run(
                [*command, *_modules(artifact.manifest)],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DeploymentFailedError(f"artefact import check did not run: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise DeploymentFailedError(f"artefact import check failed:\n{tail}")
