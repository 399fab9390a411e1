"""The ``mathvisuals`` command line: the only module that writes to the terminal."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Math Visuals storage API and the tooling that provisions its Redis data plane.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
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
) -> None:
    """Serve the storage API over HTTP.

    Reads the REDIS_* variables (REDIS_HOST or REDIS_ENDPOINT, REDIS_PORT, REDIS_PASSWORD,
    REDIS_TLS, REDIS_TLS_CA_FILE, or REDIS_URL) from the environment: fully configured means
    kv mode (Redis); none set means memory mode (nothing persists). Logs are JSON lines on
    stdout.
    """
    import uvicorn

    from mathvisuals.api.startup import build_app
    from mathvisuals.settings import Settings

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
        mode = "kv" if overrides or Settings.from_env().redis.mode == "kv" else "memory"
        typer.echo(f"serving the API at http://{host}:{port}/api/health (mode: {mode})", err=True)
        uvicorn.run(
            application,
            host=host,
            port=port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
    finally:
        if server is not None:
            server.stop()


@app.callback()
def _root() -> None:
    """Math Visuals storage API and deployment tooling."""


def main() -> None:
    app()
