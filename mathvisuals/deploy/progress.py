"""How long-running work reports progress; the CLI renders it, tests record it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from mathvisuals.deploy.model import StackEvent


class Reporter(Protocol):
    def step(self, name: str, detail: str = "") -> None: ...

    def done(self, name: str, result: str) -> None: ...

    def event(self, stack: str, event: StackEvent) -> None: ...

    def warn(self, message: str) -> None: ...


@dataclass
class RecordingReporter:
    """Keeps every line; used by tests and by ``--json`` runs."""

    lines: list[str] = field(default_factory=list)

    def step(self, name: str, detail: str = "") -> None:
        self.lines.append(f"step {name} {detail}".rstrip())

    def done(self, name: str, result: str) -> None:
        self.lines.append(f"done {name}: {result}")

    def event(self, stack: str, event: StackEvent) -> None:
        self.lines.append(
            f"event {stack} {event.logical_id} {event.status} {event.reason}".rstrip()
        )

    def warn(self, message: str) -> None:
        self.lines.append(f"warn {message}")
