"""``/api/examples/trash`` (api.md §8)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.testclient import TestClient

from tests.api.conftest import api_client, async_api


def test_post_sanitises_and_augments(client: TestClient) -> None:
    client.put("/api/examples?path=/diagram", json={"examples": [{"t": 1}], "deletedProvided": []})
    response = client.post(
        "/api/examples/trash",
        json={
            "entries": [
                {"id": "t1", "example": {"title": "e"}, "sourcePath": "/Diagram/Index.html",
                 "removedAtIndex": 2},
                {"example": {"title": "noid"}},
                {"id": "bad"},
            ]
        },
    )  # fmt: skip
    assert response.status_code == 200
    entries = response.json()["entries"]
    assert [entry["example"] for entry in entries] == [{"title": "e"}, {"title": "noid"}]
    first, second = entries
    assert list(first) == [
        "id", "example", "deletedAt", "sourcePath", "sourcePathRaw", "sourceHref", "sourceTitle",
        "reason", "removedAtIndex", "label", "importedFromHistory", "metadata", "sourceActive",
        "sourceArchived",
    ]  # fmt: skip
    assert first["sourcePath"] == "/diagram" and first["sourceActive"] is True
    assert first["sourceArchived"] is False and first["removedAtIndex"] == 2
    assert second["sourceActive"] is False and second["sourceArchived"] is False
    assert "mode" not in first


def test_archived_when_source_is_missing(client: TestClient) -> None:
    entries = client.post(
        "/api/examples/trash", json={"entries": [{"id": "a", "example": {}, "sourcePath": "/x"}]}
    ).json()["entries"]
    # An empty object is truthy in JavaScript, so the record is kept.
    assert entries[0]["sourceActive"] is False and entries[0]["sourceArchived"] is True


def test_prepend_append_and_limit(client: TestClient) -> None:
    def post(ids: list[str], **extra: object) -> list[str]:
        body = {"entries": [{"id": i, "example": {"n": i}} for i in ids], **extra}
        return [e["id"] for e in client.post("/api/examples/trash", json=body).json()["entries"]]

    assert post(["a", "b"]) == ["a", "b"]
    assert post(["c"]) == ["c", "a", "b"]
    assert post(["d"], mode="append") == ["c", "a", "b", "d"]
    assert post(["e"], limit=2) == ["e", "c"]
    assert post(["z"], mode="append", limit=2) == ["c", "z"]
    # FIX-P: replace is a union, posted first; nothing unlisted is removed.
    assert post(["r1", "r2"], replace=True) == ["r1", "r2", "c", "z"]
    assert post(["r2", "z"], replace=True, limit=3) == ["r2", "z", "r1"]


def test_front_end_first_visit_import_keeps_the_trash(client: TestClient) -> None:
    """FIX-P: upstream's front end sends this on every new browser's first visit; upstream
    then stored ``[]`` and every deleted example was lost for everyone."""
    records = [{"id": i, "example": {"n": i}} for i in ("a", "b")]
    client.post("/api/examples/trash", json={"entries": records})
    response = client.post(
        "/api/examples/trash", json={"entries": [], "replace": True, "limit": 200}
    )
    assert response.status_code == 200
    assert [e["id"] for e in response.json()["entries"]] == ["a", "b"]
    assert [e["id"] for e in client.get("/api/examples/trash").json()["entries"]] == ["a", "b"]


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_null_body_is_400(client: TestClient, method: str) -> None:
    """Upstream crashed reading ``null.entries`` (500); a null body is not a request."""
    client.post("/api/examples/trash", json={"entries": [{"id": "a", "example": {"n": 1}}]})
    response = client.request(
        method, "/api/examples/trash", content=b"null", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid JSON body"
    assert [e["id"] for e in client.get("/api/examples/trash").json()["entries"]] == ["a"]


def test_delete_by_entry_id_audits(client: TestClient) -> None:
    client.post(
        "/api/examples/trash",
        json={
            "entries": [{"id": "keep", "example": {"a": 1}}, {"id": "drop", "example": {"b": 2}}]
        },
    )
    response = client.delete("/api/examples/trash?entryId=drop")
    body = response.json()
    assert body["entryId"] == "drop" and body["removed"] == 1
    assert [e["id"] for e in body["entries"]] == ["keep"]
    assert client.delete("/api/examples/trash?entryId=drop").json()["removed"] == 0


def test_audit_line_fields() -> None:
    with api_client() as (client, sink):
        client.post("/api/examples/trash", json={"entries": [{"id": "x", "example": {"a": 1}}]})
        client.delete(
            "/api/examples/trash?entryId=x",
            headers={"X-Forwarded-For": "203.0.113.9, 10.0.0.1", "User-Agent": "ua"},
        )
        client.delete("/api/examples/trash?entryId=x")
    audits = sink.events("examples.audit")
    assert [a["outcome"] for a in audits] == ["removed", "not_found"]
    assert audits[0]["ip"] == "203.0.113.9" and audits[0]["userAgent"] == "ua"
    assert audits[0]["action"] == "permanent-delete" and audits[0]["removedCount"] == 1


def test_blank_entry_id_is_400_with_meta(client: TestClient) -> None:
    response = client.delete("/api/examples/trash?entryId=%20")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "InvalidEntryId"
    assert body["message"] == "entryId query parameter is required"
    assert next(iter(body)) == "storage"


def test_delete_by_ids_body(client: TestClient) -> None:
    client.post(
        "/api/examples/trash", json={"entries": [{"id": i, "example": {"i": i}} for i in "abc"]}
    )
    body = client.request("DELETE", "/api/examples/trash", json={"ids": [" a ", "c", 5]}).json()
    assert body["removed"] == 2 and [e["id"] for e in body["entries"]] == ["b"]
    assert client.request("DELETE", "/api/examples/trash", json={}).json()["removed"] == 0


def test_put_is_not_allowed(client: TestClient) -> None:
    assert client.put("/api/examples/trash", json={}).status_code == 405


@pytest.mark.anyio
async def test_fifty_concurrent_appends_all_survive(redis_env: dict[str, str]) -> None:
    """FIX-E: upstream's unlocked read-modify-write lost trash entries under concurrency."""
    async with async_api(redis_env) as http:
        if True:
            await asyncio.gather(
                *(
                    http.post(
                        "/api/examples/trash",
                        json={
                            "entries": [{"id": f"id-{n}", "example": {"n": n}}],
                            "mode": "append",
                        },
                    )
                    for n in range(50)
                )
            )
            entries = (await http.get("/api/examples/trash")).json()["entries"]
    assert sorted(e["id"] for e in entries) == sorted(f"id-{n}" for n in range(50))


@pytest.mark.anyio
async def test_concurrent_puts_to_different_paths_all_indexed(redis_env: dict[str, str]) -> None:
    async with async_api(redis_env) as http:
        if True:
            await asyncio.gather(
                *(
                    http.put(
                        f"/api/examples?path=/p{n}", json={"examples": [], "deletedProvided": []}
                    )
                    for n in range(50)
                )
            )
            entries = (await http.get("/api/examples")).json()["entries"]
    assert sorted(e["path"] for e in entries) == sorted(f"/p{n}" for n in range(50))
