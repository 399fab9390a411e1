"""``/api/svg``: stored SVG entries with their PNG exports (api.md §9)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from mathvisuals import jsonfmt
from mathvisuals.api.errors import ENTRIES, guarded
from mathvisuals.api.http import Exchange, as_object, entry_fields, strip_mode_fields
from mathvisuals.model.clock import iso_now
from mathvisuals.model.paths import is_reserved, normalize_slug
from mathvisuals.model.svg import PNG_REQUIRED, is_png_data_url, list_visible, png_data_url
from mathvisuals.model.svg import validate_patch as patch_error
from mathvisuals.store.svg import SvgRepository, View

# PATCH is handled but, as upstream, not advertised (§9.3).
ALLOW = "GET,POST,PUT,DELETE,OPTIONS"
SLUG_REQUIRED = "Slug is required"
SLUG_RESERVED = "Slug is reserved"
UNABLE_TO_STORE = "Unable to store SVG entry"


# What a listed entry shows of its record before the fresh mode fields (§9.3).
STRIPPED = View("strip_mode_fields", strip_mode_fields)


async def handle(ex: Exchange) -> Response:
    return await guarded(ex, _dispatch, ENTRIES)


def _entry_slug(slug: str) -> str:
    """§9.1: one trailing ``.svg``/``.png`` off an already normalised (lower-case) slug."""
    return slug[:-4] if slug.endswith((".svg", ".png")) else slug


def _target(ex: Exchange, fields: Mapping[str, object]) -> str | None:
    """POST/PUT/PATCH: the normalised body slug, else ``?slug=``."""
    return normalize_slug(fields.get("slug")) or normalize_slug(ex.query("slug"))


def _present(ex: Exchange, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The stored entry with fresh mode fields at the end; stored ones are never echoed."""
    return {**strip_mode_fields(entry), **entry_fields(ex.mode, "svg")}


def _not_found(ex: Exchange) -> Response:
    ex.stored()
    return ex.respond({"error": "Not Found", **ex.meta}, 404)


async def _dispatch(ex: Exchange) -> Response:
    method = ex.method
    if method == "OPTIONS":
        return ex.options()
    if method == "GET":
        return await _get(ex)
    if method in ("POST", "PUT"):
        return await _put(ex)
    if method == "PATCH":
        return await _patch(ex)
    if method == "DELETE":
        return await _delete(ex)
    return ex.not_allowed(ALLOW)


async def _get(ex: Exchange) -> Response:
    repo = SvgRepository(ex.ctx.store)
    slug = normalize_slug(ex.query("slug"))
    if slug is None:
        entries = [entry for entry in await repo.list(STRIPPED) if list_visible(entry)]
        ex.stored()
        encoded = ex.with_fields(entries, entry_fields(ex.mode, "svg"))
        if encoded is not None:  # stored renderings spliced: nothing parsed or walked again
            listed = [jsonfmt.fragment(item) for item in encoded]
            return ex.respond_encoded(jsonfmt.dumps({**ex.meta, "entries": listed}))
        return ex.respond({**ex.meta, "entries": [_present(ex, entry) for entry in entries]})
    entry_slug = _entry_slug(slug)
    if is_reserved(entry_slug):
        return ex.respond({"error": SLUG_RESERVED}, 400)
    # FIX-D: the stored entry as it is; upstream rebuilt it (losing displayTitle/name).
    entry = await repo.read(entry_slug) if entry_slug else None
    if entry is None:
        return _not_found(ex)
    ex.stored()
    return ex.respond(_present(ex, entry))


def _write_target(ex: Exchange, fields: Mapping[str, object]) -> str | Response:
    """POST/PUT/PATCH: the entry slug, or the 400 for a missing or reserved one (FIX-H)."""
    slug = _target(ex, fields)
    if slug is None:
        return ex.respond({"error": SLUG_REQUIRED}, 400)
    entry_slug = _entry_slug(slug)
    if is_reserved(entry_slug):
        return ex.respond({"error": SLUG_RESERVED}, 400)
    return entry_slug


async def _put(ex: Exchange) -> Response:
    fields = as_object(await ex.json_body())
    entry_slug = _write_target(ex, fields)
    if isinstance(entry_slug, Response):
        return entry_slug
    data_url = png_data_url(fields.get("png"))
    if data_url is None or not is_png_data_url(data_url):
        return ex.respond({"error": PNG_REQUIRED}, 400)
    if not entry_slug:
        return ex.respond({"error": UNABLE_TO_STORE}, 400)
    entry = await SvgRepository(ex.ctx.store).upsert(entry_slug, fields, iso_now())
    ex.stored()
    return ex.respond(_present(ex, entry))


async def _patch(ex: Exchange) -> Response:
    fields = as_object(await ex.json_body())
    entry_slug = _write_target(ex, fields)
    if isinstance(entry_slug, Response):
        return entry_slug
    error = patch_error(fields)
    if error is not None:
        return ex.respond({"error": error}, 400)
    if not entry_slug:
        return _not_found(ex)
    repo = SvgRepository(ex.ctx.store)
    entry = await repo.patch(entry_slug, fields, iso_now(), entry_fields(ex.mode, "svg"))
    if entry is None:
        return _not_found(ex)
    ex.stored()
    return ex.respond(_present(ex, entry))


async def _delete(ex: Exchange) -> Response:
    slug = normalize_slug(ex.query("slug"))
    if slug is None:
        # As upstream, the body is only read when the query names no slug.
        slug = normalize_slug(as_object(await ex.json_body()).get("slug"))
    if slug is None:
        return ex.respond({"error": SLUG_REQUIRED}, 400)
    entry_slug = _entry_slug(slug)
    if is_reserved(entry_slug):
        return ex.respond({"error": SLUG_RESERVED}, 400)
    if not entry_slug:
        return _not_found(ex)
    await SvgRepository(ex.ctx.store).delete(entry_slug)
    ex.stored()
    return ex.respond({"ok": True, "slug": slug})
