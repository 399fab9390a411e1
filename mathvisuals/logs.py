"""Structured logs: one JSON object per line on stdout, ``event`` first (api.md §15)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

from mathvisuals import jsonfmt
from mathvisuals.model.clock import format_iso

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

Sink = Callable[[str], None]


def _stdout_sink(line: str) -> None:
    stream: TextIO = sys.stdout
    stream.write(line + "\n")
    stream.flush()


_flush_due = False


def _flush_stdout() -> None:
    global _flush_due
    _flush_due = False
    sys.stdout.flush()


def turn_buffered_stdout_sink(line: str) -> None:
    """Lines written in one event-loop turn leave in one write, at the turn's end (``serve``:
    one system call for many requests under load). Outside a loop each line is flushed; in
    Lambda, which freezes the process once it has answered, :func:`_stdout_sink` is used."""
    global _flush_due
    sys.stdout.write(line + "\n")
    if _flush_due:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        sys.stdout.flush()
        return
    _flush_due = True
    loop.call_soon(_flush_stdout)


class EventLog:
    """Writes events; the sink is injectable so tests can read what was logged."""

    def __init__(self, sink: Sink = _stdout_sink) -> None:
        self._sink = sink

    def emit(self, event: str, level: str = "info", **fields: object) -> None:
        record: dict[str, object] = {
            "event": event,
            "ts": format_iso(datetime.now(UTC)),
            "level": level,
        }
        current = request_id.get()
        if current is not None:
            record["request_id"] = current
        record.update(fields)
        self._sink(jsonfmt.dumps_str(record))


class MemorySink:
    """Collects lines, for tests and for the verify step."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    def events(self, name: str | None = None) -> list[dict[str, object]]:
        parsed = [jsonfmt.loads(line) for line in self.lines]
        return [item for item in parsed if name is None or item.get("event") == name]
