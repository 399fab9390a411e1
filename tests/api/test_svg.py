"""``/api/svg`` (api.md §9), in memory mode and against real Redis."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from starlette.testclient import TestClient

from mathvisuals import jsonfmt
from mathvisuals.sandbox.redis_server import free_port
from mathvisuals.store.base import SAdd, Set
from tests.api.conftest import api_client, async_api
from tests.api.test_examples import redis_client

LIMITATION = (
    "Denne instansen bruker midlertidig minnelagring. "
    "SVG-er tilbakestilles når serveren starter på nytt."
)
MODE_FIELDS = ["storage", "mode", "storageMode", "persistent", "ephemeral"]
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00"
PNG = "data:image/png;base64," + base64.b64encode(PNG_BYTES).decode()
ALLOW = "GET,POST,PUT,DELETE,OPTIONS"
OLD = "2020-01-01T00:00:00.000Z"


def mode_of(client: TestClient) -> str:
    return client.options("/api/svg").headers["x-svg-store-mode"]


def meta(mode: str) -> dict[str, object]:
    if mode == "kv":
        return {"storage": "kv", "mode": "kv", "storageMode": "kv", "persistent": True,
                "ephemeral": False}  # fmt: skip
    return {"storage": "memory", "mode": "memory", "storageMode": "memory", "persistent": False,
            "ephemeral": True, "limitation": LIMITATION}  # fmt: skip


def fields(mode: str) -> dict[str, object]:
    """The five mode fields entries carry (no ``limitation``)."""
    return {key: value for key, value in meta(mode).items() if key != "limitation"}


def post(client: TestClient, slug: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/api/svg", json={"slug": slug, "svg": "<svg/>", "png": PNG, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def seed(client: TestClient, key: str, value: object, member: str | None = None) -> None:
    """Write a record straight into the app's store (memory dict or Redis), bypassing the API."""
    app: Any = client.app
    text = value if isinstance(value, str) else jsonfmt.dumps_str(value)
    ops: list[Set | SAdd] = [Set(key, text)]
    if member is not None:
        ops.append(SAdd(key.split(":", 1)[0] + ":__slugs__", member))
    assert client.portal is not None
    client.portal.call(app.state.ctx.store.write, ops)


# Appendix A ----------------------------------------------------------------------------------


def test_appendix_post_without_png_is_400(client: TestClient) -> None:
    response = client.post("/api/svg", json={"slug": "A/B.svg", "svg": "<svg/>"})
    assert response.status_code == 400
    assert response.json() == {"error": "PNG data is required"}
    assert response.headers["x-svg-store-mode"] == mode_of(client)
    assert "x-svg-storage-result" not in response.headers
    assert client.get("/api/svg?slug=a/b").status_code == 404


