"""``/api/settings`` end to end through the ASGI app: memory mode, and kv mode on a TLS Redis."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mathvisuals import jsonfmt
from mathvisuals.api.app import create_app
from mathvisuals.logs import EventLog, MemorySink
from mathvisuals.model.palette import MAX_COLORS
from mathvisuals.model.projects import default_settings
from mathvisuals.sandbox.redis_server import free_port
from mathvisuals.settings import Settings
from mathvisuals.store import open_store
from mathvisuals.store.base import CONNECT_FAILED, Op, Store, StoreUnavailableError
from mathvisuals.store.memory import MemoryStore
from mathvisuals.store.settings import KEY

URL = "/api/settings"
MIB = 1024 * 1024
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
HEX = re.compile(r"^#[0-9a-f]{6}$")
METHODS = "GET,PUT,POST,DELETE,OPTIONS"
ALLOW_LIST = {"EXAMPLES_ALLOWED_ORIGINS": "https://a.no,https://b.no"}
SETTINGS_KEYS = [
    "version",
    "projects",
    "activeProject",
    "projectOrder",
    "updatedAt",
    "defaultColors",
]
# §13.2 worked example.
KIKORA_PUT = {
    "settings": {"activeProject": "Kikora", "projects": {"kikora": {"graftegner": ["#abc"]}}}
}


def build(
    env: dict[str, str] | None = None, store: Store | None = None
) -> tuple[Starlette, MemorySink]:
    settings = Settings.from_env(env or {})
    sink = MemorySink()
    chosen = store if store is not None else open_store(settings.redis)
    return create_app(settings, chosen, log=EventLog(sink)), sink


@pytest.fixture
def memory() -> Iterator[tuple[TestClient, MemoryStore, MemorySink]]:
    store = MemoryStore()
    app, sink = build(store=store)
    with TestClient(app) as client:
        yield client, store, sink


def assert_mode_headers(response: Any, mode: str) -> None:
    assert response.headers["x-settings-storage-mode"] == mode
    assert response.headers["x-settings-storage-persistent"] == ("1" if mode == "kv" else "0")


def assert_no_mode_headers(response: Any) -> None:
    assert "x-settings-storage-mode" not in response.headers
    assert "x-settings-storage-persistent" not in response.headers


def assert_document(settings: dict[str, Any]) -> None:
    assert list(settings) == SETTINGS_KEYS
    assert settings["version"] == 1
    assert list(settings["projects"]) == ["campus", "annet", "kikora"]
    assert settings["projectOrder"] == ["campus", "kikora", "annet"]
    assert len(settings["defaultColors"]) == MAX_COLORS
    assert all(HEX.match(color) for color in settings["defaultColors"])
    for project in settings["projects"].values():
        assert list(project) == ["groupPalettes", "defaultColors"]
        assert len(project["defaultColors"]) == MAX_COLORS


def assert_defaults(settings: dict[str, Any]) -> None:
    """The default document, whatever its timestamp."""
    expected = default_settings("x")
    assert {**settings, "updatedAt": "x"} == expected


# --- memory mode: the 200 rows of §13.1 ---------------------------------------------------------


def test_get_without_stored_settings_answers_defaults(memory: Any) -> None:
    client, store, _ = memory
    response = client.get(URL)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "cache-control" not in response.headers
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == METHODS
    assert response.headers["access-control-allow-headers"] == "Content-Type"
    assert_mode_headers(response, "memory")
    body = response.json()
    assert list(body) == ["settings", "storage"]
    assert body["storage"] == {"mode": "memory", "persistent": False}
    settings = body["settings"]
    assert_document(settings)
    assert settings["activeProject"] == "campus"
    assert ISO.match(settings["updatedAt"])
    assert settings["defaultColors"][:2] == ["#dbe3ff", "#c5e5e9"]
    assert_defaults(settings)
    # A read never writes the defaults back (§6.3 lists writes for PUT/POST/DELETE only).
    assert store.strings == {}


def test_response_is_compact_upstream_json(memory: Any) -> None:
    client, _, _ = memory
    response = client.get(URL)
    assert response.content == jsonfmt.dumps(response.json())
    assert b", " not in response.content
    assert b'": ' not in response.content


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_write_normalises_stores_and_answers_the_document(memory: Any, method: str) -> None:
    client, store, _ = memory
    before = datetime.now(UTC).replace(microsecond=0)
    response = client.request(method, URL, json=KIKORA_PUT)
    assert response.status_code == 200
    assert_mode_headers(response, "memory")
    body = response.json()
    assert list(body) == ["settings", "storage"]
    assert body["storage"] == {"mode": "memory", "persistent": False}
    settings = body["settings"]
    assert_document(settings)
    assert settings["activeProject"] == "kikora"
    graftegner = settings["projects"]["kikora"]["groupPalettes"]["graftegner"]
    assert graftegner == ["#aabbcc", "#ff9f1c", "#2ec4b6"]
    assert settings["defaultColors"][0] == "#aabbcc"
    assert settings["defaultColors"] == settings["projects"]["kikora"]["defaultColors"]
    stamped = datetime.strptime(settings["updatedAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert stamped.replace(tzinfo=UTC) >= before
    assert store.strings[KEY] == jsonfmt.dumps_str(settings)


def test_write_without_settings_wrapper_uses_the_body(memory: Any) -> None:
    client, _, _ = memory
    response = client.put(URL, json={"activeProject": "annet", "projects": {"Mine": ["#123"]}})
    settings = response.json()["settings"]
    assert settings["activeProject"] == "annet"
    assert settings["projectOrder"] == ["campus", "kikora", "annet", "mine"]
    assert settings["projects"]["mine"]["defaultColors"][0] == "#112233"


def test_non_object_settings_field_falls_back_to_the_body(memory: Any) -> None:
    client, _, _ = memory
    response = client.put(URL, json={"settings": ["#123"], "activeProject": "kikora"})
    assert response.status_code == 200
    assert response.json()["settings"]["activeProject"] == "kikora"


@pytest.mark.parametrize("content", [b"", b"   ", b"[1,2]", b"42", b'"text"', b"null"])
def test_empty_or_non_object_body_gives_fresh_defaults(memory: Any, content: bytes) -> None:
    client, store, _ = memory
    response = client.put(URL, content=content)
    assert response.status_code == 200
    settings = response.json()["settings"]
    assert_defaults(settings)
    assert KEY in store.strings


def test_get_returns_what_a_put_stored(memory: Any) -> None:
    client, _, _ = memory
    written = client.put(URL, json=KIKORA_PUT).json()["settings"]
    read = client.get(URL)
    assert read.status_code == 200
    assert read.json()["settings"] == written


def test_get_renormalises_a_legacy_stored_document(memory: Any) -> None:
    client, store, _ = memory
    legacy = {
        "projects": {"CAMPUS": {"defaultColors": ["#ABCDEF"]}, "extra": {"nkant": ["#000"]}},
        "activeProject": "Extra",
        "projectOrder": ["extra"],
        "updatedAt": "2023-05-05T05:05:05.000Z",
    }
    store.strings[KEY] = json.dumps(legacy)
    settings = client.get(URL).json()["settings"]
    assert settings["projectOrder"] == ["campus", "kikora", "annet", "extra"]
    assert settings["activeProject"] == "extra"
    assert settings["updatedAt"] == "2023-05-05T05:05:05.000Z"
    assert settings["projects"]["campus"]["defaultColors"][0] == "#abcdef"
    assert settings["projects"]["extra"]["groupPalettes"]["nkant"][0] == "#000000"
    # GET does not rewrite what is stored.
    assert json.loads(store.strings[KEY]) == legacy


def test_get_reads_a_double_encoded_value(memory: Any) -> None:
    client, store, _ = memory
    store.strings[KEY] = json.dumps(json.dumps({"activeProject": "kikora", "updatedAt": "t"}))
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json()["settings"]["activeProject"] == "kikora"


def test_delete_resets_to_defaults_and_stores_them(memory: Any) -> None:
    client, store, _ = memory
    client.put(URL, json=KIKORA_PUT)
    # DELETE reads no body: even invalid JSON is ignored.
    response = client.request("DELETE", URL, content=b"{bad")
    assert response.status_code == 200
    assert_mode_headers(response, "memory")
    body = response.json()
    assert list(body) == ["settings", "storage", "reset"]
    assert body["reset"] is True
    assert body["storage"] == {"mode": "memory", "persistent": False}
    assert_document(body["settings"])
    assert ISO.match(body["settings"]["updatedAt"])
    assert_defaults(body["settings"])
    assert store.strings[KEY] == jsonfmt.dumps_str(body["settings"])
    assert client.get(URL).json()["settings"] == body["settings"]


def test_route_matching_is_case_insensitive_with_trailing_slash(memory: Any) -> None:
    client, _, _ = memory
    response = client.get("/API/Settings/")
    assert response.status_code == 200
    assert_mode_headers(response, "memory")


def test_access_log_names_the_route(memory: Any) -> None:
    client, _, sink = memory
    client.get(URL)
    (access,) = sink.events("http.access")
    assert access["route"] == URL
    assert access["status"] == 200
    assert access["store_mode"] == "memory"


# --- memory mode: errors (§13.4, FIX-L, FIX-M) ---------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_invalid_json_is_400_fix_l(memory: Any, method: str) -> None:
    client, store, _ = memory
    response = client.request(method, URL, content=b"{bad")
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid JSON body"}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"
    assert_mode_headers(response, "memory")
    assert store.strings == {}


def _padded(size: int) -> bytes:
    """A valid JSON object of exactly ``size`` bytes."""
    shell = b'{"settings":{},"pad":""}'
    return shell[:-2] + b"x" * (size - len(shell)) + b'"}'


def test_body_of_exactly_two_mib_is_accepted(memory: Any) -> None:
    client, _, _ = memory
    body = _padded(2 * MIB)
    assert len(body) == 2 * MIB
    assert client.put(URL, content=body).status_code == 200


@pytest.mark.parametrize("size", [2 * MIB + 1, 3 * MIB])
def test_body_over_two_mib_is_413_fix_m(memory: Any, size: int) -> None:
    client, store, _ = memory
    response = client.put(URL, content=_padded(size))
    assert response.status_code == 413
    assert response.json() == {"error": "Request body too large"}
    assert_mode_headers(response, "memory")
    assert store.strings == {}


def test_streamed_body_over_two_mib_without_length_is_413(memory: Any) -> None:
    client, _, _ = memory

    def chunks() -> Iterator[bytes]:
        body = _padded(2 * MIB + 10)
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = client.post(URL, content=chunks())
    assert response.status_code == 413
    assert response.json() == {"error": "Request body too large"}


@pytest.mark.parametrize("method", ["PATCH", "HEAD", "TRACE"])
def test_other_methods_are_405_without_mode_headers(memory: Any, method: str) -> None:
    client, _, _ = memory
    response = client.request(method, URL)
    assert response.status_code == 405
    if method != "HEAD":
        assert response.json() == {"error": "Method Not Allowed"}
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["allow"] == "GET,PUT,POST,DELETE,OPTIONS"  # issue #13
    assert_no_mode_headers(response)


def test_options_is_204_with_cors_and_no_mode_headers(memory: Any) -> None:
    client, store, _ = memory
    response = client.options(URL)
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == METHODS
    assert response.headers["access-control-allow-headers"] == "Content-Type"
    assert_no_mode_headers(response)
    assert store.strings == {}


@pytest.mark.parametrize("raw", ["{bad", "[1,2]", "42", json.dumps("not an object"), "null"])
def test_corrupt_stored_value_is_500_and_logged(memory: Any, raw: str) -> None:
    client, store, sink = memory
    store.strings[KEY] = raw
    response = client.get(URL)
    assert response.status_code == 500
    assert response.json() == {"error": "Internal Server Error"}
    assert response.headers["access-control-allow-origin"] == "*"
    assert_mode_headers(response, "memory")
    (line,) = sink.events("store.corrupt_value")
    assert line["key"] == KEY
    assert line["action"] == "error"
    # The bad value is reported, not repaired: only a write replaces it.
    assert store.strings[KEY] == raw


def test_a_write_replaces_a_corrupt_value(memory: Any) -> None:
    client, store, _ = memory
    store.strings[KEY] = "{bad"
    assert client.put(URL, json=KIKORA_PUT).status_code == 200
    assert client.get(URL).json()["settings"]["activeProject"] == "kikora"


class FailingStore(MemoryStore):
    """A memory-shaped store whose every access fails the way a lost Redis does."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def get(self, keys: Sequence[str]) -> list[str | None]:
        raise self.error

    async def write(self, ops: Sequence[Op]) -> None:
        raise self.error


