"""Routing, rewrites, CORS, errors and logs shared by every route (api.md §2, §5, §14, §15)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mathvisuals.api.app import match, rewrite_friendly
from mathvisuals.api.startup import build_app, store_ready_fields
from mathvisuals.errors import SettingsError
from mathvisuals.logs import EventLog, MemorySink
from mathvisuals.settings import Settings
from tests.api.conftest import api_client


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/svg/library/icon.svg", "", ("/api/svg/raw", "path=%2Flibrary%2Ficon.svg")),
        ("/bildearkiv/uploads/test.png", "", ("/api/svg/raw", "path=%2Fuploads%2Ftest.png")),
        ("/bildearkiv/x.png", "path=/other&format=png", ("/api/svg/raw", "path=%2Fother&format=png")),
        ("/bildearkiv/x.png", "path=&format=png", ("/api/svg/raw", "format=png&path=%2Fx.png")),
        ("/figure-library/icons/test.svg", "format=svg",
         ("/api/figure-library/raw", "format=svg&path=%2Ficons%2Ftest.svg")),
        ("/figure-library/A.PNG", "", ("/api/figure-library/raw", "path=%2FA.PNG")),
        ("/figure-library/measurement.js", "", None),
        ("/figure-library/dir/", "", None),
        ("/svg", "", None),
        ("/svg/", "", None),
        ("/SVG/a", "", None),
    ],
)  # fmt: skip
def test_friendly_rewrites(path: str, query: str, expected: tuple[str, str] | None) -> None:
    assert rewrite_friendly(path, query) == expected


def test_route_matching_is_case_insensitive_with_one_trailing_slash() -> None:
    found = match("/API/Examples/")
    assert found is not None and found[0].template == "/api/examples"
    assert match("/api/examples//") is None
    assert match("/api/examplesx") is None
    raw = match("/api/svg/raw/Icons/Star.svg")
    assert raw is not None and raw[1] == "Icons/Star.svg"
    assert raw[0].template == "/api/svg/raw/{slug}"


def test_unrouted_path_is_json_404(memory_client: TestClient) -> None:
    response = memory_client.get("/x")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}
    assert response.headers["content-type"] == "application/json"


def test_cors_allow_list() -> None:
    """FIX-J: a disallowed Origin gets no Access-Control-Allow-Origin (upstream: first entry)."""
    env = {"EXAMPLES_ALLOWED_ORIGINS": " https://a.no , ,https://b.no"}
    with api_client(env) as (client, _):
        allowed = client.get("/api/examples", headers={"Origin": "https://b.no"})
        assert allowed.headers["access-control-allow-origin"] == "https://b.no"
        assert allowed.headers["vary"] == "Origin"
        denied = client.options("/api/examples", headers={"Origin": "https://evil.example"})
        assert denied.status_code == 204
        assert "access-control-allow-origin" not in denied.headers
        assert denied.headers["vary"] == "Origin"
        # svg falls back to ALLOWED_ORIGINS then EXAMPLES_ALLOWED_ORIGINS.
        svg = client.options("/api/svg", headers={"Origin": "https://a.no"})
        assert svg.headers["access-control-allow-origin"] == "https://a.no"


def test_options_preflight_shape(memory_client: TestClient) -> None:
    response = memory_client.options("/api/examples")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == "GET,POST,PUT,DELETE,OPTIONS"
    assert response.headers["x-examples-store-mode"] == "memory"
    trash = memory_client.options("/api/examples/trash")
    assert trash.headers["access-control-allow-methods"] == "GET,POST,DELETE,OPTIONS"


def test_health_in_memory_mode(memory_client: TestClient) -> None:
    response = memory_client.get("/api/health")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["mode"] == "memory" and body["persistent"] is False
    assert body["redis"] == {"configured": False, "reachable": False, "latency_ms": None}
    assert memory_client.options("/api/health").status_code == 204
    post = memory_client.post("/api/health")
    assert post.status_code == 405 and post.headers["allow"] == "GET, OPTIONS"


def test_health_in_kv_mode(kv_client: TestClient, redis_env: dict[str, str]) -> None:
    body = kv_client.get("/api/health").json()
    assert body["mode"] == "kv" and body["redis"]["reachable"] is True
    assert isinstance(body["redis"]["latency_ms"], int)
    text = kv_client.get("/api/health").text
    assert redis_env["REDIS_PASSWORD"] not in text and redis_env["REDIS_PORT"] not in text


def test_access_log_lines() -> None:
    with api_client() as (client, sink):
        client.get("/api/examples")
        client.get("/nowhere")
        client.get("/api/svg/raw/a.svg")
    lines = sink.events("http.access")
    assert [(line["route"], line["status"]) for line in lines] == [
        ("/api/examples", 200),
        ("unmatched", 404),
        ("/api/svg/raw/{slug}", 404),
    ]
    first = sink.lines[0]
    assert first.startswith('{"event":"http.access","ts":"')
    assert all(line["store_mode"] == "memory" and "request_id" in line for line in lines)


def test_store_ready_lists_missing_parts_and_warnings() -> None:
    partial = Settings.from_env({"REDIS_ENDPOINT": "h"})
    assert store_ready_fields(partial)["missing"] == ["port", "password"]
    assert store_ready_fields(partial)["mode"] == "memory"
    references = Settings.from_env(
        {
            "REDIS_ENDPOINT": "/math-visuals/prod/redis/endpoint",
            "REDIS_PASSWORD": "arn:aws:secretsmanager:eu-west-1:1:secret:x",
            "REDIS_PORT": "6379",
        }
    )
    fields = store_ready_fields(references)
    assert fields["mode"] == "kv"
    assert fields["config_warnings"] == [
        "host_looks_like_reference",
        "password_looks_like_reference",
    ]
    assert "arn:aws" not in str(fields)


def test_require_kv_refuses_memory_mode() -> None:
    sink = MemorySink()
    with pytest.raises(SettingsError):
        build_app(Settings.from_env({"MATHVISUALS_REQUIRE_KV": "true"}), EventLog(sink))
    assert sink.events("store.ready")[0]["level"] == "error"


def test_openapi_document_lists_every_route(memory_client: TestClient) -> None:
    document = memory_client.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for path in (
        "/api/examples",
        "/api/examples/trash",
        "/api/svg",
        "/api/svg/raw",
        "/api/figure-library",
        "/api/figure-library/raw",
        "/api/settings",
        "/api/health",
    ):
        assert path in document["paths"], path


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("PATCH", "/api/examples"),
        ("PUT", "/api/examples/trash"),
        ("PUT", "/api/svg/raw?slug=a"),
        ("PATCH", "/api/settings"),
        ("POST", "/api/health"),
        ("TRACE", "/api/svg"),
        ("TRACE", "/api/figure-library"),
        ("DELETE", "/api/openapi.json"),
        ("TRACE", "/api/openapi.json"),
    ],
)
def test_every_405_carries_allow(memory_client: TestClient, method: str, url: str) -> None:
    response = memory_client.request(method, url)
    assert response.status_code == 405
    assert response.json() == {"error": "Method Not Allowed"}
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert method not in allowed
    assert "GET" in allowed
