"""Timestamps in the upstream format (JavaScript ``Date.prototype.toISOString``)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_now() -> str:
    """The current UTC time as ``2024-01-01T00:00:00.000Z``."""
    return format_iso(datetime.now(UTC))


def format_iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
