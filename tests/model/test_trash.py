"""Examples trash records, POST merge, DELETE and response items (§8)."""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mathvisuals.model.trash import (
    MAX_ENTRIES,
    merge,
    new_trash_id,
    remove_ids,
    response_item,
    sanitize_list,
    sanitize_record,
    source_paths,
    source_state_for,
)

NOW = "2025-06-01T12:00:00.000Z"


def id_maker(prefix: str = "gen") -> Callable[[], str]:
    counter: Iterator[int] = iter(range(1, 10_000))
    return lambda: f"{prefix}{next(counter)}"


def full(record_id: str, example: object = None, **fields: object) -> dict[str, object]:
    """A sanitised record with defaults, as sanitize_record writes it."""
    record: dict[str, object] = {
        "id": record_id,
        "example": example if example is not None else {"title": record_id},
        "deletedAt": NOW,
        "sourcePath": None,
        "sourcePathRaw": None,
        "sourceHref": None,
        "sourceTitle": "",
        "reason": "delete",
        "removedAtIndex": None,
        "label": None,
        "importedFromHistory": False,
    }
    record.update(fields)
    return record


def raw(record_id: str, example: object = None) -> dict[str, object]:
    return {"id": record_id, "example": example if example is not None else {"title": record_id}}


def ids(records: list[dict[str, object]] | None) -> list[object]:
    assert records is not None
    return [record["id"] for record in records]


# --- ids --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now_ms", "prefix"),
    [(0, "0"), (35, "z"), (36, "10"), (1_795_628_000_042, "mwwejs4q"), (1_700_000_000_000, None)],
)
def test_new_trash_id_shape(now_ms: int, prefix: str | None) -> None:
    trash_id = new_trash_id(now_ms, random.Random(1))
    assert re.fullmatch(r"[0-9a-z]+-[0-9a-z]{8}", trash_id)
    head = trash_id.split("-")[0]
    assert int(head, 36) == now_ms
    if prefix is not None:
        assert head == prefix


def test_new_trash_id_randomness() -> None:
    assert new_trash_id(5, random.Random(3)) == new_trash_id(5, random.Random(3))
    assert new_trash_id(5, random.Random(3)) != new_trash_id(5, random.Random(4))
    generated = {new_trash_id(5) for _ in range(50)}
    assert len(generated) == 50


# --- §8.2 records -----------------------------------------------------------------------


def test_spec_example_record() -> None:
    record = sanitize_record(
        {
            "id": "t1",
            "example": {"title": "e"},
            "sourcePath": "/Diagram/Index.html",
            "removedAtIndex": 2,
        },
        NOW,
        id_maker(),
    )
    assert record == full("t1", {"title": "e"}, sourcePath="/diagram", removedAtIndex=2)
    assert list(record) == [
        "id",
        "example",
        "deletedAt",
        "sourcePath",
        "sourcePathRaw",
        "sourceHref",
        "sourceTitle",
        "reason",
        "removedAtIndex",
        "label",
        "importedFromHistory",
    ]


def test_record_with_every_field() -> None:
    metadata = {"tool": "graftegner", "n": [1]}
    record = sanitize_record(
        {
            "metadata": metadata,
            "label": " L ",
            "importedFromHistory": True,
            "removedAtIndex": 0,
            "reason": " restore ",
            "sourceTitle": " Title ",
            "sourceHref": " /diagram?x=1 ",
            "sourcePathRaw": "/Raw",
            "sourcePath": "  /A/eksempel2/ ",
            "deletedAt": " 2024-01-01T00:00:00.000Z ",
            "example": {"title": "x", "temporary": True, "descriptionHtml": "<p>kept</p>"},
            "id": "  abc ",
            "storage": "kv",
            "mode": "kv",
            "sourceActive": True,
            "unknown": 1,
        },
        NOW,
        id_maker(),
    )
    assert record == {
        "id": "abc",
        "example": {"title": "x", "temporary": True, "descriptionHtml": "<p>kept</p>"},
        "deletedAt": "2024-01-01T00:00:00.000Z",
        "sourcePath": "/a",
        "sourcePathRaw": None,
        "sourceHref": "/diagram?x=1",
        "sourceTitle": " Title ",
        "reason": "restore",
        "removedAtIndex": 0,
        "label": " L ",
        "importedFromHistory": True,
        "metadata": metadata,
    }
    assert list(record)[-1] == "metadata"


