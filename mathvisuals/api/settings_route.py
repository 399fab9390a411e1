"""``/api/settings``: the project colour settings document (api.md §13)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mathvisuals.api.errors import SETTINGS, guarded
from mathvisuals.api.http import SETTINGS_BODY_LIMIT, Exchange
from mathvisuals.model.clock import iso_now
from mathvisuals.model.projects import default_settings, normalize_settings
from mathvisuals.store.settings import SettingsRepository

MODE_HEADER = "X-Settings-Storage-Mode"
PERSISTENT_HEADER = "X-Settings-Storage-Persistent"
METHODS = ("GET", "PUT", "POST", "DELETE")


async def handle(ex: Exchange) -> Response:
    if ex.method == "OPTIONS":
        return ex.options()
    if ex.method not in METHODS:
        return ex.not_allowed()
    # §4.2: the mode headers go on every other response, errors included (as upstream).
    ex.headers[MODE_HEADER] = ex.mode
    ex.headers[PERSISTENT_HEADER] = "1" if ex.mode == "kv" else "0"
    return await guarded(ex, _dispatch, SETTINGS)


async def _dispatch(ex: Exchange) -> Response:
    repo = SettingsRepository(ex.ctx.store)
    if ex.method == "GET":
        stored = await repo.load()
        # A read is not an update: stored settings keep their updatedAt (now=None). With nothing
        # stored, the defaults are not written back (§6.3 lists writes only for PUT/POST/DELETE).
        if stored is None:
            return _ok(ex, default_settings(iso_now()))
        return _ok(ex, normalize_settings(stored, None))
    if ex.method == "DELETE":
        document = default_settings(iso_now())
        await repo.save(document)
        return _ok(ex, document, reset=True)
    body = await ex.json_body(SETTINGS_BODY_LIMIT)
    inner = body.get("settings") if isinstance(body, dict) else None
    document = normalize_settings(inner if isinstance(inner, dict) else body, iso_now())
    await repo.save(document)
    return _ok(ex, document)


def _ok(ex: Exchange, document: dict[str, Any], *, reset: bool = False) -> Response:
    payload: dict[str, object] = {
        "settings": document,
        "storage": {"mode": ex.mode, "persistent": ex.mode == "kv"},
    }
    if reset:
        payload["reset"] = True
    return ex.respond(payload)
