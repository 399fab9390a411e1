"""``/api/figure-library`` (api.md §11), in memory mode and against real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from mathvisuals import jsonfmt
from mathvisuals.sandbox.redis_server import free_port
from tests.api.conftest import api_client, async_api

URL = "/api/figure-library"
ALLOW = "GET,POST,PATCH,DELETE,OPTIONS"
SVG = '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0"/></svg>'
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
LIMITATION = (
    "Denne instansen bruker midlertidig minnelagring. "
    "Figurer tilbakestilles når serveren starter på nytt."
)
MEMORY_META = {
    "storage": "memory",
    "mode": "memory",
    "storageMode": "memory",
    "persistent": False,
    "ephemeral": True,
    "limitation": LIMITATION,
}
ASSET_KEYS = [
    "slug", "baseName", "title", "tool", "svg", "createdAt", "updatedAt", "filename",
    "svgFilename", "svgSlug", "files", "urls", "png", "pngFilename", "pngSlug", "pngWidth",
    "pngHeight", "summary", "description",
]  # fmt: skip
RESERVED_BODY = {"error": "Slug is reserved"}
TRI_SVG_URL = "/api/figure-library/raw?slug=shapes%2Ftri.svg"
TRI_PNG_URL = "/api/figure-library/raw?slug=shapes%2Ftri.png"


def meta_of(client: TestClient) -> dict[str, object]:
    body = client.get(URL).json()
    return {key: body[key] for key in [*MODE_KEYS, "limitation"] if key in body}


def entry_meta(meta: dict[str, object]) -> dict[str, object]:
    return {key: meta[key] for key in MODE_KEYS}


def post_figure(client: TestClient, slug: str, **fields: Any) -> dict[str, Any]:
    response = client.post(URL, json={"slug": slug, "svg": SVG, **fields})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def categories_of(client: TestClient) -> dict[str, dict[str, Any]]:
    return {category["id"]: category for category in client.get(URL).json()["categories"]}


def entry_of(client: TestClient, slug: str) -> dict[str, Any]:
    response = client.get(URL, params={"slug": slug})
    assert response.status_code == 200, response.text
    entry: dict[str, Any] = response.json()["entry"]
    return entry


def redis_client(env: dict[str, str]) -> redis.Redis:
    return redis.Redis(
        host="localhost",
        port=int(env["REDIS_PORT"]),
        password=env["REDIS_PASSWORD"],
        ssl=True,
        ssl_ca_certs=env["REDIS_TLS_CA_FILE"],
        decode_responses=True,
    )


def stored(direct: redis.Redis, key: str) -> Any:
    raw = direct.get(key)
    assert isinstance(raw, str), key
    return jsonfmt.loads(raw)


# --- conventions ---------------------------------------------------------------------------------


def test_options_is_204_with_cors_and_mode_header(client: TestClient) -> None:
    mode = meta_of(client)["mode"]
    response = client.options(URL)
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == ALLOW
    assert response.headers["access-control-allow-headers"] == "Content-Type"
    assert response.headers["x-figure-library-store-mode"] == mode
    assert "x-figure-library-storage-result" not in response.headers


@pytest.mark.parametrize("method", ["PUT", "HEAD"])
def test_other_methods_are_405_with_allow(client: TestClient, method: str) -> None:
    response = client.request(method, URL)
    assert response.status_code == 405
    assert response.headers["allow"] == ALLOW
    if method == "PUT":
        assert response.json() == {"error": "Method Not Allowed"}


def test_empty_library_has_meta_entries_categories_and_headers(client: TestClient) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    body = response.json()
    mode = body["mode"]
    meta = MEMORY_META if mode == "memory" else KV_META
    assert body == {**meta, "entries": [], "categories": []}
    assert list(body) == [*meta, "entries", "categories"]
    assert response.headers["x-figure-library-store-mode"] == mode
    assert response.headers["x-figure-library-storage-result"] == mode
    assert response.headers["content-type"] == "application/json"


def test_invalid_json_and_oversized_bodies(client: TestClient) -> None:
    response = client.post(URL, content=b"{bad")
    assert (response.status_code, response.json()) == (400, {"error": "Invalid JSON body"})
    too_big = b'{"slug":"x","svg":"' + b"a" * (5 * 1024 * 1024) + b'"}'
    response = client.post(URL, content=too_big)
    assert (response.status_code, response.json()) == (413, {"error": "Request body too large"})


def test_non_object_body_has_no_fields(client: TestClient) -> None:
    response = client.post(URL, json=["slug", "x"])
    assert (response.status_code, response.json()) == (400, {"error": "Slug is required"})


# --- category requests ---------------------------------------------------------------------------


def test_category_upsert_appendix_example(client: TestClient) -> None:
    meta = meta_of(client)
    response = client.post(
        URL, json={"categoryId": "Other Cat", "categoryLabel": "Other", "categoryApps": ["z"]}
    )
    assert response.status_code == 200
    body = response.json()
    category = body["category"]
    assert list(body) == [*meta, "category", "categories"]
    assert {key: body[key] for key in meta} == meta
    assert list(category) == [
        "id", "label", "figureSlugs", "apps", "createdAt", "updatedAt", *MODE_KEYS,
    ]  # fmt: skip
    assert category["createdAt"] == category["updatedAt"]
    assert {key: category[key] for key in ["id", "label", "figureSlugs", "apps"]} == {
        "id": "other-cat",
        "label": "Other",
        "figureSlugs": [],
        "apps": ["z"],
    }
    assert {key: category[key] for key in MODE_KEYS} == entry_meta(meta)
    assert body["categories"] == [category]
    assert response.headers["x-figure-library-storage-result"] == meta["mode"]


def test_category_upsert_keeps_links_and_created_at(client: TestClient) -> None:
    post_figure(client, "a", categoryId="Kat", categoryLabel="Kat", categoryApps=["v"])
    first = categories_of(client)["kat"]
    response = client.patch(URL, json={"category": {"id": "kat", "description": " Beskrivelse "}})
    category = response.json()["category"]
    assert category["figureSlugs"] == ["a"] and category["createdAt"] == first["createdAt"]
    assert category["apps"] == ["v"] and category["label"] == "Kat"
    assert category["description"] == "Beskrivelse"
    assert list(category)[6] == "description"
    renamed = client.post(URL, json={"categoryName": "Kat", "categoryApps": []}).json()["category"]
    assert (renamed["id"], renamed["apps"], renamed["figureSlugs"]) == ("kat", [], ["a"])
    assert renamed["description"] == "Beskrivelse"


@pytest.mark.parametrize(
    ("method", "body", "error"),
    [
        ("PATCH", {"categoryApps": ["q"]}, "categoryId or category label is required"),
        ("POST", {"category": {}}, "categoryId or category label is required"),
        ("POST", {"categoryLabel": "!!!"}, "Unable to update category"),
        ("PATCH", {"categoryId": "???"}, "Unable to update category"),
    ],
)
def test_category_request_errors_carry_meta(
    client: TestClient, method: str, body: dict[str, Any], error: str
) -> None:
    meta = meta_of(client)
    response = client.request(method, URL, json=body)
    assert response.status_code == 400
    assert response.json() == {"error": error, **meta}
    assert list(response.json()) == ["error", *meta]
    assert response.headers["x-figure-library-storage-result"] == meta["mode"]
    assert client.get(URL).json()["categories"] == []


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_no_slug_and_no_category_fields_is_slug_required(client: TestClient, method: str) -> None:
    response = client.request(method, URL, json={"svg": SVG, "apps": ["x"], "categoryId": " "})
    assert (response.status_code, response.json()) == (400, {"error": "Slug is required"})
    assert "x-figure-library-storage-result" not in response.headers
    assert response.headers["x-figure-library-store-mode"] in ("kv", "memory")


# --- figure validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"slug": "a"}, "SVG markup is required"),
        ({"slug": "a", "svg": "   "}, "SVG markup is required"),
        ({"slug": "a", "svg": SVG, "png": "data:image/jpeg;base64,AA"}, None),
        ({"slug": ".svg", "svg": SVG}, "Unable to store figure entry"),
        ({"slug": ".svg"}, "SVG markup is required"),
    ],
)
def test_figure_post_validation(
    client: TestClient, body: dict[str, Any], error: str | None
) -> None:
    response = client.post(URL, json=body)
    expected = error or "PNG data must be a base64-encoded data URL"
    assert (response.status_code, response.json()) == (400, {"error": expected})
    assert client.get(URL).json()["entries"] == []


def test_query_slug_is_used_when_the_body_has_none(client: TestClient) -> None:
    entry = client.post(URL + "?slug=Shapes/Tri.svg", json={"svg": SVG}).json()["entry"]
    assert entry["slug"] == "shapes/tri"
    body_wins = client.post(URL + "?slug=other", json={"slug": "shapes/tri", "svg": SVG})
    assert body_wins.json()["entry"]["slug"] == "shapes/tri"
    assert [e["slug"] for e in client.get(URL).json()["entries"]] == ["shapes/tri"]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", URL, {"slug": "__slugs__", "svg": SVG}),
        ("POST", URL, {"slug": "__categories__.svg", "svg": SVG}),
        ("POST", URL + "?slug=__paths__", {"svg": SVG}),
        ("POST", URL, {"slug": "a", "svg": SVG, "categoryId": "__categories__"}),
        ("POST", URL, {"slug": "a", "svg": SVG, "category": {"label": "__trash__"}}),
        ("POST", URL, {"categoryId": "__slugs__", "categoryLabel": "x"}),
        ("PATCH", URL, {"categoryLabel": "__trash__"}),
        ("PATCH", URL, {"slug": "__trash__", "title": "x"}),
        ("GET", URL + "?slug=__slugs__", None),
        ("DELETE", URL + "?slug=__slugs__.png", None),
        ("DELETE", URL + "?categoryId=__categories__", None),
        ("DELETE", URL, {"category": {"id": "__paths__"}}),
    ],
)
def test_reserved_names_are_400(
    client: TestClient, method: str, url: str, body: dict[str, Any] | None
) -> None:
    response = client.request(method, url, json=body)
    assert (response.status_code, response.json()) == (400, RESERVED_BODY)
    listing = client.get(URL).json()
    assert (listing["entries"], listing["categories"]) == ([], [])


# --- POST and GET --------------------------------------------------------------------------------


def test_post_answers_the_figure_entry(client: TestClient) -> None:
    meta = meta_of(client)
    body = post_figure(
        client,
        "Shapes/Tri.svg",
        png={"dataUrl": PNG, "width": 10.4, "height": "20"},
        title=" Trekant ",
        tool="graftegner",
        summary=" Kort ",
        description="Lang",
        tags=["bibliotek", "bibliotek", " viewer ", 5],
        displayTitle="dropped",
        toolId="dropped",
    )
    assert list(body) == [*meta, "entry", "categories"]
    entry = body["entry"]
    assert list(entry) == [*ASSET_KEYS, *MODE_KEYS, "categoryId", "tags"]
    assert {key: entry[key] for key in MODE_KEYS} == entry_meta(meta)
    assert (entry["slug"], entry["baseName"], entry["title"]) == ("shapes/tri", "tri", "Trekant")
    assert (entry["summary"], entry["description"]) == ("Kort", "Lang")
    assert entry["files"] == {
        "svg": {
            "slug": "shapes/tri.svg",
            "filename": "tri.svg",
            "url": TRI_SVG_URL,
            "contentType": "image/svg+xml",
        },
        "png": {
            "slug": "shapes/tri.png",
            "filename": "tri.png",
            "url": TRI_PNG_URL,
            "contentType": "image/png",
            "width": 10,
            "height": 20,
        },
    }
    assert entry["urls"] == {"svg": TRI_SVG_URL, "png": TRI_PNG_URL}
    assert (entry["png"], entry["pngWidth"], entry["pngHeight"]) == (PNG, 10, 20)
    assert entry["categoryId"] is None and "category" not in entry
    assert entry["tags"] == ["bibliotek", "viewer"]
    assert entry_of(client, "shapes/tri.png") == entry
    listing = client.get(URL).json()
    assert listing["entries"] == [entry]


def test_percent_in_slug_is_form_encoded_in_urls(client: TestClient) -> None:
    entry = post_figure(client, "Star Shape.svg")["entry"]
    assert entry["slug"] == "star%20shape"
    assert entry["urls"]["svg"] == "/api/figure-library/raw?slug=star%2520shape.svg"


def test_get_unknown_slug_is_404_with_meta(client: TestClient) -> None:
    meta = meta_of(client)
    for slug in ("nope", ".svg"):
        response = client.get(URL, params={"slug": slug})
        assert (response.status_code, response.json()) == (404, {"error": "Not Found", **meta})
        assert response.headers["x-figure-library-storage-result"] == meta["mode"]


def test_repost_inherits_title_tool_created_at_but_not_summary_or_png(client: TestClient) -> None:
    first = post_figure(
        client, "a", png=PNG, title="T", tool="tool", summary="S", altText="Alt", exampleState="{}"
    )["entry"]
    second = post_figure(client, "a", svg="<svg>2</svg>")["entry"]
    assert (second["title"], second["tool"], second["altText"]) == ("T", "tool", "Alt")
    assert second["createdAt"] == first["createdAt"]
    assert second["exampleState"] == {}
    assert second["svg"] == "<svg>2</svg>"
    assert "summary" not in second
    assert "png" not in second and "png" not in second["files"]


def test_summary_view_projects_entries(client: TestClient) -> None:
    post_figure(client, "shapes/tri", png={"dataUrl": PNG, "width": 3, "height": 4}, categoryId="c")
    full = client.get(URL).json()
    body = client.get(URL, params={"view": " SUMMARY "}).json()
    (entry,) = body["entries"]
    assert "svg" not in entry and "png" not in entry
    assert entry["files"] == {
        "svg": {
            "url": TRI_SVG_URL,
            "slug": "shapes/tri.svg",
            "filename": "tri.svg",
            "contentType": "image/svg+xml",
        },
        "png": {
            "url": TRI_PNG_URL,
            "width": 3,
            "height": 4,
            "slug": "shapes/tri.png",
            "filename": "tri.png",
            "contentType": "image/png",
        },
    }
    assert entry["urls"] == full["entries"][0]["urls"] and entry["pngWidth"] == 3
    assert entry["category"] == {"id": "c", "label": "c", "apps": []}
    assert body["categories"] == full["categories"]
    # Only without a slug.
    assert (
        "svg" in client.get(URL, params={"slug": "shapes/tri", "view": "summary"}).json()["entry"]
    )


# --- category links ------------------------------------------------------------------------------


def test_post_creates_and_links_a_category(client: TestClient) -> None:
    body = post_figure(
        client,
        "fig/one",
        categoryId="KV-kategori",
        categoryLabel="KV-kategori",
        categoryApps=["viewer", "viewer"],
        description="Figure text",
    )
    entry = body["entry"]
    assert entry["categoryId"] == "kv-kategori"
    assert entry["category"] == {"id": "kv-kategori", "label": "KV-kategori", "apps": ["viewer"]}
    assert list(entry)[-3:] == ["categoryId", "tags", "category"]
    (category,) = body["categories"]
    assert category["figureSlugs"] == ["fig/one"]
    assert "description" not in category  # a figure's description stays on the figure
    post_figure(client, "fig/zero", categoryId="kv-kategori")
    assert categories_of(client)["kv-kategori"]["figureSlugs"] == ["fig/one", "fig/zero"]
    assert categories_of(client)["kv-kategori"]["label"] == "KV-kategori"


def test_label_only_links_a_derived_category(client: TestClient) -> None:
    entry = post_figure(client, "a", categoryId=None, categoryLabel="Ny kategori")["entry"]
    assert entry["categoryId"] == "ny-kategori"
    assert entry["category"]["label"] == "Ny kategori"
    entry = post_figure(client, "b", category={"id": "Måling", "label": "Måling"})["entry"]
    assert entry["category"] == {"id": "m-ling", "label": "Måling", "apps": []}


def test_moving_a_figure_updates_both_categories(client: TestClient) -> None:
    post_figure(client, "a", categoryId="first")
    post_figure(client, "b", categoryId="first")
    response = client.patch(URL, json={"slug": "a", "categoryId": "second"})
    assert response.status_code == 200
    body = response.json()
    assert body["entry"]["categoryId"] == "second"
    slugs = {c["id"]: c["figureSlugs"] for c in body["categories"]}
    assert slugs == {"first": ["b"], "second": ["a"]}
    post_figure(client, "b", categoryId="second")
    assert categories_of(client)["first"]["figureSlugs"] == []
    assert categories_of(client)["second"]["figureSlugs"] == ["a", "b"]


@pytest.mark.parametrize(
    "unlink", [{"categoryId": None}, {"categoryId": ""}, {"category": {}}, {"categoryLabel": ""}]
)
def test_explicit_clear_unlinks(client: TestClient, unlink: dict[str, Any]) -> None:
    post_figure(client, "a", categoryId="cat")
    entry = client.patch(URL, json={"slug": "a", **unlink}).json()["entry"]
    assert entry["categoryId"] is None and "category" not in entry
    assert categories_of(client)["cat"]["figureSlugs"] == []


def test_no_category_fields_keep_the_link(client: TestClient) -> None:
    post_figure(client, "a", categoryId="cat", categoryLabel="Cat")
    before = categories_of(client)["cat"]
    assert post_figure(client, "a", title="again")["entry"]["categoryId"] == "cat"
    patched = client.patch(URL, json={"slug": "a", "title": "x"}).json()["entry"]
    assert patched["category"] == {"id": "cat", "label": "Cat", "apps": []}
    assert categories_of(client)["cat"] == before  # nothing to change, nothing written


def test_apps_alone_update_the_current_category(client: TestClient) -> None:
    post_figure(client, "a", categoryId="cat")
    entry = client.patch(URL, json={"slug": "a", "apps": [" x ", "y", "x"]}).json()["entry"]
    assert entry["category"]["apps"] == ["x", "y"]
    assert categories_of(client)["cat"]["apps"] == ["x", "y"]
    # Without a current link there is no category to update.
    assert post_figure(client, "b", apps=["z"])["entry"]["categoryId"] is None


def test_tags_replaced_when_present_else_kept(client: TestClient) -> None:
    post_figure(client, "a", tags=["one", " two "])
    assert post_figure(client, "a")["entry"]["tags"] == ["one", "two"]
    assert client.patch(URL, json={"slug": "a", "title": "t"}).json()["entry"]["tags"] == [
        "one",
        "two",
    ]
    assert client.patch(URL, json={"slug": "a", "tags": ["three"]}).json()["entry"]["tags"] == [
        "three"
    ]
    assert client.patch(URL, json={"slug": "a", "tags": None}).json()["entry"]["tags"] == []


# --- PATCH (FIX-D) -------------------------------------------------------------------------------


def test_patch_unknown_slug_is_404(client: TestClient) -> None:
    meta = meta_of(client)
    response = client.patch(URL, json={"slug": "nope", "title": "x"})
    assert (response.status_code, response.json()) == (404, {"error": "Not Found", **meta})
    assert client.get(URL).json()["entries"] == []  # upstream created an empty entry


def test_patch_merges_with_the_stored_figure(client: TestClient) -> None:
    original = post_figure(
        client,
        "shapes/tri",
        png={"dataUrl": PNG, "width": 30, "height": 40},
        title="Tri",
        summary="Summary",
        description="Description",
        altText="Alt",
        tags=["t"],
    )["entry"]
    response = client.patch(URL, json={"slug": "shapes/tri", "title": "Ny", "svg": "  "})
    assert response.status_code == 200
    patched = response.json()["entry"]
    assert patched["title"] == "Ny"
    for key in ("svg", "png", "summary", "description", "altText", "createdAt", "files", "tags"):
        assert patched[key] == original[key], key
    assert patched["updatedAt"] >= original["updatedAt"]
    assert list(patched) == list(original)
    assert entry_of(client, "shapes/tri") == patched


def test_patch_replaces_present_fields(client: TestClient) -> None:
    post_figure(client, "a", png=PNG, summary="S", description="D", pngWidth=5, pngHeight=6)
    patched = client.patch(
        URL,
        json={
            "slug": "a",
            "svg": "<svg>new</svg>",
            "summary": " New ",
            "description": "",
            "baseName": "Nytt navn!.svg",
            "pngWidth": "wide",
        },
    ).json()["entry"]
    assert patched["svg"] == "<svg>new</svg>" and patched["summary"] == "New"
    assert "description" not in patched
    assert patched["filename"] == "Nytt-navn.svg" and patched["pngFilename"] == "Nytt-navn.png"
    assert "pngWidth" not in patched and patched["pngHeight"] == 6
    assert patched["png"] == PNG


@pytest.mark.parametrize("empty", [None, ""])
def test_patch_removes_the_png_only_on_explicit_empty(client: TestClient, empty: object) -> None:
    post_figure(client, "a", png={"dataUrl": PNG, "width": 1, "height": 2})
    kept = client.patch(URL, json={"slug": "a", "title": "t"}).json()["entry"]
    assert kept["png"] == PNG and kept["files"]["png"]["width"] == 1
    replaced = client.patch(URL, json={"slug": "a", "png": PNG2}).json()["entry"]
    assert replaced["png"] == PNG2 and replaced["pngHeight"] == 2
    removed = client.patch(URL, json={"slug": "a", "png": empty}).json()["entry"]
    assert not {"png", "pngFilename", "pngSlug", "pngWidth", "pngHeight"} & set(removed)
    assert "png" not in removed["files"] and "png" not in removed["urls"]
    assert removed["svg"] == SVG


def test_patch_bad_png_is_400_and_changes_nothing(client: TestClient) -> None:
    before = post_figure(client, "a", png=PNG)["entry"]
    response = client.patch(URL, json={"slug": "a", "png": "data:text/plain,x"})
    assert (response.status_code, response.json()) == (
        400,
        {"error": "PNG data must be a base64-encoded data URL"},
    )
    assert entry_of(client, "a") == before


# --- DELETE --------------------------------------------------------------------------------------


def test_delete_figure_unlinks_it(client: TestClient) -> None:
    meta = meta_of(client)
    post_figure(client, "shapes/tri", categoryId="cat")
    post_figure(client, "other", categoryId="cat")
    response = client.delete(URL, params={"slug": "Shapes/Tri.svg"})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [*meta, "deleted", "categories"]
    assert body["deleted"] == {"slug": "shapes/tri"}
    assert body["categories"][0]["figureSlugs"] == ["other"]
    assert client.get(URL, params={"slug": "shapes/tri"}).status_code == 404
    again = client.delete(URL, params={"slug": "shapes/tri"})
    assert (again.status_code, again.json()) == (404, {"error": "Not Found", **meta})


def test_delete_reads_the_slug_from_the_body(client: TestClient) -> None:
    post_figure(client, "a")
    response = client.request("DELETE", URL, json={"slug": "A.png"})
    assert response.json()["deleted"] == {"slug": "a"}
    assert client.get(URL).json()["entries"] == []


def test_delete_with_a_body_reads_it(client: TestClient) -> None:
    post_figure(client, "a")
    response = client.request("DELETE", URL + "?slug=a", content=b"{bad")
    assert (response.status_code, response.json()) == (400, {"error": "Invalid JSON body"})
    assert client.delete(URL + "?slug=a&categoryId=x").json()["deleted"] == {"slug": "a"}


def test_delete_without_target_is_400(client: TestClient) -> None:
    response = client.request("DELETE", URL, json={})
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Slug or categoryId is required"},
    )


def test_delete_category_409_then_200_after_the_figure_moved(client: TestClient) -> None:
    meta = meta_of(client)
    post_figure(client, "a", categoryId="full", categoryLabel="Full")
    conflict = client.delete(URL, params={"categoryId": " Full "})
    assert conflict.status_code == 409
    body = conflict.json()
    assert list(body) == [*meta, "error", "category", "categories"]
    assert body["error"] == "Category contains figures"
    assert body["category"] == {"id": "full", "figureCount": 1}
    assert [c["id"] for c in body["categories"]] == ["full"]
    assert conflict.headers["x-figure-library-storage-result"] == meta["mode"]

    client.patch(URL, json={"slug": "a", "categoryId": "elsewhere"})
    deleted = client.request("DELETE", URL, json={"category": {"id": "full"}})
    assert deleted.status_code == 200
    assert deleted.json()["deleted"] == {"categoryId": "full"}
    assert [c["id"] for c in deleted.json()["categories"]] == ["elsewhere"]
    assert entry_of(client, "a")["categoryId"] == "elsewhere"
    gone = client.delete(URL, params={"categoryId": "full"})
    assert (gone.status_code, gone.json()) == (404, {"error": "Not Found", **meta})


def test_delete_unknown_or_underivable_category_is_404(client: TestClient) -> None:
    for category_id in ("nope", "!!!"):
        response = client.delete(URL, params={"categoryId": category_id})
        assert response.status_code == 404 and response.json()["error"] == "Not Found"


# --- kv: stored shapes and upstream data ---------------------------------------------------------


def test_kv_writes_the_upstream_key_schema(
    kv_client: TestClient, redis_env: dict[str, str]
) -> None:
    post_figure(
        kv_client,
        "Shapes/Tri.svg",
        png={"dataUrl": PNG, "width": 3, "height": 4},
        summary="S",
        description="D",
        tags=["t"],
        categoryId="Kat",
        categoryLabel="Kåt",
    )
    direct = redis_client(redis_env)
    asset_raw = direct.get("figureAsset:shapes/tri")
    figure_raw = direct.get("figure:shapes/tri")
    category_raw = direct.get("figure:category:kat")
    assert isinstance(asset_raw, str) and isinstance(figure_raw, str)
    assert isinstance(category_raw, str)
    asset, figure, category = (jsonfmt.loads(raw) for raw in (asset_raw, figure_raw, category_raw))
    assert list(asset) == ASSET_KEYS
    assert list(figure) == [*ASSET_KEYS, *MODE_KEYS, "categoryId", "tags"]
    assert {key: figure[key] for key in ASSET_KEYS} == asset
    assert {key: figure[key] for key in MODE_KEYS} == KV_META
    assert (figure["categoryId"], figure["tags"]) == ("kat", ["t"])
    assert list(category) == [
        "id", "label", "figureSlugs", "apps", "createdAt", "updatedAt", *MODE_KEYS,
    ]  # fmt: skip
    assert {key: category[key] for key in MODE_KEYS} == KV_META
    assert (category["label"], category["figureSlugs"]) == ("Kåt", ["shapes/tri"])
    # Compact JSON, non-ASCII kept, as upstream writes it.
    assert category_raw.startswith('{"id":"kat","label":"Kåt","figureSlugs":["shapes/tri"]')
    assert '"pngWidth":3,"pngHeight":4' in figure_raw
    assert direct.smembers("figure:__slugs__") == {"shapes/tri"}
    assert direct.smembers("figureAsset:__slugs__") == {"shapes/tri"}
    assert direct.smembers("figure:__categories__") == {"kat"}
    assert direct.type("figure:__slugs__") == "set"

    kv_client.delete(URL, params={"slug": "shapes/tri"})
    assert not direct.exists("figure:shapes/tri", "figureAsset:shapes/tri")
    assert direct.smembers("figure:__slugs__") == set()
    assert direct.smembers("figureAsset:__slugs__") == set()
    assert stored(direct, "figure:category:kat")["figureSlugs"] == []
    kv_client.delete(URL, params={"categoryId": "kat"})
    assert not direct.exists("figure:category:kat")
    assert direct.smembers("figure:__categories__") == set()
    direct.close()


def upstream_figure(slug: str, **extra: Any) -> dict[str, Any]:
    url = "/api/figure-library/raw?slug=" + slug.replace("/", "%2F")
    return {
        "slug": slug,
        "baseName": "up",
        "title": "Upstream",
        "tool": "graftegner",
        "svg": "<svg>up</svg>",
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-02T00:00:00.000Z",
        "filename": "up.svg",
        "svgFilename": "up.svg",
        "svgSlug": f"{slug}.svg",
        "files": {"svg": {"slug": f"{slug}.svg", "filename": "up.svg", "url": f"{url}.svg",
                          "contentType": "image/svg+xml"}},
        "urls": {"svg": f"{url}.svg"},
        "summary": "Upstream summary",
        "description": "Upstream description",
        **extra,
    }  # fmt: skip


def test_kv_serves_records_written_by_upstream(
    kv_client: TestClient, redis_env: dict[str, str]
) -> None:
    direct = redis_client(redis_env)
    asset = upstream_figure("up/fig")
    record = {
        **asset,
        "storage": "vercel-kv",
        "mode": "vercel-kv",
        "storageMode": "vercel-kv",
        "persistent": True,
        "ephemeral": False,
        "categoryId": "KV-kategori",
        "tags": ["a", " a ", 3],
        "category": {"id": "stale", "label": "Stale"},
    }
    category = {
        "id": "kv-kategori",
        "label": "KV-kategori",
        "figureSlugs": ["up/fig", "b", "b", " "],
        "apps": ["viewer", None],
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-01T00:00:00.000Z",
    }
    # Double-encoded values, as some upstream writers left them.
    direct.set("figure:up/fig", jsonfmt.dumps_str(jsonfmt.dumps_str(record)))
    direct.set("figureAsset:up/fig", jsonfmt.dumps_str(asset))
    direct.set("figure:category:kv-kategori", jsonfmt.dumps_str(category))
    direct.sadd("figure:__slugs__", "up/fig", "gone")
    direct.sadd("figure:__categories__", "kv-kategori", "gone-cat")

    body = kv_client.get(URL).json()
    (entry,) = body["entries"]
    assert {key: entry[key] for key in MODE_KEYS} == KV_META
    assert (entry["categoryId"], entry["tags"]) == ("kv-kategori", ["a"])
    assert entry["category"] == {"id": "kv-kategori", "label": "KV-kategori", "apps": ["viewer"]}
    assert {key: entry[key] for key in asset} == asset
    (listed,) = body["categories"]
    assert listed["figureSlugs"] == ["b", "up/fig"]
    assert {key: listed[key] for key in MODE_KEYS} == KV_META
    assert entry_of(kv_client, "up/fig") == entry
    # Dangling index members are removed.
    assert direct.smembers("figure:__slugs__") == {"up/fig"}
    assert direct.smembers("figure:__categories__") == {"kv-kategori"}

    # PATCH merges with the upstream record (FIX-D) and rewrites it in our shape.
    patched = kv_client.patch(URL, json={"slug": "up/fig", "title": "Ny"}).json()["entry"]
    assert patched["title"] == "Ny" and patched["svg"] == "<svg>up</svg>"
    assert (patched["summary"], patched["description"]) == (
        "Upstream summary",
        "Upstream description",
    )
    rewritten = stored(direct, "figure:up/fig")
    assert {key: rewritten[key] for key in MODE_KEYS} == KV_META
    assert (rewritten["categoryId"], rewritten["tags"]) == ("kv-kategori", ["a"])
    assert "category" not in rewritten
    direct.close()


def test_kv_category_delete_nulls_figures_still_pointing_at_it(
    kv_client: TestClient, redis_env: dict[str, str]
) -> None:
    direct = redis_client(redis_env)
    category = {"id": "old", "label": "Old", "figureSlugs": [" "], "apps": []}
    direct.set("figure:category:old", jsonfmt.dumps_str(category))
    direct.sadd("figure:__categories__", "old")
    record = {**upstream_figure("p"), "categoryId": "old", "tags": [], "category": {"id": "old"}}
    direct.set("figure:p", jsonfmt.dumps_str(record))
    other = {**upstream_figure("q"), "categoryId": "keep", "tags": []}
    direct.set("figure:q", jsonfmt.dumps_str(other))
    direct.sadd("figure:__slugs__", "p", "q")

    response = kv_client.delete(URL, params={"categoryId": "old"})
    assert response.status_code == 200 and response.json()["deleted"] == {"categoryId": "old"}
    detached = stored(direct, "figure:p")
    assert detached["categoryId"] is None and "category" not in detached
    assert {key: detached[key] for key in MODE_KEYS} == KV_META
    assert list(detached) == [*upstream_figure("p"), "categoryId", "tags", *MODE_KEYS]
    assert stored(direct, "figure:q") == other
    assert not direct.exists("figure:category:old")
    direct.close()


@pytest.mark.parametrize("key", ["figure:bad", "figure:category:c"])
def test_kv_corrupt_value_is_500_and_logged(redis_env: dict[str, str], key: str) -> None:
    direct = redis_client(redis_env)
    direct.set(key, "[1,2]" if key == "figure:bad" else "not json")
    direct.sadd("figure:__slugs__", "bad")
    direct.sadd("figure:__categories__", "c")
    direct.close()
    with api_client(redis_env) as (client, sink):
        if key == "figure:bad":
            responses = [client.get(URL), client.get(URL, params={"slug": "bad"})]
            responses.append(client.patch(URL, json={"slug": "bad", "title": "x"}))
        else:
            responses = [client.post(URL, json={"slug": "a", "svg": SVG, "categoryId": "c"})]
            # Only the `categories` field is affected: it falls back to [].
            listing = client.get(URL)
            assert listing.status_code == 200 and listing.json()["categories"] == []
    for response in responses:
        assert response.status_code == 500
        assert response.json() == {"error": "Internal Server Error", **KV_META}
    lines = sink.events("store.corrupt_value")
    assert lines and all((line["key"], line["action"]) == (key, "error") for line in lines)
    assert lines[0]["level"] == "error"
    assert not sink.events("http.unhandled_error")


@pytest.mark.anyio
async def test_kv_concurrent_posts_into_one_category_all_link(redis_env: dict[str, str]) -> None:
    """FIX-E: upstream's unlocked read-modify-write of figureSlugs lost links."""
    async with async_api(redis_env) as http:
        responses = await asyncio.gather(
            *(
                http.post(URL, json={"slug": f"fig-{n}", "svg": SVG, "categoryId": "shared"})
                for n in range(20)
            )
        )
        assert [r.status_code for r in responses] == [200] * 20
        body = (await http.get(URL)).json()
    (category,) = body["categories"]
    assert category["figureSlugs"] == sorted(f"fig-{n}" for n in range(20))
    assert sorted(e["slug"] for e in body["entries"]) == category["figureSlugs"]


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
def test_unreachable_redis_is_503(redis_env: dict[str, str], method: str) -> None:
    env = {**redis_env, "REDIS_PORT": str(free_port())}
    with api_client(env) as (client, sink):
        response = client.request(method, URL + "?slug=a", json={"svg": SVG})
    assert response.status_code == 503
    assert response.json() == {"error": "Unable to establish Redis connection", **KV_META}
    assert response.headers["x-figure-library-store-mode"] == "kv"
    assert response.headers["x-figure-library-storage-result"] == "kv"
    (line,) = sink.events("redis.error")
    assert (line["error_class"], line["operation"], line["route"]) == ("CONNECTION", "connect", URL)
