"""The only module that imports redis: an asyncio client with short timeouts (api.md §3.6).

Every redis-py error is translated here, once, into :class:`StoreUnavailableError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from redis import exceptions as rex
from redis.asyncio.client import Redis
from redis.asyncio.connection import BlockingConnectionPool, SSLConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from mathvisuals.settings import RedisConfig
from mathvisuals.store.base import (
    CONFLICT,
    CONNECT_FAILED,
    OPERATION_FAILED,
    Delete,
    ErrorClass,
    Mode,
    Op,
    SAdd,
    Set,
    SRem,
    StoreUnavailableError,
    T,
    Update,
)
from mathvisuals.store.coalesce import Coalescer

CONNECT_TIMEOUT_S = 2.0
COMMAND_TIMEOUT_S = 2.0
ATTEMPTS = 5
# A burst beyond the pool waits for a free connection instead of failing (issue #13); the
# wait is bounded so a stuck pool still answers 503 rather than hanging the request.
MAX_CONNECTIONS = 100
POOL_WAIT_S = 5.0
POOL_EXHAUSTED = "No connection available."
LOCK_STRIPES = 64
# Reads in flight at once before concurrent ones queue and leave as one batch (store/coalesce.py).
READS_IN_FLIGHT = 2
# Indexes (KEYS) and their key prefixes (ARGV) listed in one round trip: each index's members,
# then the values of ``prefix .. member`` in member order (false when missing). MGET goes in
# chunks because Lua's unpack is limited to a few thousand values. The value keys are not
# declared, which a cluster-mode-disabled server (the only kind supported, api.md §3) allows.
LIST_SCRIPT = """
local out = {}
for i, index in ipairs(KEYS) do
  local members = redis.call('SMEMBERS', index)
  local values = {}
  for first = 1, #members, 1000 do
    local keys = {}
    for j = first, math.min(first + 999, #members) do keys[#keys + 1] = ARGV[i] .. members[j] end
    local got = redis.call('MGET', unpack(keys))
    for j = 1, #got do values[#values + 1] = got[j] end
  end
  out[i] = {members, values}
end
return out
"""


def classify(exc: BaseException) -> tuple[ErrorClass, bool]:
    """Map a redis-py error to its §3.6 class, and whether it happened while connecting."""
    text = str(exc)
    connecting = "connecting to" in text or isinstance(exc, rex.AuthenticationError)
    if isinstance(exc, rex.AuthenticationError):
        upper = text.upper()
        if upper.startswith("NOAUTH") or "AUTHENTICATION REQUIRED" in upper:
            return "NOAUTH", True
        return "WRONGPASS", True
    if isinstance(exc, rex.ReadOnlyError):
        return "READONLY", False
    if isinstance(exc, rex.TimeoutError):
        return "TIMEOUT", connecting
    if isinstance(exc, rex.ResponseError):
        if text.upper().startswith("NOAUTH"):
            return "NOAUTH", True
        return "OTHER", False
    if isinstance(exc, rex.MaxConnectionsError) or text == POOL_EXHAUSTED:
        # Every pooled connection stayed busy for POOL_WAIT_S: load, not a broken link.
        return "TIMEOUT", False
    if isinstance(exc, rex.ConnectionError):
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ssl.SSLError):
                return "TLS", True
            cause = cause.__cause__ or cause.__context__
        if "SSL" in text or "certificate" in text.lower():
            return "TLS", True
        return "CONNECTION", True
    return "OTHER", False


def _detail(exc: BaseException) -> str:
    code = str(exc).split(" ", 1)[0] if isinstance(exc, rex.ResponseError) else ""
    if isinstance(exc, rex.AuthenticationError):
        code = "NOAUTH" if str(exc).upper().startswith("NOAUTH") else "WRONGPASS"
    return f"{type(exc).__name__} {code}".strip()


class _RedisTx:
    def __init__(self, pipe: Any) -> None:
        self._pipe = pipe

    async def get(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        await self._pipe.watch(*keys)
        return list(await self._pipe.mget(list(keys)))

    async def smembers(self, key: str) -> set[str]:
        await self._pipe.watch(key)
        return set(await self._pipe.smembers(key))


class RedisStore:
    """kv mode. One client and pool per process, created lazily; failures are not sticky."""

    mode: Mode = "kv"

    def __init__(self, config: RedisConfig) -> None:
        self._config = config
        # redis-py's asyncio types mix bytes and str; with decode_responses every reply is str.
        self._client: Any = None
        self._list_script: Any = None
        self._locks = [asyncio.Lock() for _ in range(LOCK_STRIPES)]
        self._reads: Coalescer[str, str | None] = Coalescer(self._get_now, limit=READS_IN_FLIGHT)
        self._lists: Coalescer[tuple[str, str], list[tuple[str, str | None]]] = Coalescer(
            self._list_now, limit=READS_IN_FLIGHT
        )

    def _redis(self) -> Any:
        if self._client is None:
            config = self._config
            tls: dict[str, Any] = {}
            if config.tls:
                tls = {
                    "ssl": True,
                    "ssl_cert_reqs": "required",
                    "ssl_check_hostname": True,
                    "ssl_ca_certs": config.ca_file,
                }
            template = Redis(
                host=config.host or "",
                port=config.port or 0,
                password=config.password,
                db=config.db,
                decode_responses=True,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
                socket_timeout=COMMAND_TIMEOUT_S,
                # One retry, under 200 ms: redis-py's default (10 retries) takes ~3.5 s to fail.
                retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
                # No CLIENT SETINFO: a round trip per connection, and older engines reject it.
                driver_info=None,
                protocol=2,
                **tls,
            )
            # redis-py builds the connection settings; only the pool class is ours.
            kwargs = dict(template.connection_pool.connection_kwargs)
            connection_class = template.connection_pool.connection_class
            if config.tls:
                connection_class = _SharedContextSSLConnection
                kwargs["ssl_shared"] = []
            pool = BlockingConnectionPool(
                max_connections=MAX_CONNECTIONS,
                timeout=POOL_WAIT_S,
                connection_class=connection_class,
                **kwargs,
            )
            self._client = Redis.from_pool(pool)
        return self._client

    @contextlib.asynccontextmanager
    async def _mapped(self, operation: str) -> AsyncIterator[None]:
        if self._config.tls and not self._config.ca_file_readable:
            raise StoreUnavailableError("TLS", "connect", CONNECT_FAILED, "CA file unreadable")
        try:
            yield
        except rex.WatchError:
            raise
        except rex.RedisError as exc:
            error_class, connecting = classify(exc)
            if error_class == "READONLY":
                # After a failover the old primary answers READONLY: drop the pool so the
                # endpoint name is resolved again on the next connect.
                with contextlib.suppress(rex.RedisError, OSError):
                    await self._redis().connection_pool.disconnect()
            message = CONNECT_FAILED if connecting else OPERATION_FAILED
            raise StoreUnavailableError(
                error_class, "connect" if connecting else operation, message, _detail(exc)
            ) from exc
        except OSError as exc:
            error_class = "TLS" if isinstance(exc, ssl.SSLError) else "CONNECTION"
            raise StoreUnavailableError(
                error_class, "connect", CONNECT_FAILED, type(exc).__name__
            ) from exc

    async def get(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        return await self._reads.fetch(keys)

    async def _get_now(self, keys: list[str]) -> list[str | None]:
        if len(keys) == 1:
            async with self._mapped("get"):
                return [await self._redis().get(keys[0])]
        async with self._mapped("mget"):
            return list(await self._redis().mget(keys))

    async def smembers(self, key: str) -> set[str]:
        async with self._mapped("smembers"):
            return set(await self._redis().smembers(key))

    async def list_index(self, index: str, prefix: str) -> list[tuple[str, str | None]]:
        (rows,) = await self.list_indexes([(index, prefix)])
        return rows

    async def list_indexes(
        self, indexes: Sequence[tuple[str, str]]
    ) -> list[list[tuple[str, str | None]]]:
        if not indexes:
            return []
        return await self._lists.fetch(indexes)

    async def _list_now(self, indexes: list[tuple[str, str]]) -> list[list[tuple[str, str | None]]]:
        if self._list_script is None:
            self._list_script = self._redis().register_script(LIST_SCRIPT)
        async with self._mapped("evalsha"):
            replies = await self._list_script(
                keys=[index for index, _ in indexes], args=[prefix for _, prefix in indexes]
            )
        return [list(zip(members, values, strict=True)) for members, values in replies]

    async def write(self, ops: Sequence[Op]) -> None:
        if not ops:
            return
        async with self._mapped("exec"):
            pipe: Any = self._redis().pipeline(transaction=True)
            try:
                _queue(pipe, ops)
                await pipe.execute()
            finally:
                await pipe.reset()

    async def update(self, fn: Update[T], *, operation: str, lock: str = "") -> T:
        if not lock:
            return await self._update(fn, operation)
        # A fixed set of striped locks: bounded memory whatever the number of slugs.
        async with self._locks[zlib.crc32(lock.encode()) % len(self._locks)]:
            return await self._update(fn, operation)

    async def _update(self, fn: Update[T], operation: str) -> T:
        for attempt in range(ATTEMPTS):
            async with self._mapped(operation):
                pipe: Any = self._redis().pipeline(transaction=True)
                try:
                    ops, result = await fn(_RedisTx(pipe))
                    if not ops:
                        return result
                    pipe.multi()
                    _queue(pipe, ops)
                    await pipe.execute()
                    return result
                except rex.WatchError:
                    pass
                finally:
                    await pipe.reset()
            if attempt < ATTEMPTS - 1:
                await asyncio.sleep(random.uniform(0.01, 0.05))
        raise StoreUnavailableError("WATCH_CONFLICT", operation, CONFLICT, "WatchError")

    async def ping(self) -> float:
        async with self._mapped("ping"):
            started = time.perf_counter()
            await self._redis().ping()
            return (time.perf_counter() - started) * 1000

    async def aclose(self) -> None:
        """Close the pool; the next command connects afresh (SnapStart closes before a snapshot)."""
        self._list_script = None
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(rex.RedisError, OSError):
                await client.aclose()


class _SharedContextSSLConnection(SSLConnection):
    """A TLS connection whose SSLContext is shared by its pool.

    redis-py builds one SSLContext per connection, loading the CA bundle each time (~1 MB and
    tens of ms of CPU per connection, docs/performance.md); the first connection's context
    (built from the same settings) serves them all.
    """

    def __init__(self, *, ssl_shared: list[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if ssl_shared:
            self.ssl_context = ssl_shared[0]
        else:
            _trust_ca_file_only(self.ssl_context)
            ssl_shared.append(self.ssl_context)


def _trust_ca_file_only(settings: Any) -> None:
    """With ``REDIS_TLS_CA_FILE`` the file is the trust (api.md §3.3: the system store *or* the
    file). redis-py's context loads the system bundle first and the file on top, ~30 ms of a
    cold start spent on CAs that should not be trusted; give it the context it would build,
    with the file alone. ``settings`` is redis-py's RedisSSLContext (its ``get()`` returns a
    context already set)."""
    if not settings.ca_certs or settings.ca_path or settings.ca_data or settings.certfile:
        return
    context = ssl.create_default_context(cafile=settings.ca_certs)
    context.check_hostname = settings.check_hostname
    context.verify_mode = settings.cert_reqs
    settings.context = context


def _queue(pipe: Any, ops: Sequence[Op]) -> None:
    for op in ops:
        if isinstance(op, Set):
            pipe.set(op.key, op.value)
        elif isinstance(op, Delete):
            pipe.delete(op.key)
        elif isinstance(op, SAdd):
            pipe.sadd(op.key, op.member)
        elif isinstance(op, SRem):
            pipe.srem(op.key, op.member)
