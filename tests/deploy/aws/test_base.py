"""What every adapter shares: denials, credentials, botocore failures, connect."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from botocore.exceptions import (
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
)

from mathvisuals.deploy.aws import (
    AwsArtifacts,
    AwsCallError,
    AwsIdentity,
    AwsSecrets,
    Backoff,
    connect,
)
from mathvisuals.deploy.errors import (
    CredentialsError,
    NetworkError,
    PreflightBlockedError,
)
from mathvisuals.deploy.gateway import Gateways, SecretValue
from tests.deploy.aws.support import (
    ACCOUNT,
    REGION,
    STACK_ARN,
    TOKEN,
    cloudformation,
    stub,
)

# --- Errors shared by every gateway ---------------------------------------------------------


def test_access_denied_names_the_action(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    stubber.add_client_error(
        "describe_stacks",
        "AccessDenied",
        f"User: arn:aws:iam::{ACCOUNT}:user/ci is not authorized to perform: "
        f"cloudformation:DescribeStacks on resource: {STACK_ARN}",
        http_status_code=403,
    )
    with stubber, pytest.raises(PreflightBlockedError) as raised:
        cloudformation(client, backoff).describe("mv-data")
    assert "cloudformation:DescribeStacks" in str(raised.value)
    assert "AccessDenied" in str(raised.value)
    assert raised.value.exit_code == 6
    assert "cloudformation:DescribeStacks" in raised.value.hint


def test_bare_403_names_the_iam_action(backoff: Backoff) -> None:
    client, stubber = stub("s3")
    stubber.add_client_error("head_object", "403", "Forbidden", http_status_code=403)
    with stubber, pytest.raises(PreflightBlockedError, match=r"s3:GetObject"):
        AwsArtifacts(client, backoff=backoff).head("bucket", "key")


class NoCredentialsClient:
    def get_caller_identity(self) -> dict[str, str]:
        raise NoCredentialsError


def test_missing_credentials_exit_5(backoff: Backoff) -> None:
    gateway = AwsIdentity(NoCredentialsClient(), None, backoff=backoff)
    with pytest.raises(CredentialsError) as raised:
        gateway.account_id()
    assert raised.value.exit_code == 5
    assert "AWS_PROFILE" in str(raised.value) and "\n" not in str(raised.value)
    assert isinstance(raised.value.__cause__, NoCredentialsError)


class BrokenClient:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def put_secret_value(self, **kwargs: Any) -> dict[str, str]:
        raise self.error


def test_botocore_errors_name_the_class_not_the_values(backoff: Backoff) -> None:
    report = f"Invalid type for parameter SecretString, value: {TOKEN}"
    with pytest.raises(AwsCallError) as raised:
        AwsSecrets(BrokenClient(ParamValidationError(report=report))).put("s", SecretValue(TOKEN))
    assert raised.value.code == "ParamValidationError" and TOKEN not in str(raised.value)
    down = EndpointConnectionError(endpoint_url="http://localhost:4566/")
    # A network failure is exit 5 (credentials/network), naming the endpoint.
    with pytest.raises(NetworkError, match=r"PutSecretValue: cannot connect to http://localhost"):
        AwsSecrets(BrokenClient(down)).put("s", SecretValue(TOKEN))


def test_connect_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(CredentialsError, match=r"AWS_ACCESS_KEY_ID"):
        connect(REGION)
    with pytest.raises(CredentialsError):
        connect(REGION, profile="nope")


def test_expired_token_is_a_credentials_error(backoff: Backoff) -> None:
    client, stubber = stub("sts")
    stubber.add_client_error("get_caller_identity", "ExpiredToken", "The token has expired")
    with stubber, pytest.raises(CredentialsError):
        AwsIdentity(client, None, backoff=backoff).account_id()


def clients(gateways: Gateways) -> list[Any]:
    found = [getattr(gateways, f.name) for f in dataclasses.fields(gateways)]
    return [
        value
        for g in found
        if g is not None  # static_site is wired by the CLI
        for value in vars(g).values()
        if hasattr(value, "meta")
    ]


def test_connect_sets_region_endpoint_and_retries() -> None:
    gateways = connect(REGION, endpoint_url="http://localhost:4566", credentials=("a", "b"))
    made = clients(gateways)
    assert len(made) == 12  # every gateway, IAM besides STS and SNS besides CloudWatch
    for client in made:
        assert client.meta.region_name == REGION
        assert client.meta.endpoint_url == "http://localhost:4566"
        # Bounded: standard retries, 3 attempts in all; a stalled endpoint fails in seconds.
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}
        # Invoke waits for the function; SimulatePrincipalPolicy evaluates every action.
        read = {"lambda": 70, "iam": 20}.get(client.meta.service_model.service_name, 5)
        timeouts = (client.meta.config.connect_timeout, client.meta.config.read_timeout)
        assert timeouts == (5, read)


def test_connect_without_endpoint_uses_the_regional_one() -> None:
    gateways = connect(REGION)
    assert isinstance(gateways.secrets, AwsSecrets)
    assert gateways.secrets._client.meta.endpoint_url.endswith(f"{REGION}.amazonaws.com")