@pytest.mark.parametrize("value", [None, "x", 5, [], [{"id": "a", "example": 1}]])
def test_non_object_records_are_dropped(value: object) -> None:
    assert sanitize_record(value, NOW, id_maker()) is None


@pytest.mark.parametrize("example", ["missing", None, False, 0, 0.0, "", float("nan")])
def test_falsy_example_drops_the_record_without_generating_an_id(example: object) -> None:
    calls: list[str] = []

    def make_id() -> str:
        calls.append("x")
        return "x"

    value: dict[str, object] = {} if example == "missing" else {"example": example}
    assert sanitize_record(value, NOW, make_id) is None
    assert calls == []


@pytest.mark.parametrize("example", [{}, [], "x", True, 1, -1, 0.5, {"title": "t"}])
def test_truthy_examples_are_kept_as_received(example: object) -> None:
    record = sanitize_record({"id": "a", "example": example}, NOW, id_maker())
    assert record is not None
    assert record["example"] == example


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("id", " t1 ", "t1"),
        ("id", "", "gen1"),
        ("id", "   ", "gen1"),
        ("id", 5, "gen1"),
        ("id", None, "gen1"),
        ("deletedAt", " d ", "d"),
        ("deletedAt", "", NOW),
        ("deletedAt", "  ", NOW),
        ("deletedAt", 5, NOW),
        ("sourcePath", "diagram", "/diagram"),
        ("sourcePath", " /Brøkvegg/index.html ", "/br%C3%B8kvegg"),
        ("sourcePath", "  ", None),
        ("sourcePath", 5, None),
        ("sourcePathRaw", "/x", None),
        ("sourceHref", " h ", "h"),
        ("sourceHref", "  ", None),
        ("sourceHref", 5, None),
        ("sourceTitle", "  T ", "  T "),
        ("sourceTitle", "", ""),
        ("sourceTitle", None, ""),
        ("sourceTitle", 5, ""),
        ("reason", " r ", "r"),
        ("reason", "", "delete"),
        ("reason", "  ", "delete"),
        ("reason", None, "delete"),
        ("removedAtIndex", 2, 2),
        ("removedAtIndex", 0, 0),
        ("removedAtIndex", -1, -1),
        ("removedAtIndex", 2.0, 2),
        ("removedAtIndex", 2.5, None),
        ("removedAtIndex", float("inf"), None),
        ("removedAtIndex", float("nan"), None),
        ("removedAtIndex", True, None),
        ("removedAtIndex", "2", None),
        ("label", "x", "x"),
        ("label", "", ""),
        ("label", " y ", " y "),
        ("label", 5, None),
        ("importedFromHistory", True, True),
        ("importedFromHistory", "true", False),
        ("importedFromHistory", 1, False),
        ("importedFromHistory", None, False),
    ],
)
def test_record_field_rules(field: str, value: object, expected: object) -> None:
    record = sanitize_record({"example": {"t": 1}, field: value}, NOW, id_maker())
    assert record is not None
    actual = record[field]
    assert actual == expected
    assert type(actual) is type(expected)


@pytest.mark.parametrize("metadata", [None, [], ["a"], "x", 5, True])
def test_metadata_only_as_an_object(metadata: object) -> None:
    record = sanitize_record({"example": 1, "metadata": metadata}, NOW, id_maker())
    assert record is not None
    assert "metadata" not in record


def test_empty_metadata_object_is_kept() -> None:
    record = sanitize_record({"example": 1, "metadata": {}}, NOW, id_maker())
    assert record is not None
    assert record["metadata"] == {}


