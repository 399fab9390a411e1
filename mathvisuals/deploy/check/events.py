"""The log events the application emits (api.md §15); metric filters may name only these."""

from __future__ import annotations

APP_EVENTS: frozenset[str] = frozenset(
    {
        "store.ready",
        "http.access",
        "redis.error",
        "store.corrupt_value",
        "http.unhandled_error",
        "examples.audit",
        # SnapStart (api/snapstart.py): hooks missing, the snapshot primed, a restore.
        "snapstart.hooks",
        "snapstart.prime",
        "snapstart.restore",
    }
)
