"""Figure-library records (§11): assets, PATCH merge, categories, linkage, views."""

from __future__ import annotations

from typing import Any

import pytest

from mathvisuals.model.figures import (
    CATEGORY_REQUIRED,
    CATEGORY_UNDERIVABLE,
    KV_MODE_FIELDS,
    PNG_NOT_DATA_URL,
    SVG_REQUIRED,
    CategoryPayload,
    Keep,
    Link,
    Unlink,
    build_asset,
    category_error,
    category_id_for,
    category_link_intent,
    category_request,
    category_view,
    figure_record,
    figure_response,
    figure_tags,
    link_figure,
    patch_figure,
    summary_view,
    unlink_figure,
    upsert_category,
    validate_figure_patch,
    validate_figure_post,
)

NOW = "2024-05-01T12:00:00.000Z"
EARLIER = "2024-01-01T00:00:00.000Z"
PNG = "data:image/png;base64,iVBORw0KGgo="
PNG2 = "data:image/png;base64,AAAA"
MODE_KEYS = ["storage", "mode", "storageMode", "persistent", "ephemeral"]
KV_META = {
    "storage": "kv",
    "mode": "kv",
    "storageMode": "kv",
    "persistent": True,
    "ephemeral": False,
}
MEMORY_META = {
    "storage": "memory",
    "mode": "memory",
    "storageMode": "memory",
    "persistent": False,
    "ephemeral": True,
    "limitation": "Denne instansen bruker midlertidig minnelagring. Figurer tilbakestilles når "
    "serveren starter på nytt.",
}
TRI_SVG_URL = "/api/figure-library/raw?slug=shapes%2Ftri.svg"
TRI_PNG_URL = "/api/figure-library/raw?slug=shapes%2Ftri.png"


def stored_asset(**extra: Any) -> dict[str, Any]:
    body = {
        "svg": "<svg>old</svg>",
        "png": {"dataUrl": PNG, "width": 30, "height": 40},
        "title": "Triangle",
        "tool": "graftegner",
        "summary": "old summary",
        "description": "old description",
        "altText": "old alt",
        "exampleState": {"v": 1},
        "baseName": "tri",
        "createdAt": EARLIER,
    }
    asset = build_asset("shapes/tri", body, None, EARLIER)
    asset.update(extra)
    return asset


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, SVG_REQUIRED),
        ({"svg": "   "}, SVG_REQUIRED),
        ({"svg": 5}, SVG_REQUIRED),
        ({"png": "data:image/jpeg;base64,AA"}, SVG_REQUIRED),
        ([], SVG_REQUIRED),
        ({"svg": "<svg/>", "png": "data:image/jpeg;base64,AA"}, PNG_NOT_DATA_URL),
        ({"svg": "<svg/>", "png": {"dataUrl": "abc"}}, PNG_NOT_DATA_URL),
        ({"svg": "<svg/>"}, None),
        ({"svg": "<svg/>", "png": ""}, None),
        ({"svg": "<svg/>", "png": None}, None),
        ({"svg": "<svg/>", "png": {}}, None),
        ({"svg": "<svg/>", "png": " DATA:image/PNG;base64,AA"}, None),
    ],
)
def test_validate_figure_post(body: object, error: str | None) -> None:
    assert validate_figure_post(body) == error


def test_validate_figure_patch() -> None:
    assert validate_figure_patch({"png": "nope"}) == PNG_NOT_DATA_URL
    assert validate_figure_patch({"png": None}) is None
    assert validate_figure_patch({}) is None
    assert validate_figure_patch({"svg": ""}) is None


def test_error_texts_are_verbatim() -> None:
    assert (SVG_REQUIRED, PNG_NOT_DATA_URL) == (
        "SVG markup is required",
        "PNG data must be a base64-encoded data URL",
    )
    assert (CATEGORY_REQUIRED, CATEGORY_UNDERIVABLE) == (
        "categoryId or category label is required",
        "Unable to update category",
    )


