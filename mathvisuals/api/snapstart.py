"""Lambda SnapStart (python3.12+, ``[api] snapstart = true``): prime the snapshot, then reconnect.

With SnapStart, Lambda runs the init phase once per published version, snapshots the process and
resumes every later cold start from that snapshot. So the init builds the handler and primes it
with one ``GET /api/health`` through the whole stack (imports, routing, the TLS connect code,
first-call caches); before the snapshot the store's connections are closed, since a socket in a
snapshot is dead (or shared) once restored. After a restore the store connects afresh on the first
request. Request ids come from ``os.urandom`` per request and trash ids from a generator seeded
per request, so nothing unique is frozen into the snapshot.

The hooks are registered with ``snapshot_restore_py``, which the managed runtime provides.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mathvisuals.api.lambda_handler import LambdaApp

PRIMING_EVENT: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "GET /api/health",
    "rawPath": "/api/health",
    "rawQueryString": "",
    "headers": {"user-agent": "mathvisuals-snapstart-priming"},
    "requestContext": {
        "stage": "$default",
        "http": {"method": "GET", "path": "/api/health", "sourceIp": "127.0.0.1"},
        "requestId": "snapstart-priming",
    },
    "isBase64Encoded": False,
}


def prepare(app: LambdaApp) -> LambdaApp:
    """Register the runtime hooks for ``app``; without ``snapshot_restore_py`` it stays as is."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        app.log.emit("snapstart.hooks", "warn", registered=False, reason="no snapshot_restore_py")
        return app
    register_before_snapshot(before_snapshot, app)
    register_after_restore(after_restore, app)
    return app


def before_snapshot(app: LambdaApp) -> None:
    """Prime the handler, then close the store so the snapshot holds no socket."""
    started = time.perf_counter()
    status: object = None
    try:
        status = app(PRIMING_EVENT, None).get("statusCode")
    except Exception as exc:  # noqa: BLE001 - priming is best effort; the snapshot still works
        status = type(exc).__name__
    _run(app.store.aclose())
    app.log.emit(
        "snapstart.prime",
        "info" if status == 200 else "warn",
        status=status,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )


def after_restore(app: LambdaApp) -> None:
    """Drop whatever connection the snapshot may hold; the next request connects afresh."""
    started = time.perf_counter()
    _run(app.store.aclose())
    app.log.emit("snapstart.restore", ms=round((time.perf_counter() - started) * 1000, 1))


def _run(work: Any) -> None:
    # The event loop Mangum drives the app on, so the connections close on the loop they use.
    asyncio.get_event_loop().run_until_complete(work)