@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
def test_store_unavailable_is_503_with_the_fixed_message(method: str) -> None:
    error = StoreUnavailableError("CONNECTION", "connect", CONNECT_FAILED, "ConnectionError")
    app, sink = build(store=FailingStore(error))
    with TestClient(app) as client:
        response = client.request(method, URL, json={})
    assert response.status_code == 503
    assert response.json() == {
        "error": "Failed to persist settings",
        "message": "Unable to establish Redis connection",
    }
    assert_mode_headers(response, "memory")
    (line,) = sink.events("redis.error")
    assert line["error_class"] == "CONNECTION"
    assert line["route"] == URL


def test_unexpected_exception_is_500_and_logged() -> None:
    app, sink = build(store=FailingStore(RuntimeError("boom")))
    with TestClient(app) as client:
        response = client.get(URL)
    assert response.status_code == 500
    assert response.json() == {"error": "Internal Server Error"}
    assert "boom" not in response.text
    assert response.headers["access-control-allow-origin"] == "*"
    (line,) = sink.events("http.unhandled_error")
    assert line["exception"] == "RuntimeError"
    assert line["route"] == URL


# --- CORS (FIX-J): settings uses the examples allow-list -----------------------------------------


@pytest.fixture
def listed() -> Iterator[TestClient]:
    app, _ = build(ALLOW_LIST)
    with TestClient(app) as client:
        yield client