# --- POST asset --------------------------------------------------------------------------------


def test_build_asset_uses_figure_library_raw_urls() -> None:
    asset = build_asset("shapes/tri", {"svg": "<svg/>", "png": PNG}, None, NOW)
    assert asset["files"]["svg"]["url"] == TRI_SVG_URL
    assert asset["files"]["png"]["url"] == TRI_PNG_URL
    assert asset["urls"] == {"svg": TRI_SVG_URL, "png": TRI_PNG_URL}
    assert asset["svgSlug"] == "shapes/tri.svg"
    assert not set(MODE_KEYS) & set(asset)


def test_build_asset_inherits_listed_fields_but_not_summary_or_png() -> None:
    asset = build_asset("shapes/tri", {"svg": "<svg>new</svg>"}, stored_asset(), NOW)
    assert (asset["title"], asset["tool"], asset["createdAt"]) == (
        "Triangle",
        "graftegner",
        EARLIER,
    )
    assert asset["altText"] == "old alt"
    assert asset["exampleState"] == {"v": 1}
    assert asset["baseName"] == "tri"
    assert asset["svg"] == "<svg>new</svg>"
    assert "summary" not in asset and "description" not in asset
    # §11.4: an absent PNG means no PNG
    assert "png" not in asset and "png" not in asset["files"] and "png" not in asset["urls"]


def test_build_asset_new_png_without_sizes_keeps_stored_sizes() -> None:
    asset = build_asset("shapes/tri", {"svg": "<svg/>", "png": PNG2}, stored_asset(), NOW)
    assert asset["png"] == PNG2
    assert (asset["pngWidth"], asset["pngHeight"]) == (30, 40)


# --- PATCH merge (§11.5) -----------------------------------------------------------------------


def patch(body: dict[str, Any], stored: dict[str, Any] | None = None) -> dict[str, Any]:
    result = patch_figure(stored if stored is not None else stored_asset(), body, NOW)
    assert not isinstance(result, str)
    return result


def test_patch_keeps_everything_not_in_the_body() -> None:
    stored = stored_asset()
    entry = patch({"title": "New"}, stored)
    assert entry["title"] == "New"
    assert entry["updatedAt"] == NOW
    for key in ("svg", "png", "summary", "description", "altText", "exampleState", "createdAt"):
        assert entry[key] == stored[key], key
    assert entry["files"] == stored["files"]
    assert list(entry) == list(stored)


@pytest.mark.parametrize("svg", ["", "   ", None, 5])
def test_patch_never_clears_svg(svg: object) -> None:
    assert patch({"svg": svg})["svg"] == "<svg>old</svg>"


def test_patch_applies_non_blank_svg() -> None:
    assert patch({"svg": "<svg>new</svg>"})["svg"] == "<svg>new</svg>"


@pytest.mark.parametrize("empty", [None, ""])
def test_patch_png_null_or_empty_removes_the_png(empty: object) -> None:
    entry = patch({"png": empty})
    assert not {"png", "pngFilename", "pngSlug", "pngWidth", "pngHeight"} & set(entry)
    assert "png" not in entry["files"] and "png" not in entry["urls"]


def test_patch_png_replaced() -> None:
    entry = patch({"png": {"dataUrl": PNG2, "width": 12.6}})
    assert entry["png"] == PNG2
    assert (entry["pngWidth"], entry["pngHeight"]) == (13, 40)


def test_patch_bad_png_is_a_400_text() -> None:
    assert patch_figure(stored_asset(), {"png": "data:text/plain,hi"}, NOW) == PNG_NOT_DATA_URL


def test_patch_png_sizes_replaced_or_removed() -> None:
    entry = patch({"pngWidth": "50", "pngHeight": 60.4})
    assert (entry["pngWidth"], entry["pngHeight"]) == (50, 60)
    assert (entry["files"]["png"]["width"], entry["files"]["png"]["height"]) == (50, 60)
    entry = patch({"pngWidth": "wide"})
    assert "pngWidth" not in entry and "width" not in entry["files"]["png"]
    assert entry["pngHeight"] == 40 and entry["files"]["png"]["height"] == 40


