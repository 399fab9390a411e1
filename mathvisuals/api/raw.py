"""The raw asset endpoints: an SVG entry or figure asset served as a file (api.md §10, §12)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.responses import Response

from mathvisuals.api.http import Exchange, json_response
from mathvisuals.model.jsuri import decode_uri_component
from mathvisuals.model.paths import normalize_slug
from mathvisuals.model.svg import AssetFormat, archive_alias, png_data_url, raw_descriptor
from mathvisuals.store.base import CorruptValueError, Store, StoreUnavailableError
from mathvisuals.store.svg import FigureAssetReader, SvgRepository

SHORT_CACHE = "public, max-age=5, s-maxage=5, stale-while-revalidate=30"
LONG_CACHE = "public, max-age=60, s-maxage=86400, stale-while-revalidate=43200"
SVG_TYPE = "image/svg+xml; charset=utf-8"
PNG_TYPE = "image/png"
ALLOW = "GET, HEAD"

_PNG_DATA_URL = re.compile(r"data:image/png(?:;[^,]*)?,(.*)", re.IGNORECASE | re.DOTALL)
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")


class _Reader(Protocol):
    async def peek(self, slug: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class _Kind:
    prefix: str
    header_stem: str
    error: str
    reader: Callable[[Store], _Reader]
    alias: Callable[[str], str | None] | None = None  # a second name, looked up on a miss


SVG = _Kind("/api/svg/raw/", "X-Svg", "Failed to load SVG", SvgRepository, archive_alias)
FIGURE = _Kind(
    "/api/figure-library/raw/", "X-Figure-Library", "Failed to load figure asset", FigureAssetReader
)


async def handle_svg(ex: Exchange) -> Response:
    return _headers_only(ex, await _serve(ex, SVG))


async def handle_figure(ex: Exchange) -> Response:
    return _headers_only(ex, await _serve(ex, FIGURE))


# FIX-O: an archived SVG opened directly renders as a document in the site's origin; this
# policy forbids every script (and, with ``sandbox``, gives it a unique origin) while inline
# styles and embedded data: images keep it looking right. <img> previews never run script.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; sandbox"
)
SAFETY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


def _headers_only(ex: Exchange, response: Response) -> Response:
    """Every raw answer gets the FIX-O headers; HEAD: the same headers, no body.

    Starlette's Response sends its body even for HEAD; uvicorn drops it, but Mangum would pass
    it on to API Gateway.
    """
    for name, value in SAFETY_HEADERS.items():
        response.headers.setdefault(name, value)
    if ex.method == "HEAD":
        response.body = b""
    return response


def not_found() -> Response:
    # Built from scratch: raw responses carry no CORS, mode or result headers (§5.1, §4.2).
    return Response(
        "Not Found",
        404,
        {"Cache-Control": SHORT_CACHE, "Content-Type": "text/plain; charset=utf-8"},
    )


def _path_suffix(ex: Exchange, prefix: str) -> str | None:
    """FIX-I: the rest of a path-style URL, URI-decoded once."""
    suffix = ex.path_suffix  # the raw (still percent-encoded) rest of the path
    if suffix is None:
        return None
    try:
        return decode_uri_component(suffix)
    except ValueError:
        return suffix


def _candidates(ex: Exchange, prefix: str) -> Iterator[str | None]:
    yield _path_suffix(ex, prefix)
    for name in ("path", "slug", "s"):
        yield ex.query(name)


def descriptor(ex: Exchange, prefix: str) -> tuple[str, AssetFormat] | None:
    """§10 steps 1-3: the first candidate that normalises decides; None means 404."""
    for candidate in _candidates(ex, prefix):
        if normalize_slug(candidate) is not None:
            return raw_descriptor(candidate, ex.query("format"))
    return None


def png_bytes(value: object) -> bytes:
    """The decoded PNG of a stored ``png`` data URL; empty when there is none."""
    data_url = png_data_url(value)
    if data_url is None:
        return b""
    match = _PNG_DATA_URL.match(data_url)
    payload = match.group(1) if match else data_url
    # Lenient like Node's Buffer.from(…, "base64"), which upstream used: URL-safe letters are
    # accepted, other characters (white space, "=") skipped, and padding is optional.
    payload = payload.replace("-", "+").replace("_", "/")
    payload = _NOT_BASE64.sub("", payload)
    if len(payload) % 4 == 1:
        payload = payload[:-1]  # a lone trailing character holds no whole byte
    try:
        return base64.b64decode(payload + "=" * (-len(payload) % 4))
    except binascii.Error:
        return b""


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate from stored JSON: Node writes U+FFFD for it, so do we.
        utf16 = text.encode("utf-16-le", "surrogatepass")
        return utf16.decode("utf-16-le", "replace").encode("utf-8")


def _content(entry: dict[str, Any], fmt: AssetFormat) -> tuple[bytes, str] | None:
    if fmt == "png":
        data = png_bytes(entry.get("png"))
        return (data, PNG_TYPE) if data else None
    svg = entry.get("svg")
    if not isinstance(svg, str) or not svg:
        return None
    return _utf8(svg), SVG_TYPE


async def _serve(ex: Exchange, kind: _Kind) -> Response:
    found = descriptor(ex, kind.prefix)
    if found is None:
        return not_found()
    if ex.method not in ("GET", "HEAD"):
        return json_response({"error": "Method Not Allowed"}, 405, {"Allow": ALLOW})
    slug, fmt = found
    try:
        reader = kind.reader(ex.ctx.store)
        entry = await reader.peek(slug)
        alias = kind.alias(slug) if entry is None and kind.alias is not None else None
        if alias is not None:
            entry = await reader.peek(alias)
            if entry is not None:
                slug = alias  # X-Svg-Slug names the entry served
        content = _content(entry, fmt) if entry is not None else None
    except StoreUnavailableError as exc:
        ex.unavailable(exc)
        return json_response({"error": kind.error, "message": exc.message}, 503)
    except CorruptValueError as exc:
        ex.ctx.log.emit("store.corrupt_value", "error", key=exc.key, action="error")
        return json_response({"error": kind.error, "message": "Internal Server Error"}, 500)
    except Exception as exc:  # noqa: BLE001 - mapped to the raw 500 body and logged
        ex.ctx.log.emit(
            "http.unhandled_error", "error", route=ex.route, exception=type(exc).__name__
        )
        return json_response({"error": kind.error, "message": "Internal Server Error"}, 500)
    if content is None:
        return not_found()
    body, content_type = content
    headers = {
        f"{kind.header_stem}-Store-Mode": ex.mode,
        f"{kind.header_stem}-Slug": slug,
        f"{kind.header_stem}-Asset-Format": fmt,
        "Cache-Control": LONG_CACHE if ex.mode == "kv" else SHORT_CACHE,
        "Content-Type": content_type,
    }
    return Response(body, 200, headers)
