"""Exceptions to HTTP, in one place per handler family (api.md §5.5).

Every JSON family answers bad bodies, an unavailable Redis (FIX-A), a corrupt stored value and
any other exception the same way; only the body shapes differ, so they are the parameters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.responses import Response

from mathvisuals.api.http import BodyError, Exchange
from mathvisuals.store.base import CorruptValueError, StoreUnavailableError

INTERNAL = "Internal Server Error"

Body = dict[str, object]
Dispatch = Callable[[Exchange], Awaitable[Response]]


@dataclass(frozen=True)
class ErrorShapes:
    """How one handler family words its 503 and 500 answers."""

    unavailable: Callable[[Exchange, StoreUnavailableError], Body]
    internal: Callable[[Exchange], Body]
    # Whether a 503 counts as a store access, so it carries the result header (§4.2).
    stored_on_unavailable: bool = True


EXAMPLES = ErrorShapes(
    unavailable=lambda ex, exc: {"error": "KVUnavailable", "message": exc.message, **ex.meta},
    internal=lambda ex: {"error": INTERNAL, "message": INTERNAL},
)
ENTRIES = ErrorShapes(  # svg and figure library
    unavailable=lambda ex, exc: {"error": exc.message, **ex.meta},
    internal=lambda ex: {"error": INTERNAL, **ex.meta},
)
SETTINGS = ErrorShapes(
    unavailable=lambda ex, exc: {"error": "Failed to persist settings", "message": exc.message},
    internal=lambda ex: {"error": INTERNAL},
    stored_on_unavailable=False,
)


async def guarded(ex: Exchange, dispatch: Dispatch, shapes: ErrorShapes) -> Response:
    """Run ``dispatch`` and answer every failure with the family's JSON error, logged."""
    try:
        return await dispatch(ex)
    except BodyError as exc:
        return ex.respond({"error": exc.error}, exc.status)
    except StoreUnavailableError as exc:
        ex.unavailable(exc)
        if shapes.stored_on_unavailable:
            ex.stored()
        return ex.respond(shapes.unavailable(ex, exc), 503)
    except CorruptValueError as exc:
        ex.ctx.log.emit("store.corrupt_value", "error", key=exc.key, action="error")
        return ex.respond(shapes.internal(ex), 500)
    except Exception as exc:  # noqa: BLE001 - the family's 500 body, with the class logged
        ex.ctx.log.emit(
            "http.unhandled_error", "error", route=ex.route, exception=type(exc).__name__
        )
        return ex.respond(shapes.internal(ex), 500)
