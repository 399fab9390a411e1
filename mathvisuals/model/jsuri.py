"""JavaScript string semantics the stored data depends on: URI escapes, trim and UTF-16 slicing."""

from __future__ import annotations

import re

__all__ = [
    "JS_WHITESPACE",
    "decode_uri",
    "decode_uri_component",
    "encode_uri",
    "encode_uri_component",
    "slice_utf16",
    "trim",
]

# What String.prototype.trim and /\s/ treat as white space (WhiteSpace + LineTerminator).
# Python's str.strip() differs: it also strips U+001C..U+001F and U+0085, but not U+FEFF.
JS_WHITESPACE = (
    "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)

_MALFORMED = "URI malformed"
_HEX_ESCAPES = tuple(f"%{byte:02X}" for byte in range(256))
_COMPONENT_UNSAFE = re.compile(r"[^A-Za-z0-9\-_.!~*'()]+")
_URI_UNSAFE = re.compile(r"[^A-Za-z0-9\-_.!~*'();/?:@&=+$,#]+")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ESCAPE_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
# decodeURI leaves escapes of ; / ? : @ & = + $ , # alone. Those bytes are ASCII, so they can
# never sit inside a multi-byte sequence and may simply end a run.
_UNRESERVED_ESCAPE_RUN = re.compile(
    r"(?:%(?!2[346BbCcFf]|3[AaBbDdFf]|40)[0-9A-Fa-f]{2})+",
)


def trim(value: str) -> str:
    return value.strip(JS_WHITESPACE)


def slice_utf16(value: str, limit: int) -> str:
    """``value.slice(0, limit)`` counting UTF-16 units, without leaving half a surrogate pair."""
    if value.isascii() or len(value.encode("utf-16-le", "surrogatepass")) <= 2 * limit:
        return value[:limit]
    units = 0
    for index, char in enumerate(value):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return value[:index]
    return value


def encode_uri_component(value: str) -> str:
    return _encode(_COMPONENT_UNSAFE, value)


def encode_uri(value: str) -> str:
    return _encode(_URI_UNSAFE, value)


def decode_uri_component(value: str) -> str:
    return _decode(_ESCAPE_RUN, value)


def decode_uri(value: str) -> str:
    return _decode(_UNRESERVED_ESCAPE_RUN, value)


def _escape_run(match: re.Match[str]) -> str:
    return "".join([_HEX_ESCAPES[byte] for byte in match.group().encode("utf-8")])


def _encode(unsafe: re.Pattern[str], value: str) -> str:
    try:
        return unsafe.sub(_escape_run, value)
    except UnicodeEncodeError:
        # JavaScript strings are UTF-16: a surrogate pair spelled as two code points is one
        # character there, and only a lone surrogate is an error.
        try:
            joined = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError as exc:
            raise ValueError(_MALFORMED) from exc
        return unsafe.sub(_escape_run, joined)


def _unescape_run(match: re.Match[str]) -> str:
    try:
        return bytes.fromhex(match.group().replace("%", "")).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(_MALFORMED) from exc


def _decode(runs: re.Pattern[str], value: str) -> str:
    if "%" not in value:
        return value
    if _BAD_ESCAPE.search(value):
        raise ValueError(_MALFORMED)
    return runs.sub(_unescape_run, value)