def test_appendix_reserved_slug_is_400(client: TestClient) -> None:
    """FIX-H: upstream stored the entry at ``svg:__slugs__``, overwriting the index set."""
    response = client.post(
        "/api/svg", json={"slug": "__slugs__", "png": "data:image/png;base64,AA=="}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Slug is reserved"}
    assert client.get("/api/svg").json()["entries"] == []


def test_appendix_unreachable_redis_is_503(redis_env: dict[str, str]) -> None:
    env = {**redis_env, "REDIS_PORT": str(free_port())}
    with api_client(env) as (client, sink):
        requests = [
            ("GET", "/api/svg", None),
            ("GET", "/api/svg?slug=a", None),
            ("POST", "/api/svg", {"slug": "a", "png": PNG}),
            ("PUT", "/api/svg", {"slug": "a", "png": PNG}),
            ("PATCH", "/api/svg", {"slug": "a", "title": "t"}),
            ("DELETE", "/api/svg?slug=a", None),
        ]
        for method, url, body in requests:
            response = client.request(method, url, json=body)
            assert response.status_code == 503, (method, url)
            assert response.json() == {
                "error": "Unable to establish Redis connection",
                **meta("kv"),
            }
            assert response.headers["x-svg-store-mode"] == "kv"
            assert response.headers["x-svg-storage-result"] == "kv"
    errors = sink.events("redis.error")
    assert len(errors) == len(requests)
    assert {e["error_class"] for e in errors} == {"CONNECTION"}
    assert {e["route"] for e in errors} == {"/api/svg"}


# §9.1 slug normalisation, through the API -----------------------------------------------------

SLUG_TABLE = [
    ("Icons/Star.SVG", "icons/star.svg", "icons/star"),
    ("/Shapes//Circle.svg/", "shapes/circle.svg", "shapes/circle"),
    ("Star Shape", "star%20shape", "star%20shape"),
    ("a%2Fb", "a%2Fb", "a%2Fb"),
    ("ø/Å.png", "%C3%B8/%C3%A5.png", "%C3%B8/%C3%A5"),
    ("a.svg.png", "a.svg.png", "a.svg"),
    ("../x", "../x", "../x"),
]


@pytest.mark.parametrize(("given", "normalized", "entry_slug"), SLUG_TABLE)
def test_slug_table(client: TestClient, given: str, normalized: str, entry_slug: str) -> None:
    entry = post(client, given)
    assert entry["slug"] == entry_slug
    assert entry["svgSlug"] == entry_slug + ".svg"
    assert entry["pngSlug"] == entry_slug + ".png"
    fetched = client.get("/api/svg", params={"slug": given})
    assert fetched.status_code == 200 and fetched.json()["slug"] == entry_slug
    assert [e["slug"] for e in client.get("/api/svg").json()["entries"]] == [entry_slug]
    deleted = client.request("DELETE", "/api/svg", json={"slug": given})
    assert deleted.status_code == 200
    assert deleted.json() == {"ok": True, "slug": normalized}
    assert client.get("/api/svg", params={"slug": entry_slug}).status_code == 404


def test_slug_table_empty_entry_slug(client: TestClient) -> None:
    """``.svg`` normalises to ``.svg`` but its entry slug is empty, so it is invalid."""
    response = client.post("/api/svg", json={"slug": ".svg", "png": PNG})
    assert response.status_code == 400
    assert response.json() == {"error": "Unable to store SVG entry"}
    deleted = client.delete("/api/svg?slug=.svg")
    assert deleted.status_code == 404
    assert deleted.json() == {"error": "Not Found", **meta(mode_of(client))}
    assert deleted.headers["x-svg-storage-result"] == mode_of(client)


def test_slug_table_reserved_row(client: TestClient) -> None:
    response = client.post("/api/svg", json={"slug": "__slugs__.svg", "png": PNG})
    assert response.status_code == 400 and response.json() == {"error": "Slug is reserved"}


@pytest.mark.parametrize("name", ["__slugs__", "__categories__", "__paths__", "__trash__"])
@pytest.mark.parametrize(
    ("method", "where"),
    [("GET", "query"), ("POST", "body"), ("PUT", "body"), ("PATCH", "body"), ("PATCH", "query"),
     ("DELETE", "query"), ("DELETE", "body")],
)  # fmt: skip
def test_reserved_slugs_on_every_method(
    client: TestClient, name: str, method: str, where: str
) -> None:
    """FIX-H, after normalisation: upper case and an extension do not get around it."""
    slug = name.upper() + ".SVG"
    body: dict[str, object] = {"png": PNG, "title": "t"}
    params = {"slug": slug} if where == "query" else None
    if where == "body":
        body["slug"] = slug
    response = client.request(method, "/api/svg", params=params, json=body)
    assert response.status_code == 400
    assert response.json() == {"error": "Slug is reserved"}
    assert response.headers["x-svg-store-mode"] == mode_of(client)


# POST / PUT ----------------------------------------------------------------------------------


def test_post_builds_the_entry(client: TestClient) -> None:
    mode = mode_of(client)
    response = client.post(
        "/api/svg",
        json={
            "slug": "Icons/Star Shape.svg",
            "title": " Star ",
            "tool": "graftegner",
            "svg": "<svg>…</svg>",
            "png": {"dataUrl": PNG, "width": "10", "height": 20.4},
            "summary": "  sum ",
            "description": " ",
            "altText": " alt ",
            "exampleState": '{"a":1}',
            "toolId": "x",
            "categoryId": "c",
            "displayTitle": "dropped",
            "storage": "vercel-kv",
        },
    )
    assert response.status_code == 200
    assert response.headers["x-svg-store-mode"] == mode
    assert response.headers["x-svg-storage-result"] == mode
    entry = response.json()
    assert list(entry) == [
        "slug", "baseName", "title", "tool", "svg", "createdAt", "updatedAt", "filename",
        "svgFilename", "svgSlug", "files", "urls", "png", "pngFilename", "pngSlug", "pngWidth",
        "pngHeight", "summary", "altText", "altTextSource", "exampleState", *MODE_FIELDS,
    ]  # fmt: skip
    assert {key: entry[key] for key in MODE_FIELDS} == fields(mode)
    assert entry["slug"] == "icons/star%20shape"
    assert entry["baseName"] == "star-20shape"
    assert entry["title"] == "Star" and entry["tool"] == "graftegner"
    assert entry["filename"] == entry["svgFilename"] == "star-20shape.svg"
    assert entry["files"] == {
        "svg": {"slug": "icons/star%20shape.svg", "filename": "star-20shape.svg",
                "url": "/bildearkiv/icons/star%20shape.svg", "contentType": "image/svg+xml"},
        "png": {"slug": "icons/star%20shape.png", "filename": "star-20shape.png",
                "url": "/bildearkiv/icons/star%20shape.png", "contentType": "image/png",
                "width": 10, "height": 20},
    }  # fmt: skip
    assert entry["urls"] == {
        "svg": "/bildearkiv/icons/star%20shape.svg",
        "png": "/bildearkiv/icons/star%20shape.png",
    }
    assert entry["png"] == PNG and entry["pngWidth"] == 10 and entry["pngHeight"] == 20
    assert entry["summary"] == "sum" and entry["altText"] == "alt"
    assert entry["altTextSource"] == "manual" and entry["exampleState"] == {"a": 1}
    assert entry["createdAt"] == entry["updatedAt"] and entry["createdAt"].endswith("Z")


def test_post_inherits_from_the_stored_entry(client: TestClient) -> None:
    first = post(
        client,
        "inherit",
        title="T",
        tool="tool",
        createdAt="2024-01-01T00:00:00.000Z",
        altText="alt",
        exampleState={"s": 1},
        summary="only once",
        baseName="Fil navn",
        pngWidth=30,
        pngHeight="40",
    )
    assert first["baseName"] == "Fil-navn" and first["pngWidth"] == 30 and first["pngHeight"] == 40
    second = client.put("/api/svg", json={"slug": "inherit", "png": PNG}).json()
    for key in ("title", "tool", "svg", "createdAt", "altText", "altTextSource", "exampleState",
                "baseName", "pngWidth", "pngHeight"):  # fmt: skip
        assert second[key] == first[key], key
    assert "summary" not in second  # summary and description are not inherited
    assert second["createdAt"] == "2024-01-01T00:00:00.000Z"
    assert second["updatedAt"] >= first["updatedAt"]


def test_post_without_svg_markup_is_fine(client: TestClient) -> None:
    entry = client.post("/api/svg", json={"slug": "nosvg", "png": PNG}).json()
    assert entry["svg"] == "" and entry["baseName"] == "nosvg"


def test_png_validation(client: TestClient) -> None:
    good = client.post("/api/svg", json={"slug": "p", "png": "  DATA:IMAGE/PNG;BASE64,AA== "})
    assert good.status_code == 200 and good.json()["png"] == "DATA:IMAGE/PNG;BASE64,AA=="
    for png in ["data:image/jpeg;base64,AA==", "", None, {"dataUrl": 5}, ["x"], 3]:
        response = client.post("/api/svg", json={"slug": "p", "png": png})
        assert response.status_code == 400, png
        assert response.json() == {"error": "PNG data is required"}


def test_slug_required_and_body_slug_wins(client: TestClient) -> None:
    for body in ({"png": PNG}, {"slug": " / ", "png": PNG}, [1], "text"):
        response = client.post("/api/svg", json=body)
        assert response.status_code == 400 and response.json() == {"error": "Slug is required"}
    assert post(client, "body", svg="b")["slug"] == "body"
    from_query = client.put("/api/svg?slug=Query.png", json={"png": PNG})
    assert from_query.json()["slug"] == "query"
    both = client.post("/api/svg?slug=q2", json={"slug": "b2", "png": PNG})
    assert both.json()["slug"] == "b2"
    assert client.get("/api/svg?slug=q2").status_code == 404


def test_invalid_and_oversized_bodies(client: TestClient) -> None:
    bad = client.post("/api/svg", content=b"{bad")
    assert bad.status_code == 400 and bad.json() == {"error": "Invalid JSON body"}
    assert bad.headers["x-svg-store-mode"] == mode_of(client)
    huge = b'{"slug":"big","png":"' + PNG.encode() + b"A" * (5 * 1024 * 1024) + b'"}'
    too_large = client.post("/api/svg", content=huge)
    assert too_large.status_code == 413
    assert too_large.json() == {"error": "Request body too large"}
    assert client.get("/api/svg?slug=big").status_code == 404


# GET -----------------------------------------------------------------------------------------


def test_get_single_and_unknown(client: TestClient) -> None:
    mode = mode_of(client)
    stored = post(client, "icons/star")
    response = client.get("/api/svg?slug=Icons/Star.SVG")
    assert response.status_code == 200
    assert response.json() == stored
    assert response.headers["x-svg-storage-result"] == mode
    assert response.headers["content-type"] == "application/json"
    assert "cache-control" not in response.headers
    missing = client.get("/api/svg?slug=nope")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not Found", **meta(mode)}
    assert missing.headers["x-svg-storage-result"] == mode


def test_get_list_has_meta_and_excludes_library_entries(client: TestClient) -> None:
    mode = mode_of(client)
    post(client, "plain")
    post(client, "uploaded", tool=" bibliotek-upload ")
    post(client, "Custom-thing")
    base = post(client, "template")
    extras: list[tuple[str, dict[str, object]]] = [
        ("tool-id", {"toolId": "bibliotek-upload"}),
        ("with-category-id", {"categoryId": None}),
        ("with-category", {"category": {}}),
        ("with-apps", {"apps": []}),
        ("other-tool-id", {"toolId": "graftegner"}),
    ]
    for slug, extra in extras:
        seed(client, f"svg:{slug}", {**base, "slug": slug, **extra}, member=slug)
    response = client.get("/api/svg")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [*meta(mode), "entries"]
    assert {key: body[key] for key in meta(mode)} == meta(mode)
    slugs = sorted(entry["slug"] for entry in body["entries"])
    assert slugs == ["other-tool-id", "plain", "template"]
    assert all(
        {key: entry[key] for key in MODE_FIELDS} == fields(mode) and "limitation" not in entry
        for entry in body["entries"]
    )
    assert response.headers["x-svg-storage-result"] == mode


def test_list_drops_members_whose_key_is_gone(client: TestClient) -> None:
    post(client, "kept")
    app: Any = client.app
    assert client.portal is not None
    client.portal.call(app.state.ctx.store.write, [SAdd("svg:__slugs__", "gone")])
    assert [e["slug"] for e in client.get("/api/svg").json()["entries"]] == ["kept"]
    members = client.portal.call(app.state.ctx.store.smembers, "svg:__slugs__")
    assert members == {"kept"}


# PATCH ---------------------------------------------------------------------------------------


def test_patch_spec_example_and_fix_d(client: TestClient) -> None:
    """FIX-D: upstream's GET rebuilt the entry, dropping displayTitle/name and bumping updatedAt."""
    created = post(client, "icons/star", png={"dataUrl": PNG, "width": 10, "height": 20})
    response = client.patch(
        "/api/svg",
        json={"slug": "icons/star", "title": "Nytt navn", "displayTitle": "Nytt navn",
              "baseName": "Nytt navn 2024!.svg"},
    )  # fmt: skip
    assert response.status_code == 200
    patched = response.json()
    assert patched["baseName"] == "Nytt-navn-2024"
    assert patched["filename"] == patched["svgFilename"] == "Nytt-navn-2024.svg"
    assert patched["files"]["svg"]["filename"] == "Nytt-navn-2024.svg"
    assert patched["files"]["png"]["filename"] == patched["pngFilename"] == "Nytt-navn-2024.png"
    assert patched["title"] == patched["displayTitle"] == patched["name"] == "Nytt navn"
    assert patched["createdAt"] == created["createdAt"]
    assert patched["updatedAt"] >= created["updatedAt"]
    assert list(patched)[-5:] == MODE_FIELDS
    for _ in range(2):
        again = client.get("/api/svg?slug=icons/star").json()
        assert again == patched
    listed = client.get("/api/svg").json()["entries"]
    assert listed == [patched]


def test_patch_validation_in_order(client: TestClient) -> None:
    post(client, "v")
    cases: list[tuple[dict[str, object], str]] = [
        ({"title": 5, "displayTitle": 5}, "Title must be a string value."),
        ({"displayTitle": ["x"], "baseName": 1}, "displayTitle must be a string value."),
        ({"baseName": None}, "baseName must be a string value."),
        ({"baseName": " !!! .svg"}, "baseName må inneholde bokstaver eller tall."),
        ({}, "No updatable fields provided"),
        ({"svg": "<svg/>", "png": PNG}, "No updatable fields provided"),
    ]
    for body, error in cases:
        response = client.patch("/api/svg", json={"slug": "v", **body})
        assert response.status_code == 400, body
        assert response.json() == {"error": error}
    # Validation comes before the entry lookup.
    assert client.patch("/api/svg", json={"slug": "nope"}).json()["error"] == (
        "No updatable fields provided"
    )


def test_patch_slug_required_and_unknown_entry(client: TestClient) -> None:
    mode = mode_of(client)
    missing = client.patch("/api/svg", json={"title": "x"})
    assert missing.status_code == 400 and missing.json() == {"error": "Slug is required"}
    unknown = client.patch("/api/svg", json={"slug": "nope", "title": "x"})
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "Not Found", **meta(mode)}
    assert unknown.headers["x-svg-storage-result"] == mode
    via_query = client.patch("/api/svg?slug=nope", json={"title": "x"})
    assert via_query.status_code == 404
    assert client.get("/api/svg?slug=nope").status_code == 404  # PATCH does not upsert


