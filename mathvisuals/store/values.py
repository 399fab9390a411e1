"""Decoding stored JSON values, tolerant of upstream's double encoding (api.md §6.2)."""

from __future__ import annotations

from typing import Any, Final

from mathvisuals import jsonfmt


class _Corrupt:
    def __repr__(self) -> str:
        return "CORRUPT"


CORRUPT: Final = _Corrupt()


def decode(raw: str | None, expected: type = dict) -> Any:
    """``None`` when missing, the value when it has the expected type, else :data:`CORRUPT`."""
    if raw is None:
        return None
    try:
        value = jsonfmt.loads(raw, max_depth=None)
        if isinstance(value, str):
            value = jsonfmt.loads(value, max_depth=None)
    except jsonfmt.InvalidJSONError:
        return CORRUPT
    return value if isinstance(value, expected) else CORRUPT


def encode(value: object) -> str:
    return jsonfmt.dumps_str(value)