def test_sanitize_list_dedupes_and_drops() -> None:
    records = sanitize_list(
        [raw("a", {"v": 1}), raw("b"), None, {"id": "c"}, raw("a", {"v": 2}), {"example": 1}],
        NOW,
        id_maker(),
    )
    assert records == [full("a", {"v": 2}), full("b"), full("gen1", 1)]


@pytest.mark.parametrize("value", [None, {}, "x", {"entries": []}])
def test_sanitize_list_non_list(value: object) -> None:
    assert sanitize_list(value, NOW, id_maker()) == []


# --- §8.1 POST merge --------------------------------------------------------------------


def do_merge(existing: list[dict[str, object]], batch: object, **options: Any) -> Any:
    options.setdefault("mode", None)
    options.setdefault("limit", None)
    options.setdefault("replace", None)
    return merge(existing, batch, now=NOW, make_id=id_maker(), **options)


EXISTING = [full("a"), full("b"), full("c")]


def test_spec_example_post() -> None:
    batch = [
        {
            "id": "t1",
            "example": {"title": "e"},
            "sourcePath": "/Diagram/Index.html",
            "removedAtIndex": 2,
        },
        {"example": {"title": "noid"}},
        {"id": "bad"},
    ]
    result = do_merge([], batch)
    assert result == [
        full("t1", {"title": "e"}, sourcePath="/diagram", removedAtIndex=2),
        full("gen1", {"title": "noid"}),
    ]


@pytest.mark.parametrize("batch", [[], None, "x", {"id": "a"}, [None, {"id": "x"}, {"example": 0}]])
@pytest.mark.parametrize("mode", ["prepend", "append"])
def test_empty_batch_writes_nothing(batch: object, mode: str) -> None:
    assert do_merge(EXISTING, batch, mode=mode, limit=1) is None


@pytest.mark.parametrize("mode", [None, "prepend", "APPEND", "append ", "Append", 1, ["append"]])
def test_prepend_unless_mode_is_exactly_append(mode: object) -> None:
    assert ids(do_merge(EXISTING, [raw("n")], mode=mode)) == ["n", "a", "b", "c"]


def test_append() -> None:
    assert ids(do_merge(EXISTING, [raw("n")], mode="append")) == ["a", "b", "c", "n"]


def test_prepend_duplicate_takes_the_new_position_and_payload() -> None:
    result = do_merge(EXISTING, [raw("n"), raw("b", {"new": True})])
    assert result == [full("n"), full("b", {"new": True}), full("a"), full("c")]


def test_append_duplicate_keeps_the_old_position_with_the_new_payload() -> None:
    result = do_merge(EXISTING, [raw("a", {"new": True}), raw("n")], mode="append")
    assert result == [full("a", {"new": True}), full("b"), full("c"), full("n")]


def test_duplicates_within_the_batch_keep_last_payload_at_first_position() -> None:
    batch = [raw("x", {"v": 1}), raw("y"), raw("x", {"v": 2})]
    assert do_merge([], batch) == [full("x", {"v": 2}), full("y")]
    assert do_merge([full("z")], batch, mode="append") == [
        full("z"),
        full("x", {"v": 2}),
        full("y"),
    ]


@pytest.mark.parametrize(
    ("limit", "mode", "expected"),
    [
        (2, None, ["n", "a"]),
        (2, "append", ["c", "n"]),
        (2.0, None, ["n", "a"]),
        (0, None, ["n"]),
        (-5, None, ["n"]),
        (0, "append", ["n"]),
        (1, "append", ["n"]),
        (4, None, ["n", "a", "b", "c"]),
        (100, None, ["n", "a", "b", "c"]),
        (True, None, ["n", "a", "b", "c"]),  # a boolean is not an integer: 200
        (False, "append", ["a", "b", "c", "n"]),
        ("2", None, ["n", "a", "b", "c"]),
        (2.5, None, ["n", "a", "b", "c"]),
        (None, None, ["n", "a", "b", "c"]),
        (float("nan"), None, ["n", "a", "b", "c"]),
    ],
)
def test_limit(limit: object, mode: object, expected: list[str]) -> None:
    assert ids(do_merge(EXISTING, [raw("n")], mode=mode, limit=limit)) == expected


