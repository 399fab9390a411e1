"""``logs``: the function's JSON log events, selected and rendered for a terminal. Pure."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from mathvisuals.deploy.errors import UsageError
from mathvisuals.deploy.gateway import LogEvent

_SINCE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_EVENT = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
# Shown first, in this order; the rest of a JSON event follows as key=value.
_HEAD = ("ts", "level", "event")


class SinceError(UsageError):
    """``--since`` or ``--event`` cannot be used as given."""


def start_ms(since: str, now_ms: int) -> int:
    """``--since``: a duration back from now (``30s``, ``10m``, ``2h``, ``1d``, ``1w``) or an
    ISO 8601 time (``2026-12-02T10:00:00Z``)."""
    text = since.strip()
    match = _SINCE.match(text)
    if match:
        return now_ms - int(match.group(1)) * _UNITS[match.group(2)] * 1000
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SinceError(
            f"--since {since!r} is neither a duration (30s, 10m, 2h, 1d) nor an ISO time"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


@dataclass(frozen=True)
class Selection:
    """What CloudWatch is asked for (``pattern``) and what is kept of its answer (``event``).

    An ``--event`` alone becomes a JSON filter pattern, so CloudWatch does the work. Together
    with a ``--filter`` (a term pattern, which CloudWatch cannot combine with a JSON one), only
    the filter is sent. The event name is always matched here as well (the emulator ignores
    filter patterns).
    """

    pattern: str | None
    event: str | None

    def keeps(self, message: str) -> bool:
        if self.event is None:
            return True
        parsed = _json(message)
        return parsed is not None and parsed.get("event") == self.event


def select(filter_pattern: str | None, event: str | None) -> Selection:
    if event is not None and not _EVENT.match(event):
        raise SinceError(f"--event {event!r} is not an event name such as store.ready")
    if event and not filter_pattern:
        return Selection(f'{{ $.event = "{event}" }}', event)
    return Selection(filter_pattern or None, event or None)


def _json(message: str) -> dict[str, object] | None:
    text = message.strip()
    if not text.startswith("{"):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _value(value: object) -> str:
    if isinstance(value, str):
        return value if value and " " not in value and "=" not in value else json.dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def render(event: LogEvent) -> str:
    """``HH:MM:SS.mmm level event key=value …`` for our JSON events; other lines (Lambda's
    START/END/REPORT, a traceback) as they are, after the time."""
    when = datetime.fromtimestamp(event.timestamp_ms / 1000, UTC)
    stamp = when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d}"
    parsed = _json(event.message)
    if parsed is None or "event" not in parsed:
        return f"{stamp} {event.message.rstrip()}"
    level = str(parsed.get("level", "info"))
    rest = " ".join(f"{k}={_value(v)}" for k, v in parsed.items() if k not in _HEAD)
    line = f"{stamp} {level:<5} {parsed['event']}"
    return f"{line} {rest}" if rest else line


def as_json(event: LogEvent) -> dict[str, object]:
    """One event for ``--json``: the parsed JSON event when it is one, else the raw message."""
    parsed = _json(event.message)
    return {
        "timestamp_ms": event.timestamp_ms,
        "event_id": event.event_id,
        "message": parsed if parsed is not None else event.message,
    }


def fresh(events: Iterable[LogEvent], seen: set[str]) -> list[LogEvent]:
    """Events not shown yet (``--follow`` asks again from the last timestamp, inclusive)."""
    out = []
    for event in events:
        key = event.event_id or f"{event.timestamp_ms}:{event.message}"
        if key not in seen:
            seen.add(key)
            out.append(event)
    return out
