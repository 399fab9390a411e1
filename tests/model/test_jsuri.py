"""JavaScript URI and string semantics; expected values were checked against Node.js."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mathvisuals.model.jsuri import (
    decode_uri,
    decode_uri_component,
    encode_uri,
    encode_uri_component,
    slice_utf16,
    trim,
)

RESERVED = ";/?:@&=+$,#"
UNRESERVED = "ABCXYZabcxyz0123456789-_.!~*'()"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        (UNRESERVED, UNRESERVED),
        (RESERVED, "%3B%2F%3F%3A%40%26%3D%2B%24%2C%23"),
        ("%", "%25"),
        ("%41", "%2541"),
        ("a b", "a%20b"),
        ("\x00\x7f", "%00%7F"),
        ('[]{}|\\^`"<>', "%5B%5D%7B%7D%7C%5C%5E%60%22%3C%3E"),
        ("ø", "%C3%B8"),
        ("Å", "%C3%85"),
        ("€", "%E2%82%AC"),
        ("😀", "%F0%9F%98%80"),
        ("\ud83d\ude00", "%F0%9F%98%80"),  # a surrogate pair is one character in JavaScript
        ("\ufeff", "%EF%BB%BF"),
    ],
)
def test_encode_uri_component(value: str, expected: str) -> None:
    assert encode_uri_component(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        (UNRESERVED + RESERVED, UNRESERVED + RESERVED),
        ("%", "%25"),
        ("%2F", "%252F"),
        ("/my page", "/my%20page"),
        ("/brøkvegg", "/br%C3%B8kvegg"),
        ('[]{}|\\^`"<>', "%5B%5D%7B%7D%7C%5C%5E%60%22%3C%3E"),
        ("\ud83d\ude00", "%F0%9F%98%80"),
    ],
)
def test_encode_uri(value: str, expected: str) -> None:
    assert encode_uri(value) == expected


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", "\ude00\ud83d", "x\ud83d\ude00\ud83d"])
@pytest.mark.parametrize("encode", [encode_uri, encode_uri_component])
def test_encode_rejects_lone_surrogates(encode: Callable[[str], str], value: str) -> None:
    with pytest.raises(ValueError, match="URI malformed"):
        encode(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        ("plain", "plain"),
        ("%41%62", "Ab"),
        ("%2F%2f%23%3B", "//#;"),
        ("%c3%b8%C3%98", "øØ"),
        ("%F0%9F%98%80", "😀"),
        ("%25", "%"),
        ("%2541", "%41"),
        ("a%20b+c", "a b+c"),
    ],
)
def test_decode_uri_component(value: str, expected: str) -> None:
    assert decode_uri_component(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ("%41", "A"),
        ("%20", " "),
        ("%25", "%"),
        ("%2541", "%41"),
        ("%C3%98", "Ø"),
        # Escapes of the reserved set stay exactly as written, case included.
        ("%23%24%26%2B%2C%2F%3A%3B%3D%3F%40", "%23%24%26%2B%2C%2F%3A%3B%3D%3F%40"),
        ("%2b%2c%2f%3a%3b%3d%3f", "%2b%2c%2f%3a%3b%3d%3f"),
        ("/a%2Fb%41", "/a%2FbA"),
        ("%C3%98%2F%C3%B8", "Ø%2Fø"),
    ],
)
def test_decode_uri(value: str, expected: str) -> None:
    assert decode_uri(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "%",
        "a%",
        "%4",
        "%G1",
        "%%41",
        "%C3",  # truncated sequence
        "%C3%28",  # not a continuation byte
        "%C3x",
        "%A9",  # lone continuation byte
        "%C0%AF",  # overlong
        "%ED%A0%80",  # encoded surrogate
        "%F4%90%80%80",  # above U+10FFFF
        "%F8%80%80%80%80",  # five-byte form
        "%FF",
        "%E0%A4%A",
        "%C3%2F",  # a reserved escape cannot continue a sequence
    ],
)
@pytest.mark.parametrize("decode", [decode_uri, decode_uri_component])
def test_decode_rejects_malformed(decode: Callable[[str], str], value: str) -> None:
    with pytest.raises(ValueError, match="URI malformed"):
        decode(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  a b  ", "a b"),
        ("\t\n\v\f\ra\r\n", "a"),
        ("\ufeffa\ufeff", "a"),  # Python's str.strip keeps U+FEFF
        ("\u3000\u2028a\u2029\xa0\u205f", "a"),
        ("\x1ca\x1f", "\x1ca\x1f"),  # Python's str.strip would remove these
        ("\x85a\x85", "\x85a\x85"),
    ],
)
def test_trim_uses_javascript_white_space(value: str, expected: str) -> None:
    assert trim(value) == expected


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("abc", 2, "ab"),
        ("abc", 5, "abc"),
        ("øæå", 2, "øæ"),
        ("a😀b", 3, "a😀"),
        ("a😀b", 2, "a"),  # never half a surrogate pair
        ("😀" * 100, 128, "😀" * 64),
        ("ø" * 130, 128, "ø" * 128),
    ],
)
def test_slice_utf16(value: str, limit: int, expected: str) -> None:
    assert slice_utf16(value, limit) == expected