def test_patch_alt_text_and_title_clearing(client: TestClient) -> None:
    post(client, "alt", title="Old")
    manual = client.patch("/api/svg", json={"slug": "alt", "altText": " Beskrivelse "}).json()
    assert manual["altText"] == "Beskrivelse" and manual["altTextSource"] == "manual"
    auto = client.patch("/api/svg", json={"slug": "alt", "altText": ""}).json()
    assert "altText" not in auto and auto["altTextSource"] == "auto"
    explicit = client.patch(
        "/api/svg", json={"slug": "alt", "altText": "x", "altTextSource": "auto"}
    )
    assert explicit.json()["altTextSource"] == "auto"
    cleared = client.patch("/api/svg", json={"slug": "alt", "title": None}).json()
    assert "title" not in cleared and cleared["name"] == "alt"  # baseName is the next fallback
    assert client.get("/api/svg?slug=alt").json() == cleared


def test_patch_without_changes_writes_nothing(client: TestClient) -> None:
    post(client, "same")
    first = client.patch("/api/svg", json={"slug": "same", "altText": "a"}).json()
    assert first["updatedAt"] != OLD
    seed(client, "svg:same", {**first, "updatedAt": OLD})
    second = client.patch("/api/svg", json={"slug": "same", "altText": " a "})
    assert second.status_code == 200
    assert second.json() == {**first, "updatedAt": OLD}
    assert client.get("/api/svg?slug=same").json()["updatedAt"] == OLD  # nothing written
    changed = client.patch("/api/svg", json={"slug": "same", "altText": "b"}).json()
    assert changed["updatedAt"] != OLD


