"""APP_EVENTS is exactly what the application emits, so metric filters cannot drift (B27)."""

from __future__ import annotations

import re
from pathlib import Path

import mathvisuals
from mathvisuals.deploy.check.events import APP_EVENTS

PACKAGE = Path(mathvisuals.__file__).parent
_EMIT = re.compile(r"\bemit\(\s*\"([^\"]+)\"")


def test_app_events_match_the_emit_calls() -> None:
    sources = [*sorted((PACKAGE / "api").rglob("*.py")), PACKAGE / "logs.py"]
    emitted = {name for path in sources for name in _EMIT.findall(path.read_text("utf-8"))}
    assert emitted == APP_EVENTS
