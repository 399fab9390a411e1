"""`data` on the sandbox: seed every area through the HTTP API, export, down, up, import;
every key byte-identical, the API serves it; a maintenance event over HTTP is refused."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis

from tests.e2e.test_local_workflow import Runs, aws, runs, state  # noqa: F401 (fixtures)

pytestmark = pytest.mark.timeout(900)
SVG = '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0"/></svg>'
PNG = "data:image/png;base64,iVBORw0KGgo="
BUCKET = "math-visuals-artifacts-local"  # infra/environments/local.toml


def keyspace(where: Path) -> dict[bytes, Any]:
    """Every key with its type and raw value, read with a plain redis client."""
    sandbox = json.loads((where / "sandbox.json").read_text())
    client = redis.Redis(
        host="localhost", port=sandbox["redis_port"], password=(where / "token").read_text(),
        ssl=True, ssl_ca_certs=sandbox["ca_file"],
    )  # fmt: skip
    found: dict[bytes, Any] = {}
    for key in client.scan_iter(count=100):
        kind = client.type(key)
        found[key] = (kind, client.get(key) if kind == b"string" else sorted(client.smembers(key)))
    client.close()
    return found


def seed(api: str) -> None:
    def ok(response: httpx2.Response) -> None:
        assert response.status_code == 200, response.text

    with httpx2.Client(base_url=api, timeout=30) as http:
        ok(
            http.put(
                "/examples",
                params={"path": "/diagram"},
                json={"examples": [{"title": "ø"}], "deletedProvided": []},
            )
        )
        ok(
            http.put(
                "/examples",
                params={"path": "/graf"},
                json={"examples": [{"title": "g"}], "deletedProvided": []},
            )
        )
        ok(
            http.post(
                "/examples/trash",
                json={"entries": [{"id": "t1", "example": {"n": 1}, "sourcePath": "/diagram"}]},
            )
        )
        ok(http.post("/svg", json={"slug": "shapes/sq.svg", "svg": SVG, "png": PNG, "title": "Sq"}))
        ok(
            http.post(
                "/figure-library",
                json={"slug": "tri", "svg": SVG, "categoryId": "kat", "categoryLabel": "Kat"},
            )
        )
        ok(http.put("/settings", json={"activeProject": "annet", "projects": {"Mine": ["#123"]}}))


def test_data_round_trip_through_down_and_up(runs: Runs, state: Path, tmp_path: Path) -> None:  # noqa: F811
    api = runs("up", "--json")["api_endpoint"].rstrip("/")
    base = f"{api}/api"
    seed(base)
    before = keyspace(state)
    prefixes = (
        b"examples:",
        b"svg:",
        b"figureAsset:",
        b"figure:",
        b"figure:category:",
        b"settings:",
    )
    for prefix in prefixes:
        assert any(k.startswith(prefix) for k in before), prefix
    assert b"examples:__trash__" in before

    archive = tmp_path / "local.jsonl.gz"
    exported = runs("data", "export", "--out", str(archive), "--json")
    assert exported["keys"] == len(before) and exported["changed_during_export"] == []
    token = (state / "token").read_text()
    assert token.encode() not in gzip.decompress(archive.read_bytes())
    objects = aws(state, "s3").list_objects_v2(Bucket=BUCKET, Prefix="backups/local/")
    assert objects.get("KeyCount", 0) >= 1

    # Through the HTTP API the maintenance event is only a body: it never runs an export.
    with httpx2.Client(timeout=30) as http:
        refused = http.post(
            f"{base}/examples", json={"mathvisuals_maintenance": {"op": "export", "cursor": 0}}
        )
    assert 400 <= refused.status_code < 500 and "cursor" not in refused.text
    after_http = aws(state, "s3").list_objects_v2(Bucket=BUCKET, Prefix="backups/local/")
    assert after_http.get("KeyCount", 0) == objects.get("KeyCount", 0)

    runs("down")
    api = runs("up", "--json")["api_endpoint"].rstrip("/")
    base = f"{api}/api"
    assert keyspace(state) == {}
    runs("data", "verify", str(archive), expect=8)
    runs("data", "import", str(archive), "--dry-run")
    assert keyspace(state) == {}
    # While another run holds the environment's lock, an import writes nothing (exit 11).
    lock = state / "locks" / "local.lock"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) as other:
        try:
            holder = f"{socket.gethostname()}:{other.pid}"
            lock.write_text(json.dumps({"holder": holder, "expires": 4e9}))
            runs("data", "import", str(archive), expect=11)
            assert keyspace(state) == {} and holder in lock.read_text()
        finally:
            other.kill()
    runs("data", "import", str(archive))  # the holder is gone: its lock no longer blocks
    assert not lock.exists()
    assert keyspace(state) == before  # every key, type and byte
    runs("data", "verify", str(archive))
    again = runs("data", "import", str(archive), "--json")
    assert set(again["actions"]) == {"same"}  # idempotent

    with httpx2.Client(base_url=base, timeout=30) as http:
        got = http.get("/examples", params={"path": "/diagram"})
        assert got.status_code == 200 and got.json()["examples"][0]["title"] == "ø"
        assert (
            http.get("/figure-library", params={"slug": "tri"}).json()["entry"]["categoryId"]
            == "kat"
        )
        assert http.get("/settings").json()["settings"]["activeProject"] == "annet"
    assert token not in "".join(runs.output)
    runs("down")
