"""Timestamps in the upstream format (JavaScript ``Date.prototype.toISOString``)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_now() -> str:
    """The current UTC time as ``2024-01-01T00:00:00.000Z``."""
    return format_iso(datetime.now(UTC))


def format_iso(moment: datetime) -> str:
    # isoformat is a few times faster than strftime (every log line carries a timestamp),
    # and pads the year to four digits as JavaScript does.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
