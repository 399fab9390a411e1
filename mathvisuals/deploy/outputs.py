"""``outputs``: what an operator needs from a deployed environment, read from its stacks. Pure."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from mathvisuals.deploy.config import EnvironmentConfig
from mathvisuals.deploy.model import StackRole, StackState

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Outputs:
    environment: str
    region: str
    api_url: str | None
    names: Mapping[str, str]
    stacks: Mapping[str, Mapping[str, object]] = field(default_factory=dict)

    @property
    def deployed(self) -> bool:
        return any(stack["status"] is not None for stack in self.stacks.values())

    def with_api_url(self, url: str) -> Outputs:
        return dataclasses.replace(self, api_url=url)

    def rows(self) -> list[tuple[str, str]]:
        rows = [("api url", self.api_url or "(not deployed)")]
        if self.api_url:
            rows.append(("health", self.api_url.rstrip("/") + "/api/health"))
        rows += [(key.replace("_", " "), value) for key, value in self.names.items()]
        for role, stack in self.stacks.items():
            status = stack["status"] or "not deployed"
            rows.append((f"{role} stack", f"{stack['name']} ({status})"))
            outputs = stack["outputs"]
            assert isinstance(outputs, Mapping)
            rows += [(f"  {key}", str(value)) for key, value in sorted(outputs.items())]
        return rows

    def to_json(self) -> dict[str, object]:
        return {
            "schema_version": SCHEMA_VERSION,
            "ok": True,
            "environment": self.environment,
            "region": self.region,
            "api_url": self.api_url,
            "names": dict(self.names),
            "stacks": {role: dict(stack) for role, stack in self.stacks.items()},
        }


def collect(config: EnvironmentConfig, stacks: Mapping[StackRole, StackState]) -> Outputs:
    """Outputs hold names, ids and endpoints only: the token lives in the secret, never here."""
    data = stacks["data"].outputs if stacks["data"].exists else {}
    api = stacks["api"].outputs if stacks["api"].exists else {}
    names = {
        "redis_primary_endpoint": data.get("RedisPrimaryEndpoint", ""),
        "redis_reader_endpoint": data.get("RedisReaderEndpoint", ""),
        "redis_port": data.get("RedisPort", ""),
        "replication_group": config.redis.replication_group_id,
        "function": api.get("ApiFunctionName", config.api.function_name),
        "log_group": api.get("ApiFunctionLogGroupName", config.log_group),
        "auth_secret_name": config.redis.auth_secret_name,
        "artifact_bucket": config.api.artifact_bucket,
    }
    return Outputs(
        environment=config.name,
        region=config.env.region,
        api_url=api.get("ApiEndpoint") or None,
        names={key: value for key, value in names.items() if value},
        stacks={
            role: {
                "name": state.name,
                "status": state.status if state.exists else None,
                "outputs": dict(state.outputs),
            }
            for role, state in stacks.items()
        },
    )
