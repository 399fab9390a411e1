"""``/api/svg/raw`` and ``/api/figure-library/raw`` (api.md §10, §12), both storage modes."""

from __future__ import annotations

import base64
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from mathvisuals import jsonfmt
from mathvisuals.sandbox.redis_server import free_port
from tests.api.conftest import api_client
from tests.api.test_examples import redis_client
from tests.api.test_svg import PNG, PNG_BYTES, mode_of, post, seed

SHORT = "public, max-age=5, s-maxage=5, stale-while-revalidate=30"
LONG = "public, max-age=60, s-maxage=86400, stale-while-revalidate=43200"
SVG_TYPE = "image/svg+xml; charset=utf-8"
FORBIDDEN = ("access-control-allow-origin", "access-control-allow-methods", "vary",
             "x-svg-storage-result", "x-figure-library-storage-result")  # fmt: skip

STAR = "<svg>★</svg>"


def star(client: TestClient) -> None:
    post(client, "icons/star shape", svg=STAR, png=PNG)


def assert_not_found(response: httpx2.Response) -> None:
    assert response.status_code == 404
    assert response.content == b"Not Found"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == SHORT
    assert "x-svg-store-mode" not in response.headers
    assert "x-figure-library-store-mode" not in response.headers
    assert not set(FORBIDDEN) & set(response.headers)


def cache_for(client: TestClient) -> str:
    return LONG if mode_of(client) == "kv" else SHORT


def same(a: httpx2.Response, b: httpx2.Response) -> None:
    assert a.status_code == b.status_code
    assert a.content == b.content
    assert dict(a.headers) == dict(b.headers)


# Appendix A and the §10 examples -------------------------------------------------------------


