"""The CLI runs from any directory of a checkout: like git, it finds the project root upward.

The repository's own files (``infra/``, ``.mathvisuals/``) are then read from the root, while
paths an operator types (``--config``, ``--out``, ``--plan``, ``MATHVISUALS_STATE_DIR`` …)
keep meaning what they meant where the command was typed.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from mathvisuals.settings import anchor_operator_paths

MARKER = Path("infra", "environments")

_origin: Path | None = None


def project_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding ``infra/environments``."""
    for candidate in (start, *start.parents):
        if (candidate / MARKER).is_dir():
            return candidate
    return None


def enter(start: Path | None = None) -> Path | None:
    """Change to the project root (if there is one above), remembering where we came from."""
    global _origin
    here = (start or Path.cwd()).resolve()
    root = project_root(here)
    _origin = here
    if root is None or root == here:
        return root
    anchor_operator_paths(here)
    os.chdir(root)
    return root


def user_path(value: Path | None) -> Path | None:
    """A path the operator typed, relative to the directory the command was typed in."""
    if value is None or value.is_absolute() or _origin is None:
        return value
    return _origin / value


def out_file(value: Path | None) -> Path | None:
    """An ``--out FILE`` as typed (see :func:`user_path`), refused before any work is done when
    it names a folder or lies in one that cannot be written (missing folders are created)."""
    path = user_path(value)
    if path is None:
        return None
    if path.is_dir():
        raise typer.BadParameter(f"{value} is a folder: name a file in it")
    existing = next((folder for folder in path.parents if folder.exists()), None)
    if existing is not None and not (existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)):
        raise typer.BadParameter(f"cannot write {value}: {existing} is not a writable folder")
    return path