def test_patch_summary_and_description_replaced_or_removed_when_present() -> None:
    entry = patch({"summary": " new summary ", "description": ""})
    assert entry["summary"] == "new summary"
    assert "description" not in entry


def test_patch_replaces_present_fields_with_9_2_sanitising() -> None:
    entry = patch(
        {
            "tool": " diagram ",
            "altText": "",
            "exampleState": '{"v": 2}',
            "baseName": "Nytt navn 2024!.svg",
            "createdAt": "1999-01-01T00:00:00.000Z",
            "filename": "ignored.svg",
        }
    )
    assert entry["tool"] == "diagram"
    assert "altText" not in entry and entry["altTextSource"] == "auto"
    assert entry["exampleState"] == {"v": 2}
    assert entry["baseName"] == "Nytt-navn-2024"
    assert entry["filename"] == entry["svgFilename"] == "Nytt-navn-2024.svg"
    assert entry["pngFilename"] == entry["files"]["png"]["filename"] == "Nytt-navn-2024.png"
    assert entry["createdAt"] == EARLIER
    assert entry["files"]["svg"]["url"] == TRI_SVG_URL


def test_patch_alt_text_source_explicit() -> None:
    assert patch({"altTextSource": "auto"})["altTextSource"] == "auto"
    assert patch({"altText": "new alt"})["altTextSource"] == "manual"


def test_patch_drops_mode_fields_and_figure_keys_of_the_stored_record() -> None:
    record = figure_record(stored_asset(), "cat", ["t"])
    entry = patch({"title": "x"}, record)
    assert not {*MODE_KEYS, "categoryId", "tags"} & set(entry)
    assert entry["slug"] == "shapes/tri"


# --- tags --------------------------------------------------------------------------------------


def test_tags_replaced_when_present_else_kept() -> None:
    stored = {"tags": ["old"]}
    assert figure_tags({"tags": ["bibliotek", "bibliotek", " viewer "]}, stored) == [
        "bibliotek",
        "viewer",
    ]
    assert figure_tags({"tags": []}, stored) == []
    assert figure_tags({"tags": None}, stored) == []
    assert figure_tags({}, stored) == ["old"]
    assert figure_tags({}, None) == []


# --- stored figure record and API entry --------------------------------------------------------


def test_figure_record_key_order() -> None:
    asset = stored_asset()
    record = figure_record({**asset, "storage": "memory"}, "cat", ["a", "b"])
    assert list(record) == [*asset, *MODE_KEYS, "categoryId", "tags"]
    assert {key: record[key] for key in MODE_KEYS} == KV_MODE_FIELDS
    assert (record["categoryId"], record["tags"]) == ("cat", ["a", "b"])


def test_figure_response_linked() -> None:
    asset = stored_asset()
    record = figure_record(asset, "kv-kategori", ["a", " a "])
    record["storage"] = "vercel-kv"
    category = {
        "id": "kv-kategori",
        "label": "KV-kategori",
        "figureSlugs": ["shapes/tri"],
        "apps": ["viewer", 5, None, "viewer", "  "],
        "description": "Desc",
        **KV_META,
    }
    entry = figure_response(record, category, MEMORY_META)
    assert list(entry) == [*asset, *MODE_KEYS, "categoryId", "tags", "category"]
    assert {key: entry[key] for key in MODE_KEYS} == {key: MEMORY_META[key] for key in MODE_KEYS}
    assert "limitation" not in entry
    assert entry["tags"] == ["a"]
    assert entry["category"] == {
        "id": "kv-kategori",
        "label": "KV-kategori",
        "description": "Desc",
        "apps": ["viewer"],
    }
    assert list(entry["category"]) == ["id", "label", "description", "apps"]


def test_figure_response_unlinked_has_no_category() -> None:
    entry = figure_response(figure_record(stored_asset(), None, []), None, KV_META)
    assert entry["categoryId"] is None
    assert "category" not in entry
    assert list(entry)[-2:] == ["categoryId", "tags"]


