"""In-process API clients, in memory mode or against the real TLS Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx2
import pytest
from starlette.testclient import TestClient

from mathvisuals.api.app import create_app
from mathvisuals.logs import EventLog, MemorySink
from mathvisuals.settings import Settings
from mathvisuals.store import open_store


@contextmanager
def api_client(env: dict[str, str] | None = None) -> Iterator[tuple[TestClient, MemorySink]]:
    settings = Settings.from_env(env or {})
    sink = MemorySink()
    app = create_app(settings, open_store(settings.redis), log=EventLog(sink))
    with TestClient(app) as client:
        yield client, sink


@pytest.fixture
def memory_client() -> Iterator[TestClient]:
    with api_client() as (client, _):
        yield client


@pytest.fixture
def kv_client(redis_env: dict[str, str]) -> Iterator[TestClient]:
    with api_client(redis_env) as (client, _):
        yield client


@pytest.fixture(params=["memory", "kv"])
def client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """The same test in memory mode and against real Redis."""
    env = request.getfixturevalue("redis_env") if request.param == "kv" else {}
    with api_client(env) as (test_client, _):
        yield test_client


@asynccontextmanager
async def async_api(env: dict[str, str] | None = None) -> AsyncIterator[httpx2.AsyncClient]:
    """An ASGI client on the test's own event loop (the store's connections live there too)."""
    settings = Settings.from_env(env or {})
    store = open_store(settings.redis)
    app = create_app(settings, store, log=EventLog(MemorySink()))
    transport = httpx2.ASGITransport(app=app)
    try:
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http
    finally:
        await store.aclose()