def test_post_after_patch_rebuilds_without_display_title(client: TestClient) -> None:
    post(client, "rebuild", title="T")
    client.patch("/api/svg", json={"slug": "rebuild", "displayTitle": "Shown"})
    rebuilt = client.post("/api/svg", json={"slug": "rebuild", "png": PNG}).json()
    assert "displayTitle" not in rebuilt and "name" not in rebuilt
    assert rebuilt["title"] == "T"


# DELETE, OPTIONS, 405 ------------------------------------------------------------------------


def test_delete(client: TestClient) -> None:
    mode = mode_of(client)
    post(client, "icons/star shape")
    response = client.delete("/api/svg?slug=Icons/Star%20Shape.svg")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "slug": "icons/star%20shape.svg"}
    assert response.headers["x-svg-store-mode"] == mode
    assert response.headers["x-svg-storage-result"] == mode
    assert client.get("/api/svg?slug=icons/star%20shape").status_code == 404
    assert client.get("/api/svg").json()["entries"] == []
    again = client.delete("/api/svg?slug=icons/star%20shape")  # idempotent
    assert again.status_code == 200 and again.json() == {"ok": True, "slug": "icons/star%20shape"}


def test_delete_slug_from_body_and_required(client: TestClient) -> None:
    post(client, "from-body")
    response = client.request("DELETE", "/api/svg", json={"slug": "From-Body"})
    assert response.json() == {"ok": True, "slug": "from-body"}
    assert client.get("/api/svg?slug=from-body").status_code == 404
    for body in (None, {}, {"slug": 5}):
        missing = client.request("DELETE", "/api/svg", json=body)
        assert missing.status_code == 400 and missing.json() == {"error": "Slug is required"}
    # With a query slug the body is not read at all.
    ok = client.request("DELETE", "/api/svg?slug=x", content=b"{bad")
    assert ok.status_code == 200


