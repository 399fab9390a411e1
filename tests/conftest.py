"""Shared fixtures: a real TLS + AUTH ``redis-server`` on a free loopback port."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from mathvisuals.api.lambda_handler import LambdaApp, build_handler
from mathvisuals.logs import EventLog, MemorySink
from mathvisuals.sandbox.certs import TlsFiles, make_tls_files
from mathvisuals.sandbox.redis_server import RedisServer
from mathvisuals.settings import RedisConfig, Settings, redis_config

TESTS = Path(__file__).parent
# The end-to-end and reliability scenarios (sandbox processes, fuzzing, soak, kills): the
# minutes of the run. `./dev test --fast` skips them; `./dev test` and CI run everything.
SLOW = ("e2e", "reliability", "sandbox")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.relative_to(TESTS).parts[0] in SLOW:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def redis_server(
    tmp_path_factory: pytest.TempPathFactory, tls_files: TlsFiles
) -> Iterator[RedisServer]:
    """One server for the session (TLS, requirepass, AOF), stopped by PID at the end."""
    server = RedisServer(
        workdir=tmp_path_factory.mktemp("redis"),
        password=secrets.token_urlsafe(24),
        tls=tls_files,
    )
    server.start()
    yield server
    server.stop()


def config_for(server: RedisServer, *, password: str | None = None) -> RedisConfig:
    assert server.tls is not None
    return redis_config(
        {
            "REDIS_HOST": "localhost",
            "REDIS_PORT": str(server.port),
            "REDIS_PASSWORD": password if password is not None else server.password,
            "REDIS_TLS": "true",
            "REDIS_TLS_CA_FILE": str(server.tls.ca_file),
        }
    )


def direct_redis(redis_env: dict[str, str]) -> redis.Redis:
    """A plain redis-py client on the test server, for reading and writing behind the API's back."""
    return redis.Redis(
        host="localhost", port=int(redis_env["REDIS_PORT"]), password=redis_env["REDIS_PASSWORD"],
        ssl=True, ssl_ca_certs=redis_env["REDIS_TLS_CA_FILE"], decode_responses=True,
    )  # fmt: skip


@pytest.fixture
def redis_env(redis_server: RedisServer) -> dict[str, str]:
    """The environment a kv-mode API process needs, with the database flushed first."""
    assert redis_server.tls is not None
    env = {
        "REDIS_HOST": "localhost",
        "REDIS_PORT": str(redis_server.port),
        "REDIS_PASSWORD": redis_server.password,
        "REDIS_TLS": "true",
        "REDIS_TLS_CA_FILE": str(redis_server.tls.ca_file),
    }
    with direct_redis(env) as client:
        client.flushall()
    return env


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def kv_lambda(redis_env: dict[str, str]) -> Iterator[tuple[LambdaApp, MemorySink]]:
    """The Lambda handler in kv mode against the test Redis, with its log kept in memory."""
    sink = MemorySink()
    handler = build_handler(Settings.from_env(redis_env), EventLog(sink))
    yield handler, sink
    # Mangum keeps a process-wide event loop; close the store on it, then the loop itself.
    loop = asyncio.get_event_loop()
    loop.run_until_complete(handler.app.state.ctx.store.aclose())
    loop.close()
    asyncio.set_event_loop(None)
