"""The parameters each stack gets, every one passed explicitly (deploy.md §5.4, §5.5, §5.8).

Pure: live values (secret VersionId, parameter versions, artefact key) come in as ``Live``.
``check`` uses the same function with placeholder live values to prove parameter coverage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from mathvisuals.deploy.config import EnvironmentConfig

STACK_ROLES = ("shared", "data", "api")


@dataclass(frozen=True)
class Live:
    """Values only known at deploy time; the defaults are placeholders for offline checks."""

    secret_version_id: str = "00000000-0000-0000-0000-000000000000"
    endpoint_version: int = 1
    port_version: int = 1
    examples_origins_version: int = 1
    svg_origins_version: int = 1
    artifact_key: str = "api/0000000000000000000000000000000000000000000000000000000000000000.zip"
    artifact_version: str = ""
    allowed_origins: tuple[str, ...] = ()
    redis_ca_file: str = ""


def config_version(config: EnvironmentConfig, live: Live) -> str:
    """First 16 hex digits of the SHA-256 of every input the Lambda resolves (§5.8)."""
    text = (
        f"endpoint={config.ssm_name('endpoint')}@{live.endpoint_version};"
        f"port={config.ssm_name('port')}@{live.port_version};"
        f"auth={config.redis.auth_secret_name}@{live.secret_version_id};"
        f"examples-origins={config.ssm_name('examples-origins')}@{live.examples_origins_version};"
        f"svg-origins={config.ssm_name('svg-origins')}@{live.svg_origins_version}"
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def function_revision(parameters: Mapping[str, str]) -> str:
    """First 16 hex digits of the SHA-256 over every other api stack parameter.

    With SnapStart the function carries it in its environment and the published version in its
    description: any change of input changes the function, so a new version is really published
    (a publish of an unchanged function returns the old version, which CloudFormation would then
    delete as the replaced resource) and the alias moves to it.
    """
    text = ";".join(f"{key}={parameters[key]}" for key in sorted(parameters))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def stack_parameters(config: EnvironmentConfig, role: str, live: Live = Live()) -> dict[str, str]:
    if role == "shared":
        return {"EnvironmentName": config.name}
    if role == "data":
        redis, network = config.redis, config.network
        return {
            "EnvironmentName": config.name,
            "SharedStackName": config.stacks.shared,
            "RedisAuthSecretName": redis.auth_secret_name,
            "RedisAuthSecretVersionId": live.secret_version_id,
            "RedisNodeType": redis.node_type,
            "RedisEngineVersion": redis.engine_version,
            "RedisReplicasPerNodeGroup": str(redis.replicas_per_node_group),
            "RedisSnapshotRetentionDays": str(redis.snapshot_retention_days),
            "RedisMaintenanceWindow": redis.maintenance_window,
            "RedisAtRestEncryption": _flag(redis.at_rest_encryption),
            "RedisAutomaticFailover": _flag(redis.automatic_failover),
            "RedisMultiAz": _flag(redis.multi_az),
            "VpcCidr": network.vpc_cidr,
            "PrivateSubnet1Cidr": network.private_subnet_cidrs[0],
            "PrivateSubnet2Cidr": network.private_subnet_cidrs[1],
        }
    if role == "api":
        api = config.api
        origins = live.allowed_origins or config.cors.allowed_origins
        parameters = {
            "EnvironmentName": config.name,
            "FunctionName": api.function_name,
            "StageName": api.stage_name,
            "MemorySize": str(api.memory_mb),
            "Timeout": str(api.timeout_s),
            "LogRetentionDays": str(api.log_retention_days),
            "ArtifactBucket": api.artifact_bucket,
            "ArtifactKey": live.artifact_key,
            "ArtifactObjectVersion": live.artifact_version,
            "DataStackName": config.stacks.data,
            "SharedStackName": config.stacks.shared,
            "RedisAuthSecretName": config.redis.auth_secret_name,
            "RedisAuthSecretVersionId": live.secret_version_id,
            "RedisEndpointParameterVersion": str(live.endpoint_version),
            "RedisPortParameterVersion": str(live.port_version),
            "RedisTlsCaFile": live.redis_ca_file,
            "AllowedOrigins": ",".join(origins),
            "AllowCredentials": _flag(config.cors.allow_credentials),
            "ConfigVersion": config_version(config, live),
            "SnapStart": _flag(api.snapstart),
        }
        return {**parameters, "FunctionRevision": function_revision(parameters)}
    raise ValueError(f"unknown stack role {role!r}")


# The alias infra/api/template.yaml points at the SnapStart version (the gateway invokes it).
SNAPSTART_ALIAS = "live"


def served_qualifier(config: EnvironmentConfig) -> str | None:
    """What the gateway invokes of the function: the SnapStart alias, else ``$LATEST`` (None)."""
    return SNAPSTART_ALIAS if config.api.snapstart else None


def served_function(config: EnvironmentConfig) -> str:
    """The function name the gateway invokes, qualified by the alias under SnapStart."""
    qualifier = served_qualifier(config)
    return f"{config.api.function_name}:{qualifier}" if qualifier else config.api.function_name


# The parameters whose versions the api stack pins (and ConfigVersion hashes).
PINNED_KEYS = ("endpoint", "port", "examples-origins", "svg-origins")


def pinned(
    secret_version: str,
    versions: Mapping[str, int],
    *,
    artifact_key: str = Live.artifact_key,
    artifact_version: str = "",
    allowed_origins: tuple[str, ...] = (),
    redis_ca_file: str = "",
) -> Live:
    """The one builder of pinned inputs: the secret version plus the versions of PINNED_KEYS."""
    return Live(
        secret_version_id=secret_version,
        endpoint_version=versions["endpoint"],
        port_version=versions["port"],
        examples_origins_version=versions["examples-origins"],
        svg_origins_version=versions["svg-origins"],
        artifact_key=artifact_key,
        artifact_version=artifact_version,
        allowed_origins=allowed_origins,
        redis_ca_file=redis_ca_file,
    )
