"""``/api/examples`` (api.md §7), in memory mode and against real Redis."""

from __future__ import annotations

import redis
from starlette.testclient import TestClient

from mathvisuals import jsonfmt

LIMITATION = (
    "Denne instansen bruker midlertidig minnelagring. "
    "Eksempler tilbakestilles når serveren starter på nytt."
)


def mode_of(client: TestClient) -> str:
    return str(client.get("/api/examples").json()["mode"])


def test_empty_list_has_meta_and_headers(client: TestClient) -> None:
    response = client.get("/api/examples")
    assert response.status_code == 200
    body = response.json()
    mode = body["mode"]
    assert list(body)[:5] == ["storage", "mode", "storageMode", "persistent", "ephemeral"]
    assert body["entries"] == []
    assert response.headers["x-examples-store-mode"] == mode
    assert response.headers["x-examples-storage-result"] == mode
    assert response.headers["content-type"] == "application/json"
    assert "cache-control" not in response.headers
    if mode == "memory":
        assert body["limitation"] == LIMITATION
    else:
        assert "limitation" not in body and body["persistent"] is True


def test_put_sanitises_and_answers_the_stored_entry(client: TestClient) -> None:
    body = {
        "examples": [{"title": "a", "descriptionHtml": "<p>x<br>y</p>", "temporary": True}],
        "deletedProvided": [" a ", "a", "b"],
        "updatedAt": "2024-01-01T00:00:00.000Z",
    }
    response = client.put("/api/examples?path=/Diagram/index.html", json=body)
    assert response.status_code == 200
    got = response.json()
    assert list(got)[:4] == ["path", "examples", "deletedProvided", "updatedAt"]
    assert got["path"] == "/diagram"
    assert got["examples"] == [{"title": "a", "description": "x\ny"}]
    assert got["deletedProvided"] == ["a", "b"]
    assert got["updatedAt"] == "2024-01-01T00:00:00.000Z"
    again = client.get("/api/examples?path=/diagram/")
    assert again.status_code == 200
    assert again.json()["examples"] == [{"title": "a", "description": "x\ny"}]


def test_updated_at_is_optional(client: TestClient) -> None:
    """FIX-C: upstream answered 400 when updatedAt was missing."""
    response = client.put("/api/examples?path=/a", json={"examples": [], "deletedProvided": []})
    assert response.status_code == 200
    assert response.json()["updatedAt"].endswith("Z")


def test_body_path_wins_over_query(client: TestClient) -> None:
    response = client.post(
        "/api/examples?path=/q", json={"path": "/B", "examples": [], "deletedProvided": []}
    )
    assert response.json()["path"] == "/b"
    assert client.get("/api/examples?path=/q").status_code == 404


def test_blank_body_path_falls_back_to_query(client: TestClient) -> None:
    response = client.post(
        "/api/examples?path=/q", json={"path": "  ", "examples": [], "deletedProvided": []}
    )
    assert response.json()["path"] == "/q"


def test_validation_errors_in_order(client: TestClient) -> None:
    cases = [
        ({}, "examples must be an array"),
        ([], "examples must be an array"),
        ({"examples": []}, "deletedProvided must be an array"),
        ({"examples": [], "deletedProvided": [], "updatedAt": 5}, "updatedAt must be a string when provided"),
        ({"examples": [], "deletedProvided": [1]}, "deletedProvided[0] must be a string"),
        (
            {"examples": [{"m": {"__mathVisualsType__": "map", "__mathVisualsValue__": [[1]]}}],
             "deletedProvided": []},
            "examples[0].m map entry 0 must be an array with key and value",
        ),
    ]  # fmt: skip
    for body, error in cases:
        response = client.put("/api/examples?path=/v", json=body)
        assert response.status_code == 400, body
        assert response.json() == {"error": error}
        assert "x-examples-store-mode" in response.headers


def test_null_updated_at_is_accepted(client: TestClient) -> None:
    body: dict[str, object] = {"examples": [], "deletedProvided": [], "updatedAt": None}
    assert client.put("/api/examples?path=/n", json=body).status_code == 200


def test_missing_path_errors(client: TestClient) -> None:
    assert client.put("/api/examples", json={"examples": []}).json() == {"error": "Missing path"}
    response = client.delete("/api/examples")
    assert response.status_code == 400
    assert response.json() == {"error": "Missing path parameter"}


def test_get_unknown_is_404_with_meta(client: TestClient) -> None:
    response = client.get("/api/examples?path=%2Fdiagram")
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "Not Found"
    assert body["mode"] in ("kv", "memory")


def test_delete_is_idempotent(client: TestClient) -> None:
    client.put("/api/examples?path=/d", json={"examples": [{"t": 1}], "deletedProvided": []})
    first = client.delete("/api/examples?path=/D/index.html")
    assert first.status_code == 200 and first.json()["ok"] is True
    assert client.get("/api/examples?path=/d").status_code == 404
    assert client.delete("/api/examples?path=/never").json()["ok"] is True


