"""Key-value backends (Redis, memory) behind one protocol, and the factory that picks one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mathvisuals.settings import RedisConfig
from mathvisuals.store.base import Store

if TYPE_CHECKING:
    from mathvisuals.store.redis import RedisStore


def open_store(config: RedisConfig) -> Store:
    """Redis when fully configured (kv mode), else memory (api.md §3.4). Connects lazily."""
    if config.mode == "memory":
        from mathvisuals.store.memory import MemoryStore

        return MemoryStore()
    return redis_store()(config)


def redis_store() -> type[RedisStore]:
    """``store.redis.RedisStore``, imported lean: only kv mode needs redis-py, and then only
    the submodules store.redis names, not the whole package (a faster cold start)."""
    from mathvisuals.store.lean_import import defer_package_init

    defer_package_init("redis", "redis.asyncio")
    from mathvisuals.store.redis import RedisStore

    return RedisStore


__all__ = ["Store", "open_store", "redis_store"]
