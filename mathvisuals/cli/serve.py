"""``mathvisuals serve``: the storage API over HTTP (uvicorn), optionally with a local Redis."""

from __future__ import annotations

import gc
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from starlette.applications import Starlette


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8080,
    with_redis: Annotated[
        bool,
        typer.Option(
            "--with-redis",
            help="Also start a local TLS + AUTH redis-server (state in .mathvisuals/) "
            "and serve in kv mode against it.",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes sharing the port (default 1, one process: the shape "
            "measured in docs/performance.md). Not with --with-redis.",
        ),
    ] = 1,
) -> None:
    """Serve the storage API over HTTP.

    Reads the REDIS_* variables (REDIS_HOST or REDIS_ENDPOINT, REDIS_PORT, REDIS_PASSWORD,
    REDIS_TLS, REDIS_TLS_CA_FILE, or REDIS_URL) from the environment: fully configured means
    kv mode (Redis); none set means memory mode (nothing persists). Logs are JSON lines on
    stdout.

    Example: mathvisuals serve --with-redis --port 8080
    """
    import uvicorn

    from mathvisuals.api.startup import build_app
    from mathvisuals.settings import Settings

    # uvloop and httptools: the fastest loop and parser uvicorn offers. gc.freeze() once the
    # app is built: the full collections then skip the ~40,000 objects of the imported modules
    # (a ~25 ms pause each, seen at p99 in docs/performance.md).
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
    }
    if workers > 1:
        if with_redis:
            raise typer.BadParameter("--workers needs REDIS_* settings, not --with-redis")
        typer.echo(
            f"serving the API at http://{host}:{port}/api/health ({workers} workers)", err=True
        )
        # Each worker process builds its own app (and Redis pool) from the environment.
        uvicorn.run("mathvisuals.cli.serve:app_from_env", factory=True, workers=workers, **options)
        return
    server = None
    overrides: dict[str, str] = {}
    if with_redis:
        from mathvisuals.sandbox.local_redis import start_local_redis

        server, overrides = start_local_redis(Path(".mathvisuals"))
    # uvicorn re-raises SIGTERM after its graceful shutdown; turning it into SystemExit lets the
    # ``finally`` below stop the local redis-server instead of orphaning it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        application = build_app(Settings.from_env(overrides=overrides))
        gc.freeze()
        mode = "kv" if overrides or Settings.from_env().redis.mode == "kv" else "memory"
        typer.echo(f"serving the API at http://{host}:{port}/api/health (mode: {mode})", err=True)
        uvicorn.run(application, **options)
    finally:
        if server is not None:
            server.stop()


def app_from_env() -> Starlette:
    """The app factory each ``serve --workers`` process calls."""
    from mathvisuals.api.startup import build_app
    from mathvisuals.settings import Settings

    application = build_app(Settings.from_env())
    gc.freeze()
    return application