def test_list_contains_entries_with_meta(client: TestClient) -> None:
    for path in ("/one", "/two"):
        client.put(f"/api/examples?path={path}", json={"examples": [], "deletedProvided": []})
    entries = client.get("/api/examples").json()["entries"]
    assert sorted(entry["path"] for entry in entries) == ["/one", "/two"]
    assert all(entry["mode"] == mode_of(client) for entry in entries)


def test_invalid_json_and_oversized_bodies(client: TestClient) -> None:
    bad = client.put("/api/examples?path=/a", content=b"{bad")
    assert bad.status_code == 400 and bad.json() == {"error": "Invalid JSON body"}
    huge = b'{"examples":["' + b"x" * (5 * 1024 * 1024) + b'"],"deletedProvided":[]}'
    too_large = client.put("/api/examples?path=/a", content=huge)
    assert too_large.status_code == 413  # FIX-M (upstream: 400)
    assert too_large.json() == {"error": "Request body too large"}
    assert client.get("/api/examples?path=/a").status_code == 404  # nothing stored


def test_nan_is_not_json(client: TestClient) -> None:
    response = client.put(
        "/api/examples?path=/a", content=b'{"examples":[NaN],"deletedProvided":[]}'
    )
    assert response.status_code == 400


def test_method_not_allowed(client: TestClient) -> None:
    response = client.patch("/api/examples")
    assert response.status_code == 405
    assert response.json() == {"error": "Method Not Allowed"}


def test_integral_numbers_keep_javascript_form(client: TestClient) -> None:
    client.put(
        "/api/examples?path=/n",
        content=b'{"examples":[{"a":1.0,"b":2.5,"c":1e2}],"deletedProvided":[]}',
    )
    raw = client.get("/api/examples?path=/n").content
    assert b'"a":1,"b":2.5,"c":100' in raw


def test_kv_writes_the_upstream_key_schema(
    kv_client: TestClient, redis_env: dict[str, str]
) -> None:
    body = {
        "examples": [{"title": "a", "description": "x\ny"}],
        "deletedProvided": ["a", "b"],
        "updatedAt": "2024-01-01T00:00:00.000Z",
    }
    kv_client.put("/api/examples?path=/Diagram/index.html", json=body)
    direct = redis_client(redis_env)
    assert direct.get("examples:/diagram") == (
        '{"path":"/diagram","examples":[{"title":"a","description":"x\\ny"}],'
        '"deletedProvided":["a","b"],"updatedAt":"2024-01-01T00:00:00.000Z"}'
    )
    assert direct.smembers("examples:__paths__") == {"/diagram"}
    direct.close()


def test_kv_reads_upstream_data_including_legacy_and_double_encoded(
    kv_client: TestClient, redis_env: dict[str, str]
) -> None:
    """Entries written by upstream straight into Redis are served and cleaned up."""
    direct = redis_client(redis_env)
    entry = {"path": "/brøk", "examples": [{"title": "t"}], "deletedProvided": [], "updatedAt": "u"}
    # A legacy raw-path key and member, and a double-encoded canonical value.
    direct.set(
        "examples:/Legacy/Page.html", jsonfmt.dumps_str({**entry, "path": "/Legacy/Page.html"})
    )
    direct.sadd("examples:__paths__", "/Legacy/Page.html")
    direct.set("examples:/br%C3%B8k", jsonfmt.dumps_str(jsonfmt.dumps_str(entry)))
    direct.sadd("examples:__paths__", "/br%C3%B8k", "/gone")
    direct.set("examples:/corrupt", "not json")
    direct.sadd("examples:__paths__", "/corrupt")

    listed = {item["path"]: item for item in kv_client.get("/api/examples").json()["entries"]}
    assert set(listed) == {"/legacy/page", "/br%C3%B8k"}
    assert listed["/br%C3%B8k"]["examples"] == [{"title": "t", "description": ""}]
    # The legacy entry moved to its canonical key; dangling and corrupt members are gone.
    assert direct.exists("examples:/legacy/page") and not direct.exists(
        "examples:/Legacy/Page.html"
    )
    assert direct.smembers("examples:__paths__") == {"/legacy/page", "/br%C3%B8k"}
    assert not direct.exists("examples:/corrupt")
    single = kv_client.get("/api/examples?path=/Brøk")
    assert single.status_code == 200 and single.json()["path"] == "/br%C3%B8k"
    direct.close()


def redis_client(env: dict[str, str]) -> redis.Redis:
    return redis.Redis(
        host="localhost",
        port=int(env["REDIS_PORT"]),
        password=env["REDIS_PASSWORD"],
        ssl=True,
        ssl_ca_certs=env["REDIS_TLS_CA_FILE"],
        decode_responses=True,
    )