def test_appendix_svg_by_path_in_kv(kv_client: TestClient) -> None:
    star(kv_client)
    response = kv_client.get("/api/svg/raw?path=/icons/star%20shape.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == SVG_TYPE
    assert response.headers["cache-control"] == LONG
    assert response.headers["x-svg-slug"] == "icons/star%20shape"
    assert response.headers["x-svg-asset-format"] == "svg"
    assert response.headers["x-svg-store-mode"] == "kv"
    assert response.content == STAR.encode()
    assert not set(FORBIDDEN) & set(response.headers)


def test_png_by_slug_and_format(client: TestClient) -> None:
    star(client)
    response = client.get("/api/svg/raw?slug=icons/star%20shape&format=png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-length"] == "9"
    assert response.headers["x-svg-slug"] == "icons/star%20shape"
    assert response.headers["x-svg-asset-format"] == "png"
    assert response.headers["cache-control"] == cache_for(client)
    assert response.content == PNG_BYTES
    assert not set(FORBIDDEN) & set(response.headers)


def test_path_style_equals_query(client: TestClient) -> None:
    """FIX-I: upstream did not route ``/api/svg/raw/<slug>`` (404)."""
    star(client)
    for path_style, query in [
        ("/api/svg/raw/icons/star%20shape.svg", "/api/svg/raw?path=/icons/star%20shape.svg"),
        ("/api/svg/raw/icons/star%20shape.png", "/api/svg/raw?path=/icons/star%20shape.png"),
        ("/API/SVG/RAW/Icons/Star%20Shape", "/api/svg/raw?path=Icons/Star%20Shape"),
    ]:
        left, right = client.get(path_style), client.get(query)
        assert left.status_code == 200, path_style
        same(left, right)


def test_path_suffix_is_decoded_exactly_once(client: TestClient) -> None:
    """``%252F`` in the path is a literal ``%2F`` in the slug, ``%2F`` a separator."""
    post(client, "a%2Fb", svg="<svg>escaped</svg>")
    post(client, "a/b", svg="<svg>nested</svg>")
    assert client.get("/api/svg/raw/a%252Fb.svg").content == b"<svg>escaped</svg>"
    same(client.get("/api/svg/raw/a%252Fb.svg"), client.get("/api/svg/raw?path=a%252Fb.svg"))
    assert client.get("/api/svg/raw/a%2Fb.svg").content == b"<svg>nested</svg>"
    assert client.get("/api/svg/raw/a/b.svg").content == b"<svg>nested</svg>"


# Slug candidates and the descriptor ----------------------------------------------------------


def test_candidate_order(client: TestClient) -> None:
    for name in ("a", "b", "c", "d"):
        post(client, name, svg=f"<svg>{name}</svg>")
    cases = [
        ("/api/svg/raw/a.svg?path=/b.svg&slug=c&s=d", "a"),  # the path suffix wins (FIX-I)
        ("/api/svg/raw?path=b&slug=c&s=d", "b"),
        ("/api/svg/raw?slug=c&s=d", "c"),
        ("/api/svg/raw?s=d", "d"),
        ("/api/svg/raw?path=&slug=%20/%20&s=d", "d"),  # blank candidates do not resolve
        ("/api/svg/raw?path=c&path=b", "c"),  # the first value of a parameter wins
    ]
    for url, expected in cases:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["x-svg-slug"] == expected
        assert response.content == f"<svg>{expected}</svg>".encode()
    # The first candidate that normalises decides, even when it names nothing servable.
    for url in ("/api/svg/raw/__slugs__?path=a.svg", "/api/svg/raw?path=.svg&slug=a"):
        assert_not_found(client.get(url))


def test_format_resolution(client: TestClient) -> None:
    star(client)
    cases = [
        ("?slug=icons/star%20shape", "svg"),
        ("?slug=icons/star%20shape&format=PNG", "png"),
        ("?slug=icons/star%20shape&format=.png", "png"),
        ("?slug=icons/star%20shape&format=svg", "svg"),
        ("?slug=icons/star%20shape&format=gif", "svg"),
        ("?slug=icons/star%20shape.svg&format=png", "svg"),  # the extension wins
        ("?slug=Icons/Star%20Shape.PNG", "png"),
        ("?slug=icons/star%20shape.svg.png", "png"),  # the extension is stripped once more
    ]
    for query, fmt in cases:
        response = client.get("/api/svg/raw" + query)
        assert response.status_code == 200, query
        assert response.headers["x-svg-asset-format"] == fmt, query
        assert response.headers["x-svg-slug"] == "icons/star%20shape"


def test_not_found_cases(client: TestClient) -> None:
    post(client, "nopng")
    stored = client.get("/api/svg?slug=nopng").json()
    no_png = {k: v for k, v in stored.items() if not k.startswith("png")}
    seed(client, "svg:nopng", {**no_png, "files": {"svg": stored["files"]["svg"]}}, "nopng")
    seed(client, "svg:empty", {**stored, "slug": "empty", "svg": ""}, "empty")
    seed(client, "svg:blankpng", {**stored, "slug": "blankpng", "png": "data:image/png;base64,"})
    seed(client, "svg:__slugs__.svg", {**stored, "slug": "x"})
    for url in [
        "/api/svg/raw",
        "/api/svg/raw?path=",
        "/api/svg/raw?path=missing.svg",
        "/api/svg/raw/missing.png",
        "/api/svg/raw?path=.svg",
        "/api/svg/raw/.png",
        "/api/svg/raw/__slugs__",  # FIX-H: reserved names are never served
        "/api/svg/raw?slug=__SLUGS__.svg",
        "/api/svg/raw?s=__trash__.png",
        "/api/svg/raw/nopng.png",
        "/api/svg/raw?slug=empty",
        "/api/svg/raw?slug=blankpng&format=png",
    ]:
        assert_not_found(client.get(url))
    assert client.get("/api/svg/raw/nopng.svg").status_code == 200


def test_not_found_comes_before_the_method_check(client: TestClient) -> None:
    star(client)
    assert_not_found(client.post("/api/svg/raw"))
    assert_not_found(client.delete("/api/svg/raw?path=__paths__"))
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        response = client.request(method, "/api/svg/raw?path=/icons/star%20shape.svg")
        assert response.status_code == 405, method
        assert response.headers["allow"] == "GET, HEAD"
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"error": "Method Not Allowed"}
        assert "x-svg-store-mode" not in response.headers
        assert not set(FORBIDDEN) & set(response.headers)
    # Even for an entry that does not exist: the method is checked before the store is read.
    assert client.put("/api/svg/raw/missing.svg").status_code == 405


def test_head_sends_the_headers_only(client: TestClient) -> None:
    star(client)
    for url, length in [
        ("/api/svg/raw/icons/star%20shape.png", "9"),
        ("/api/svg/raw/icons/star%20shape.svg", str(len(STAR.encode()))),
    ]:
        get, head = client.get(url), client.head(url)
        assert head.status_code == 200
        assert head.content == b""
        assert dict(head.headers) == dict(get.headers)
        assert head.headers["content-length"] == length
    missing = client.head("/api/svg/raw/missing.svg")
    assert missing.status_code == 404 and missing.content == b""
    assert missing.headers["cache-control"] == SHORT
    assert missing.headers["content-type"] == "text/plain; charset=utf-8"


