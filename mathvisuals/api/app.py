"""The ASGI application: rewrites, case-insensitive routing, access log, 404/500 (api.md §2)."""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from mathvisuals.api import examples, health
from mathvisuals.api.http import Context, Exchange, Family, json_response
from mathvisuals.logs import EventLog, request_id
from mathvisuals.settings import Settings
from mathvisuals.store.base import Store

if TYPE_CHECKING:  # the Lambda drives Root itself; only servers import starlette.applications
    from starlette.applications import Starlette

Handler = Callable[[Exchange], Awaitable[Response]]

RAW_EXTENSIONS = (
    ".svg",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".avif",
    ".json",
    ".zip",
    ".csv",
)


@dataclass(frozen=True)
class Endpoint:
    """A route: its path template, handler family and handler."""

    template: str
    family: str
    handler: Handler


def build_families(settings: Settings) -> dict[str, Family]:
    examples_origins = settings.allowed_origins("examples")
    svg_origins = settings.allowed_origins("svg")
    figure_origins = settings.allowed_origins("figures")
    return {
        "examples": Family(
            "examples",
            "GET,POST,PUT,DELETE,OPTIONS",
            "X-Examples-Store-Mode",
            "X-Examples-Storage-Result",
            examples_origins,
        ),
        "trash": Family(
            "examples",
            "GET,POST,DELETE,OPTIONS",
            "X-Examples-Store-Mode",
            "X-Examples-Storage-Result",
            examples_origins,
        ),
        "svg": Family(
            "svg",
            "GET,POST,PUT,DELETE,OPTIONS",
            "X-Svg-Store-Mode",
            "X-Svg-Storage-Result",
            svg_origins,
        ),
        "figures": Family(
            "figures",
            "GET,POST,PATCH,DELETE,OPTIONS",
            "X-Figure-Library-Store-Mode",
            "X-Figure-Library-Storage-Result",
            figure_origins,
        ),
        "settings": Family("settings", "GET,PUT,POST,DELETE,OPTIONS", None, None, examples_origins),
        "health": Family("health", "GET,OPTIONS", None, None, examples_origins),
        "svg-raw": Family("svg", "", "X-Svg-Store-Mode", None, ("*",)),
        "figure-raw": Family("figures", "", "X-Figure-Library-Store-Mode", None, ("*",)),
    }


def lazy(module: str, name: str) -> Handler:
    """A route's handler, imported at the route's first request: a Lambda cold start imports
    the modules of the route it serves, not those of every route."""
    loaded: list[Handler] = []

    async def handle(ex: Exchange) -> Response:
        if not loaded:
            loaded.append(getattr(importlib.import_module(module), name))
        return await loaded[0](ex)

    return handle


_svg_raw = lazy("mathvisuals.api.raw", "handle_svg")
_figure_raw = lazy("mathvisuals.api.raw", "handle_figure")
ROUTES: dict[str, Endpoint] = {
    "/api/examples": Endpoint("/api/examples", "examples", examples.handle),
    "/api/examples/trash": Endpoint(
        "/api/examples/trash", "trash", lazy("mathvisuals.api.trash", "handle")
    ),
    "/api/svg": Endpoint("/api/svg", "svg", lazy("mathvisuals.api.svg", "handle")),
    "/api/svg/raw": Endpoint("/api/svg/raw", "svg-raw", _svg_raw),
    "/api/figure-library": Endpoint(
        "/api/figure-library", "figures", lazy("mathvisuals.api.figures", "handle")
    ),
    "/api/figure-library/raw": Endpoint("/api/figure-library/raw", "figure-raw", _figure_raw),
    "/api/settings": Endpoint(
        "/api/settings", "settings", lazy("mathvisuals.api.settings_route", "handle")
    ),
    "/api/health": Endpoint("/api/health", "health", health.handle),
}
PATH_STYLE = {
    "/api/svg/raw/": Endpoint("/api/svg/raw/{slug}", "svg-raw", _svg_raw),
    "/api/figure-library/raw/": Endpoint(
        "/api/figure-library/raw/{slug}", "figure-raw", _figure_raw
    ),
}


def rewrite_friendly(path: str, query: str) -> tuple[str, str] | None:
    """§2.3: ``/bildearkiv/…`` and ``/svg/…`` to the SVG raw route, asset URLs of
    ``/figure-library/…`` to the figure raw route; ``None`` when no rule applies."""
    target: str | None = None
    slug = ""
    for prefix in ("/bildearkiv/", "/svg/"):
        if path.startswith(prefix):
            slug = path[len(prefix) - 1 :]
            if slug not in ("", "/"):
                target = "/api/svg/raw"
            break
    else:
        if path.startswith("/figure-library/"):
            slug = path[len("/figure-library") :]
            if slug.lower().endswith(RAW_EXTENSIONS):
                target = "/api/figure-library/raw"
    if target is None:
        return None
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(key == "path" and value for key, value in pairs):
        pairs = [(key, value) for key, value in pairs if key != "path"]
        pairs.append(("path", slug))
    return target, urlencode(pairs)