def many(count: int, prefix: str = "e") -> list[dict[str, object]]:
    return [full(f"{prefix}{index}") for index in range(count)]


def test_default_limit_is_200() -> None:
    result = ids(do_merge(many(250), [raw("n")]))
    assert result == ["n", *[f"e{index}" for index in range(199)]]
    result = ids(do_merge(many(250), [raw("n")], mode="append"))
    assert result == [*[f"e{index}" for index in range(51, 250)], "n"]


def test_cap_of_200_applies_after_a_larger_limit() -> None:
    assert ids(do_merge(many(250), [raw("n")], limit=500)) == ids(do_merge(many(250), [raw("n")]))
    # The writer keeps the first 200 whatever the mode.
    result = ids(do_merge(many(250), [raw("n")], mode="append", limit=500))
    assert result == [f"e{index}" for index in range(200)]


def test_replace_keeps_the_first_limit_of_posted_then_stored() -> None:
    batch = [raw(f"r{index}") for index in range(250)] + [raw("r0", {"last": True})]
    result = do_merge(EXISTING, batch, replace=True, mode="append")
    assert result is not None
    assert len(result) == MAX_ENTRIES
    assert result[0] == full("r0", {"last": True})
    assert ids(result)[1:] == [f"r{index}" for index in range(1, 200)]
    assert ids(do_merge(EXISTING, [raw("n")], replace=True, limit=2)) == ["n", "a"]


@pytest.mark.parametrize("batch", [[], None, [{"id": "x"}]])
def test_replace_with_nothing_valid_removes_nothing(batch: object) -> None:
    """FIX-P: upstream stored ``[]``; the front end's first-visit import emptied the trash."""
    assert do_merge(EXISTING, batch, replace=True, limit=200) is None


def test_replace_is_a_union_that_never_drops_unlisted_entries() -> None:
    """FIX-P: posted records first (new payloads win), then the stored ones not posted."""
    result = do_merge(EXISTING, [raw("n"), raw("b", {"v": 2})], replace=True, limit=200)
    assert result == [full("n"), full("b", {"v": 2}), full("a"), full("c")]


@pytest.mark.parametrize("replace", ["true", 1, False, None])
def test_replace_only_when_exactly_true(replace: object) -> None:
    assert ids(do_merge(EXISTING, [raw("n")], replace=replace)) == ["n", "a", "b", "c"]


def test_merge_does_not_mutate_existing() -> None:
    existing = [full("a"), full("b")]
    before = copy.deepcopy(existing)
    result = do_merge(existing, [raw("a", {"new": 1})], mode="append")
    assert existing == before
    assert result == [full("a", {"new": 1}), full("b")]


def test_merge_sanitises_the_stored_list_again() -> None:
    stored: list[dict[str, object]] = [
        {"id": " a ", "example": {"t": 1}, "sourcePathRaw": "/Raw", "storage": "kv"},
        {"example": {"legacy": True}},
        {"id": "gone", "example": None},
        {"id": "a", "example": {"t": 2}},
        full("b", sourcePath="/diagram", removedAtIndex=3, metadata={"m": 1}),
    ]
    result = do_merge(stored, [raw("n")], mode="append")
    assert result == [
        full("a", {"t": 2}),
        full("gen1", {"legacy": True}),
        full("b", sourcePath="/diagram", removedAtIndex=3, metadata={"m": 1}),
        full("n"),
    ]


# --- DELETE -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "remaining", "removed"),
    [
        ([" a ", "c"], ["b"], 2),
        (["b", "b"], ["a", "c"], 1),
        (["x"], ["a", "b", "c"], 0),
        (["", "  ", 5, None], ["a", "b", "c"], 0),
        ([], ["a", "b", "c"], 0),
        (("a",), ["b", "c"], 1),
        ("a", ["a", "b", "c"], 0),
        (None, ["a", "b", "c"], 0),
        ({"a": 1}, ["a", "b", "c"], 0),
    ],
)
def test_remove_ids(wanted: object, remaining: list[str], removed: int) -> None:
    kept, count = remove_ids(EXISTING, wanted)
    assert ids(kept) == remaining
    assert count == removed