def asgi(client: TestClient, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """One request straight through the ASGI app, so nothing strips a HEAD body on the way."""
    app: Any = client.app
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "https", "path": path, "raw_path": None, "root_path": "", "query_string": b"",
        "headers": [], "client": ("203.0.113.1", 0), "server": ("test", 443),
    }  # fmt: skip
    assert client.portal is not None
    client.portal.call(app, scope, receive, send)
    start, *bodies = sent
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in bodies)


def test_head_body_is_empty_at_the_asgi_level(memory_client: TestClient) -> None:
    """Mangum forwards whatever body the app sends, HEAD or not."""
    star(memory_client)
    status, headers, body = asgi(memory_client, "HEAD", "/api/svg/raw/icons/star%20shape.png")
    assert (status, body, headers["content-length"]) == (200, b"", "9")
    status, headers, body = asgi(memory_client, "GET", "/api/svg/raw/icons/star%20shape.png")
    assert (status, body, headers["content-length"]) == (200, PNG_BYTES, "9")
    status, headers, body = asgi(memory_client, "HEAD", "/api/svg/raw/missing.svg")
    assert (status, body, headers["content-length"]) == (404, b"", "9")


def test_cache_control_follows_the_mode(client: TestClient) -> None:
    star(client)
    response = client.get("/api/svg/raw/icons/star%20shape.svg")
    assert response.headers["cache-control"] == (LONG if mode_of(client) == "kv" else SHORT)
    assert response.headers["x-svg-store-mode"] == mode_of(client)


def test_memory_mode_uses_the_short_cache(memory_client: TestClient) -> None:
    star(memory_client)
    response = memory_client.get("/api/svg/raw/icons/star%20shape.png")
    assert response.headers["cache-control"] == SHORT
    assert response.headers["x-svg-store-mode"] == "memory"


# Friendly URLs, end to end -------------------------------------------------------------------


def test_friendly_urls(client: TestClient) -> None:
    star(client)
    entry = client.get("/api/svg?slug=icons/star%20shape").json()
    svg = client.get(entry["urls"]["svg"])  # /bildearkiv/icons/star%20shape.svg
    assert svg.status_code == 200 and svg.content == STAR.encode()
    png = client.get(entry["files"]["png"]["url"])
    assert png.status_code == 200 and png.content == PNG_BYTES
    assert png.headers["content-length"] == "9"
    same(client.get("/svg/icons/star%20shape.svg"), svg)
    same(client.get("/svg/Icons/Star%20Shape.PNG"), png)
    # An existing non-empty path parameter is kept.
    kept = client.get("/bildearkiv/other.png?path=/icons/star%20shape.svg&format=png")
    assert kept.status_code == 200 and kept.headers["x-svg-asset-format"] == "svg"
    assert_not_found(client.get("/bildearkiv/missing.svg"))
    for unrewritten in ("/SVG/icons/star%20shape.svg", "/svg/", "/svg"):
        response = client.get(unrewritten)
        assert response.status_code == 404 and response.json() == {"error": "Not Found"}


def test_the_archive_pages_urls_find_their_entry(client: TestClient) -> None:
    """svg-arkiv.js asks for ``/api/svg/raw?path=bildearkiv/<slug>`` (the entry's URL with its
    prefix kept); an entry stored under ``bildearkiv/`` is linked without the prefix doubled."""
    star(client)
    entry = client.get("/api/svg?slug=icons/star%20shape").json()
    for fmt, body in (("svg", STAR.encode()), ("png", PNG_BYTES)):
        path = entry["urls"][fmt].lstrip("/")  # bildearkiv/icons/star%20shape.<fmt>
        got = client.get("/api/svg/raw", params={"path": path, "format": fmt})
        assert got.status_code == 200 and got.content == body
        assert got.headers["x-svg-slug"] == "icons/star%20shape"
    post(client, "bildearkiv/inside", svg="<svg>in</svg>")
    inside = client.get("/api/svg?slug=bildearkiv/inside").json()
    assert inside["urls"]["svg"] == "/bildearkiv/inside.svg"  # §9.2
    got = client.get(inside["urls"]["svg"])  # rewritten to path=/inside.svg
    assert got.status_code == 200 and got.content == b"<svg>in</svg>"
    assert got.headers["x-svg-slug"] == "bildearkiv/inside"
    # The name asked for wins over its alias; a miss under both names stays 404.
    post(client, "inside", svg="<svg>out</svg>")
    assert client.get("/bildearkiv/inside.svg").content == b"<svg>out</svg>"
    assert client.get("/api/svg/raw?path=bildearkiv/inside.svg").content == b"<svg>in</svg>"
    for url in ("/api/svg/raw?path=bildearkiv/missing.svg", "/api/svg/raw?path=bildearkiv/",
                "/api/svg/raw?path=bildearkiv/__slugs__.svg"):  # fmt: skip
        assert_not_found(client.get(url))


