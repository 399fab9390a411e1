"""The ``mathvisuals`` command line: the only module that writes to the terminal."""

from __future__ import annotations

import gc
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from mathvisuals.deploy.errors import DeployError

if TYPE_CHECKING:
    from starlette.applications import Starlette

app = typer.Typer(
    help=(
        "Math Visuals storage API and the tooling that provisions its Redis data plane.\n\n"
        "The deployment workflow, per environment file infra/environments/<env>.toml: "
        "check (offline) → plan (read-only) → up (artefact, auth secret, shared stack, "
        "allow-lists, data stack, api stack, then verify and the status report) → status / "
        "verify any time → rotate-token → github-secrets → down. "
        "--target local runs the same workflow against the local sandbox "
        "(ministack + a TLS redis-server); serve runs the API alone."
    ),
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
        uvicorn.run("mathvisuals.cli:app_from_env", factory=True, workers=workers, **options)
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


EnvOption = Annotated[
    str | None,
    typer.Option("--env", "-e", help="Environment name: reads infra/environments/<env>.toml."),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Path to an environment TOML file (instead of --env)."),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Write a machine-readable result to stdout.")
]


def fail(exc: DeployError) -> NoReturn:
    """One line on stderr saying what is wrong (and how to fix it), then the class's exit code."""
    message = f"error: {exc}"
    if exc.hint:
        message += f" (hint: {exc.hint})"
    typer.echo(message, err=True)
    raise typer.Exit(exc.exit_code)


@app.command()
def check(
    env: EnvOption = None, config: ConfigOption = None, json_output: JsonOption = False
) -> None:
    """Prove the config and the three templates sound, offline (no credentials, no network).

    Runs the config validation, cfn-lint and our own rules (ElastiCache TLS+AUTH, dynamic
    reference forms, physical-name collisions, the export/import graph, parameter coverage,
    capabilities, and the token in MATHVISUALS_TOKEN_FILE when set).
    Exit codes: 0 clean, 3 bad config, 4 findings.
    """
    from mathvisuals.deploy.check import run_checks
    from mathvisuals.deploy.config import config_path
    from mathvisuals.settings import token_file_from_env

    try:
        report = run_checks(config_path(env, config), token_file=token_file_from_env())
    except DeployError as exc:
        fail(exc)
    errors = [item for item in report.findings if item.severity == "error"]
    if json_output:
        typer.echo(report.to_json())
    else:
        for item in report.findings:
            typer.echo(
                f"{item.file}:{item.line}: {item.severity} {item.rule} {item.message}"
                + (f" (hint: {item.hint})" if item.hint else ""),
                err=True,
            )
        summary = f"{len(errors)} error(s), {len(report.findings) - len(errors)} warning(s)"
        typer.echo(("check failed: " if errors else "check passed: ") + summary, err=True)
    if errors:
        raise typer.Exit(4)


@app.callback()
def _root() -> None:
    """Math Visuals storage API and deployment tooling.

    serve runs the API locally; check proves the infrastructure offline before AWS is touched.
    """


def main() -> None:
    from mathvisuals.deploy.cli import register

    register(app)
    app()
