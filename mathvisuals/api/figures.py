"""``/api/figure-library``: figures, their categories and the library views (api.md §11)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from mathvisuals import jsonfmt
from mathvisuals.api.errors import ENTRIES, guarded
from mathvisuals.api.http import Exchange, as_object
from mathvisuals.model.figures import (
    FIGURE_UNSTORABLE,
    CategoryPayload,
    Link,
    category_error,
    category_id_for,
    category_link_intent,
    category_request,
    category_view,
    figure_response,
    summary_view,
    validate_figure_patch,
    validate_figure_post,
)
from mathvisuals.model.jsuri import trim
from mathvisuals.model.paths import entry_slug, is_reserved, normalize_category_id
from mathvisuals.store.base import CorruptValueError, StoreUnavailableError
from mathvisuals.store.figures import CategoryDeletion, FigureRepository
from mathvisuals.store.rendered import Memo, Rendered

ALLOW = "GET,POST,PATCH,DELETE,OPTIONS"
SLUG_REQUIRED = "Slug is required"
SLUG_RESERVED = "Slug is reserved"
TARGET_REQUIRED = "Slug or categoryId is required"
CATEGORY_NOT_EMPTY = "Category contains figures"
INTERNAL_ERROR = "Internal Server Error"

Record = dict[str, Any]

# Listed entries and category views, encoded, by what they are a pure function of: the mode,
# the view and the stored texts of the figure and of the category it links to (§11.2, §11.3).
VIEWS = Memo()


async def handle(ex: Exchange) -> Response:
    return await guarded(ex, _dispatch, ENTRIES)


async def _dispatch(ex: Exchange) -> Response:
    if ex.method == "OPTIONS":
        return ex.options()
    repo = FigureRepository(ex.ctx.store)
    if ex.method == "GET":
        return await _get(ex, repo)
    if ex.method in ("POST", "PATCH"):
        return await _save(ex, repo, merge=ex.method == "PATCH")
    if ex.method == "DELETE":
        return await _delete(ex, repo)
    return ex.not_allowed(ALLOW)


def _error(ex: Exchange, error: str, status: int = 400) -> Response:
    return ex.respond({"error": error}, status)


def _not_found(ex: Exchange) -> Response:
    ex.stored()
    return ex.respond({"error": "Not Found", **ex.meta}, 404)


async def _categories(ex: Exchange, repo: FigureRepository) -> list[Record]:
    """Stored categories for the `categories` field; `[]` when listing fails (§11.2)."""
    try:
        return await repo.categories()
    except StoreUnavailableError as exc:
        ex.unavailable(exc)
    except CorruptValueError as exc:
        ex.ctx.log.emit("store.corrupt_value", "error", key=exc.key, action="error")
    return []


async def _success(ex: Exchange, repo: FigureRepository, fields: Mapping[str, object]) -> Response:
    """200 with meta, the handler's fields and every category."""
    categories = await _categories(ex, repo)
    return _respond_with(ex, fields, categories)


def _respond_with(
    ex: Exchange, fields: Mapping[str, object], categories: list[Record], status: int = 200
) -> Response:
    ex.stored()
    views = [category_view(record, ex.meta) for record in categories]
    return ex.respond({**ex.meta, **fields, "categories": views}, status)


def _entry(ex: Exchange, record: Record, categories: Mapping[str, Record]) -> Record:
    linked = normalize_category_id(record.get("categoryId"))
    return figure_response(record, categories.get(linked) if linked else None, ex.meta)


def _figure_slug(*candidates: object) -> str | None:
    """The figure slug of the first candidate that normalises; "" is an empty entry slug."""
    for candidate in candidates:
        slug = entry_slug(candidate)
        if slug is not None:
            return slug
    return None


async def _get(ex: Exchange, repo: FigureRepository) -> Response:
    slug = _figure_slug(ex.query("slug"))
    if slug is not None:
        if is_reserved(slug):
            return _error(ex, SLUG_RESERVED)
        record = await repo.figure(slug) if slug else None
        if record is None:
            return _not_found(ex)
        categories = await _categories(ex, repo)
        by_id = {category["id"]: category for category in categories}
        return _respond_with(ex, {"entry": _entry(ex, record, by_id)}, categories)
    records, listed = await repo.listing()
    if isinstance(listed, CorruptValueError):
        ex.ctx.log.emit("store.corrupt_value", "error", key=listed.key, action="error")
        listed = []
    categories = listed
    by_id = {category["id"]: category for category in categories}
    summary = trim(ex.query("view") or "").lower() == "summary"
    fast = _listed_json(ex, records, by_id, categories, summary)
    if fast is not None:  # memoised renderings spliced: nothing walked or encoded again
        ex.stored()
        return ex.respond_encoded(fast)
    entries = [_entry(ex, record, by_id) for record in records]
    if summary:
        entries = [summary_view(entry) for entry in entries]
    return _respond_with(ex, {"entries": entries}, categories)


