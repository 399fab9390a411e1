"""The only package that imports boto3: implements deploy.gateway in deploy.model's vocabulary.

One adapter module per service group (``cloudformation``, ``secrets``, ``identity``, ``s3``,
``runtime``, ``monitoring``) over ``base``'s backoff and error translation; ``connect`` is the
only place that makes a boto3 Session.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from mathvisuals.deploy.aws.base import (
    CREDENTIAL_FAILURES,
    CREDENTIALS_HINT,
    AwsCallError,
    Backoff,
)
from mathvisuals.deploy.aws.cloudformation import NO_CHANGE_REASONS, AwsCloudFormation
from mathvisuals.deploy.aws.identity import AwsIdentity, principal_arn
from mathvisuals.deploy.aws.monitoring import AwsMonitoring
from mathvisuals.deploy.aws.runtime import AwsCache, AwsFunctions, AwsLogs, AwsNetwork
from mathvisuals.deploy.aws.s3 import AwsArtifacts
from mathvisuals.deploy.aws.secrets import AwsParameters, AwsSecrets
from mathvisuals.deploy.errors import CredentialsError
from mathvisuals.deploy.gateway import Gateways

__all__ = [
    "NO_CHANGE_REASONS", "AwsArtifacts", "AwsCache", "AwsCallError", "AwsCloudFormation",
    "AwsFunctions", "AwsIdentity", "AwsLogs", "AwsMonitoring", "AwsNetwork", "AwsParameters",
    "AwsSecrets", "Backoff", "connect", "principal_arn",
]  # fmt: skip


def connect(
    region: str,
    *,
    endpoint_url: str | None = None,
    profile: str | None = None,
    credentials: tuple[str, str] | None = None,
    poll_seconds: float = 5.0,
) -> Gateways:
    """The only place that makes a boto3 Session: every client gets the region and endpoint."""
    access_key, secret_key = credentials or (None, None)
    try:
        session = boto3.Session(
            profile_name=profile,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
        )
        found = session.get_credentials()
    except CREDENTIAL_FAILURES as exc:
        raise CredentialsError(CREDENTIALS_HINT) from exc
    if found is None:
        raise CredentialsError(CREDENTIALS_HINT)
    config = Config(
        region_name=region,
        retries={"mode": "adaptive", "max_attempts": 8},
        connect_timeout=5,
        read_timeout=60,
        # Emulators serve buckets by path, not by virtual host.
        s3={"addressing_style": "path"} if endpoint_url else None,
    )

    def client(service: str) -> Any:  # a boto3 client
        return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config)

    def elsewhere() -> dict[str, Any]:
        regions = session.get_available_regions("cloudformation") or []
        return {
            other: session.client(
                "cloudformation", region_name=other, endpoint_url=endpoint_url, config=config
            )
            for other in regions
            if other != region
        }

    return Gateways(
        cloudformation=AwsCloudFormation(
            client("cloudformation"), poll_seconds=poll_seconds, elsewhere=elsewhere
        ),
        secrets=AwsSecrets(client("secretsmanager")),
        parameters=AwsParameters(client("ssm")),
        identity=AwsIdentity(client("sts"), client("iam")),
        artifacts=AwsArtifacts(client("s3")),
        cache=AwsCache(client("elasticache")),
        functions=AwsFunctions(client("lambda")),
        logs=AwsLogs(client("logs")),
        network=AwsNetwork(client("ec2")),
        monitoring=AwsMonitoring(client("cloudwatch"), client("sns")),
    )
