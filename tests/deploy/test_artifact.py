"""The Lambda artefact (deploy.md §5.8): deterministic, content-addressed, manifest-checked.

The first build installs the pinned wheels with pip (network, once per session); every other
build reuses that session's cache. Builds run from a snapshot of the source tree, so edits made
elsewhere in the checkout while the tests run cannot change the hashes being compared.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from mathvisuals.deploy.artifact import (
    ZIP_EPOCH,
    Artifact,
    Installer,
    _runs_here,
    build_artifact,
    check_manifest,
    installed_sources,
    load_artifact,
    pinned_requirements,
)
from mathvisuals.deploy.errors import DeploymentFailedError

HERE = f"{sys.version_info.major}.{sys.version_info.minor}"
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Session:
    source: Path
    cache: Path
    artifact: Artifact


def snapshot(dest: Path) -> Path:
    dest.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "pyproject.toml", dest / "pyproject.toml")
    shutil.copytree(
        REPO_ROOT / "mathvisuals",
        dest / "mathvisuals",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return dest


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """One real build for the running interpreter, so the import check runs too."""
    source = snapshot(tmp_path_factory.mktemp("src") / "tree")
    cache = tmp_path_factory.mktemp("deps-cache")
    artifact = build_artifact(
        tmp_path_factory.mktemp("out"),
        python_version=None,
        source_root=source,
        cache_dir=cache,
        verify_import=True,
    )
    return Session(source, cache, artifact)


def never_install(
    requirements: Sequence[str], target: Path, *, python_version: str, platform: str
) -> None:
    raise AssertionError("the dependency cache should have been used")


def rebuild(
    session: Session, out: Path, *, source: Path | None = None, verify_import: bool = False
) -> Artifact:
    """A warm build from the session cache; the session build already ran the import check."""
    return build_artifact(
        out,
        python_version=None,
        source_root=source or session.source,
        cache_dir=session.cache,
        verify_import=verify_import,
        install=never_install,
    )


# --- determinism -------------------------------------------------------------------------


def test_two_builds_are_byte_identical(built: Session, tmp_path: Path) -> None:
    again = rebuild(built, tmp_path)
    assert again.sha256 == built.artifact.sha256
    assert again.path.read_bytes() == built.artifact.path.read_bytes()
    assert again.manifest == built.artifact.manifest


def test_a_cold_build_with_a_fresh_pip_install_is_byte_identical(
    built: Session, tmp_path: Path
) -> None:
    cold = build_artifact(
        tmp_path / "out",
        python_version=None,
        source_root=built.source,
        cache_dir=tmp_path / "cache",
        verify_import=False,
    )
    assert cold.sha256 == built.artifact.sha256


def test_mtimes_bytecode_and_hidden_files_in_the_source_do_not_matter(
    built: Session, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    shutil.copytree(built.source, source)
    for path in source.rglob("*.py"):
        path.touch()
    (source / "mathvisuals" / "__pycache__").mkdir()
    (source / "mathvisuals" / "__pycache__" / "settings.cpython-311.pyc").write_bytes(b"x")
    (source / "mathvisuals" / "api" / ".handler.py.swp").write_bytes(b"x")
    assert rebuild(built, tmp_path / "out", source=source).sha256 == built.artifact.sha256


def test_a_changed_source_file_changes_the_key(built: Session, tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(built.source, source)
    with (source / "mathvisuals" / "errors.py").open("a", encoding="utf-8") as handle:
        handle.write("\n# changed\n")
    changed = rebuild(built, tmp_path / "out", source=source)
    assert changed.key("api/") != built.artifact.key("api/")


def test_every_entry_has_the_fixed_timestamp_mode_and_compression(built: Session) -> None:
    with zipfile.ZipFile(built.artifact.path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert tuple(names) == built.artifact.manifest
    for info in infos:
        assert info.date_time == ZIP_EPOCH
        assert info.external_attr >> 16 == 0o100644
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert not info.is_dir()


def test_the_runtime_imports_from_the_shipped_bytecode(built: Session, tmp_path: Path) -> None:
    """unchecked-hash pycs are used without reading the source: a broken source proves it."""
    with zipfile.ZipFile(built.artifact.path) as archive:
        archive.extractall(tmp_path)
    (tmp_path / "mathvisuals" / "jsonfmt.py").write_text("raise SystemExit(9)\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-S", "-c", "import mathvisuals.jsonfmt, redis.client, starlette.routing"],
        cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


# --- manifest ----------------------------------------------------------------------------


def test_the_manifest_holds_the_runtime_and_nothing_else(built: Session) -> None:
    manifest = built.artifact.manifest
    for name in ("mathvisuals/api/lambda_handler.py", "mathvisuals/store/redis.py"):
        assert name in manifest
    for top in ("starlette/", "mangum/", "redis/", "hiredis/", "orjson/"):
        assert any(member.startswith(top) for member in manifest), top
    banned = ("boto3", "botocore", "mathvisuals/deploy/", "mathvisuals/sandbox/", "bin/")
    assert not [member for member in manifest if member.startswith(banned)]
    assert not [m for m in manifest if m.startswith("mathvisuals/cli/")]
    assert "mathvisuals/__main__.py" not in manifest
    tag = sys.implementation.cache_tag
    assert built.artifact.bytecode == tag
    pycs = {m for m in manifest if "__pycache__" in m or m.endswith(".pyc")}
    assert pycs and all(m.endswith(f".{tag}.pyc") for m in pycs)
    for module in ("mathvisuals/api/lambda_handler", "redis/client", "starlette/applications"):
        head, _, stem = module.rpartition("/")
        assert f"{head}/__pycache__/{stem}.{tag}.pyc" in pycs, module
    volatile = re.compile(r"\.dist-info/(RECORD|INSTALLER|REQUESTED|direct_url\.json)$")
    assert not [member for member in manifest if volatile.search(member)]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda names: names - {"mathvisuals/api/lambda_handler.py"}, "lambda_handler.py"),
        (lambda names: names - {"mathvisuals/store/redis.py"}, "mathvisuals/store/redis.py"),
        (lambda names: {n for n in names if not n.startswith("orjson/")}, "orjson/"),
        (lambda names: names | {"boto3/__init__.py"}, "forbidden boto3"),
        (lambda names: names | {"botocore-1.40.0.dist-info/METADATA"}, "botocore-"),
        (lambda names: names | {"mathvisuals/deploy/aws/__init__.py"}, "mathvisuals/deploy"),
        (lambda names: names | {"redis/__pycache__/x.cpython-312.pyc"}, "bytecode"),
        (lambda names: names | {"redis/__pycache__/client.cpython-39.pyc"}, "bytecode"),
        (lambda names: names | {"redis/client.pyc"}, "bytecode"),
        (lambda names: names - {"redis/client.py"}, "bytecode redis/__pycache__/client"),
    ],
)
def test_a_tampered_manifest_is_refused(
    built: Session, change: Callable[[set[str]], set[str]], expected: str
) -> None:
    names = change(set(built.artifact.manifest))
    with pytest.raises(DeploymentFailedError, match=re.escape(expected)):
        check_manifest(names)


def test_a_tampered_zip_is_refused_when_loaded(built: Session, tmp_path: Path) -> None:
    assert load_artifact(built.artifact.path) == built.artifact
    tampered = tmp_path / "tampered.zip"
    shutil.copy(built.artifact.path, tampered)
    with zipfile.ZipFile(tampered, "a") as archive:
        archive.writestr("boto3/__init__.py", "")
    with pytest.raises(DeploymentFailedError, match="forbidden boto3"):
        load_artifact(tampered)


def test_a_source_tree_without_a_required_module_is_refused(built: Session, tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(built.source, source)
    (source / "mathvisuals" / "store" / "redis.py").unlink()
    with pytest.raises(
        DeploymentFailedError, match=re.escape("missing mathvisuals/store/redis.py")
    ):
        rebuild(built, tmp_path / "out", source=source)
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_the_import_check_catches_a_dependency_the_zip_lacks(
    built: Session, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    shutil.copytree(built.source, source)
    (source / "mathvisuals" / "api" / "leak.py").write_text("import boto3\n", encoding="utf-8")
    with pytest.raises(DeploymentFailedError, match=r"import check failed(.|\n)*boto3"):
        rebuild(built, tmp_path / "out", source=source, verify_import=True)
    assert not list((tmp_path / "out").iterdir())  # the failed zip is not left behind


# --- key, digest, size -------------------------------------------------------------------


def test_the_key_is_content_addressed(built: Session) -> None:
    artifact = built.artifact
    assert re.fullmatch(r"[0-9a-f]{64}", artifact.sha256)
    assert artifact.key("api/") == f"api/{artifact.sha256}.zip"
    assert artifact.key("") == f"{artifact.sha256}.zip"
    assert artifact.path.name == f"{artifact.sha256}.zip"


def test_code_sha256_is_what_lambda_reports(built: Session) -> None:
    data = built.artifact.path.read_bytes()
    assert built.artifact.sha256 == hashlib.sha256(data).hexdigest()
    assert built.artifact.code_sha256 == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert len(base64.b64decode(built.artifact.code_sha256)) == 32
    assert built.artifact.code_sha256.endswith("=")


def test_the_size_is_the_zip_size(built: Session) -> None:
    assert built.artifact.size == built.artifact.path.stat().st_size
    assert 100_000 < built.artifact.size < 50 * 1024 * 1024  # Lambda's direct-upload limit


# --- pins, cache, target -----------------------------------------------------------------


def test_the_pins_come_from_pyproject() -> None:
    pins = pinned_requirements(REPO_ROOT / "pyproject.toml")
    tops = {pin.split("==")[0] for pin in pins}
    assert {"starlette", "mangum", "redis", "hiredis", "orjson"} <= tops
    assert not tops & {"boto3", "botocore"}


def test_an_unpinned_dependency_is_refused(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\ndependencies = ["starlette>=1.0", "mangum==0.22.0"]\n', encoding="utf-8"
    )
    with pytest.raises(DeploymentFailedError, match=re.escape("starlette>=1.0")):
        pinned_requirements(pyproject)


def fake_wheels(calls: list[tuple[str, str, tuple[str, ...]]]) -> Installer:
    def install(
        requirements: Sequence[str], target: Path, *, python_version: str, platform: str
    ) -> None:
        calls.append((python_version, platform, tuple(requirements)))
        for top in ("starlette", "mangum", "redis", "orjson"):
            (target / top / "__pycache__").mkdir(parents=True)
            (target / top / "__init__.py").write_text("", encoding="utf-8")
            (target / top / "__pycache__" / "__init__.cpython-312.pyc").write_bytes(b"x")
        info = target / "orjson-1.0.dist-info"
        info.mkdir()
        for name in ("METADATA", "RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
            (info / name).write_text(name, encoding="utf-8")
        (target / "bin").mkdir()
        (target / "bin" / "tool").write_text("#!/somewhere/python\n", encoding="utf-8")

    return install


def test_the_cache_is_keyed_on_the_target_and_cleaned(built: Session, tmp_path: Path) -> None:
    calls: list[tuple[str, str, tuple[str, ...]]] = []
    install = fake_wheels(calls)
    for platform in ("manylinux2014_x86_64", "manylinux2014_aarch64", "manylinux2014_x86_64"):
        artifact = build_artifact(
            tmp_path / "out",
            python_version="3.12",
            platform=platform,
            source_root=built.source,
            cache_dir=tmp_path / "cache",
            verify_import=False,
            install=install,
            bytecode="optional",  # compiled only where a Python 3.12 is installed
        )
    pins = pinned_requirements(built.source / "pyproject.toml")
    assert calls == [
        ("3.12", "manylinux2014_x86_64", pins),
        ("3.12", "manylinux2014_aarch64", pins),
    ]
    deps = [m for m in artifact.manifest if not m.startswith("mathvisuals/") and ".pyc" not in m]
    with zipfile.ZipFile(artifact.path) as archive:  # the installer's pycs never ship; ours do
        pycs = [archive.read(m) for m in artifact.manifest if m.endswith(".pyc")]
    assert bool(pycs) == (artifact.bytecode == "cpython-312")
    assert b"x" not in pycs
    assert deps == [
        "mangum/__init__.py",
        "orjson-1.0.dist-info/METADATA",
        "orjson/__init__.py",
        "redis/__init__.py",
        "starlette/__init__.py",
    ]
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".tmp-")]


def test_a_target_that_cannot_run_here_cannot_be_import_checked(
    built: Session, tmp_path: Path
) -> None:
    with pytest.raises(DeploymentFailedError, match="cannot import-check"):
        build_artifact(
            tmp_path,
            python_version="3.4",
            source_root=built.source,
            cache_dir=built.cache,
            verify_import=True,
            install=never_install,
        )


def test_which_targets_run_here() -> None:
    import platform

    machine = platform.machine()
    assert not _runs_here("3.0", f"manylinux2014_{machine}")
    assert not _runs_here(HERE, "macosx_11_0_arm64")
    assert not _runs_here(HERE, "manylinux_2_999_" + machine)
    assert not _runs_here(HERE, "manylinux2014_s390x")
    if sys.platform == "linux" and platform.libc_ver()[0] == "glibc":
        assert _runs_here(HERE, f"manylinux2014_{machine}")
        assert _runs_here(HERE, f"manylinux_2_17_{machine}")


def test_the_installed_distribution_carries_the_pyproject_pins() -> None:
    requirements, package = installed_sources()
    assert requirements == pinned_requirements(REPO_ROOT / "pyproject.toml")
    assert "mathvisuals/api/lambda_handler.py" in package
    assert not [
        name for name in package if name.startswith(("mathvisuals/deploy/", "mathvisuals/cli/"))
    ]


def fake_site(
    root: Path, requires: Sequence[str], *, record: bool = True
) -> importlib.metadata.Distribution:
    """A non-editable install in ``root``: files, METADATA and a RECORD, no checkout anywhere."""
    files = {
        "mathvisuals/__init__.py": "",
        "mathvisuals/api/lambda_handler.py": "handler = None\n",
        "mathvisuals/deploy/artifact.py": "",
        "mathvisuals/__pycache__/__init__.cpython-312.pyc": "x",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    info = root / "mathvisuals-0.1.0.dist-info"
    info.mkdir()
    metadata = ["Metadata-Version: 2.4", "Name: mathvisuals", "Version: 0.1.0"]
    metadata += [f"Requires-Dist: {line}" for line in requires]
    (info / "METADATA").write_text("\n".join(metadata) + "\n", encoding="utf-8")
    if record:
        rows = [*files, "mathvisuals-0.1.0.dist-info/METADATA", "../../bin/mathvisuals"]
        (info / "RECORD").write_text("".join(f"{n},,\n" for n in rows), encoding="utf-8")
    return importlib.metadata.PathDistribution(info)


def test_a_non_editable_install_builds_from_its_recorded_files(tmp_path: Path) -> None:
    dist = fake_site(
        tmp_path, ["starlette==1.10.0", "redis==8.1.0", 'uvicorn==0.54.0; extra == "server"']
    )
    requirements, package = installed_sources(dist)
    assert requirements == ("starlette==1.10.0", "redis==8.1.0")
    assert sorted(package) == ["mathvisuals/__init__.py", "mathvisuals/api/lambda_handler.py"]
    assert (
        package["mathvisuals/api/lambda_handler.py"]
        == tmp_path / "mathvisuals/api/lambda_handler.py"
    )


def test_an_installed_distribution_with_loose_or_missing_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeploymentFailedError, match=re.escape("starlette>=1.0")):
        installed_sources(fake_site(tmp_path / "a", ["starlette>=1.0"]))
    with pytest.raises(DeploymentFailedError, match="conditional"):
        installed_sources(fake_site(tmp_path / "b", ['redis==8.1.0; python_version < "3.9"']))
    broken = fake_site(tmp_path / "c", ["redis==8.1.0"])
    (tmp_path / "c/mathvisuals/api/lambda_handler.py").unlink()
    with pytest.raises(DeploymentFailedError, match="incompletely"):
        installed_sources(broken)


def test_a_stale_egg_info_in_the_checkout_is_not_the_installed_distribution(
    tmp_path: Path,
) -> None:
    """Run from the checkout's root, Python finds a build's mathvisuals.egg-info first."""
    import sys

    from mathvisuals.deploy.artifact import installed_distribution

    stale = tmp_path / "mathvisuals.egg-info"
    stale.mkdir()
    (stale / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: mathvisuals\nVersion: 0.0.1\n")
    (stale / "SOURCES.txt").write_text("mathvisuals/__init__.py\n")
    found = installed_distribution([str(tmp_path), *sys.path])
    assert found.read_text("RECORD") is not None
    assert found.version != "0.0.1"
