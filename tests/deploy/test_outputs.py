"""``outputs``: names and endpoints from the stacks, and never a token."""

from __future__ import annotations

import json
from pathlib import Path

from mathvisuals.deploy.config import load_config
from mathvisuals.deploy.model import StackState
from mathvisuals.deploy.outputs import collect

CONFIG = load_config(Path("infra/environments/prod.toml"))


def stacks(**outputs: dict[str, str]) -> dict[str, StackState]:
    names = {"shared": CONFIG.stacks.shared, "data": CONFIG.stacks.data, "api": CONFIG.stacks.api}
    return {
        role: StackState(name, "UPDATE_COMPLETE", outputs=outputs[role])
        if role in outputs
        else StackState(name)
        for role, name in names.items()
    }


def test_deployed_outputs_are_collected() -> None:
    found = collect(
        CONFIG,
        stacks(  # type: ignore[arg-type]
            shared={"RedisAuthSecretName": "math-visuals/prod/redis/auth"},
            data={"RedisPrimaryEndpoint": "master.mv.cache.amazonaws.com", "RedisPort": "6379"},
            api={"ApiEndpoint": "https://abc.execute-api.eu-north-1.amazonaws.com/prod"},
        ),
    )
    assert found.deployed
    assert found.api_url == "https://abc.execute-api.eu-north-1.amazonaws.com/prod"
    assert found.names["redis_primary_endpoint"] == "master.mv.cache.amazonaws.com"
    assert found.names["log_group"] == "/aws/lambda/math-visuals-api"
    rows = dict(found.rows())
    assert rows["health"] == "https://abc.execute-api.eu-north-1.amazonaws.com/prod/api/health"
    body = found.to_json()
    assert body["schema_version"] == 1 and body["ok"] is True
    assert body["stacks"]["data"]["outputs"]["RedisPort"] == "6379"  # type: ignore[index]
    json.dumps(body)  # serialisable as is


def test_nothing_deployed() -> None:
    found = collect(CONFIG, stacks())  # type: ignore[arg-type]
    assert not found.deployed and found.api_url is None
    assert dict(found.rows())["api url"] == "(not deployed)"
    assert "redis_primary_endpoint" not in found.names
