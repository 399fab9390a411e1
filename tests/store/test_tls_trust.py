"""TLS trust (api.md §3.3): the system store, or ``REDIS_TLS_CA_FILE`` alone when it is set."""

from __future__ import annotations

import dataclasses
import ssl
from typing import Any

import pytest

from mathvisuals.sandbox.redis_server import RedisServer
from mathvisuals.store.redis import RedisStore
from tests.conftest import config_for


def _context(store: RedisStore) -> ssl.SSLContext:
    pool: Any = store._redis().connection_pool
    connection = pool.connection_class(**pool.connection_kwargs)
    context: ssl.SSLContext = connection.ssl_context.get()
    return context


@pytest.mark.anyio
async def test_a_ca_file_is_the_only_trust(redis_server: RedisServer) -> None:
    """redis-py loaded the system bundle under the file (~30 ms of each cold start)."""
    store = RedisStore(config_for(redis_server))
    try:
        assert await store.ping() >= 0  # the handshake verifies against the file alone
        context = _context(store)
    finally:
        await store.aclose()
    assert len(context.get_ca_certs()) == 1
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


@pytest.mark.anyio
async def test_every_connection_of_the_pool_shares_that_context(
    redis_server: RedisServer,
) -> None:
    store = RedisStore(config_for(redis_server))
    assert _context(store) is _context(store)
    await store.aclose()


def test_without_a_ca_file_the_system_store_is_the_trust(redis_server: RedisServer) -> None:
    if not ssl.create_default_context().get_ca_certs():
        pytest.skip("this machine's system store has no CA file to compare with")
    config = dataclasses.replace(config_for(redis_server), ca_file=None)
    context = _context(RedisStore(config))
    assert len(context.get_ca_certs()) == len(ssl.create_default_context().get_ca_certs())
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