def _listed_json(
    ex: Exchange,
    records: list[Record],
    by_id: Mapping[str, Record],
    categories: list[Record],
    summary: bool,
) -> bytes | None:
    """The list response from :data:`VIEWS`, byte for byte what :func:`_respond_with` writes;
    ``None`` when a record has no stored source or no orjson rendering (the slow path)."""
    mode = ex.mode
    view = "summary" if summary else "full"
    entries: list[Any] = []
    for record in records:
        source = record.source if type(record) is Rendered else None
        linked_id = normalize_category_id(record.get("categoryId"))
        category = by_id.get(linked_id) if linked_id else None
        linked = category.source if type(category) is Rendered else None
        if source is None or (category is not None and linked is None):
            return None
        # Stored JSON texts hold no NUL, so the joined text names one pair of sources.
        raw = source[1] if linked is None else "\0".join((source[1], *linked))
        key = f"{mode}\0{view}\0{source[0]}"
        encoded = VIEWS.encoded(key, raw)
        if encoded is None:
            entry = figure_response(record, category, ex.meta)
            view_of = summary_view(entry) if summary else entry
            encoded = VIEWS.store(key, raw, view_of, remember=True).json
            if encoded is None:
                return None
        entries.append(jsonfmt.fragment(encoded))
    views: list[Any] = []
    for record in categories:
        source = record.source if type(record) is Rendered else None
        if source is None:
            return None
        key = f"{mode}\0category\0{source[0]}"
        encoded = VIEWS.encoded(key, source[1])
        if encoded is None:
            encoded = VIEWS.store(
                key, source[1], category_view(record, ex.meta), remember=True
            ).json
            if encoded is None:
                return None
        views.append(jsonfmt.fragment(encoded))
    return jsonfmt.dumps({**ex.meta, "entries": entries, "categories": views})


async def _save(ex: Exchange, repo: FigureRepository, *, merge: bool) -> Response:
    body = as_object(await ex.json_body())
    slug = _figure_slug(body.get("slug"), ex.query("slug"))
    if slug is None:
        payload = category_request(body)
        if payload is None:
            return _error(ex, SLUG_REQUIRED)
        return await _save_category(ex, repo, payload)
    if is_reserved(slug):
        return _error(ex, SLUG_RESERVED)
    error = validate_figure_patch(body) if merge else validate_figure_post(body)
    if error is not None:
        return _error(ex, error)
    if not slug:
        return _not_found(ex) if merge else _error(ex, FIGURE_UNSTORABLE)
    # Only an explicit link can name a reserved id; a kept link comes from stored data.
    intent = category_link_intent(body)
    if isinstance(intent, Link) and is_reserved(intent.category_id):
        return _error(ex, SLUG_RESERVED)
    saved = await repo.save_figure(slug, body, merge=merge)
    if saved is None:
        return _not_found(ex)
    if isinstance(saved, str):
        return _error(ex, saved)
    entry = figure_response(saved.record, saved.category, ex.meta)
    return await _success(ex, repo, {"entry": entry})


async def _save_category(
    ex: Exchange, repo: FigureRepository, payload: CategoryPayload
) -> Response:
    error = category_error(payload)
    if error is not None:
        ex.stored()
        return ex.respond({"error": error, **ex.meta}, 400)
    if is_reserved(category_id_for(payload) or ""):
        return _error(ex, SLUG_RESERVED)
    record = await repo.save_category(payload)
    return await _success(ex, repo, {"category": category_view(record, ex.meta)})


def _reads_body(ex: Exchange, query_slug: str | None) -> bool:
    """§11.6: when a DELETE body is read at all."""
    headers = ex.request.headers
    length = headers.get("content-length")
    if query_slug is None or (length is not None and length.strip() != "0"):
        return True
    return not ex.query("categoryId") and "content-type" in headers


def _category_target(query: str | None, body: Mapping[str, Any]) -> str | None:
    nested = body.get("category")
    candidates = (
        query,
        body.get("categoryId"),
        nested.get("id") if isinstance(nested, Mapping) else None,
    )
    return next((trim(c) for c in candidates if isinstance(c, str) and trim(c)), None)


async def _delete(ex: Exchange, repo: FigureRepository) -> Response:
    query_slug = _figure_slug(ex.query("slug"))
    body = as_object(await ex.json_body()) if _reads_body(ex, query_slug) else {}
    slug = query_slug if query_slug is not None else _figure_slug(body.get("slug"))
    if slug is not None:
        if is_reserved(slug):
            return _error(ex, SLUG_RESERVED)
        if not (slug and await repo.delete_figure(slug)):
            return _not_found(ex)
        return await _success(ex, repo, {"deleted": {"slug": slug}})
    target = _category_target(ex.query("categoryId"), body)
    if target is None:
        return _error(ex, TARGET_REQUIRED)
    category_id = normalize_category_id(target)
    if category_id is not None and is_reserved(category_id):
        return _error(ex, SLUG_RESERVED)
    result = (
        await repo.delete_category(category_id)
        if category_id is not None
        else CategoryDeletion(found=False)
    )
    if not result.found:
        return _not_found(ex)
    if result.figure_count:
        conflict = {
            "error": CATEGORY_NOT_EMPTY,
            "category": {"id": category_id, "figureCount": result.figure_count},
        }
        return _respond_with(ex, conflict, await _categories(ex, repo), 409)
    return await _success(ex, repo, {"deleted": {"categoryId": category_id}})