def test_figure_response_category_without_description_or_record() -> None:
    record = figure_record(stored_asset(), "c", [])
    entry = figure_response(record, {"id": "c", "label": "C", "apps": ["x"]}, KV_META)
    assert entry["category"] == {"id": "c", "label": "C", "apps": ["x"]}
    missing = figure_response(record, None, KV_META)
    assert missing["category"] == {"id": "c", "label": "", "apps": []}


def test_figure_response_drops_a_stale_stored_category_object() -> None:
    record = {**figure_record(stored_asset(), None, []), "category": {"id": "old"}}
    assert "category" not in figure_response(record, None, KV_META)


# --- ?view=summary -----------------------------------------------------------------------------


def test_summary_view_projection() -> None:
    entry = figure_response(
        figure_record(stored_asset(), "c", ["t"]), {"id": "c", "label": "C"}, KV_META
    )
    view = summary_view(entry)
    assert "svg" not in view and "png" not in view
    assert view["files"] == {
        "svg": {
            "url": TRI_SVG_URL,
            "slug": "shapes/tri.svg",
            "filename": "tri.svg",
            "contentType": "image/svg+xml",
        },
        "png": {
            "url": TRI_PNG_URL,
            "width": 30,
            "height": 40,
            "slug": "shapes/tri.png",
            "filename": "tri.png",
            "contentType": "image/png",
        },
    }
    assert list(view["files"]["png"]) == [
        "url",
        "width",
        "height",
        "slug",
        "filename",
        "contentType",
    ]
    assert list(view["files"]["svg"]) == ["url", "slug", "filename", "contentType"]
    assert view["urls"] == entry["urls"]
    assert view["pngWidth"] == 30
    assert list(view) == [key for key in entry if key not in ("svg", "png")]
    assert entry["svg"] == "<svg>old</svg>"  # the input is not modified


def test_summary_view_without_png() -> None:
    entry = build_asset("a", {"svg": "<svg/>"}, None, NOW)
    entry["files"]["svg"]["extra"] = 1
    view = summary_view(entry)
    assert list(view["files"]) == ["svg"]
    assert "extra" not in view["files"]["svg"]


# --- category requests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        [],
        {"categoryId": "  "},
        {"categoryId": None},
        {"categoryLabel": ""},
        {"categoryName": " "},
        {"category": "string"},
        {"apps": ["x"]},
        {"title": "x"},
    ],
)
def test_not_a_category_request(body: object) -> None:
    assert category_request(body) is None


@pytest.mark.parametrize(
    ("body", "payload"),
    [
        (
            {"categoryId": "Other Cat", "categoryLabel": "Other", "categoryApps": ["z"]},
            CategoryPayload(id="Other Cat", label="Other", apps=("z",)),
        ),
        ({"category": {}}, CategoryPayload()),
        ({"categoryApps": ["q"]}, CategoryPayload(apps=("q",))),
        ({"categoryName": " Named "}, CategoryPayload(label="Named")),
        (
            {"categoryId": " ", "category": {"id": "nested", "label": " L ", "description": " D "}},
            CategoryPayload(id="nested", label="L", description="D"),
        ),
        (
            {"categoryId": "top", "category": {"id": "nested"}},
            CategoryPayload(id="top"),
        ),
        (
            {"category": {"label": "first"}, "categoryLabel": "second", "categoryName": "third"},
            CategoryPayload(label="first"),
        ),
        (
            {"category": {"label": " "}, "categoryLabel": "second", "categoryName": "third"},
            CategoryPayload(label="second"),
        ),
        (
            {"categoryLabel": "", "categoryName": "third"},
            CategoryPayload(label="third"),
        ),
        (
            {"category": {"apps": ["a", "a", 1]}},
            CategoryPayload(apps=("a",)),
        ),
        (
            {"category": {"apps": ["a"]}, "categoryApps": []},
            CategoryPayload(apps=()),
        ),
        ({"categoryLabel": "X", "apps": ["ignored"]}, CategoryPayload(label="X")),
    ],
)
def test_category_request_payload(body: dict[str, Any], payload: CategoryPayload) -> None:
    assert category_request(body) == payload


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (CategoryPayload(apps=("q",)), CATEGORY_REQUIRED),
        (CategoryPayload(), CATEGORY_REQUIRED),
        (CategoryPayload(label="!!!"), CATEGORY_UNDERIVABLE),
        (CategoryPayload(id="???"), CATEGORY_UNDERIVABLE),
        (CategoryPayload(id="???", label="Ok"), None),
        (CategoryPayload(id="x"), None),
    ],
)
def test_category_error(payload: CategoryPayload, error: str | None) -> None:
    assert category_error(payload) == error


