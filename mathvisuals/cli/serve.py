"""``mathvisuals serve``: the storage API over HTTP (uvicorn), optionally with a local Redis."""

from __future__ import annotations

import errno
import gc
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from starlette.applications import Starlette


# An idle kept-alive connection is closed after this long. uvicorn's 5 s equals the idle expiry
# of common clients (httpx), so a request sent on a connection at the moment the server drops
# it failed with a reset (seen in the soak, reproduced at 4.993 s of idle); a server that
# waits longer than its clients never races them. Half-sent requests keep their own deadlines.
KEEP_ALIVE_S = 30.0


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")] = 8080,
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
    header_timeout: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Seconds a request's line and headers may take to arrive; later → 408 "
            "and the connection is closed.",
        ),
    ] = 10.0,  # serve_protocol.HEADER_TIMEOUT_S
    body_timeout: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Seconds a request body may take after its headers; later → connection closed.",
        ),
    ] = 30.0,  # serve_protocol.BODY_TIMEOUT_S
) -> None:
    """Serve the storage API over HTTP.

    Reads the REDIS_* variables (REDIS_HOST or REDIS_ENDPOINT, REDIS_PORT, REDIS_PASSWORD,
    REDIS_TLS, REDIS_TLS_CA_FILE, or REDIS_URL) from the environment: fully configured means
    kv mode (Redis); none set means memory mode (nothing persists). Logs are JSON lines on
    stdout. Half-sent requests time out (--header-timeout, --body-timeout); an idle kept-alive
    connection is closed after 30 s.

    Example: mathvisuals serve --port 8080 --header-timeout 5
    """
    import uvicorn

    from mathvisuals.api.startup import build_app
    from mathvisuals.cli.serve_protocol import DeadlineHttpToolsProtocol, deadline_protocol
    from mathvisuals.logs import EventLog, turn_buffered_stdout_sink
    from mathvisuals.settings import Settings

    # uvloop and httptools (with read deadlines, which uvicorn lacks): the fastest loop and
    # parser uvicorn offers. gc.freeze() once the app is built: the full collections then skip
    # the ~40,000 objects of the imported modules (a ~25 ms pause each, docs/performance.md).
    protocol = deadline_protocol(header_timeout, body_timeout)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": protocol,
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "timeout_keep_alive": KEEP_ALIVE_S,
    }
    if workers > 1:
        if with_redis:
            raise typer.BadParameter("--workers needs REDIS_* settings, not --with-redis")
        if protocol is not DeadlineHttpToolsProtocol:
            raise typer.BadParameter(
                "--header-timeout/--body-timeout other than 10/30 need one process: drop --workers"
            )
        listening_socket(host, port).close()  # a clear error now, not one per worker
        typer.echo(
            f"serving the API at http://{host}:{port}/api/health ({workers} workers)", err=True
        )
        # Each worker process builds its own app (and Redis pool) from the environment.
        uvicorn.run("mathvisuals.cli.serve:app_from_env", factory=True, workers=workers, **options)
        return
    listening = listening_socket(host, port)  # before anything starts or says it serves
    server = None
    overrides: dict[str, str] = {}
    if with_redis:
        from mathvisuals.sandbox.local_redis import start_local_redis

        server, overrides = start_local_redis(Path(".mathvisuals"))
    # uvicorn re-raises SIGTERM after its graceful shutdown; turning it into SystemExit lets the
    # ``finally`` below stop the local redis-server instead of orphaning it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        log = EventLog(turn_buffered_stdout_sink)
        application = build_app(Settings.from_env(overrides=overrides), log)
        gc.freeze()
        mode = "kv" if overrides or Settings.from_env().redis.mode == "kv" else "memory"
        typer.echo(f"serving the API at http://{host}:{port}/api/health (mode: {mode})", err=True)
        served = uvicorn.Server(uvicorn.Config(application, **options))
        served.run(sockets=[listening])
        if not served.started:
            raise typer.Exit(1)  # uvicorn has said why (its startup error)
    finally:
        listening.close()
        if server is not None:
            server.stop()


def listening_socket(host: str, port: int) -> socket.socket:
    """The bound socket the server will accept on; one clear line when it cannot be bound."""
    from mathvisuals.deploy.errors import UsageError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            hint = "pick another --port, or stop what listens there"
        elif exc.errno == errno.EACCES:
            hint = "pick a --port above 1023, or run with the right to bind it"
        else:
            hint = "--host must be an address of this machine, e.g. 127.0.0.1"
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}").with_hint(
            hint
        ) from None
    sock.set_inheritable(True)
    return sock


def app_from_env() -> Starlette:
    """The app factory each ``serve --workers`` process calls."""
    from mathvisuals.api.startup import build_app
    from mathvisuals.logs import EventLog, turn_buffered_stdout_sink
    from mathvisuals.settings import Settings

    application = build_app(Settings.from_env(), EventLog(turn_buffered_stdout_sink))
    gc.freeze()
    return application
