"""SnapStart: the handler is built and primed in the snapshotted init, and reconnects after a
restore; against real TLS Redis, with the runtime-hook library Lambda's runtime provides."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import snapshot_restore_py

from mathvisuals.api import snapstart
from mathvisuals.api.lambda_handler import LambdaApp, build_handler
from mathvisuals.logs import EventLog, MemorySink
from mathvisuals.sandbox.redis_server import free_port
from mathvisuals.settings import Settings, snapstart_init
from tests.conftest import direct_redis

ROOT = Path(__file__).resolve().parents[2]


def hooks_for(app: LambdaApp) -> tuple[list[Any], list[Any]]:
    """The hooks registered for ``app`` (the library's registries are process-wide)."""

    def mine(registry: list[Any]) -> list[Any]:
        return [(func, args) for func, args, _ in registry if args and args[0] is app]

    return (
        mine(snapshot_restore_py.get_before_snapshot()),
        mine(snapshot_restore_py.get_after_restore()),
    )


def run_hooks(hooks: list[Any]) -> None:
    for func, args in hooks:
        func(*args)


def app_connections(client: redis.Redis, before: set[str]) -> set[str]:
    """Ids of connections that were not open at ``before`` (nor the observer itself)."""
    own = str(client.client_id())
    return {str(c["id"]) for c in client.client_list()} - before - {own}


def connections_received(client: redis.Redis) -> int:
    return int(client.info("stats")["total_connections_received"])


@pytest.fixture
def primed(redis_env: dict[str, str]) -> Iterator[tuple[LambdaApp, MemorySink]]:
    sink = MemorySink()
    app = snapstart.prepare(build_handler(Settings.from_env(redis_env), EventLog(sink)))
    yield app, sink
    loop = asyncio.get_event_loop()
    loop.run_until_complete(app.store.aclose())
    loop.close()
    asyncio.set_event_loop(None)


def test_init_type_is_read_from_the_lambda_environment() -> None:
    assert snapstart_init({"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"})
    assert not snapstart_init({"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"})
    assert not snapstart_init({})


def test_priming_connects_then_the_snapshot_holds_no_connection(
    primed: tuple[LambdaApp, MemorySink], redis_env: dict[str, str]
) -> None:
    app, sink = primed
    before, after = hooks_for(app)
    assert [func for func, _ in before] == [snapstart.before_snapshot]
    assert [func for func, _ in after] == [snapstart.after_restore]
    with direct_redis(redis_env) as observer:
        open_before = {str(c["id"]) for c in observer.client_list()}
        received = connections_received(observer)
        run_hooks(before)
        # The health read went through TLS to Redis, and its connection is closed again.
        assert connections_received(observer) > received
        assert app_connections(observer, open_before) == set()
    (prime,) = sink.events("snapstart.prime")
    assert prime["status"] == 200
    assert prime["level"] == "info"


def test_after_restore_drops_connections_and_the_next_request_reconnects(
    primed: tuple[LambdaApp, MemorySink], redis_env: dict[str, str]
) -> None:
    app, sink = primed
    before, after = hooks_for(app)
    run_hooks(before)
    with direct_redis(redis_env) as observer:
        open_before = {str(c["id"]) for c in observer.client_list()}
        # A connection the restored process would have inherited from the snapshot.
        assert app(snapstart.PRIMING_EVENT, None)["statusCode"] == 200
        inherited = app_connections(observer, open_before)
        assert len(inherited) == 1
        run_hooks(after)
        assert app_connections(observer, open_before) == set()
        assert len(sink.events("snapstart.restore")) == 1
        # The first request after the restore opens a fresh connection and succeeds.
        assert app(snapstart.PRIMING_EVENT, None)["statusCode"] == 200
        fresh = app_connections(observer, open_before)
        assert len(fresh) == 1 and not fresh & inherited
    assert sink.events("redis.error") == []


def test_priming_without_redis_warns_and_still_lets_the_snapshot_be_taken(
    redis_env: dict[str, str],
) -> None:
    sink = MemorySink()
    nobody = {**redis_env, "REDIS_PORT": str(free_port())}  # nothing listens there
    app = snapstart.prepare(build_handler(Settings.from_env(nobody), EventLog(sink)))
    try:
        before, _ = hooks_for(app)
        run_hooks(before)
        (prime,) = sink.events("snapstart.prime")
        assert prime["status"] == 503
        assert prime["level"] == "warn"
    finally:
        loop = asyncio.get_event_loop()
        loop.run_until_complete(app.store.aclose())
        loop.close()
        asyncio.set_event_loop(None)


def test_without_the_hook_library_the_handler_still_serves(
    monkeypatch: pytest.MonkeyPatch, redis_env: dict[str, str]
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)
    sink = MemorySink()
    app = build_handler(Settings.from_env(redis_env), EventLog(sink))
    try:
        assert snapstart.prepare(app) is app
        (event,) = sink.events("snapstart.hooks")
        assert event["registered"] is False
        assert hooks_for(app) == ([], [])
    finally:
        asyncio.get_event_loop().close()
        asyncio.set_event_loop(None)


RUNTIME = """
import json, sys
import snapshot_restore_py as hooks
import mathvisuals.api.lambda_handler as entry
built = entry._handler is not None
before, after = hooks.get_before_snapshot(), hooks.get_after_restore()
report = {"built": built, "before": len(before), "after": len(after)}
# What the runtime does: before-snapshot hooks in reverse order, after-restore hooks in order.
for func, args, kwargs in reversed(before):
    func(*args, **kwargs)
for func, args, kwargs in after:
    func(*args, **kwargs)
event = {"rawPath": "/prod/api/health", "requestContext": {"stage": "prod", "http": {}}}
report["status"] = entry.handler(event, None)["statusCode"]
print("REPORT " + json.dumps(report))
"""


def run_runtime(
    redis_env: dict[str, str], init_type: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """RUNTIME in a fresh process, with Lambda's init type and the API template's settings."""
    env = {**redis_env, "MATHVISUALS_REQUIRE_KV": "true",
           "AWS_LAMBDA_INITIALIZATION_TYPE": init_type}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", RUNTIME],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env},
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    (report,) = [json.loads(line[7:]) for line in lines if line.startswith("REPORT ")]
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    return report, logged


def test_a_snapstart_init_builds_and_primes_the_handler_at_import(
    redis_env: dict[str, str],
) -> None:
    report, logged = run_runtime(redis_env, "snap-start")
    assert report == {"built": True, "before": 1, "after": 1, "status": 200}
    events = [line["event"] for line in logged]
    # Built at import (before any event), primed before the snapshot, reconnected after it.
    assert events.index("store.ready") < events.index("snapstart.prime")
    assert events.index("snapstart.prime") < events.index("snapstart.restore")


def test_an_on_demand_init_builds_nothing_until_the_first_event(
    redis_env: dict[str, str],
) -> None:
    report, logged = run_runtime(redis_env, "on-demand")
    assert report == {"built": False, "before": 0, "after": 0, "status": 200}
    assert "snapstart.prime" not in [line["event"] for line in logged]
