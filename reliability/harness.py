"""A TLS + AUTH redis-server per scenario, the API in kv mode around it, and direct reads."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx2
from starlette.applications import Starlette

from mathvisuals.api.app import create_app
from mathvisuals.logs import EventLog, MemorySink
from mathvisuals.sandbox.certs import make_tls_files
from mathvisuals.sandbox.redis_server import RedisServer
from mathvisuals.sandbox.resp import RespClient, connect
from mathvisuals.settings import Settings
from mathvisuals.store import open_store
from mathvisuals.store.base import Store


@contextmanager
def redis_server(workdir: Path, *, appendonly: bool = True) -> Iterator[RedisServer]:
    """The ElastiCache stand-in: TLS, ``requirepass``, AOF with ``appendfsync always``."""
    server = RedisServer(
        workdir=workdir / "redis",
        password=secrets.token_urlsafe(24),
        tls=make_tls_files(workdir / "tls"),
        appendonly=appendonly,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def redis_env(server: RedisServer) -> dict[str, str]:
    """The ``REDIS_*`` variables of a kv-mode API process talking to ``server``."""
    assert server.tls is not None
    return {
        "REDIS_HOST": "localhost",
        "REDIS_PORT": str(server.port),
        "REDIS_PASSWORD": server.password,
        "REDIS_TLS": "true",
        "REDIS_TLS_CA_FILE": str(server.tls.ca_file),
    }


def direct(server: RedisServer) -> RespClient:
    """A plain RESP connection for checks, bypassing the API (and its store code)."""
    assert server.tls is not None
    return connect(server.port, server.tls.ca_file, server.password)


def flushall(server: RedisServer) -> None:
    with direct(server) as client:
        client.command("FLUSHALL")


def build_app(env: Mapping[str, str], sink: MemorySink | None = None) -> tuple[Starlette, Store]:
    """One API instance with its own store (its own pool and locks): one "process"."""
    settings = Settings.from_env(dict(env))
    assert settings.redis.mode == "kv", "the scenarios run against Redis, never in memory"
    store = open_store(settings.redis)
    return create_app(settings, store, log=EventLog(sink or MemorySink())), store


@asynccontextmanager
async def in_process(
    env: Mapping[str, str], instances: int = 2, sinks: Sequence[MemorySink] = ()
) -> AsyncIterator[list[httpx2.AsyncClient]]:
    """``instances`` API instances on this event loop, each behind its own ASGI client."""
    stores: list[Store] = []
    clients: list[httpx2.AsyncClient] = []
    try:
        for number in range(instances):
            app, store = build_app(env, sinks[number] if number < len(sinks) else None)
            stores.append(store)
            transport = httpx2.ASGITransport(app=app)
            clients.append(httpx2.AsyncClient(transport=transport, base_url="http://api"))
        yield clients
    finally:
        for client in clients:
            await client.aclose()
        for store in stores:
            await store.aclose()


@asynccontextmanager
async def over_http(urls: Sequence[str]) -> AsyncIterator[list[httpx2.AsyncClient]]:
    """Clients for API processes already serving at ``urls`` (see ``processes.api_servers``)."""
    limits = httpx2.Limits(max_connections=64, max_keepalive_connections=64)
    clients = [httpx2.AsyncClient(base_url=url, timeout=10, limits=limits) for url in urls]
    try:
        yield clients
    finally:
        for client in clients:
            await client.aclose()
