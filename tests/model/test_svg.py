"""SVG entry building (§9.2), SVG PATCH (§9.3), raw descriptors (§10) and list exclusions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mathvisuals.model.svg import (
    BASE_NAME_EMPTY,
    BASE_NAME_NOT_STRING,
    DISPLAY_TITLE_NOT_STRING,
    NO_UPDATABLE_FIELDS,
    TITLE_NOT_STRING,
    apply_patch,
    archive_alias,
    build_entry,
    figure_asset_url,
    is_png_data_url,
    list_visible,
    png_data_url,
    png_dimension,
    raw_descriptor,
    svg_url,
    validate_patch,
)

NOW = "2024-05-01T12:00:00.000Z"
EARLIER = "2024-01-01T00:00:00.000Z"
PNG = "data:image/png;base64,iVBORw0KGgo="
PNG2 = "data:image/png;base64,AAAA"


def build(
    payload: dict[str, Any], stored: dict[str, Any] | None = None, slug: str = "a/b"
) -> dict[str, Any]:
    return build_entry(slug, payload, stored, NOW, url_for=svg_url)


# --- PNG data URLs and sizes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (PNG, PNG),
        (f"  {PNG}\n", PNG),
        ({"dataUrl": f" {PNG} ", "width": 3}, PNG),
        ("", None),
        ("   ", None),
        (None, None),
        ({}, None),
        ({"dataUrl": ""}, None),
        ({"dataUrl": 5}, None),
        (5, None),
        ([PNG], None),
    ],
)
def test_png_data_url(value: object, expected: str | None) -> None:
    assert png_data_url(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (PNG, True),
        ("DATA:IMAGE/PNG;BASE64,AA==", True),
        ("data:image/jpeg;base64,AA==", False),
        ("data:image/png,AA==", False),
        (" data:image/png;base64,AA==", False),
        ("xdata:image/png;base64,AA==", False),
    ],
)
def test_png_prefix_check_is_anchored_and_case_insensitive(value: str, expected: bool) -> None:
    assert is_png_data_url(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10.4, 10),
        (10.5, 11),  # Math.round rounds half up; Python's round() would give 10
        (2.5, 3),
        (20, 20),
        ("20", 20),
        (" 20 ", 20),
        ("10.6", 11),
        ("1e1", 10),
        (0, None),
        (-3, None),
        ("-3", None),
        (0.3, None),
        ("", None),
        ("abc", None),
        ("20px", None),
        ("Infinity", None),
        (float("inf"), None),
        (float("nan"), None),
        (True, None),
        (None, None),
        ([20], None),
    ],
)
def test_png_dimension(value: object, expected: int | None) -> None:
    result = png_dimension(value)
    assert result == expected
    assert result is None or type(result) is int


# --- URLs --------------------------------------------------------------------------------------


def test_svg_url() -> None:
    assert svg_url("icons/star%20shape.svg") == "/bildearkiv/icons/star%20shape.svg"
    assert svg_url("bildearkiv/x.png") == "/bildearkiv/x.png"


@pytest.mark.parametrize(
    ("slug", "url"),
    [
        ("shapes/tri.svg", "/api/figure-library/raw?slug=shapes%2Ftri.svg"),
        ("icons/star%20shape.png", "/api/figure-library/raw?slug=icons%2Fstar%2520shape.png"),
        # URLSearchParams keeps only alphanumerics and *-._ ; a space becomes "+".
        ("a~b!c'(d)*e f_g-h.svg", "/api/figure-library/raw?slug=a%7Eb%21c%27%28d%29*e+f_g-h.svg"),
    ],
)
def test_figure_asset_url_is_form_urlencoded(slug: str, url: str) -> None:
    assert figure_asset_url(slug) == url


# --- §9.2 entry shape --------------------------------------------------------------------------


def test_full_entry_matches_the_spec_shape_and_key_order() -> None:
    entry = build_entry(
        "icons/star%20shape",
        {
            "slug": "Icons/Star Shape.svg",
            "title": " Star ",
            "tool": "graftegner",
            "svg": "<svg>…</svg>",
            "png": {"dataUrl": PNG, "width": 10, "height": "20"},
            "summary": " sum ",
            "description": "desc",
            "altText": " alt ",
            "exampleState": {"a": [1, 2]},
            "toolId": "graftegner",
            "categoryId": "c",
            "displayTitle": "Shown",
            "name": "n",
            "storage": "vercel-kv",
        },
        None,
        NOW,
        url_for=svg_url,
    )
    svg_file = {
        "slug": "icons/star%20shape.svg",
        "filename": "star-20shape.svg",
        "url": "/bildearkiv/icons/star%20shape.svg",
        "contentType": "image/svg+xml",
    }
    png_file = {
        "slug": "icons/star%20shape.png",
        "filename": "star-20shape.png",
        "url": "/bildearkiv/icons/star%20shape.png",
        "contentType": "image/png",
        "width": 10,
        "height": 20,
    }
    expected = {
        "slug": "icons/star%20shape",
        "baseName": "star-20shape",
        "title": "Star",
        "tool": "graftegner",
        "svg": "<svg>…</svg>",
        "createdAt": NOW,
        "updatedAt": NOW,
        "filename": "star-20shape.svg",
        "svgFilename": "star-20shape.svg",
        "svgSlug": "icons/star%20shape.svg",
        "files": {"svg": svg_file, "png": png_file},
        "urls": {
            "svg": "/bildearkiv/icons/star%20shape.svg",
            "png": "/bildearkiv/icons/star%20shape.png",
        },
        "png": PNG,
        "pngFilename": "star-20shape.png",
        "pngSlug": "icons/star%20shape.png",
        "pngWidth": 10,
        "pngHeight": 20,
        "summary": "sum",
        "description": "desc",
        "altText": "alt",
        "altTextSource": "manual",
        "exampleState": {"a": [1, 2]},
    }
    assert entry == expected
    assert list(entry) == list(expected)
    assert list(entry["files"]) == ["svg", "png"]
    assert list(entry["files"]["svg"]) == list(svg_file)
    assert list(entry["files"]["png"]) == list(png_file)
    assert list(entry["urls"]) == ["svg", "png"]


def test_minimal_entry_has_no_optional_keys() -> None:
    entry = build({})
    assert list(entry) == [
        "slug",
        "baseName",
        "title",
        "tool",
        "svg",
        "createdAt",
        "updatedAt",
        "filename",
        "svgFilename",
        "svgSlug",
        "files",
        "urls",
    ]
    assert (entry["title"], entry["tool"], entry["svg"], entry["baseName"]) == ("", "", "", "b")
    assert list(entry["files"]) == ["svg"]
    assert list(entry["urls"]) == ["svg"]


def test_figure_urls_via_url_for() -> None:
    entry = build_entry("icons/star%20shape", {"png": PNG}, None, NOW, url_for=figure_asset_url)
    svg = "/api/figure-library/raw?slug=icons%2Fstar%2520shape.svg"
    png = "/api/figure-library/raw?slug=icons%2Fstar%2520shape.png"
    assert entry["files"]["svg"]["url"] == svg
    assert entry["files"]["png"]["url"] == png
    assert entry["urls"] == {"svg": svg, "png": png}
    assert entry["svgSlug"] == "icons/star%20shape.svg"


def test_asset_slugs_append_the_extension_to_the_entry_slug() -> None:
    entry = build({"png": PNG}, slug="a.svg")  # the entry slug of "a.svg.png"
    assert (entry["svgSlug"], entry["pngSlug"]) == ("a.svg.svg", "a.svg.png")


STORED_FILES = {
    "svg": {"filename": "from-svg-file.svg"},
    "png": {"filename": "from-png-file.png"},
}


@pytest.mark.parametrize(
    ("payload", "stored", "expected"),
    [
        ({"baseName": "Nytt navn 2024!.svg", "filename": "f.svg"}, None, "Nytt-navn-2024"),
        ({"baseName": "!!!", "filename": "file name.svg"}, None, "file-name"),
        ({"filename": 5, "svgFilename": "svg-name.svg"}, None, "svg-name"),
        ({"pngFilename": "png name.png"}, {"baseName": "stored"}, "png-name"),
        ({}, {"baseName": "stored base", "filename": "x.svg"}, "stored-base"),
        ({"baseName": "  "}, {"filename": "stored-file.svg", "files": STORED_FILES}, "stored-file"),
        ({}, {"files": STORED_FILES}, "from-svg-file"),
        ({}, {"files": {"png": {"filename": "only-png.png"}}}, "only-png"),
        ({}, {"baseName": "???"}, "b"),
    ],
)
def test_base_name_precedence(
    payload: dict[str, Any], stored: dict[str, Any] | None, expected: str
) -> None:
    entry = build(payload, stored)
    assert entry["baseName"] == expected
    assert entry["filename"] == entry["svgFilename"] == f"{expected}.svg"
    assert entry["files"]["svg"]["filename"] == f"{expected}.svg"


def test_base_name_falls_back_to_export() -> None:
    assert build({}, slug="x/!!!")["baseName"] == "export"


def test_title_and_tool_trimmed_then_stored_then_empty() -> None:
    stored = {"title": " Old ", "tool": "diagram"}
    assert (build({"title": " New "}, stored)["title"]) == "New"
    assert build({"title": "  "}, stored)["title"] == "Old"
    assert build({}, stored)["tool"] == "diagram"
    assert build({"tool": 5}, {})["tool"] == ""


def test_svg_payload_string_else_stored_else_empty() -> None:
    stored = {"svg": "<svg>old</svg>"}
    assert build({"svg": "<svg>new</svg> "}, stored)["svg"] == "<svg>new</svg> "
    assert build({"svg": ""}, stored)["svg"] == ""
    assert build({"svg": None}, stored)["svg"] == "<svg>old</svg>"
    assert build({}, {"svg": 5})["svg"] == ""


def test_created_at_and_updated_at() -> None:
    stored = {"createdAt": EARLIER, "updatedAt": EARLIER}
    given = build({"createdAt": " 2023-01-01T00:00:00.000Z ", "updatedAt": EARLIER}, stored)
    assert given["createdAt"] == "2023-01-01T00:00:00.000Z"
    assert given["updatedAt"] == NOW
    assert build({"createdAt": " "}, stored)["createdAt"] == EARLIER
    assert build({}, None)["createdAt"] == NOW


# --- PNG fields --------------------------------------------------------------------------------

PNG_KEYS = {"png", "pngFilename", "pngSlug", "pngWidth", "pngHeight"}


def stored_with_png() -> dict[str, Any]:
    return build({"png": {"dataUrl": PNG, "width": 30, "height": 40}, "baseName": "pic"})


def test_png_absent_keeps_the_stored_png() -> None:
    entry = build({"title": "t"}, stored_with_png())
    assert entry["png"] == PNG
    assert (entry["pngWidth"], entry["pngHeight"]) == (30, 40)
    assert entry["files"]["png"]["width"] == 30
    assert entry["urls"]["png"] == "/bildearkiv/a/b.png"
    assert entry["pngFilename"] == "pic.png"


@pytest.mark.parametrize("empty", [None, "", "  ", {}, {"dataUrl": ""}])
def test_png_present_but_empty_removes_every_png_field(empty: object) -> None:
    entry = build({"png": empty, "pngWidth": 5}, stored_with_png())
    assert not PNG_KEYS & set(entry)
    assert "png" not in entry["files"]
    assert "png" not in entry["urls"]


def test_png_sizes_come_from_object_then_fields_then_stored() -> None:
    stored = stored_with_png()
    from_object = build(
        {"png": {"dataUrl": PNG2, "width": 10.4, "height": "7"}, "pngWidth": 99}, stored
    )
    assert (from_object["pngWidth"], from_object["pngHeight"]) == (10, 7)
    from_fields = build({"png": PNG2, "pngWidth": "20", "pngHeight": 0}, stored)
    assert from_fields["png"] == PNG2
    assert (from_fields["pngWidth"], from_fields["pngHeight"]) == (20, 40)
    assert from_fields["files"]["png"]["width"] == 20
    assert from_fields["files"]["png"]["height"] == 40


def test_png_without_sizes_has_no_size_keys() -> None:
    entry = build({"png": PNG})
    assert "pngWidth" not in entry and "pngHeight" not in entry
    assert list(entry["files"]["png"]) == ["slug", "filename", "url", "contentType"]
    assert list(entry)[-3:] == ["png", "pngFilename", "pngSlug"]


# --- summary, description, altText, altTextSource, exampleState --------------------------------


def test_summary_and_description_trimmed_omitted_when_empty_and_not_inherited() -> None:
    stored = {"summary": "old", "description": "old"}
    entry = build({"summary": " new "}, stored)
    assert entry["summary"] == "new"
    assert "description" not in entry
    assert "summary" not in build({"summary": "   "}, stored)


def test_alt_text_present_replaces_empty_removes_absent_keeps() -> None:
    stored = {"altText": "stored alt", "altTextSource": "auto"}
    assert build({"altText": " new "}, stored)["altText"] == "new"
    assert "altText" not in build({"altText": "  "}, stored)
    assert "altText" not in build({"altText": None}, stored)
    assert build({}, stored)["altText"] == "stored alt"


@pytest.mark.parametrize(
    ("payload", "stored", "expected"),
    [
        ({"altText": "x", "altTextSource": "auto"}, {}, "auto"),
        ({"altText": "", "altTextSource": "manual"}, {}, "manual"),
        ({"altTextSource": " AUTO "}, {"altTextSource": "manual"}, "auto"),
        ({"altText": "x"}, {"altTextSource": "auto"}, "manual"),
        ({"altText": "x", "altTextSource": "bogus"}, {"altTextSource": "auto"}, "manual"),
        ({"altText": " "}, {"altTextSource": "manual"}, "auto"),
        ({}, {"altTextSource": "auto", "altText": "a"}, "auto"),
        ({"altTextSource": "bogus"}, {"altTextSource": "auto"}, "auto"),
        ({}, {"altText": "a"}, "manual"),
        ({}, {"altText": "a", "altTextSource": "weird"}, "manual"),
        ({}, {}, None),
        ({"altTextSource": "bogus"}, {}, None),
    ],
)
def test_alt_text_source_rules(
    payload: dict[str, Any], stored: dict[str, Any], expected: str | None
) -> None:
    assert build(payload, stored).get("altTextSource") == expected


@pytest.mark.parametrize(
    ("value", "stored", "expected"),
    [
        ({"k": 1}, None, {"k": 1}),
        ('{"k": [1, 2]}', None, {"k": [1, 2]}),
        (" [1, 2] ", None, [1, 2]),
        ([1, 2], None, [1, 2]),
        ("5", {"k": "stored"}, {"k": "stored"}),
        ("not json", {"k": "stored"}, {"k": "stored"}),
        ("NaN", None, None),
        (None, '{"k": "stored string"}', {"k": "stored string"}),
        ("", None, None),
        (5, None, None),
    ],
)
def test_example_state(value: object, stored: object, expected: object) -> None:
    stored_entry = {} if stored is None else {"exampleState": stored}
    entry = build({"exampleState": value}, stored_entry)
    if expected is None:
        assert "exampleState" not in entry
    else:
        assert entry["exampleState"] == expected


def test_example_state_absent_keeps_stored_and_is_a_copy() -> None:
    stored = {"exampleState": {"nested": {"x": 1}}}
    entry = build({}, stored)
    assert entry["exampleState"] == {"nested": {"x": 1}}
    entry["exampleState"]["nested"]["x"] = 2
    assert stored["exampleState"]["nested"]["x"] == 1


def test_client_keys_are_dropped_and_stored_extras_not_inherited() -> None:
    stored = {"displayTitle": "D", "name": "N", "toolId": "t", "storage": "kv", "mode": "kv"}
    entry = build({"categoryId": "c", "apps": [], "toolId": "x", "displayTitle": "y"}, stored)
    assert not {"displayTitle", "name", "toolId", "categoryId", "apps", "storage", "mode"} & set(
        entry
    )


# --- PATCH (§9.3) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"title": 5}, TITLE_NOT_STRING),
        ({"title": 5, "displayTitle": 5, "baseName": 5}, TITLE_NOT_STRING),
        ({"displayTitle": []}, DISPLAY_TITLE_NOT_STRING),
        ({"displayTitle": {}, "baseName": None}, DISPLAY_TITLE_NOT_STRING),
        ({"baseName": None}, BASE_NAME_NOT_STRING),
        ({"baseName": 7, "title": None}, BASE_NAME_NOT_STRING),
        ({"baseName": "!!! .svg"}, BASE_NAME_EMPTY),
        ({"baseName": "  "}, BASE_NAME_EMPTY),
        ({}, NO_UPDATABLE_FIELDS),
        ({"slug": "a", "svg": "<svg/>", "name": "n"}, NO_UPDATABLE_FIELDS),
        ([], NO_UPDATABLE_FIELDS),
        ("title", NO_UPDATABLE_FIELDS),
        ({"title": None}, None),
        ({"displayTitle": "x"}, None),
        ({"altText": 5}, None),
        ({"altTextSource": "bogus"}, None),
        ({"baseName": "ok"}, None),
    ],
)
def test_validate_patch(body: object, error: str | None) -> None:
    assert validate_patch(body) == error


def test_baseName_error_text_is_verbatim() -> None:
    assert BASE_NAME_EMPTY == "baseName må inneholde bokstaver eller tall."
    assert NO_UPDATABLE_FIELDS == "No updatable fields provided"


def patched(stored: dict[str, Any], body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    result = apply_patch(stored, body, NOW)
    assert not isinstance(result, str)
    return result


def stored_entry() -> dict[str, Any]:
    entry = build_entry(
        "icons/star",
        {"title": "Star", "png": PNG, "svg": "<svg/>"},
        None,
        EARLIER,
        url_for=svg_url,
    )
    entry.update(
        {"storage": "kv", "mode": "kv", "storageMode": "kv", "persistent": True, "ephemeral": False}
    )
    return entry


def test_patch_spec_example_renames_and_sets_name() -> None:
    stored = stored_entry()
    before = copy.deepcopy(stored)
    entry, changed = patched(
        stored,
        {
            "slug": "icons/star",
            "title": "Nytt navn",
            "displayTitle": "Nytt navn",
            "baseName": "Nytt navn 2024!.svg",
        },
    )
    assert changed
    assert stored == before
    assert entry["baseName"] == "Nytt-navn-2024"
    assert entry["filename"] == entry["svgFilename"] == "Nytt-navn-2024.svg"
    assert entry["files"]["svg"]["filename"] == "Nytt-navn-2024.svg"
    assert entry["files"]["png"]["filename"] == "Nytt-navn-2024.png"
    assert entry["pngFilename"] == "Nytt-navn-2024.png"
    assert entry["title"] == entry["displayTitle"] == entry["name"] == "Nytt navn"
    assert entry["updatedAt"] == NOW
    assert entry["createdAt"] == EARLIER
    assert entry["svgSlug"] == "icons/star.svg"
    # stored keys keep their places (mode fields included); new keys are appended
    assert list(entry) == [*before, "displayTitle", "name"]


def test_patch_rename_without_png_does_not_add_png_keys() -> None:
    stored = build({}, slug="x")
    entry, _ = patched(stored, {"baseName": "New"})
    assert "pngFilename" not in entry and "png" not in entry["files"]
    assert entry["name"] == "New"


def test_patch_without_change_reports_unchanged() -> None:
    stored = {**stored_entry(), "name": "Star", "altText": "a", "altTextSource": "manual"}
    entry, changed = patched(stored, {"title": " Star ", "altText": "a "})
    assert not changed
    assert entry == stored
    assert entry["updatedAt"] == EARLIER


def test_patch_adding_name_is_a_change() -> None:
    entry, changed = patched(stored_entry(), {"title": "Star"})
    assert changed
    assert entry["name"] == "Star"
    assert entry["updatedAt"] == NOW


@pytest.mark.parametrize("empty", ["", "  ", None])
def test_patch_empty_title_deletes_the_key(empty: str | None) -> None:
    entry, changed = patched(stored_entry(), {"title": empty})
    assert changed
    assert "title" not in entry
    assert entry["name"] == "star"  # baseName is next in line


@pytest.mark.parametrize(
    ("stored_extra", "body", "name"),
    [
        ({}, {"title": " T "}, "T"),
        ({"displayTitle": "Shown"}, {"title": "T"}, "Shown"),
        ({"name": "Old name"}, {"displayTitle": ""}, "Star"),
        ({"title": " ", "name": "Old name"}, {"displayTitle": " "}, "star"),
        ({"title": "", "baseName": "", "name": " N "}, {"displayTitle": None}, "N"),
        ({"title": "", "baseName": "", "name": ""}, {"displayTitle": None}, "icons/star"),
    ],
)
def test_patch_name_is_first_non_blank(
    stored_extra: dict[str, Any], body: dict[str, Any], name: str
) -> None:
    stored = {**stored_entry(), **stored_extra}
    entry, _ = patched(stored, body)
    assert entry["name"] == name


def test_patch_alt_text_only_does_not_touch_name() -> None:
    entry, changed = patched(stored_entry(), {"altText": " A picture "})
    assert changed
    assert entry["altText"] == "A picture"
    assert entry["altTextSource"] == "manual"
    assert "name" not in entry


def test_patch_empty_alt_text_removes_it_and_sets_auto() -> None:
    stored = {**stored_entry(), "altText": "old", "altTextSource": "manual"}
    entry, changed = patched(stored, {"altText": ""})
    assert changed
    assert "altText" not in entry
    assert entry["altTextSource"] == "auto"


def test_patch_explicit_alt_text_source_wins() -> None:
    entry, _ = patched(stored_entry(), {"altText": "x", "altTextSource": "Auto"})
    assert entry["altTextSource"] == "auto"
    entry, _ = patched({**stored_entry(), "altText": "x"}, {"altTextSource": "manual"})
    assert entry["altTextSource"] == "manual"


def test_patch_returns_the_validation_error() -> None:
    assert apply_patch(stored_entry(), {"baseName": "!!!"}, NOW) == BASE_NAME_EMPTY
    assert apply_patch(stored_entry(), {"other": 1}, NOW) == NO_UPDATABLE_FIELDS


# --- raw descriptor (§10) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "fmt", "expected"),
    [
        ("icons/star%20shape", "png", ("icons/star%20shape", "png")),
        ("/icons/star%20shape.svg", None, ("icons/star%20shape", "svg")),
        ("Icons/Star.PNG", "svg", ("icons/star", "png")),
        ("icons/star.svg", "png", ("icons/star", "svg")),
        ("x", ".png", ("x", "png")),
        ("x", " PNG ", ("x", "png")),
        ("x", "svg", ("x", "svg")),
        ("x", "jpg", ("x", "svg")),
        ("x", None, ("x", "svg")),
        ("x", ["png"], ("x", "svg")),
        ("a.svg.png", None, ("a", "png")),
        ("a.png.svg", "png", ("a", "svg")),
        ("x.jpg", "png", ("x.jpg", "png")),
        ("__slugs__.svg", None, None),
        ("__trash__", "png", None),
        (".svg", None, None),
        (".png.svg", None, None),
        ("", None, None),
        ("//", None, None),
        (None, "png", None),
        (5, None, None),
    ],
)
def test_raw_descriptor(candidate: object, fmt: object, expected: object) -> None:
    assert raw_descriptor(candidate, fmt) == expected


# --- GET list exclusions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "visible"),
    [
        ({"slug": "a", "tool": "graftegner"}, True),
        ({"slug": "a", "tool": " bibliotek-upload "}, False),
        ({"slug": "a", "tool": "x", "toolId": "bibliotek-upload"}, False),
        ({"slug": "a", "tool": "bibliotek"}, True),
        ({"slug": "Custom-shape"}, False),
        ({"slug": "my/custom-shape"}, True),
        ({"slug": "a", "categoryId": None}, False),
        ({"slug": "a", "category": {}}, False),
        ({"slug": "a", "apps": []}, False),
        ({}, True),
    ],
)
def test_list_visible(entry: dict[str, Any], visible: bool) -> None:
    assert list_visible(entry) is visible


@pytest.mark.parametrize(
    ("slug", "alias"),
    [
        ("bildearkiv/icons/star%20shape", "icons/star%20shape"),  # the archive page's path=
        ("inside", "bildearkiv/inside"),  # an entry stored under the prefix, linked without it
        ("bildearkiv", "bildearkiv/bildearkiv"),
        ("bildearkiv/__slugs__", None),  # FIX-H: never a reserved name
    ],
)
def test_archive_alias_is_the_name_with_or_without_the_prefix(slug: str, alias: str | None) -> None:
    assert archive_alias(slug) == alias
