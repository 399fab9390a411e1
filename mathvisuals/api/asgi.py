"""The Starlette application servers run: the API's root plus a lifespan closing the store."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from mathvisuals.api.app import Root


class Api(Starlette):
    """Starlette for the lifespan; HTTP requests go straight to ``root``.

    The dispatcher already answers 404 and 500 and writes the access log, so Starlette's
    middleware stack and router would only add work to every request.
    """

    def __init__(self, root: ASGIApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._root = root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._root(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def serving_app(root: Root, *, debug: bool = False) -> Api:
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await root.ctx.store.aclose()

    app = Api(root, debug=debug, lifespan=lifespan)
    app.state.ctx = root.ctx
    return app