def test_options(client: TestClient) -> None:
    response = client.options("/api/svg")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-headers"] == "Content-Type"
    assert response.headers["access-control-allow-methods"] == ALLOW
    assert response.headers["x-svg-store-mode"] in ("kv", "memory")


@pytest.mark.parametrize("method", ["HEAD", "TRACE", "COPY"])
def test_method_not_allowed(client: TestClient, method: str) -> None:
    response = client.request(method, "/api/svg")
    assert response.status_code == 405
    assert response.headers["allow"] == ALLOW
    assert response.headers["x-svg-store-mode"] == mode_of(client)
    if method != "HEAD":
        assert response.json() == {"error": "Method Not Allowed"}


# Redis key schema and upstream data ----------------------------------------------------------


def test_kv_key_schema(kv_client: TestClient, redis_env: dict[str, str]) -> None:
    direct = redis_client(redis_env)
    post(kv_client, "Icons/Star Shape", title="T", displayTitle="x", toolId="y")
    raw = direct.get("svg:icons/star%20shape")
    assert isinstance(raw, str)
    assert raw.startswith('{"slug":"icons/star%20shape","baseName":"star-20shape","title":"T",')
    record = jsonfmt.loads(raw)
    assert not set(record) & {*MODE_FIELDS, "limitation", "displayTitle", "name", "toolId"}
    assert direct.smembers("svg:__slugs__") == {"icons/star%20shape"}
    assert direct.type("svg:__slugs__") == "set"

    kv_client.patch("/api/svg", json={"slug": "icons/star shape", "displayTitle": "Vist"})
    patched = jsonfmt.loads(direct.get("svg:icons/star%20shape") or "")
    assert patched["displayTitle"] == "Vist" and patched["name"] == "Vist"
    assert {key: patched[key] for key in MODE_FIELDS} == fields("kv")
    assert "limitation" not in patched

    kv_client.delete("/api/svg?slug=icons/star%20shape")
    assert not direct.exists("svg:icons/star%20shape")
    assert not direct.exists("svg:__slugs__")
    direct.close()