def match(path: str) -> tuple[Endpoint, str | None] | None:
    """Exact, case-insensitive, one optional trailing ``/``; path-style raw URLs keep a suffix."""
    lowered = path.lower()
    key = lowered[:-1] if lowered.endswith("/") and len(lowered) > 1 else lowered
    endpoint = ROUTES.get(key)
    if endpoint is not None:
        return endpoint, None
    for prefix, style in PATH_STYLE.items():
        if lowered.startswith(prefix) and len(path) > len(prefix):
            return style, path[len(prefix) :]
    return None


def request_path(scope: Scope) -> str:
    """The path as the client sent it, still percent-encoded.

    Servers hand over ``path`` already decoded, which would split a slug segment such as
    ``a%2Fb`` in two; rewrites and slugs work on the raw form, as upstream's runtime did.
    uvicorn and the test client keep it in ``raw_path``; the Lambda adapter escapes ``%``
    so that Mangum's decoding gives the raw path back in ``path``.
    """
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        return raw.decode("latin-1")
    return str(scope["path"])


class Dispatcher:
    """The innermost ASGI app: finds the endpoint, runs it, writes the access log."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        aws_context = scope.get("aws.context")
        token = request_id.set(getattr(aws_context, "aws_request_id", None) or os.urandom(8).hex())
        status = 500
        route = "unmatched"

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            path = request_path(scope)
            query = scope.get("query_string", b"").decode("latin-1")
            rewritten = rewrite_friendly(path, query)
            if rewritten is not None:
                path, query = rewritten
                scope = {
                    **scope,
                    "path": path,
                    "raw_path": path.encode("latin-1"),
                    "query_string": query.encode("latin-1"),
                }
            found = match(path)
            if found is None:
                response: Response = json_response({"error": "Not Found"}, 404)
            else:
                endpoint, suffix = found
                route = endpoint.template
                request = Request(scope, receive)
                exchange = Exchange(request, self.ctx, self.ctx.families[endpoint.family], route)
                exchange.path_suffix = suffix
                try:
                    response = await endpoint.handler(exchange)
                except Exception as exc:  # noqa: BLE001 - the last line of defence, logged
                    self.ctx.log.emit(
                        "http.unhandled_error", "error", route=route, exception=type(exc).__name__
                    )
                    response = json_response({"error": "Internal Server Error"}, 500)
            await response(scope, receive, capture)
        finally:
            self.ctx.log.emit(
                "http.access",
                method=scope.get("method", "GET"),
                route=route,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                store_mode=self.ctx.mode,
            )
            request_id.reset(token)


async def openapi_document(scope: Scope, receive: Receive, send: Send) -> None:
    if scope.get("method", "GET").upper() not in ("GET", "HEAD"):
        refusal = json_response({"error": "Method Not Allowed"}, 405, {"Allow": "GET, HEAD"})
        await refusal(scope, receive, send)
        return
    from mathvisuals.api import openapi  # lazy: only this route needs the document

    await openapi.response()(scope, receive, send)


class Root:
    """The API as a bare ASGI callable for HTTP: the OpenAPI document, else the dispatcher.

    The Lambda adapter drives it directly (it runs no lifespan); servers get it wrapped in a
    Starlette application for the lifespan (:func:`create_app`).
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.state = State()
        self.state.ctx = ctx
        self._dispatcher = Dispatcher(ctx)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].lower().rstrip("/") == "/api/openapi.json":
            await openapi_document(scope, receive, send)
            return
        await self._dispatcher(scope, receive, send)


def create_root(settings: Settings, store: Store, *, log: EventLog | None = None) -> Root:
    """Build the API around an already-opened store; no I/O happens here."""
    ctx = Context(settings=settings, store=store, log=log or EventLog())
    ctx.families = build_families(settings)
    return Root(ctx)


def create_app(
    settings: Settings, store: Store, *, log: EventLog | None = None, debug: bool = False
) -> Starlette:
    """The API as a Starlette application, which closes the store at shutdown (servers)."""
    from mathvisuals.api.asgi import serving_app

    return serving_app(create_root(settings, store, log=log), debug=debug)
