"""Stored renderings spliced into responses: the same bytes as parsing and encoding again.

Each stored value is read three ways against real Redis: with the fast path switched off (the
reference), then twice with it on (a memo miss, then a hit). Upstream's values are not in our
canonical form (spacing, key order, HTML descriptions, integral floats, escapes, double
encoding, numbers and strings orjson refuses), so the memo must hold what the slow path made.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from starlette.testclient import TestClient

from mathvisuals import jsonfmt
from mathvisuals.api.http import Exchange
from mathvisuals.model.examples import sanitize_entry
from mathvisuals.store import examples as examples_store
from tests.api.conftest import api_client

CANONICAL = jsonfmt.dumps_str(
    sanitize_entry(
        "/canonical",
        {
            "examples": [{"title": "a", "description": "Brøk 3/4", "config": {"x": [0.5, 2]}}],
            "deletedProvided": ["b"],
            "updatedAt": "2024-05-01T12:00:00.000Z",
        },
        "unused",
    )
)
UPSTREAM = json.dumps(
    {
        "updatedAt": "2023-01-01T00:00:00.000Z",
        "examples": [
            {
                "descriptionHtml": "<p>Første<br>linje</p><script>x</script>",
                "title": "Brøk \u00e6",
                "config": {"zoom": 1.0, "steps": 2e0, "big": 1e16, "f": 0.1},
                "temporary": True,
                "__openRequestId": "r1",
                "svg": "  <svg/>  ",
            },
            "not an object",
            {"description": "a\r\n\r\n\r\nb \n\u00a0"},
        ],
        "deletedProvided": [" x ", "x", 3, ""],
        "extra": {"kept": False},
    },
    indent=2,
    ensure_ascii=True,
)
STORED = {
    "/canonical": CANONICAL,
    "/upstream": UPSTREAM,
    "/double": json.dumps(UPSTREAM),  # a JSON string holding the JSON (§6.2)
    "/bigint": '{"examples":[{"n":' + str(2**70) + '}],"updatedAt":"2024-01-01T00:00:00.000Z"}',
    "/surrogate": '{"examples":[{"t":"\\ud800"}],"updatedAt":"2024-01-01T00:00:00.000Z"}',
    "/nested": '{"examples":[{"a":[[[[{"b":1.50}]]]]}],"updatedAt":"2024-01-01T00:00:00.000Z"}',
}


@pytest.fixture
def seeded(redis_env: dict[str, str]) -> Iterator[tuple[TestClient, dict[str, str]]]:
    direct = redis.Redis(
        host="localhost", port=int(redis_env["REDIS_PORT"]), password=redis_env["REDIS_PASSWORD"],
        ssl=True, ssl_ca_certs=redis_env["REDIS_TLS_CA_FILE"], decode_responses=True,
    )  # fmt: skip
    for path, value in STORED.items():
        direct.set(f"examples:{path}", value)
        direct.sadd("examples:__paths__", path)
    direct.close()
    examples_store.MEMO.clear()
    with api_client(redis_env) as (client, _):
        yield client, redis_env
    examples_store.MEMO.clear()


def reads(client: TestClient) -> list[bytes]:
    urls = ["/api/examples", *(f"/api/examples?path={path}" for path in STORED)]
    return [client.get(url).content for url in urls]


def test_spliced_responses_are_byte_identical_to_the_slow_path(
    seeded: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = seeded
    with monkeypatch.context() as off:
        off.setattr(Exchange, "with_meta", lambda self, records: None)
        off.setattr(examples_store.MEMO, "lookup", lambda key, raw: None)
        reference = reads(client)
    assert examples_store.MEMO.hits == 0
    miss = reads(client)
    hits_before = examples_store.MEMO.hits
    hit = reads(client)
    assert miss == reference
    assert hit == reference
    # The second round came from the memo: one hit per stored entry per read.
    assert examples_store.MEMO.hits - hits_before == 2 * len(STORED)
    listed = json.loads(reference[0])["entries"]
    assert [entry["path"] for entry in listed] == sorted(STORED)
    upstream = next(entry for entry in listed if entry["path"] == "/upstream")
    assert upstream["examples"][0]["description"] == "Første\nlinje"
    assert upstream["examples"][0]["config"] == {"zoom": 1, "steps": 2, "big": 1e16, "f": 0.1}
    assert b'"zoom":1,' in reference[0]


def test_a_value_without_updated_at_is_never_served_from_the_memo(
    seeded: tuple[TestClient, dict[str, str]],
) -> None:
    client, env = seeded
    direct = redis.Redis(
        host="localhost", port=int(env["REDIS_PORT"]), password=env["REDIS_PASSWORD"],
        ssl=True, ssl_ca_certs=env["REDIS_TLS_CA_FILE"],
    )  # fmt: skip
    direct.set("examples:/clock", '{"examples":[]}')
    direct.close()
    client.get("/api/examples?path=/clock")
    hits = examples_store.MEMO.hits
    assert client.get("/api/examples?path=/clock").status_code == 200
    assert examples_store.MEMO.hits == hits  # looked up, never remembered


def test_a_changed_stored_value_is_read_fresh(seeded: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = seeded
    first = client.get("/api/examples?path=/canonical").json()
    body = {"examples": [{"title": "new"}], "deletedProvided": [], "updatedAt": "2025-01-01"}
    assert client.put("/api/examples?path=/canonical", json=body).status_code == 200
    second = client.get("/api/examples?path=/canonical").json()
    assert first["examples"][0]["title"] == "a"
    assert second["examples"] == [{"title": "new", "description": ""}]
    assert second["updatedAt"] == "2025-01-01"