# Upstream-shaped data, corrupt values, outages -----------------------------------------------


def test_kv_serves_upstream_records(kv_client: TestClient, redis_env: dict[str, str]) -> None:
    direct = redis_client(redis_env)
    # Double-encoded, as upstream's client could leave it, with a PNG missing its padding.
    png = "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode().rstrip("=")
    record = {"slug": "up/load", "svg": "<svg>up</svg>", "png": png, "mode": "vercel-kv"}
    direct.set("svg:up/load", jsonfmt.dumps_str(jsonfmt.dumps_str(record)))
    svg = kv_client.get("/bildearkiv/up/load.svg")
    assert svg.status_code == 200 and svg.content == b"<svg>up</svg>"
    assert svg.headers["x-svg-store-mode"] == "kv" and svg.headers["cache-control"] == LONG
    png_response = kv_client.get("/api/svg/raw/up/load.png")
    assert png_response.content == b"\x89PNG"
    assert png_response.headers["content-length"] == "4"
    direct.close()


def test_stored_png_decoding_is_lenient(client: TestClient) -> None:
    """Stored PNGs are decoded as Node's Buffer.from(…, "base64") did upstream."""
    post(client, "lenient")
    stored = client.get("/api/svg?slug=lenient").json()
    encoded = base64.b64encode(PNG_BYTES).decode()
    url_safe = base64.urlsafe_b64encode(b"\xfb\xff").decode()  # "-_8="
    for variant, expected in [
        ("data:image/png;charset=x;base64," + encoded, PNG_BYTES),
        ("\n " + PNG + " \n", PNG_BYTES),
        ("data:image/png;base64," + encoded[:4] + "\n" + encoded[4:], PNG_BYTES),
        (encoded, PNG_BYTES),  # a bare base64 value
        (PNG + "A", PNG_BYTES),  # a stray last character carries no whole byte
        ("data:image/png;base64," + url_safe, b"\xfb\xff"),
    ]:
        seed(client, "svg:lenient", {**stored, "png": variant})
        response = client.get("/api/svg/raw/lenient.png")
        assert response.status_code == 200, variant
        assert response.content == expected, variant
        assert response.headers["content-length"] == str(len(expected))


@pytest.mark.parametrize("kv", [False, True])
def test_corrupt_value_is_500(request: pytest.FixtureRequest, kv: bool) -> None:
    env = request.getfixturevalue("redis_env") if kv else {}
    with api_client(env) as (client, sink):
        seed(client, "svg:bad", "{not json")
        seed(client, "figureAsset:bad", '"\\"[]\\""')
        svg = client.get("/api/svg/raw/bad.svg")
        assert svg.status_code == 500
        assert svg.json() == {"error": "Failed to load SVG", "message": "Internal Server Error"}
        figure = client.get("/api/figure-library/raw?slug=bad")
        assert figure.status_code == 500
        assert figure.json() == {
            "error": "Failed to load figure asset",
            "message": "Internal Server Error",
        }
        for response in (svg, figure):
            assert response.headers["content-type"] == "application/json"
            assert not set(FORBIDDEN) & set(response.headers)
    corrupt = sink.events("store.corrupt_value")
    assert [(e["key"], e["action"]) for e in corrupt] == [
        ("svg:bad", "error"),
        ("figureAsset:bad", "error"),
    ]


def test_unreachable_redis_is_503(redis_env: dict[str, str]) -> None:
    env = {**redis_env, "REDIS_PORT": str(free_port())}
    with api_client(env) as (client, sink):
        svg = client.get("/api/svg/raw/icons/star.svg")
        assert svg.status_code == 503
        assert svg.json() == {
            "error": "Failed to load SVG",
            "message": "Unable to establish Redis connection",
        }
        figure = client.head("/api/figure-library/raw?path=shapes/tri.png")
        assert figure.status_code == 503
        got = client.get("/figure-library/shapes/tri.png")
        assert got.json() == {
            "error": "Failed to load figure asset",
            "message": "Unable to establish Redis connection",
        }
        for response in (svg, figure, got):
            assert response.headers["content-type"] == "application/json"
            assert "x-svg-store-mode" not in response.headers
            assert "x-figure-library-store-mode" not in response.headers
            assert not set(FORBIDDEN) & set(response.headers)
        # Without a resolvable slug the store is never asked.
        assert_not_found(client.get("/api/svg/raw"))
    errors = sink.events("redis.error")
    assert [e["route"] for e in errors] == [
        "/api/svg/raw/{slug}",
        "/api/figure-library/raw",
        "/api/figure-library/raw",
    ]
    assert {e["error_class"] for e in errors} == {"CONNECTION"}


