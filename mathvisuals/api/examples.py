"""``/api/examples``: example sets per page path (api.md §7)."""

from __future__ import annotations

from starlette.responses import Response

from mathvisuals import jsonfmt
from mathvisuals.api.errors import EXAMPLES, guarded
from mathvisuals.api.http import Exchange, as_object
from mathvisuals.model.clock import iso_now
from mathvisuals.model.examples import sanitize_entry, validate_payload
from mathvisuals.model.paths import normalize_path
from mathvisuals.store.examples import ExamplesRepository


def repository(ex: Exchange) -> ExamplesRepository:
    def corrupt(key: str, action: str) -> None:
        ex.ctx.log.emit("store.corrupt_value", "warn", key=key, action=action)

    return ExamplesRepository(ex.ctx.store, corrupt)


async def handle(ex: Exchange) -> Response:
    return await guarded(ex, _dispatch, EXAMPLES)


def _entry(ex: Exchange, entry: dict[str, object]) -> dict[str, object]:
    return {**entry, **ex.meta}


async def _dispatch(ex: Exchange) -> Response:
    method = ex.method
    if method == "OPTIONS":
        return ex.options()
    repo = repository(ex)
    if method in ("GET", "HEAD"):
        wanted = ex.query("path")
        if wanted:
            entry = await repo.read(wanted)
            ex.stored()
            if entry is None:
                return ex.respond({"error": "Not Found", **ex.meta}, 404)
            fast = ex.with_meta([entry])
            return ex.respond_encoded(fast[0]) if fast else ex.respond(_entry(ex, entry))
        entries = await repo.list()
        ex.stored()
        encoded = ex.with_meta(entries)
        if encoded is not None:  # stored renderings spliced: nothing parsed or walked again
            listed = [jsonfmt.fragment(item) for item in encoded]
            return ex.respond_encoded(jsonfmt.dumps({**ex.meta, "entries": listed}))
        return ex.respond({**ex.meta, "entries": [_entry(ex, entry) for entry in entries]})
    if method == "DELETE":
        target = ex.query("path")
        if not target or not target.strip():
            return ex.respond({"error": "Missing path parameter"}, 400)
        await repo.delete(target)
        ex.stored()
        return ex.respond({"ok": True, **ex.meta})
    if method in ("POST", "PUT"):
        body = await ex.json_body()
        fields = as_object(body)
        body_path = fields.get("path")
        query_path = ex.query("path")
        if isinstance(body_path, str) and body_path.strip():
            raw: str | None = body_path
            canon = normalize_path(body_path)
        else:
            raw = query_path
            canon = normalize_path(query_path) if query_path else None
        if canon is None:
            return ex.respond({"error": "Missing path"}, 400)
        error = validate_payload(body)
        if error is not None:
            return ex.respond({"error": error}, 400)
        entry = sanitize_entry(canon, fields, iso_now())
        await repo.write(raw, canon, entry)
        ex.stored()
        return ex.respond(_entry(ex, entry))
    return ex.not_allowed()
