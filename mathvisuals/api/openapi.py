"""Placeholder."""

from __future__ import annotations

from starlette.responses import Response


def response() -> Response:
    return Response("{}", media_type="application/json")