# /api/figure-library/raw (§12) ----------------------------------------------------------------


def seed_asset(client: TestClient) -> None:
    """A ``figureAsset:`` record in the upstream shape (no mode fields)."""
    url = "/api/figure-library/raw?slug=shapes%2Ftri"
    seed(
        client,
        "figureAsset:shapes/tri",
        {
            "slug": "shapes/tri",
            "baseName": "tri",
            "title": "",
            "tool": "",
            "svg": "<svg>tri</svg>",
            "files": {"svg": {"slug": "shapes/tri.svg", "url": url + ".svg"}},
            "png": PNG,
            "pngSlug": "shapes/tri.png",
        },
        member="shapes/tri",
    )


def test_figure_raw(client: TestClient) -> None:
    seed_asset(client)
    path_style = client.get("/api/figure-library/raw/shapes/tri.png")
    assert path_style.status_code == 200
    same(path_style, client.get("/api/figure-library/raw?path=/shapes/tri.png"))  # FIX-I
    headers = path_style.headers
    assert headers["content-type"] == "image/png" and headers["content-length"] == "9"
    assert headers["x-figure-library-store-mode"] == mode_of(client)
    assert headers["x-figure-library-slug"] == "shapes/tri"
    assert headers["x-figure-library-asset-format"] == "png"
    assert headers["cache-control"] == cache_for(client)
    assert "x-svg-store-mode" not in headers and not set(FORBIDDEN) & set(headers)
    assert path_style.content == PNG_BYTES

    svg = client.get("/API/Figure-Library/RAW/Shapes/Tri.svg")  # prefix matched case-insensitively
    assert svg.status_code == 200 and svg.content == b"<svg>tri</svg>"
    assert svg.headers["content-type"] == SVG_TYPE
    same(svg, client.get("/figure-library/shapes/tri.svg"))
    same(svg, client.get("/api/figure-library/raw?slug=shapes%2Ftri"))
    head = client.head("/api/figure-library/raw/shapes/tri.png")
    assert head.content == b"" and head.headers["content-length"] == "9"


def test_figure_raw_not_found_and_method(client: TestClient) -> None:
    seed_asset(client)
    post(client, "svg-only")
    for url in [
        "/api/figure-library/raw",
        "/api/figure-library/raw/svg-only.svg",  # reads figureAsset:, never svg:
        "/figure-library/shapes/tri.jpg",  # other extensions resolve to base slugs like tri.jpg
        "/api/figure-library/raw/__categories__.png",
        "/api/figure-library/raw?slug=__slugs__",
    ]:
        assert_not_found(client.get(url))
    assert_not_found(client.post("/api/figure-library/raw"))
    not_allowed = client.post("/api/figure-library/raw/shapes/tri.svg")
    assert not_allowed.status_code == 405 and not_allowed.headers["allow"] == "GET, HEAD"
    assert not_allowed.json() == {"error": "Method Not Allowed"}


SCRIPTED = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>'


@pytest.mark.parametrize(
    "url",
    [
        "/api/svg/raw/evil.svg",
        "/api/svg/raw?slug=evil",
        "/bildearkiv/evil.svg",
        "/svg/evil.svg",
        "/bildearkiv/evil.png",
        "/figure-library/evil.svg",
        "/api/figure-library/raw?slug=evil",
        "/api/figure-library/raw/evil.svg",
        "/bildearkiv/missing.svg",
    ],
)
def test_raw_answers_forbid_script(client: TestClient, url: str) -> None:
    """FIX-O: upstream served a posted ``<script>`` SVG as a live document in its origin."""
    post(client, "evil", svg=SCRIPTED, png=PNG)
    figure = {"slug": "evil", "svg": SCRIPTED, "png": PNG}
    assert client.post("/api/figure-library", json=figure).status_code == 200
    for method in ("GET", "HEAD"):
        response = client.request(method, url)
        assert response.headers["x-content-type-options"] == "nosniff"
        policy = [part.strip() for part in response.headers["content-security-policy"].split(";")]
        assert "sandbox" in policy
        assert "default-src 'none'" in policy
        assert not any(part.startswith("script-src") for part in policy)
    if "missing" not in url:
        assert client.get(url).status_code == 200
