"""The only package that imports boto3: implements deploy.gateway in deploy.model's vocabulary.

One adapter module per service group (``cloudformation``, ``secrets``, ``identity``, ``s3``,
``runtime``, ``monitoring``) over ``base``'s backoff and error translation; ``connect`` is the
only place that makes a boto3 Session.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ConfigParseError, ProfileNotFound

from mathvisuals.deploy.aws import failures
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
        core = botocore.session.Session(profile=profile)
        failures.check_ca_bundle(core.get_config_variable("ca_bundle"))
        session = boto3.Session(
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            botocore_session=core,
        )
        session.events.register("before-parse", failures.refuse_html)
        found = session.get_credentials()
    except ProfileNotFound as exc:
        raise failures.profile_missing(exc, _known_profiles()) from exc
    except CREDENTIAL_FAILURES as exc:
        raise CredentialsError(CREDENTIALS_HINT) from exc
    except (ConfigParseError, OSError, UnicodeDecodeError) as exc:
        raise failures.unreadable_setup(exc) from exc
    if found is None:
        raise CredentialsError(CREDENTIALS_HINT)

    def config(service: str) -> Config:
        return failures.client_config(region, service, path_style=bool(endpoint_url))

    def client(service: str) -> Any:  # a boto3 client
        try:
            return session.client(
                service, region_name=region, endpoint_url=endpoint_url, config=config(service)
            )
        except ValueError as exc:  # "Invalid endpoint: …" (AWS_ENDPOINT_URL, endpoint_url)
            raise failures.invalid_endpoint(exc) from exc

    def elsewhere() -> dict[str, Any]:
        regions = session.get_available_regions("cloudformation") or []
        return {
            other: session.client(
                "cloudformation",
                region_name=other,
                endpoint_url=endpoint_url,
                config=config("cloudformation"),
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


def _known_profiles() -> list[str]:
    try:
        return list(botocore.session.Session().available_profiles)
    except (BotoCoreError, OSError, UnicodeDecodeError):
        return []
