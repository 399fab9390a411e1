"""The Lambda entry point with HTTP API payload 2.0 events, against real Redis."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from mathvisuals import jsonfmt
from mathvisuals.api.lambda_handler import LambdaApp, adapt_event, strip_stage
from mathvisuals.logs import MemorySink


class Context:
    aws_request_id = "req-123"


def event(method: str, raw_path: str, *, query: str = "", body: Any = None,
          stage: str = "prod") -> dict[str, Any]:  # fmt: skip
    payload: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "origin": "https://x.no"},
        "requestContext": {
            "stage": stage,
            "http": {"method": method, "path": raw_path, "sourceIp": "203.0.113.1"},
            "requestId": "gw-1",
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        payload["body"] = jsonfmt.dumps_str(body)
    return payload


@pytest.mark.parametrize(
    ("path", "stage", "expected"),
    [
        ("/prod/api/examples", "prod", "/api/examples"),
        ("/prod", "prod", "/"),
        ("/production/api", "prod", "/production/api"),
        ("/api/examples", "$default", "/api/examples"),
        ("/api/examples", None, "/api/examples"),
    ],
)
def test_strip_stage(path: str, stage: str | None, expected: str) -> None:
    assert strip_stage(path, stage) == expected


def test_adapt_event_defaults_method_and_uses_raw_path() -> None:
    adapted = adapt_event({"rawPath": "/prod/api/health", "requestContext": {"stage": "prod"}})
    assert adapted["requestContext"]["http"]["method"] == "GET"
    assert adapted["requestContext"]["http"]["path"] == "/api/health"


def test_put_then_get_round_trip_through_redis(
    kv_lambda: tuple[LambdaApp, MemorySink],
) -> None:
    handler, sink = kv_lambda
    body = {"examples": [{"title": "ø"}], "deletedProvided": []}
    put = handler(event("PUT", "/prod/api/examples", query="path=/Lambda", body=body), Context())
    assert put["statusCode"] == 200
    got = handler(event("GET", "/prod/api/examples", query="path=%2Flambda"), Context())
    assert got["statusCode"] == 200
    assert got["headers"]["x-examples-store-mode"] == "kv"
    entry = jsonfmt.loads(got["body"])
    assert entry["path"] == "/lambda" and entry["examples"] == [{"title": "ø", "description": ""}]
    assert entry["mode"] == "kv"
    access = sink.events("http.access")
    assert access[-1]["request_id"] == "req-123"
    ready = sink.events("store.ready")[0]
    assert ready["mode"] == "kv" and ready["redis"] == {
        "host": "localhost",
        "port": int(redis_port(handler)),
        "tls": True,
        "db": 0,
        "ca_file": True,
    }


def test_friendly_route_and_unknown_path(kv_lambda: tuple[LambdaApp, MemorySink]) -> None:
    handler, _ = kv_lambda
    missing = handler(event("GET", "/prod/bildearkiv/none.svg"), Context())
    assert missing["statusCode"] == 404
    unknown = handler(event("GET", "/prod/elsewhere"), Context())
    assert unknown["statusCode"] == 404 and jsonfmt.loads(unknown["body"]) == {"error": "Not Found"}


def test_base64_body_is_decoded(kv_lambda: tuple[LambdaApp, MemorySink]) -> None:
    handler, _ = kv_lambda
    raw = event("PUT", "/prod/api/examples", query="path=/b64")
    raw["body"] = base64.b64encode(b'{"examples":[],"deletedProvided":[]}').decode()
    raw["isBase64Encoded"] = True
    assert handler(raw, Context())["statusCode"] == 200


def redis_port(handler: LambdaApp) -> int:
    port = handler.app.state.ctx.settings.redis.port
    assert isinstance(port, int)
    return port


def test_encoded_slug_segments_survive_the_gateway(
    kv_lambda: tuple[LambdaApp, MemorySink],
) -> None:
    """``a%2Fb`` is one slug segment; decoding the path early would make it ``a/b``."""
    handler, _ = kv_lambda
    png = "data:image/png;base64,iVBORw0KGgo="
    body = {"slug": "a%2Fb", "svg": "<svg/>", "png": png}
    assert handler(event("POST", "/prod/api/svg", body=body), Context())["statusCode"] == 200
    raw = handler(event("GET", "/prod/api/svg/raw/a%252Fb.svg"), Context())
    assert raw["statusCode"] == 200 and raw["body"] == "<svg/>"
    friendly = handler(event("GET", "/prod/bildearkiv/a%2Fb.svg"), Context())
    assert friendly["statusCode"] == 200


def test_the_handler_imports_only_what_its_first_route_needs() -> None:
    """Route modules load at their first request; a cold start serving examples skips the
    figure library, SVG, trash, settings and OpenAPI modules (and redis-py until an event)."""
    import subprocess
    import sys

    code = (
        "import sys, mathvisuals.api.lambda_handler as h; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(('mathvisuals', 'redis', "
        "'starlette', 'urllib', 'email')))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(done.stdout.split())
    assert "mathvisuals.api.examples" in loaded
    for lazy in ("figures", "svg", "trash", "settings_route", "openapi", "raw"):
        assert f"mathvisuals.api.{lazy}" not in loaded, lazy
    assert not {m for m in loaded if m == "redis" or m.startswith("redis.")}
    # Maintenance (urllib, archives) loads for maintenance events only; Starlette's
    # application, router and middleware for servers only (the Lambda runs no lifespan).
    for module in ("mathvisuals.api.maintenance", "urllib.request", "starlette.applications"):
        assert module not in loaded, module


def test_the_maintenance_key_is_the_maintenance_modules() -> None:
    from mathvisuals.api import lambda_handler, maintenance

    assert lambda_handler.MAINTENANCE_KEY == maintenance.EVENT_KEY
