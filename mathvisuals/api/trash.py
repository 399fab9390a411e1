"""``/api/examples/trash``: deleted examples kept for restore (api.md §8)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from mathvisuals.api.errors import EXAMPLES, guarded
from mathvisuals.api.http import BodyError, Exchange, as_object
from mathvisuals.model import trash as rules
from mathvisuals.model.clock import iso_now
from mathvisuals.store.base import StoreUnavailableError
from mathvisuals.store.examples import ExamplesRepository
from mathvisuals.store.trash import TrashRepository


async def handle(ex: Exchange) -> Response:
    return await guarded(ex, _dispatch, EXAMPLES)


async def items(ex: Exchange, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Response items with ``sourceActive``/``sourceArchived`` from one MGET (§8.3)."""
    paths = rules.source_paths(records)
    states: Mapping[str, Mapping[str, Any] | None] = {}
    if paths:
        try:
            states = await ExamplesRepository(ex.ctx.store).read_many(paths)
        except StoreUnavailableError:
            states = {}
    result = []
    for record in records:
        item = rules.response_item(record, rules.source_state_for(record, states))
        if item is not None:
            result.append(item)
    return result


async def _dispatch(ex: Exchange) -> Response:
    method = ex.method
    if method == "OPTIONS":
        return ex.options()
    repo = TrashRepository(ex.ctx.store)
    if method == "GET":
        records = await repo.records()
        ex.stored()
        return ex.respond({**ex.meta, "entries": await items(ex, records)})
    if method == "POST":
        body = await _object_body(ex)
        records = await repo.post(body)
        ex.stored()
        return ex.respond({**ex.meta, "entries": await items(ex, records)})
    if method == "DELETE":
        entry_id = ex.query("entryId")
        if entry_id is not None:
            return await _delete_one(ex, repo, entry_id.strip())
        body = await _object_body(ex)
        raw_ids = body.get("ids")
        ids = (
            [i.strip() for i in raw_ids if isinstance(i, str) and i.strip()]
            if isinstance(raw_ids, list)
            else []
        )
        if ids:
            records, removed = await repo.remove(ids)
        else:
            records, removed = await repo.records(), 0
        ex.stored()
        return ex.respond({**ex.meta, "removed": removed, "entries": await items(ex, records)})
    return ex.not_allowed()


async def _object_body(ex: Exchange) -> dict[str, Any]:
    """The body's fields; a JSON ``null`` is refused (upstream crashed reading its fields)."""
    body = await ex.json_body()
    if body is None:
        raise BodyError(400, "Invalid JSON body")
    return as_object(body)


async def _delete_one(ex: Exchange, repo: TrashRepository, entry_id: str) -> Response:
    if not entry_id:
        return ex.respond(
            {
                **ex.meta,
                "error": "InvalidEntryId",
                "message": "entryId query parameter is required",
            },
            400,
        )
    audit: dict[str, Any] = {
        "action": "permanent-delete",
        "source": "examples-trash",
        "timestamp": iso_now(),
        "entryId": entry_id,
        "ip": _client_ip(ex),
        "userAgent": ex.request.headers.get("user-agent"),
        "referer": ex.request.headers.get("referer"),
        "storageMode": ex.mode,
    }
    try:
        records, removed = await repo.remove([entry_id])
    except StoreUnavailableError as exc:
        ex.ctx.log.emit(
            "examples.audit",
            "error",
            **audit,
            removedCount=0,
            outcome="error",
            error=exc.message,
            errorCode=exc.error_class,
        )
        raise
    ex.ctx.log.emit(
        "examples.audit",
        **audit,
        removedCount=removed,
        outcome="removed" if removed else "not_found",
    )
    ex.stored()
    body = {**ex.meta, "entryId": entry_id, "removed": removed, "entries": await items(ex, records)}
    return ex.respond(body)


def _client_ip(ex: Exchange) -> str | None:
    forwarded = ex.request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].strip()
    client = ex.request.client
    return client.host if client else None