def test_options_from_a_disallowed_origin_gets_no_allow_origin(listed: TestClient) -> None:
    response = listed.options(URL, headers={"Origin": "https://evil.example"})
    assert response.status_code == 204
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"
    assert response.headers["access-control-allow-methods"] == METHODS
    assert_no_mode_headers(response)


@pytest.mark.parametrize("origin", [None, "https://evil.example", "https://a.no/", "*"])
def test_get_from_an_unlisted_origin_gets_no_allow_origin(
    listed: TestClient, origin: str | None
) -> None:
    headers = {"Origin": origin} if origin is not None else {}
    response = listed.get(URL, headers=headers)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"


@pytest.mark.parametrize("origin", ["https://a.no", "https://b.no"])
def test_listed_origin_is_echoed(listed: TestClient, origin: str) -> None:
    for response in (
        listed.get(URL, headers={"Origin": origin}),
        listed.options(URL, headers={"Origin": origin}),
        listed.patch(URL, headers={"Origin": origin}),
    ):
        assert response.headers["access-control-allow-origin"] == origin
        assert response.headers["vary"] == "Origin"


def test_settings_falls_back_to_allowed_origins() -> None:
    app, _ = build({"ALLOWED_ORIGINS": "https://c.no", "SVG_ALLOWED_ORIGINS": "https://svg.no"})
    with TestClient(app) as client:
        ok = client.get(URL, headers={"Origin": "https://c.no"})
        other = client.get(URL, headers={"Origin": "https://svg.no"})
    assert ok.headers["access-control-allow-origin"] == "https://c.no"
    assert "access-control-allow-origin" not in other.headers