def test_remove_ids_tolerates_odd_stored_ids() -> None:
    stored: list[dict[str, object]] = [{"id": ["a"]}, {"id": None}, {"id": 5}, full("a")]
    kept, count = remove_ids(stored, ["a", "5"])
    assert kept == stored[:3]
    assert count == 1


def test_remove_ids_counts_every_matching_record() -> None:
    kept, count = remove_ids([full("a"), full("b"), full("a")], ["a"])
    assert ids(kept) == ["b"]
    assert count == 2


# --- §8.3 response items ----------------------------------------------------------------


def test_spec_example_response_item() -> None:
    record = full("t1", {"title": "e"}, sourcePath="/diagram", removedAtIndex=2)
    item = response_item(record, "active")
    assert item == {
        **record,
        "metadata": None,
        "sourceActive": True,
        "sourceArchived": False,
    }
    assert item is not None
    assert list(item)[-3:] == ["metadata", "sourceActive", "sourceArchived"]


@pytest.mark.parametrize(
    ("state", "active", "archived"),
    [("active", True, False), ("archived", False, True), ("none", False, False)],
)
def test_response_item_source_flags(state: Any, active: bool, archived: bool) -> None:
    item = response_item(full("a"), state)
    assert item is not None
    assert (item["sourceActive"], item["sourceArchived"]) == (active, archived)


def test_response_item_keeps_metadata_and_drops_mode_fields() -> None:
    record = {
        **full("a"),
        "metadata": {"k": 1},
        "storage": "kv",
        "mode": "kv",
        "storageMode": "kv",
        "persistent": True,
        "ephemeral": False,
        "limitation": "x",
        "sourceArchived": True,
        "sourceActive": True,
        "sourcePathRaw": "/Legacy",
    }
    item = response_item(record, "none")
    assert item == {
        **full("a"),
        "metadata": {"k": 1},
        "sourceActive": False,
        "sourceArchived": False,
    }
    assert list(item)[-3:] == ["metadata", "sourceActive", "sourceArchived"]


@pytest.mark.parametrize(
    "record",
    [
        {"example": {"t": 1}},
        {"id": "", "example": {"t": 1}},
        {"id": None, "example": {"t": 1}},
        {"id": "a"},
        {"id": "a", "example": None},
        {"id": "a", "example": ""},
        {"id": "a", "example": 0},
    ],
)
def test_response_item_needs_id_and_example(record: dict[str, object]) -> None:
    assert response_item(record, "none") is None


def test_response_item_does_not_mutate_the_record() -> None:
    record = full("a")
    before = dict(record)
    response_item(record, "active")
    assert record == before


def test_source_paths() -> None:
    records = [
        full("1", sourcePath="/b"),
        full("2"),
        full("3", sourcePath="/a"),
        full("4", sourcePath="/b"),
        full("5", sourcePath=""),
    ]
    assert source_paths(records) == ["/b", "/a"]
    assert source_paths([]) == []


@pytest.mark.parametrize(
    ("source_path", "entries", "expected"),
    [
        (None, {}, "none"),
        ("", {"": {"examples": [{}]}}, "none"),
        ("/a", {"/a": {"examples": [{"title": "x"}]}}, "active"),
        ("/a", {"/a": {"examples": [{}, {}]}}, "active"),
        ("/a", {"/a": {"examples": []}}, "archived"),
        ("/a", {"/a": {"examples": ["x", 1]}}, "archived"),
        ("/a", {"/a": {}}, "archived"),
        ("/a", {"/a": None}, "archived"),
        ("/a", {}, "archived"),
        ("/a", {"/b": {"examples": [{}]}}, "archived"),
    ],
)
def test_source_state_for(
    source_path: str | None,
    entries: dict[str, dict[str, object] | None],
    expected: str,
) -> None:
    assert source_state_for(full("x", sourcePath=source_path), entries) == expected
