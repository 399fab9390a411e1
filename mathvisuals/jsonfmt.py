"""JSON the way upstream's JavaScript reads and writes it (api.md §5.3, §5.4).

Compact output, non-ASCII left as is, integral numbers without a fraction; input that
JavaScript's ``JSON.parse`` rejects (``NaN``, ``Infinity``) is rejected too.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson


class InvalidJSONError(ValueError):
    """The text is not JSON that ``JSON.parse`` would accept."""


def _reject_constant(name: str) -> Any:
    raise InvalidJSONError(f"{name} is not valid JSON")


def _js_number(text: str) -> int | float:
    value = float(text)
    if math.isinf(value):
        # JSON.parse turns 1e999 into Infinity, which JSON.stringify then writes as null.
        return value
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _fix_numbers(value: Any) -> Any:
    """Turn integral floats into ints, as JavaScript has a single number type."""
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dict):
        return {key: _fix_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_fix_numbers(item) for item in value]
    return value


# Deeper documents are refused: the rest of the pipeline (number fixing, the encoders'
# fallbacks) recurses per level, and no Math Visuals document comes near this.
MAX_DEPTH = 256


def _has_integral_float(value: Any, max_depth: int | None = MAX_DEPTH) -> bool:
    """Whether ``_fix_numbers`` would change anything: one walk without building anything.

    Iterative, with exact type checks: values come from orjson, and most hold no integral
    float at all, so this usually replaces a walk that rebuilt every dict and list. Raises
    :class:`InvalidJSONError` for nesting deeper than :data:`MAX_DEPTH`.
    """
    found = False
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is dict or kind is list:
            if max_depth is not None and depth >= max_depth:
                raise InvalidJSONError(f"nested deeper than {max_depth} levels")
            children = item.values() if kind is dict else item
            stack.extend((child, depth + 1) for child in children)
        elif kind is float and item.is_integer():
            found = True
    return found


def loads(data: bytes | str, *, max_depth: int | None = MAX_DEPTH) -> Any:
    """Parse request or stored JSON; raises :class:`InvalidJSONError`.

    Stored values pass ``max_depth=None``: data already in Redis is never refused for its
    shape alone (the limit guards request bodies).
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        # orjson refuses some texts JavaScript accepts (big integers, lone surrogates).
        try:
            text = data.decode("utf-8", "surrogatepass") if isinstance(data, bytes) else data
            value = json.loads(
                text, parse_constant=_reject_constant, parse_float=_js_number, parse_int=_js_int
            )
        except (ValueError, RecursionError) as exc:
            raise InvalidJSONError(str(exc)) from exc
        _has_integral_float(value, max_depth)  # the depth check; numbers are already fixed
        return value
    return _fix_numbers(value) if _has_integral_float(value, max_depth) else value


def _js_int(text: str) -> int | float:
    value = int(text)  # ValueError beyond Python's 4300-digit limit
    if abs(value) < 2**63:
        return value
    try:
        return float(value)
    except OverflowError as exc:  # beyond a double (309+ digits)
        raise InvalidJSONError("integer literal out of range") from exc


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, byte-compatible with ``JSON.stringify``."""
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_js_default)
        return text.encode("utf-8", "backslashreplace")


def fragment(data: bytes) -> Any:
    """JSON already encoded by :func:`dumps` (with orjson), placed as is by :func:`dumps`."""
    return orjson.Fragment(data)


def dumps_str(value: Any) -> str:
    return dumps(value).decode("utf-8")


def _js_default(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