@pytest.mark.parametrize(
    ("payload", "category_id"),
    [
        (CategoryPayload(id="Oppdatert kategori"), "oppdatert-kategori"),
        (CategoryPayload(id="KV-kategori"), "kv-kategori"),
        (CategoryPayload(id="Måling"), "m-ling"),
        (CategoryPayload(id="id", label="Label"), "id"),
        (CategoryPayload(id="!!!", label="From Label"), "from-label"),
        (CategoryPayload(label="Oppdatert kategori"), "oppdatert-kategori"),
    ],
)
def test_category_id_for(payload: CategoryPayload, category_id: str) -> None:
    assert category_id_for(payload) == category_id


# --- category upsert ---------------------------------------------------------------------------


def test_upsert_new_category_appendix_example() -> None:
    payload = category_request(
        {"categoryId": "Other Cat", "categoryLabel": "Other", "categoryApps": ["z"]}
    )
    assert payload is not None
    record = upsert_category(None, payload, NOW)
    assert record == {
        "id": "other-cat",
        "label": "Other",
        "figureSlugs": [],
        "apps": ["z"],
        "createdAt": NOW,
        "updatedAt": NOW,
        **KV_META,
    }
    assert list(record) == [
        "id",
        "label",
        "figureSlugs",
        "apps",
        "createdAt",
        "updatedAt",
        *MODE_KEYS,
    ]


def stored_category(**extra: Any) -> dict[str, Any]:
    return {
        "id": "kv-kategori",
        "label": "Stored label",
        "figureSlugs": ["z/fig", "a/fig", "a/fig"],
        "apps": ["viewer", 3],
        "createdAt": EARLIER,
        "updatedAt": EARLIER,
        "description": "Stored description",
        "storage": "memory",
        **extra,
    }


def test_upsert_existing_keeps_slugs_created_at_apps_and_description() -> None:
    record = upsert_category(stored_category(), CategoryPayload(id="KV-kategori"), NOW)
    assert record == {
        "id": "kv-kategori",
        "label": "Stored label",
        "figureSlugs": ["a/fig", "z/fig"],
        "apps": ["viewer"],
        "createdAt": EARLIER,
        "updatedAt": NOW,
        "description": "Stored description",
        **KV_META,
    }
    assert list(record)[6:] == ["description", *MODE_KEYS]


def test_upsert_replaces_label_apps_and_description_when_sent() -> None:
    payload = CategoryPayload(id="kv-kategori", label="New", apps=(), description="New d")
    record = upsert_category(stored_category(), payload, NOW)
    assert (record["label"], record["apps"], record["description"]) == ("New", [], "New d")


def test_upsert_label_falls_back_to_id() -> None:
    record = upsert_category({"label": "  "}, CategoryPayload(id="Some Id"), NOW)
    assert record["label"] == "some-id"
    assert "description" not in record


def test_upsert_requires_a_derivable_id() -> None:
    with pytest.raises(ValueError):
        upsert_category(None, CategoryPayload(label="!!!"), NOW)


