"""Cold start: open the store from settings and announce it with ``store.ready`` (api.md §15)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mathvisuals.api.app import Root, create_root
from mathvisuals.errors import SettingsError
from mathvisuals.logs import EventLog
from mathvisuals.settings import Settings
from mathvisuals.store import open_store

if TYPE_CHECKING:
    from starlette.applications import Starlette


def store_ready_fields(settings: Settings) -> dict[str, Any]:
    redis = settings.redis
    fields: dict[str, Any] = {"mode": redis.mode}
    if redis.mode == "kv":
        fields["redis"] = redis.describe()
    elif len(redis.missing) < 3:
        fields["missing"] = list(redis.missing)
    if redis.warnings:
        fields["config_warnings"] = list(redis.warnings)
    fields["version"] = settings.version
    fields["config_version"] = settings.config_version
    return fields


def build_root(settings: Settings, log: EventLog | None = None) -> Root:
    """The API for a process: one store, one ``store.ready`` line.

    With ``require_kv`` (set in Lambda by the API template) a configuration that would fall back
    to memory is an error at cold start instead of silent data loss.
    """
    log = log or EventLog()
    fields = store_ready_fields(settings)
    if settings.require_kv and settings.redis.mode != "kv":
        log.emit("store.ready", "error", **fields)
        missing = ", ".join(settings.redis.missing)
        raise SettingsError(
            f"MATHVISUALS_REQUIRE_KV is set but Redis is not configured ({missing})"
        )
    log.emit("store.ready", **fields)
    return create_root(settings, open_store(settings.redis), log=log)


def build_app(settings: Settings, log: EventLog | None = None) -> Starlette:
    """:func:`build_root` as a Starlette application (servers: the lifespan closes the store)."""
    from mathvisuals.api.asgi import serving_app

    return serving_app(build_root(settings, log))