# --- kv mode on a real TLS + AUTH redis-server -------------------------------------------------


def direct(env: dict[str, str]) -> redis.Redis:
    return redis.Redis(
        host="localhost",
        port=int(env["REDIS_PORT"]),
        password=env["REDIS_PASSWORD"],
        ssl=True,
        ssl_ca_certs=env["REDIS_TLS_CA_FILE"],
        decode_responses=True,
    )


def test_kv_get_without_stored_settings(redis_env: dict[str, str]) -> None:
    app, _ = build(redis_env)
    with TestClient(app) as client:
        response = client.get(URL)
    assert response.status_code == 200
    assert_mode_headers(response, "kv")
    body = response.json()
    assert body["storage"] == {"mode": "kv", "persistent": True}
    assert_defaults(body["settings"])
    with direct(redis_env) as conn:
        assert conn.exists(KEY) == 0


def test_kv_put_persists_across_app_instances(redis_env: dict[str, str]) -> None:
    first, _ = build(redis_env)
    with TestClient(first) as client:
        written = client.put(URL, json=KIKORA_PUT)
    assert written.status_code == 200
    assert_mode_headers(written, "kv")
    assert written.json()["storage"] == {"mode": "kv", "persistent": True}
    settings = written.json()["settings"]

    with direct(redis_env) as conn:
        assert conn.type(KEY) == "string"
        assert conn.ttl(KEY) == -1
        raw = conn.get(KEY)
    # Stored as compact JSON text, exactly what upstream would write and read back.
    assert raw == jsonfmt.dumps_str(settings)
    assert json.loads(raw) == settings

    second, _ = build(redis_env)
    with TestClient(second) as client:
        read = client.get(URL)
    assert read.status_code == 200
    assert read.json()["settings"] == settings


