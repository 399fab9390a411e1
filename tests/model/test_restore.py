"""What import does with each key, as a table; verify's per-area comparison."""

from __future__ import annotations

import pytest

from mathvisuals.model.archive import Entry
from mathvisuals.model.restore import changed_keys, compare, decide, updated_at


def s(value: bytes, key: str = "examples:/a") -> Entry:
    return Entry(key, "string", value)


OLD = b'{"updatedAt":"2024-01-01T00:00:00.000Z"}'
NEW = b'{"updatedAt":"2025-01-01T00:00:00.000Z"}'
DOUBLE = b'"{\\"updatedAt\\":\\"2026-01-01T00:00:00.000Z\\"}"'


@pytest.mark.parametrize(
    ("archived", "live", "overwrite", "action"),
    [
        (s(OLD), None, False, "create"),
        (s(OLD), s(OLD), False, "same"),
        (s(OLD), s(OLD), True, "same"),
        (s(NEW), s(OLD), False, "update"),
        (s(OLD), s(NEW), False, "refused"),
        (s(OLD), s(NEW), True, "update"),
        (s(DOUBLE), s(NEW), False, "update"),  # double-encoded values still compare
        (s(b"{}"), s(b"[]"), False, "refused"),  # no timestamps: unknown which is newer
        (
            Entry("svg:__slugs__", "set", [b"a", b"b"]),
            Entry("svg:__slugs__", "set", [b"a"]),
            False,
            "merge",
        ),
        (
            Entry("svg:__slugs__", "set", [b"a"]),
            Entry("svg:__slugs__", "set", [b"a", b"c"]),
            False,
            "same",
        ),
        (
            Entry("svg:__slugs__", "set", [b"a"]),
            Entry("svg:__slugs__", "set", [b"a", b"c"]),
            True,
            "update",
        ),
    ],
)
def test_decide(archived: Entry, live: Entry | None, overwrite: bool, action: str) -> None:
    assert decide(archived, live, overwrite=overwrite).action == action


def test_updated_at_ignores_what_is_not_a_record() -> None:
    assert updated_at(s(b"not json")) is None
    assert updated_at(s(b'{"updatedAt": 5}')) is None
    assert updated_at(s(DOUBLE)) == "2026-01-01T00:00:00.000Z"


def test_compare_and_changed_keys() -> None:
    a, b = s(b"1", "svg:a"), s(b"2", "svg:b")
    diffs = compare([a, b], {"svg:a": a.sha256(), "settings:projects": "x", "other": "y"})
    assert diffs["svg"].same == 1 and diffs["svg"].missing == ["svg:b"]
    assert diffs["settings"].extra == ["settings:projects"] and diffs["figure"].ok
    assert changed_keys({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"}) == ["b", "c"]
