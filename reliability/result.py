"""One scenario's outcome: a row of the table in ``docs/reliability.md``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Row:
    scenario: str
    size: str = ""
    faults: str = "none"
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def outcome(self) -> str:
        if self.ok:
            return "pass"
        return f"FAIL ({len(self.problems)} problem{'s' if len(self.problems) > 1 else ''})"


@contextmanager
def timed(row: Row) -> Iterator[Row]:
    """Fill ``row.seconds`` with the wall time of the block, even when it raises."""
    started = time.monotonic()
    try:
        yield row
    finally:
        row.seconds = round(time.monotonic() - started, 1)
