"""Placeholder until the handler lands."""

from __future__ import annotations

from starlette.responses import Response

from mathvisuals.api.http import Exchange


async def handle(ex: Exchange) -> Response:
    return ex.respond({"error": "Not Implemented"}, 501)
