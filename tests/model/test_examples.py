"""Examples validation (§7.3, §7.3.1) and sanitisation (§7.3.2)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mathvisuals.model.examples import (
    FALLBACK_DESCRIPTION_FIELDS,
    REMOVED_KEYS,
    html_to_text,
    normalize_description,
    sanitize_deleted_provided,
    sanitize_entry,
    sanitize_example,
    validate_payload,
)

NOW = "2025-06-01T12:00:00.000Z"


def body(*examples: object, deleted: object = None, **extra: object) -> dict[str, object]:
    return {"examples": list(examples), "deletedProvided": deleted or [], **extra}


def marker(kind: object, **fields: object) -> dict[str, object]:
    return {"__mathVisualsType__": kind, **fields}


# --- §7.3 validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([], "examples must be an array"),
        ("text", "examples must be an array"),
        (None, "examples must be an array"),
        (5, "examples must be an array"),
        ({}, "examples must be an array"),
        ({"examples": {}, "deletedProvided": []}, "examples must be an array"),
        ({"examples": None, "deletedProvided": 5, "updatedAt": 5}, "examples must be an array"),
        ({"examples": []}, "deletedProvided must be an array"),
        ({"examples": [], "deletedProvided": "a"}, "deletedProvided must be an array"),
        (
            {"examples": [], "deletedProvided": {}, "updatedAt": 5},
            "deletedProvided must be an array",
        ),
        (body(updatedAt=5), "updatedAt must be a string when provided"),
        (body(updatedAt=True), "updatedAt must be a string when provided"),
        (body(updatedAt={}), "updatedAt must be a string when provided"),
        (body(updatedAt=[]), "updatedAt must be a string when provided"),
        (
            body({"a": marker("x")}, updatedAt=0),
            "updatedAt must be a string when provided",
        ),
        (
            body({"a": marker("x")}, deleted=[5]),
            "examples[0].a has unsupported __mathVisualsType__ 'x'",
        ),
        (body(deleted=["a", 5, None]), "deletedProvided[1] must be a string"),
        (body(deleted=[None]), "deletedProvided[0] must be a string"),
    ],
)
def test_validation_reasons_in_spec_order(payload: object, reason: str) -> None:
    assert validate_payload(payload) == reason


@pytest.mark.parametrize(
    "payload",
    [
        body(),
        body(updatedAt=None),
        body(updatedAt=""),
        body(updatedAt="not a date"),
        body(1, "x", None, True, 1.5, [1, [2, {"a": None}]], {"a": {"b": [{}]}}),
        body(deleted=["a", "", "  "]),
        {"examples": [], "deletedProvided": [], "storage": 5, "path": 7},
    ],
)
def test_valid_payloads(payload: object) -> None:
    assert validate_payload(payload) is None


@pytest.mark.parametrize(
    ("example", "reason"),
    [
        (
            {"m": marker("map", __mathVisualsValue__=[["k"]])},
            "examples[0].m map entry 0 must be an array with key and value",
        ),
        (
            {"m": marker("map", __mathVisualsValue__=[["k", "v"], "kv"])},
            "examples[0].m map entry 1 must be an array with key and value",
        ),
        (
            {"m": marker("map", __mathVisualsValue__=[["k", "v"], {"0": "k", "1": "v"}])},
            "examples[0].m map entry 1 must be an array with key and value",
        ),
        ({"a": marker("x")}, "examples[0].a has unsupported __mathVisualsType__ 'x'"),
        ({"a": marker("Map")}, "examples[0].a has unsupported __mathVisualsType__ 'Map'"),
        ({"a": marker(5)}, "examples[0].a has unsupported __mathVisualsType__ '5'"),
        ({"a": marker(None)}, "examples[0].a has unsupported __mathVisualsType__ 'null'"),
        ({"a": marker(False)}, "examples[0].a has unsupported __mathVisualsType__ 'false'"),
        ({"a": marker(["m", None])}, "examples[0].a has unsupported __mathVisualsType__ 'm,'"),
        ({"a": marker({})}, "examples[0].a has unsupported __mathVisualsType__ '[object Object]'"),
        ({"m": marker("map")}, "examples[0].m.__mathVisualsValue__ must be an array for map"),
        (
            {"m": marker("map", __mathVisualsValue__={"k": "v"})},
            "examples[0].m.__mathVisualsValue__ must be an array for map",
        ),
        (
            {"s": marker("set", __mathVisualsValue__="abc")},
            "examples[0].s.__mathVisualsValue__ must be an array for set",
        ),
        ({"s": marker("set")}, "examples[0].s.__mathVisualsValue__ must be an array for set"),
        (
            {"d": marker("date", __mathVisualsValue__=0)},
            "examples[0].d.__mathVisualsValue__ must be a string for date",
        ),
        ({"d": marker("date")}, "examples[0].d.__mathVisualsValue__ must be a string for date"),
        ({"r": marker("regexp")}, "examples[0].r.pattern must be a string for regexp"),
        (
            {"r": marker("regexp", pattern=None, flags=5)},
            "examples[0].r.pattern must be a string for regexp",
        ),
        (
            {"r": marker("regexp", pattern="a+", flags=5)},
            "examples[0].r.flags must be a string for regexp",
        ),
        (
            {"r": marker("regexp", pattern="a+", flags=None)},
            "examples[0].r.flags must be a string for regexp",
        ),
        (marker("x"), "examples[0] has unsupported __mathVisualsType__ 'x'"),
    ],
)
def test_marker_errors(example: object, reason: str) -> None:
    assert validate_payload(body(example)) == reason


@pytest.mark.parametrize(
    "value",
    [
        marker("map", __mathVisualsValue__=[]),
        marker("map", __mathVisualsValue__=[["k", "v"], [1, 2, 3]]),
        marker("set", __mathVisualsValue__=[]),
        marker("set", __mathVisualsValue__=[1, "a", None]),
        marker("date", __mathVisualsValue__="2024-01-01T00:00:00.000Z"),
        marker("date", __mathVisualsValue__=""),
        marker("regexp", pattern="a+"),
        marker("regexp", pattern="", flags=""),
        marker("regexp", pattern="x", flags="gi", extra=[1]),
        {"__mathVisualsValue__": 5},  # no type key: an ordinary object
    ],
)
def test_valid_markers(value: object) -> None:
    assert validate_payload(body({"v": value})) is None


@pytest.mark.parametrize(
    ("examples", "reason"),
    [
        (
            [{"ok": 1}, {"a": {"b": [0, 1, {"c": marker("x")}]}}],
            "examples[1].a.b[2].c has unsupported __mathVisualsType__ 'x'",
        ),
        (
            [[{"m": marker("set")}]],
            "examples[0][0].m.__mathVisualsValue__ must be an array for set",
        ),
        (
            [{"m": marker("map", __mathVisualsValue__=[["k", marker("date")]])}],
            "examples[0].m.__mathVisualsValue__[0][1].__mathVisualsValue__ must be a string"
            " for date",
        ),
        (
            [{"s": marker("set", __mathVisualsValue__=[{"x": marker("y")}])}],
            "examples[0].s.__mathVisualsValue__[0].x has unsupported __mathVisualsType__ 'y'",
        ),
        (
            [{"a": marker("set", note=marker("q"))}],
            "examples[0].a.__mathVisualsValue__ must be an array for set",
        ),
        # Depth first, in document order: the first error met wins.
        (
            [{"x": {"deep": marker("p")}, "y": marker("q")}],
            "examples[0].x.deep has unsupported __mathVisualsType__ 'p'",
        ),
        (
            [{"y": marker("q"), "x": {"deep": marker("p")}}],
            "examples[0].y has unsupported __mathVisualsType__ 'q'",
        ),
        (
            [[[marker("p")]], marker("q")],
            "examples[0][0][0] has unsupported __mathVisualsType__ 'p'",
        ),
        ([{"k.j": marker("q")}], "examples[0].k.j has unsupported __mathVisualsType__ 'q'"),
    ],
)
def test_error_locations(examples: list[object], reason: str) -> None:
    assert validate_payload({"examples": examples, "deletedProvided": []}) == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (float("nan"), "examples[0].v must be a finite number"),
        (float("inf"), "examples[0].v must be a finite number"),
        (object(), "examples[0].v contains unsupported type"),
        ({1, 2}, "examples[0].v contains unsupported type"),
    ],
)
def test_values_json_cannot_produce(value: object, reason: str) -> None:
    assert validate_payload(body({"v": value})) == reason


def test_unsupported_scalar_reported_in_document_order() -> None:
    examples = [{"a": marker("x")}, {"v": float("nan")}]
    assert validate_payload(body(*examples)) == (
        "examples[0].a has unsupported __mathVisualsType__ 'x'"
    )
    assert validate_payload(body(*reversed(examples))) == "examples[0].v must be a finite number"


def test_deep_nesting_does_not_recurse() -> None:
    nested: Any = marker("x")
    for _ in range(5000):
        nested = [nested]
    reason = validate_payload(body(nested))
    assert reason == "examples[0]" + "[0]" * 5000 + " has unsupported __mathVisualsType__ 'x'"


# --- §7.3.2 sanitisation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\r\nb\rc\nd", "a\nb\nc\nd"),
        ("a\xa0b", "a b"),
        ("a \t \nb", "a\nb"),
        ("a  b", "a  b"),
        ("a\t", "a"),
        ("a\n\n\nb", "a\n\nb"),
        ("a\n\n\n\n\nb", "a\n\nb"),
        ("a\n\nb", "a\n\nb"),
        ("a \r\n \r\n \r\nb", "a\n\nb"),
        ("\ufeff  x  \u3000", "x"),
        ("\xa0\xa0x", "x"),
        ("", ""),
    ],
)
def test_normalize_description(text: str, expected: str) -> None:
    assert normalize_description(text) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Hello<br>world</p>", "Hello\nworld"),
        ("<p>x<br>y</p>", "x\ny"),
        ("a<BR/>b<br />c<br class='x'>d", "a\nb\nc\nd"),
        ("<p>a</p><p>b</p>", "a\nb"),
        ("<ul><li>a</li><li>b</li></ul>", "- a\n\n- b"),
        ("<LI class=x>a", "- a"),
        ("<b>bold</b> <i>it</i> <span style='x'>s</span>", "bold it s"),
        ("x<script>alert(1)</script>y", "xy"),
        ("x<SCRIPT type='t'>\nvar a = '<p>';\n</Script >y", "xy"),
        ("x<style>p { color: red }</style>y", "xy"),
        ("<div>a</div><section>b</section><article>c</article>", "a\nb\nc"),
        (
            "<table><thead><tr><td>h</td></tr></thead><tbody><tr><td>v</td></tr></tbody></table>",
            "h\n\nv",
        ),
        ("<h1>t</h1><h6>u</h6><h7>v</h7>w", "t\nu\nvw"),
        ("<pre>a</pre>b", "ab"),
        ("<p>a</p>\n\n\n\n<p>b</p>", "a\n\nb"),
        ("a &amp; b", "a &amp; b"),
        ("1 < 2", "1 < 2"),
        ("<p>  </p>", ""),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


def test_spec_example_entry() -> None:
    payload = {
        "examples": [{"title": "a", "descriptionHtml": "<p>x<br>y</p>", "temporary": True}],
        "deletedProvided": [" a ", "a", "b"],
        "updatedAt": "2024-01-01T00:00:00.000Z",
    }
    entry = sanitize_entry("/diagram", payload, NOW)
    assert entry == {
        "path": "/diagram",
        "examples": [{"title": "a", "description": "x\ny"}],
        "deletedProvided": ["a", "b"],
        "updatedAt": "2024-01-01T00:00:00.000Z",
    }
    assert list(entry) == ["path", "examples", "deletedProvided", "updatedAt"]
    assert list(entry["examples"][0]) == ["title", "description"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("updated_at", "expected"),
    [
        ("2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z"),
        ("", ""),
        ("yesterday", "yesterday"),
        (None, NOW),
        (5, NOW),
        ({}, NOW),
    ],
)
def test_entry_updated_at(updated_at: object, expected: str) -> None:
    assert sanitize_entry("/a", {"updatedAt": updated_at}, NOW)["updatedAt"] == expected


def test_entry_from_stored_value_without_fields() -> None:
    assert sanitize_entry("/a", {}, NOW) == {
        "path": "/a",
        "examples": [],
        "deletedProvided": [],
        "updatedAt": NOW,
    }


def test_entry_drops_non_object_examples_and_ignores_extra_fields() -> None:
    stored = {
        "path": "/other",
        "examples": ["x", 1, None, True, [{"a": 1}], {"a": 1}],
        "deletedProvided": "nope",
        "storage": "kv",
        "mode": "kv",
    }
    assert sanitize_entry("/a", stored, NOW) == {
        "path": "/a",
        "examples": [{"a": 1, "description": ""}],
        "deletedProvided": [],
        "updatedAt": NOW,
    }


def test_entry_examples_not_a_list() -> None:
    assert sanitize_entry("/a", {"examples": {"0": {}}}, NOW)["examples"] == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([" a ", "a", "b"], ["a", "b"]),
        (["b", "a", "b ", " a"], ["b", "a"]),
        (["", "  ", 5, None, ["a"], "ok"], ["ok"]),
        (["x\ny", "x\ny "], ["x\ny"]),
        (None, []),
        ("a", []),
        ({"a": 1}, []),
    ],
)
def test_sanitize_deleted_provided(value: object, expected: list[str]) -> None:
    assert sanitize_deleted_provided(value) == expected


@pytest.mark.parametrize(
    ("example", "description"),
    [
        ({}, ""),
        ({"description": "  Keep\r\nthis  "}, "Keep\nthis"),
        ({"description": "<b>not html</b>"}, "<b>not html</b>"),
        ({"description": "own", "descriptionHtml": "<p>html</p>"}, "own"),
        ({"description": "   ", "task": "fallback"}, "fallback"),
        ({"description": None, "task": "fallback"}, "fallback"),
        ({"description": 5, "oppgave": "o"}, "o"),
        ({"taskText": "TT", "task": "T"}, "TT"),  # list order, not key order
        ({"task": "T", "taskText": "TT"}, "TT"),
        ({"descriptionHtml": "  ", "oppgaveTekst": "x"}, "x"),
        ({"descriptionHtml": 5, "oppgavetekst": "x"}, "x"),
        ({"richDescription": "<b>x</b>"}, "x"),
        ({"descriptionHTML": "a<br>b"}, "a\nb"),
        ({"description_rich_text": "<li>a"}, "- a"),
        ({"taskText": "<b>x</b>"}, "<b>x</b>"),  # not an html/rich field
        ({"task_description": " a \n\n\n\nb "}, "a\n\nb"),
        ({"descriptionHtml": "<p></p>", "task": "t"}, ""),  # the first non-blank field wins
    ],
)
def test_description_resolution(example: dict[str, object], description: str) -> None:
    assert sanitize_example(example)["description"] == description


@pytest.mark.parametrize("field", FALLBACK_DESCRIPTION_FIELDS)
def test_each_fallback_field_is_used_then_deleted(field: str) -> None:
    result = sanitize_example({"title": "t", field: "  text  "})
    assert result == {"title": "t", "description": "text"}


def test_all_fallback_fields_are_deleted_even_with_a_description() -> None:
    example: dict[str, object] = dict.fromkeys(FALLBACK_DESCRIPTION_FIELDS, "x")
    example["description"] = "d"
    assert sanitize_example(example) == {"description": "d"}


def test_existing_description_keeps_its_position() -> None:
    result = sanitize_example({"a": 1, "description": " d ", "b": 2})
    assert list(result.items()) == [("a", 1), ("description", "d"), ("b", 2)]


def test_removed_keys_and_kept_values() -> None:
    nested = {"m": marker("map", __mathVisualsValue__=[["k", "v"]]), "list": [1, {"x": None}]}
    example: dict[str, object] = dict.fromkeys(REMOVED_KEYS, True)
    example.update(nested)
    original = copy.deepcopy(example)
    result = sanitize_example(example)
    assert result == {**nested, "description": ""}
    assert example == original  # the input is not mutated


@pytest.mark.parametrize(
    ("svg", "expected"),
    [
        ("  <svg/>\n ", "<svg/>"),
        ("", ""),
        ("<svg>" + "a" * 119_989 + "</svg>", "<svg>" + "a" * 119_989 + "</svg>"),  # 120 000 bytes
        ("ø" * 60_000, "ø" * 60_000),  # 120 000 bytes in 60 000 characters
        ("ø" * 60_001, ""),
        ("<svg>" + "a" * 119_990 + "</svg>", ""),  # 120 001 bytes, nothing to collapse
        ("a" + " \n\t" * 40_001, "a"),  # trimmed first, so it fits
        ("a" + " \n\t" * 40_000 + "b", "a b"),
        (
            "<svg>  <g>\n\n\t<path/>  </g></svg>" + " " * 120_000 + "x",
            "<svg> <g> <path/> </g></svg> x",
        ),
        # 120 005 bytes before, 120 000 after U+3000 U+3000 becomes one space
        ("<svg>\u3000\u3000" + "a" * 119_988 + "</svg>", "<svg> " + "a" * 119_988 + "</svg>"),
        # U+001C is no JavaScript white space, so nothing collapses: 120 001 bytes
        ("<svg>\x1c\x1c" + "a" * 119_988 + "</svg>", ""),
        ("a" * 120_001, ""),
    ],
)
def test_svg_size_rule(svg: str, expected: str) -> None:
    assert sanitize_example({"svg": svg})["svg"] == expected


def test_svg_only_when_a_string() -> None:
    assert "svg" not in sanitize_example({})
    assert sanitize_example({"svg": None})["svg"] is None
    assert sanitize_example({"svg": {"raw": " x "}})["svg"] == {"raw": " x "}
