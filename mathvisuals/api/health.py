"""``/api/health``: mode, reachability and version, never hosts or secrets (api.md §14, FIX-N)."""

from __future__ import annotations

from starlette.responses import Response

from mathvisuals.api.http import Exchange, json_response
from mathvisuals.store.base import StoreUnavailableError


async def handle(ex: Exchange) -> Response:
    if ex.method == "OPTIONS":
        return ex.options()
    if ex.method != "GET":
        return ex.not_allowed("GET, OPTIONS")
    headers = {**ex.headers, "Cache-Control": "no-store"}
    kv = ex.mode == "kv"
    reachable = False
    latency: int | None = None
    if kv:
        try:
            latency = round(await ex.ctx.store.ping())
            reachable = True
        except StoreUnavailableError as exc:
            ex.unavailable(exc)
    body = {
        "mode": ex.mode,
        "persistent": kv,
        "redis": {"configured": kv, "reachable": reachable, "latency_ms": latency},
        "version": ex.ctx.settings.version,
    }
    return json_response(body, 503 if kv and not reachable else 200, headers)
