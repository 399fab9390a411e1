"""Key-value backends (Redis, memory) behind one protocol, and the factory that picks one."""

from __future__ import annotations

from mathvisuals.settings import RedisConfig
from mathvisuals.store.base import Store
from mathvisuals.store.memory import MemoryStore


def open_store(config: RedisConfig) -> Store:
    """Redis when fully configured (kv mode), else memory (api.md §3.4). Connects lazily."""
    if config.mode == "memory":
        return MemoryStore()
    from mathvisuals.store.lean_import import defer_package_init

    # Only kv mode needs redis-py, and only the submodules store.redis names (a faster cold start).
    defer_package_init("redis", "redis.asyncio")
    from mathvisuals.store.redis import RedisStore

    return RedisStore(config)


__all__ = ["MemoryStore", "Store", "open_store"]