def test_kv_delete_stores_the_defaults(redis_env: dict[str, str]) -> None:
    app, _ = build(redis_env)
    with TestClient(app) as client:
        client.post(URL, json=KIKORA_PUT)
        response = client.delete(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["reset"] is True
    assert body["storage"] == {"mode": "kv", "persistent": True}
    assert_defaults(body["settings"])
    with direct(redis_env) as conn:
        assert json.loads(conn.get(KEY) or "null") == body["settings"]


def test_kv_reads_a_value_written_by_upstream(redis_env: dict[str, str]) -> None:
    # Upstream's KV client could store the JSON string itself JSON-encoded (§6.2).
    with direct(redis_env) as conn:
        conn.set(KEY, json.dumps(json.dumps({"activeProject": "annet", "updatedAt": "u"})))
    app, _ = build(redis_env)
    with TestClient(app) as client:
        settings = client.get(URL).json()["settings"]
    assert settings["activeProject"] == "annet"
    assert settings["updatedAt"] == "u"


def test_kv_corrupt_stored_value_is_500(redis_env: dict[str, str]) -> None:
    with direct(redis_env) as conn:
        conn.set(KEY, "{not json")
    app, sink = build(redis_env)
    with TestClient(app) as client:
        response = client.get(URL)
    assert response.status_code == 500
    assert response.json() == {"error": "Internal Server Error"}
    assert_mode_headers(response, "kv")
    (line,) = sink.events("store.corrupt_value")
    assert (line["key"], line["action"], line["level"]) == (KEY, "error", "error")
    assert not sink.events("redis.error")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_kv_unreachable_redis_is_503_fast(redis_env: dict[str, str], method: str) -> None:
    env = {**redis_env, "REDIS_PORT": str(free_port())}
    app, sink = build(env)
    with TestClient(app) as client:
        started = time.perf_counter()
        response = client.request(method, URL, json=KIKORA_PUT)
        elapsed = time.perf_counter() - started
    assert response.status_code == 503
    assert response.json() == {
        "error": "Failed to persist settings",
        "message": "Unable to establish Redis connection",
    }
    assert_mode_headers(response, "kv")
    assert elapsed < 1.5
    (line,) = sink.events("redis.error")
    assert line["error_class"] == "CONNECTION"
    assert line["operation"] == "connect"
    assert line["route"] == URL
    assert env["REDIS_PASSWORD"] not in "".join(sink.lines) + response.text
