"""The Redis side of data export/import: SCAN pages read atomically, entries written with
their index (FIX-E). Byte-exact (no decoding); every redis-py error becomes
:class:`StoreUnavailableError`, as in ``store.redis``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from redis import exceptions as rex

from mathvisuals.model.archive import Entry, Value
from mathvisuals.model.keyspace import INDEX_SETS, classify
from mathvisuals.model.restore import Outcome, decide
from mathvisuals.settings import RedisConfig
from mathvisuals.store.base import OPERATION_FAILED, StoreUnavailableError
from mathvisuals.store.redis import classify as classify_error

ATTEMPTS = 5
# One round trip per page, atomic (api.md §6.3 allows a Lua script for the same work): the
# type and value of each key are read together, so each exported key is consistent.
_READ_PAGE = """
local out = {}
for i, key in ipairs(KEYS) do
  local t = redis.call('TYPE', key).ok
  local v
  if t == 'string' then v = redis.call('GET', key)
  elseif t == 'set' then v = redis.call('SMEMBERS', key)
  elseif t == 'hash' then v = redis.call('HGETALL', key)
  elseif t == 'list' then v = redis.call('LRANGE', key, 0, -1)
  elseif t == 'zset' then v = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  else v = false end
  out[i] = {t, v}
end
return out
"""


def connect(config: RedisConfig) -> Any:
    tls: dict[str, Any] = {}
    if config.tls:
        tls = {"ssl": True, "ssl_cert_reqs": "required", "ssl_ca_certs": config.ca_file}
    return redis.Redis(
        host=config.host or "",
        port=config.port or 0,
        password=config.password,
        db=config.db,
        socket_connect_timeout=5,
        socket_timeout=30,
        driver_info=None,
        protocol=2,
        **tls,
    )


@contextlib.contextmanager
def _mapped(operation: str) -> Iterator[None]:
    try:
        yield
    except rex.WatchError:
        raise
    except rex.RedisError as exc:
        error_class, _ = classify_error(exc)
        raise StoreUnavailableError(
            error_class, operation, OPERATION_FAILED, type(exc).__name__
        ) from exc


def _entry(key: str, kind: bytes, raw: Any) -> Entry | None:
    name = kind.decode()
    if name == "string":
        return Entry(key, name, bytes(raw))
    if name in ("set", "list"):
        return Entry(key, name, [bytes(m) for m in raw])
    if name in ("hash", "zset"):
        pairs = [(bytes(raw[i]), bytes(raw[i + 1])) for i in range(0, len(raw), 2)]
        return Entry(key, name, pairs)
    return None  # deleted between SCAN and the read


@dataclass
class Page:
    cursor: int
    entries: list[Entry]
    outside_schema: list[str] = field(default_factory=list)


class KeyspaceStore:
    """Reads and writes whole keys of the upstream schema, with their type, as bytes."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._read = client.register_script(_READ_PAGE)

    def page(self, cursor: int, count: int) -> Page:
        with _mapped("scan"):
            cursor, raw_keys = self._client.scan(cursor=cursor, count=count)
            keys = sorted({bytes(k).decode("utf-8", "surrogateescape") for k in raw_keys})
            inside = [k for k in keys if classify(k) is not None]
            outside = [k for k in keys if classify(k) is None]
            entries = self.read(inside)
        return Page(int(cursor), entries, outside)

    def read(self, keys: Sequence[str]) -> list[Entry]:
        if not keys:
            return []
        with _mapped("read"):
            replies = self._read(keys=list(keys))
        found = (_entry(k, kind, raw) for k, (kind, raw) in zip(keys, replies, strict=True))
        return [e for e in found if e is not None]

    def restore(self, entry: Entry, *, overwrite: bool, dry_run: bool) -> Outcome:
        """Write one entry and its index membership in one MULTI/EXEC, WATCHing the key."""
        for _ in range(ATTEMPTS):
            with _mapped("restore"), self._client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(entry.key)
                    live = self._read_watched(pipe, entry.key)
                    outcome = decide(entry, live, overwrite=overwrite)
                    if dry_run or not outcome.writes:
                        pipe.unwatch()
                        return outcome
                    pipe.multi()
                    _write(pipe, entry, live, replace=outcome.replace)
                    pipe.execute()
                    return outcome
                except rex.WatchError:
                    continue
        raise StoreUnavailableError("WATCH_CONFLICT", "restore", OPERATION_FAILED, entry.key)

    def restore_many(
        self, entries: Sequence[Entry], *, overwrite: bool, dry_run: bool
    ) -> list[Outcome]:
        """``restore`` for a batch in three round trips: WATCH all, read all, one MULTI/EXEC
        with every write (each entry still with its index). A conflict retries the batch, then
        falls back to one entry at a time."""
        if not entries:
            return []
        keys = [e.key for e in entries]
        for _ in range(2):
            with _mapped("restore"), self._client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(*keys)
                    replies = self._read(keys=keys, client=pipe)
                    live = [
                        _entry(k, kind, raw) for k, (kind, raw) in zip(keys, replies, strict=True)
                    ]
                    outcomes = [
                        decide(e, found, overwrite=overwrite)
                        for e, found in zip(entries, live, strict=True)
                    ]
                    if dry_run or not any(o.writes for o in outcomes):
                        pipe.unwatch()
                        return outcomes
                    pipe.multi()
                    for entry, found, outcome in zip(entries, live, outcomes, strict=True):
                        if outcome.writes:
                            _write(pipe, entry, found, replace=outcome.replace)
                    pipe.execute()
                    return outcomes
                except rex.WatchError:
                    continue
        return [self.restore(e, overwrite=overwrite, dry_run=dry_run) for e in entries]

    def _read_watched(self, pipe: Any, key: str) -> Entry | None:
        # After WATCH the pipeline runs commands at once: the script reads the live key.
        kind, raw = self._read(keys=[key], client=pipe)[0]
        return _entry(key, kind, raw)


def _write(pipe: Any, entry: Entry, live: Entry | None, *, replace: bool) -> None:
    key, value = entry.key, entry.value
    if entry.type == "set" and not replace:
        pipe.sadd(key, *value)  # an index set merges: members already there stay
        return
    if live is not None:
        pipe.delete(key)
    _put(pipe, key, entry.type, value)
    kind = classify(key)
    if kind is not None and kind.index is not None and kind.member is not None:
        pipe.sadd(kind.index, kind.member)


def _put(pipe: Any, key: str, kind: str, value: Value) -> None:
    if kind == "string":
        pipe.set(key, value)
    elif kind == "set":
        pipe.sadd(key, *value)
    elif kind == "list":
        pipe.rpush(key, *value)
    elif kind == "hash":
        pipe.hset(key, mapping=dict(value))  # type: ignore[arg-type]
    else:
        pipe.zadd(key, {m: float(s) for m, s in value})  # type: ignore[misc]


def is_index(key: str) -> bool:
    return key in INDEX_SETS
