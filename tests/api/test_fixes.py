"""Deliberate fixes not covered by a route's own tests; each fails on upstream's behaviour."""

from __future__ import annotations

import redis

from mathvisuals import jsonfmt
from tests.api.conftest import api_client
from tests.api.test_examples import redis_client


def commandstats(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def test_list_reads_every_entry_with_one_mget(redis_env: dict[str, str]) -> None:
    """FIX-F: upstream issued one GET per member (N+1)."""
    direct = redis_client(redis_env)
    for n in range(25):
        entry = {"path": f"/p{n}", "examples": [], "deletedProvided": [], "updatedAt": "u"}
        direct.set(f"examples:/p{n}", jsonfmt.dumps_str(entry))
        direct.sadd("examples:__paths__", f"/p{n}")
    with api_client(redis_env) as (client, _):
        client.get("/api/health")  # connect first
        direct.config_resetstat()
        assert len(client.get("/api/examples").json()["entries"]) == 25
        calls = commandstats(direct)
    assert calls.get("smembers") == 1
    assert calls.get("mget") == 1
    assert calls.get("get", 0) == 0
    direct.close()


def test_no_process_cache_shadows_redis(redis_env: dict[str, str]) -> None:
    """FIX-G: a value changed in Redis by another writer is what the next read returns."""
    with api_client(redis_env) as (client, _):
        client.put("/api/examples?path=/g", json={"examples": [{"v": 1}], "deletedProvided": []})
        assert client.get("/api/examples?path=/g").json()["examples"][0]["v"] == 1
        direct = redis_client(redis_env)
        changed = {"path": "/g", "examples": [{"v": 2}], "deletedProvided": [], "updatedAt": "u"}
        direct.set("examples:/g", jsonfmt.dumps_str(changed))
        direct.close()
        assert client.get("/api/examples?path=/g").json()["examples"][0]["v"] == 2


def test_logs_never_carry_bodies_or_secrets(redis_env: dict[str, str]) -> None:
    """FIX-K: upstream logged request bodies; we log one access line and no payload."""
    marker = "private-student-note-3141"
    with api_client(redis_env) as (client, sink):
        client.put(
            f"/api/examples?path=/{marker}",
            json={"examples": [{"title": marker}], "deletedProvided": []},
        )
        client.put("/api/examples?path=/x", content=b"{bad " + marker.encode())
    text = "\n".join(sink.lines)
    assert marker not in text
    assert redis_env["REDIS_PASSWORD"] not in text
    assert [event["status"] for event in sink.events("http.access")] == [200, 400]


def test_unresolved_references_are_used_literally_and_flagged() -> None:
    """FIX-B: no runtime SSM/Secrets Manager lookup; the reference-looking values are reported."""
    env = {
        "REDIS_ENDPOINT": "/math-visuals/prod/redis/endpoint",
        "REDIS_PORT": "6379",
        "REDIS_PASSWORD": "{{resolve:secretsmanager:x:SecretString:authToken}}",
    }
    with api_client(env) as (client, _):
        response = client.get("/api/examples")
    # kv mode with an unusable host: 503 (FIX-A), never a silent memory answer.
    assert response.status_code == 503
    assert response.json()["mode"] == "kv"


def test_deep_stored_values_are_served_not_deleted(redis_env: dict[str, str]) -> None:
    """The 256-level limit guards request bodies; data already in Redis is never refused."""
    nested = "[" * 300 + "1" + "]" * 300
    raw = f'{{"path":"/deep","examples":[{{"v":{nested}}}],"deletedProvided":[],"updatedAt":"u"}}'
    direct = redis_client(redis_env)
    direct.set("examples:/deep", raw)
    direct.sadd("examples:__paths__", "/deep")
    with api_client(redis_env) as (client, _):
        response = client.get("/api/examples?path=/deep")
        too_deep = client.put("/api/examples?path=/other", content=raw.encode())
    assert response.status_code == 200
    assert direct.exists("examples:/deep")
    assert too_deep.status_code == 400
    direct.close()
