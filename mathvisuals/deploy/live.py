"""The live deployment, read once per run: the stacks, exports, parameters, secret and function.

``verify`` asserts on it and ``status`` reports it; both take the same :class:`Observed`, so one
``up`` reads each part once. The output catalogue and the log-line parser live here too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cached_property

from mathvisuals.deploy.config import EnvironmentConfig
from mathvisuals.deploy.gateway import (
    FunctionInfo,
    Gateways,
    ParameterInfo,
    ReplicationGroupInfo,
    SecretInfo,
)
from mathvisuals.deploy.model import DriftReport, StackRole, StackState
from mathvisuals.deploy.parameters import PINNED_KEYS, config_version, pinned, served_qualifier

ROLES: tuple[StackRole, ...] = ("shared", "data", "api")
DRIFT_ROLES: tuple[StackRole, ...] = ("data", "api")  # the shared stack holds one parameter
HEALTHY = ("CREATE_COMPLETE", "UPDATE_COMPLETE")
OUTPUTS: dict[StackRole, tuple[str, ...]] = {
    "shared": (
        "RedisAuthSecretName", "RedisEndpointParameterName", "RedisPortParameterName",
        "RedisReaderEndpointParameterName", "ExamplesAllowedOriginsParameterName",
        "SvgAllowedOriginsParameterName",
    ),
    "data": (
        "VpcId", "PrivateSubnet1Id", "PrivateSubnet2Id", "LambdaSecurityGroupId",
        "RedisSecurityGroupId", "RedisPrimaryEndpoint", "RedisReaderEndpoint", "RedisPort",
    ),
    "api": (
        "ApiEndpoint", "ApiFunctionName", "ApiFunctionArn", "ApiFunctionLogGroupName",
        "ApiAccessLogGroupName", "AlarmTopicArn",
    ),
}  # fmt: skip
# Shared output -> the config key of the name it must carry.
SHARED_NAMES = {
    "RedisEndpointParameterName": "endpoint", "RedisPortParameterName": "port",
    "RedisReaderEndpointParameterName": "reader-endpoint",
    "ExamplesAllowedOriginsParameterName": "examples-origins",
    "SvgAllowedOriginsParameterName": "svg-origins",
}  # fmt: skip
PARAMETER_KEYS = ("endpoint", "port", "reader-endpoint", "examples-origins", "svg-origins")
REDIS_PORT = 6379


def parse_events(messages: Sequence[str]) -> list[dict[str, object]]:
    """Our JSON log records (api.md §15); START/END/REPORT and other text lines are skipped."""
    events: list[dict[str, object]] = []
    for message in messages:
        text = message.strip()
        if not text.startswith("{") and "\t" in text:
            text = text.rsplit("\t", 1)[-1]  # the runtime's "<ts>\t<request id>\t<level>\t" prefix
        try:
            record = json.loads(text) if text.startswith("{") else None
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("event"), str):
            events.append(record)
    return events


def epoch_ms(timestamp: str) -> int | None:
    """ISO 8601 with an offset (Lambda's ``LastModified``: ``…T10:00:00.000+0000``) to ms."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000) if moment.tzinfo is not None else None


def origins(value: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


class Observed:
    """Live state, each part read once, shared by the checks and by ``status``."""

    def __init__(self, config: EnvironmentConfig, gateways: Gateways) -> None:
        self.config, self.gateways = config, gateways

    @cached_property
    def stacks(self) -> dict[StackRole, StackState]:
        cfn = self.gateways.cloudformation
        return {role: cfn.describe(getattr(self.config.stacks, role)) for role in ROLES}

    @cached_property
    def drift(self) -> dict[StackRole, DriftReport]:
        """DetectStackDrift on the data and api stacks that exist (deploy.md §5.13 V1)."""
        cfn = self.gateways.cloudformation
        return {
            role: cfn.drift(self.stacks[role].name)
            for role in DRIFT_ROLES
            if self.stacks[role].exists
        }

    @cached_property
    def exports(self) -> Mapping[str, str]:
        return self.gateways.cloudformation.exports()

    @cached_property
    def parameters(self) -> dict[str, ParameterInfo]:
        names = {self.config.ssm_name(key): key for key in PARAMETER_KEYS}
        found = self.gateways.parameters.get(list(names))
        return {names[name]: info for name, info in found.items()}

    @cached_property
    def secret(self) -> SecretInfo | None:
        found = self.gateways.secrets.describe(self.config.redis.auth_secret_name)
        return None if found is None or found.deleted else found

    @cached_property
    def function(self) -> FunctionInfo | None:
        """What the gateway invokes: the SnapStart alias's version, else ``$LATEST``."""
        return self.gateways.functions.configuration(
            self.config.api.function_name, served_qualifier(self.config)
        )

    @cached_property
    def group(self) -> ReplicationGroupInfo | None:
        return self.gateways.cache.replication_group(self.config.redis.replication_group_id)

    def value(self, key: str) -> str | None:
        found = self.parameters.get(key)
        return found.value if found else None

    def env(self, name: str) -> str | None:
        found = self.function.environment.get(name) if self.function else None
        return found.reveal() if found is not None else None

    def data_export(self, key: str) -> str | None:
        return self.exports.get(self.config.export("data", key))

    def expected_config_version(self) -> tuple[str | None, list[str]]:
        """``CONFIG_VERSION`` as ``up`` computes it from live versions, or what is missing."""
        missing = [self.config.ssm_name(k) for k in PINNED_KEYS if k not in self.parameters]
        version = self.secret.current_version if self.secret else None
        if version is None:
            missing.insert(0, f"secret {self.config.redis.auth_secret_name}")
        if missing or version is None:
            return None, missing
        versions = {key: self.parameters[key].version for key in PINNED_KEYS}
        return config_version(self.config, pinned(version, versions)), []