def test_kv_serves_upstream_shaped_records(
    kv_client: TestClient, redis_env: dict[str, str]
) -> None:
    """Records written by upstream (double-encoded, stale mode fields, PATCH fields) are served
    as stored, with fresh mode fields at the end."""
    direct = redis_client(redis_env)
    upstream = {
        "slug": "old/fig", "baseName": "fig", "title": "Old", "tool": "graftegner",
        "svg": "<svg>old</svg>", "createdAt": "2023-01-01T00:00:00.000Z",
        "updatedAt": "2023-02-02T00:00:00.000Z", "storage": "vercel-kv", "mode": "vercel-kv",
        "storageMode": "vercel-kv", "persistent": True, "ephemeral": False,
        "displayTitle": "Vist tittel", "name": "Vist tittel", "limitation": None,
    }  # fmt: skip
    direct.set("svg:old/fig", jsonfmt.dumps_str(jsonfmt.dumps_str(upstream)))
    direct.sadd("svg:__slugs__", "old/fig", "dangling")
    got = kv_client.get("/api/svg?slug=Old/Fig.svg")
    assert got.status_code == 200
    expected = {k: v for k, v in upstream.items() if k not in (*MODE_FIELDS, "limitation")}
    assert got.json() == {**expected, **fields("kv")}
    assert list(got.json())[-5:] == MODE_FIELDS
    assert kv_client.get("/api/svg").json()["entries"] == [got.json()]
    assert direct.smembers("svg:__slugs__") == {"old/fig"}
    # A PATCH on it keeps everything else and normalises the mode fields in place.
    kv_client.patch("/api/svg", json={"slug": "old/fig", "altText": "a"})
    stored = jsonfmt.loads(direct.get("svg:old/fig") or "")
    assert stored["mode"] == "kv" and stored["svg"] == "<svg>old</svg>"
    assert stored["createdAt"] == "2023-01-01T00:00:00.000Z" and "limitation" not in stored
    direct.close()


