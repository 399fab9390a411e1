"""The root of every deliberate exception in mathvisuals."""

from __future__ import annotations


class MathVisualsError(Exception):
    """Base class; callers catch a branch of this tree, never ``Exception``."""


class SettingsError(MathVisualsError):
    """The runtime configuration cannot work (e.g. kv required but not configured)."""
