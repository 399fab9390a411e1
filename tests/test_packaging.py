"""Every third-party module a code path imports is installed by the extra the README names.

The README's install block pairs each ``pip install`` line with the package it serves; grimp
gives every module that package imports, lazily or not (type-checking imports aside), and the
extra's requirements from pyproject.toml plus their installed dependencies must provide them.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import grimp
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

README = Path("README.md")
INSTALL_LINE = re.compile(r"^pip install (?:\.|'\.\[(\w+)\]')\s+# (mathvisuals[\w.]*):", re.M)


def readme_paths() -> list[tuple[str, str]]:
    """(extra or "", package) for each install line of the README."""
    return [(extra, package) for extra, package in INSTALL_LINE.findall(README.read_text())]


def project_requirements(extra: str) -> set[str]:
    """Distributions pyproject.toml installs for ``extra``: always the base dependencies ("")."""
    project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
    pending: list[str] = [extra, ""]
    seen: set[str] = set()
    names: set[str] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        lines = (
            project["dependencies"] if current == "" else project["optional-dependencies"][current]
        )
        for line in lines:
            requirement = Requirement(line)
            if canonicalize_name(requirement.name) == "mathvisuals":
                pending += requirement.extras
            else:
                names.add(canonicalize_name(requirement.name))
    return names


def installed_closure(names: set[str]) -> set[str]:
    """The distributions plus everything they require (as installed; markers evaluated)."""
    found: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(canonicalize_name(requirement.name))
    return found


def third_party_imports(package: str) -> dict[str, set[str]]:
    """Top-level third-party import name -> the mathvisuals modules importing it."""
    graph = grimp.build_graph(
        "mathvisuals", include_external_packages=True, exclude_type_checking_imports=True
    )
    sources = {m for m in graph.modules if m == package or m.startswith(package + ".")}
    reached: dict[str, set[str]] = {}
    for module in sources:
        for upstream in graph.find_upstream_modules(module):
            top = upstream.split(".")[0]
            if top != "mathvisuals" and top not in sys.stdlib_module_names:
                reached.setdefault(top, set()).add(module)
    return reached


PATHS = readme_paths()

# Imported only where Lambda's managed runtime provides it (SnapStart's hooks), and optional:
# without it api/snapstart.py logs and serves (tests/api/test_snapstart.py).
RUNTIME_PROVIDED = {"snapshot_restore_py"}


def test_the_readme_names_the_lambda_and_the_cli() -> None:
    assert ("", "mathvisuals.api.lambda_handler") in PATHS
    assert ("deploy", "mathvisuals.cli") in PATHS


@pytest.mark.parametrize(("extra", "package"), PATHS)
def test_each_path_imports_only_what_its_extra_installs(extra: str, package: str) -> None:
    provided = installed_closure(project_requirements(extra))
    distributions = importlib.metadata.packages_distributions()
    missing = {
        name: sorted(users)[:3]
        for name, users in third_party_imports(package).items()
        if name not in RUNTIME_PROVIDED
        and not {canonicalize_name(d) for d in distributions.get(name, [name])} & provided
    }
    label = f"[{extra}]" if extra else "the base dependencies"
    assert not missing, f"{package} imports what {label} does not install: {missing}"
