"""The ``mathvisuals`` command line, the only package that writes to the terminal.

One module per command; ``wiring`` resolves a target's profile, clients and lock (the
composition root); ``render`` prints; ``root`` registers the commands behind one error boundary.
"""

from __future__ import annotations

from mathvisuals.cli.root import app, main

__all__ = ["app", "main"]