@pytest.mark.parametrize("kv", [False, True])
def test_corrupt_value_is_500(request: pytest.FixtureRequest, kv: bool) -> None:
    env = request.getfixturevalue("redis_env") if kv else {}
    mode = "kv" if kv else "memory"
    with api_client(env) as (client, sink):
        seed(client, "svg:bad", "not json", member="bad")
        seed(client, "svg:list", "[1,2]")
        for url in ("/api/svg?slug=bad", "/api/svg?slug=list", "/api/svg"):
            response = client.get(url)
            assert response.status_code == 500, url
            assert response.json() == {"error": "Internal Server Error", **meta(mode)}
        patch = client.patch("/api/svg", json={"slug": "bad", "title": "x"})
        assert patch.status_code == 500
        assert client.post("/api/svg", json={"slug": "bad", "png": PNG}).status_code == 500
        # DELETE reads nothing, so a corrupt entry can still be removed.
        assert client.delete("/api/svg?slug=bad").status_code == 200
        assert client.get("/api/svg").json()["entries"] == []
    corrupt = sink.events("store.corrupt_value")
    assert [(e["key"], e["action"]) for e in corrupt] == [
        ("svg:bad", "error"), ("svg:list", "error"), ("svg:bad", "error"), ("svg:bad", "error"),
        ("svg:bad", "error"),
    ]  # fmt: skip
    assert not sink.events("http.unhandled_error")


@pytest.mark.anyio
async def test_concurrent_patches_of_one_entry_all_survive(redis_env: dict[str, str]) -> None:
    """FIX-E: PATCH is a watched read-modify-write, so disjoint changes never overwrite."""
    async with async_api(redis_env) as http:
        created = await http.post("/api/svg", json={"slug": "race", "png": PNG})
        assert created.status_code == 200
        responses = await asyncio.gather(
            http.patch("/api/svg", json={"slug": "race", "title": "Tittel"}),
            http.patch("/api/svg", json={"slug": "race", "altText": "Alt"}),
            http.patch("/api/svg", json={"slug": "race", "baseName": "nytt"}),
            http.patch("/api/svg", json={"slug": "race", "displayTitle": "Vist"}),
        )
        assert [r.status_code for r in responses] == [200] * 4
        entry = (await http.get("/api/svg?slug=race")).json()
    assert entry["title"] == "Tittel" and entry["altText"] == "Alt"
    assert entry["baseName"] == "nytt" and entry["displayTitle"] == "Vist"
