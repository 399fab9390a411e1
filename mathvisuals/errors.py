"""The root of every deliberate exception in mathvisuals."""

from __future__ import annotations


class MathVisualsError(Exception):
    """Base class; callers catch a branch of this tree, never ``Exception``.

    ``exit_code`` is what the CLI exits with (1 only for a branch without its own code);
    ``hint`` says how to fix it, printed after the message.
    """

    exit_code = 1
    hint = ""


class SettingsError(MathVisualsError):
    """The runtime configuration cannot work (e.g. kv required but not configured)."""

    exit_code = 3