def test_link_figure_creates_or_adds_sorted() -> None:
    created = link_figure(None, "new-cat", "shapes/tri", NOW)
    assert created == {
        "id": "new-cat",
        "label": "new-cat",
        "figureSlugs": ["shapes/tri"],
        "apps": [],
        "createdAt": NOW,
        "updatedAt": NOW,
        **KV_META,
    }
    added = link_figure(stored_category(), "kv-kategori", "m/fig", NOW)
    assert added["figureSlugs"] == ["a/fig", "m/fig", "z/fig"]
    assert (added["createdAt"], added["updatedAt"]) == (EARLIER, NOW)
    assert added["description"] == "Stored description"
    assert added["storage"] == "kv"


def test_link_figure_already_linked_is_unchanged() -> None:
    stored = stored_category()
    assert link_figure(stored, "kv-kategori", "a/fig", NOW) == stored


def test_unlink_figure() -> None:
    removed = unlink_figure(stored_category(), "a/fig", NOW)
    assert removed["figureSlugs"] == ["z/fig"]
    assert removed["updatedAt"] == NOW
    stored = stored_category()
    assert unlink_figure(stored, "not/there", NOW) == stored


# --- category linkage of figure bodies ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "current", "intent"),
    [
        ({}, "cur", Keep()),
        ({"title": "x", "tags": ["a"]}, "cur", Keep()),
        ({"category": "not an object"}, "cur", Keep()),
        ({"categoryId": None}, "cur", Unlink()),
        ({"categoryId": ""}, "cur", Unlink()),
        ({"categoryId": "  "}, "cur", Unlink()),
        ({"categoryId": "!!!"}, "cur", Unlink()),
        ({"categoryLabel": ""}, "cur", Unlink()),
        ({"category": {}}, "cur", Unlink()),
        ({"category": {}, "categoryId": "x"}, "cur", Unlink()),
        ({"category": {"label": ""}}, "cur", Unlink()),
        ({"categoryLabel": "!!!"}, "cur", Keep()),
        (
            {"categoryId": None, "categoryLabel": "Ny kategori"},
            None,
            Link("ny-kategori", CategoryPayload(label="Ny kategori")),
        ),
        (
            {"categoryId": "Other Cat", "description": "figure text"},
            "cur",
            Link("other-cat", CategoryPayload(id="Other Cat")),
        ),
        (
            {"categoryId": None, "category": {"id": "Nested", "label": "N", "apps": ["v", "v"]}},
            None,
            Link("nested", CategoryPayload(id="Nested", label="N", apps=("v",))),
        ),
        (
            {"category": {"id": "c", "description": "not applied"}},
            None,
            Link("c", CategoryPayload(id="c")),
        ),
        (
            {"categoryApps": ["a"]},
            "cur",
            Link("cur", CategoryPayload(id="cur", apps=("a",))),
        ),
        ({"apps": [" b "]}, "cur", Link("cur", CategoryPayload(id="cur", apps=("b",)))),
        ({"apps": ["b"]}, None, Keep()),
        (
            {"categoryName": "Named", "apps": ["b"]},
            None,
            Link("named", CategoryPayload(label="Named", apps=("b",))),
        ),
    ],
)
def test_category_link_intent(body: dict[str, Any], current: str | None, intent: object) -> None:
    assert category_link_intent(body, current) == intent


# --- category view -----------------------------------------------------------------------------


def test_category_view_is_canonical_with_fresh_mode_fields() -> None:
    record = {"extra": 1, **stored_category(), "mode": "vercel-kv"}
    view = category_view(record, MEMORY_META)
    assert view == {
        "id": "kv-kategori",
        "label": "Stored label",
        "figureSlugs": ["a/fig", "z/fig"],
        "apps": ["viewer"],
        "createdAt": EARLIER,
        "updatedAt": EARLIER,
        "description": "Stored description",
        **{key: MEMORY_META[key] for key in MODE_KEYS},
    }
    assert list(view) == [
        "id",
        "label",
        "figureSlugs",
        "apps",
        "createdAt",
        "updatedAt",
        "description",
        *MODE_KEYS,
    ]
