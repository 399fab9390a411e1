"""Secrets Manager and SSM: lifecycle, ownership, and no value ever echoed."""

from __future__ import annotations

import json

import boto3
import pytest

from mathvisuals.deploy.aws import (
    AwsCallError,
    AwsParameters,
    AwsSecrets,
    Backoff,
)
from mathvisuals.deploy.errors import (
    DeploymentFailedError,
)
from mathvisuals.deploy.gateway import SecretValue
from tests.deploy.aws.support import (
    OURS,
    REGION,
    TOKEN,
    stub,
)

# --- Secrets Manager ------------------------------------------------------------------------


def test_secret_lifecycle(aws: None) -> None:
    secrets = AwsSecrets(boto3.client("secretsmanager", region_name=REGION))
    name = "math-visuals/test/redis/auth"
    assert secrets.describe(name) is None
    first = secrets.create(name, SecretValue(TOKEN), OURS)
    second = secrets.put(name, SecretValue(TOKEN + "x"))
    info = secrets.describe(name)
    assert info is not None
    assert (info.current_version, info.previous_version) == (second, first)
    assert info.tags == OURS and not info.deleted and info.owning_stack is None
    assert secrets.value(name) == SecretValue(TOKEN + "x")
    assert secrets.value(name, first).reveal() == TOKEN
    raw = boto3.client("secretsmanager", region_name=REGION).get_secret_value(SecretId=name)
    assert raw["SecretString"] == json.dumps({"authToken": TOKEN + "x"}, separators=(",", ":"))

    secrets.restore_current(name, first, second)
    info = secrets.describe(name)
    assert info is not None and info.current_version == first

    secrets.delete(name, force=False)
    info = secrets.describe(name)
    assert info is not None and info.deleted
    secrets.delete(name, force=True)
    assert secrets.describe(name) is None
    secrets.delete(name, force=True)  # already gone


def test_secret_owned_by_a_stack(aws: None) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(
        Name="taken",
        SecretString="{}",
        Tags=[{"Key": "aws:cloudformation:stack-name", "Value": "old"}],
    )
    info = AwsSecrets(client).describe("taken")
    assert info is not None and info.owning_stack == "old"


@pytest.mark.parametrize("stored", ["not json " + TOKEN, json.dumps({"password": TOKEN}), "[1]"])
def test_secret_value_that_is_not_the_json_never_echoes(aws: None, stored: str) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name="odd", SecretString=stored)
    with pytest.raises(DeploymentFailedError) as raised:
        AwsSecrets(client).value("odd")
    assert TOKEN not in str(raised.value) and "1" not in str(raised.value).replace("odd", "")
    assert raised.value.__cause__ is None


def test_secret_errors_never_echo_the_token(backoff: Backoff) -> None:
    client, stubber = stub("secretsmanager")
    echoed = json.dumps({"authToken": TOKEN}, separators=(",", ":"))
    stubber.add_client_error(
        "put_secret_value",
        "ValidationException",
        f"1 validation error detected: Value '{echoed}' at 'secretString' failed to satisfy "
        "constraint: Member must have length less than or equal to 65536",
    )
    stubber.add_client_error(
        "put_secret_value", "InvalidRequestException", f"Bad value {TOKEN} for the secret"
    )
    with stubber:
        for _ in range(2):
            with pytest.raises(AwsCallError) as raised:
                AwsSecrets(client, backoff=backoff).put("s", SecretValue(TOKEN))
            assert TOKEN not in str(raised.value)
            assert "PutSecretValue" in str(raised.value)


# --- SSM ------------------------------------------------------------------------------------


def test_parameters_put_get_delete(aws: None) -> None:
    client = boto3.client("ssm", region_name=REGION)
    parameters = AwsParameters(client)
    name = "/math-visuals/test/config/svg-allowed-origins"
    assert parameters.put(name, "https://a", kind="StringList", tags=OURS, overwrite=False) == 1
    assert (
        parameters.put(name, "https://a,https://b", kind="StringList", tags=OURS, overwrite=True)
        == 2
    )
    tags = client.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    assert {t["Key"]: t["Value"] for t in tags} == OURS

    client.put_parameter(
        Name="/owned",
        Value="x",
        Type="String",
        Tags=[{"Key": "aws:cloudformation:stack-name", "Value": "mv-data"}],
    )
    for i in range(11):
        client.put_parameter(Name=f"/p/{i}", Value=str(i), Type="String")
    names = [name, "/owned", "/missing"] + [f"/p/{i}" for i in range(11)]
    found = parameters.get(names)  # 14 names: two GetParameters batches
    assert set(found) == set(names) - {"/missing"}
    assert (found[name].value, found[name].version, found[name].type) == (
        "https://a,https://b",
        2,
        "StringList",
    )
    assert found["/owned"].owning_stack is None  # owners are read only on request
    owned = parameters.get([name, "/owned"], owners=True)
    assert owned["/owned"].owning_stack == "mv-data" and owned[name].owning_stack is None

    parameters.delete(name)
    parameters.delete(name)  # already gone
    assert parameters.get([name]) == {}


def test_parameter_put_sends_tags_only_on_create(backoff: Backoff) -> None:
    client, stubber = stub("ssm")
    tags = [{"Key": "k", "Value": "v"}]
    stubber.add_response(
        "put_parameter",
        {"Version": 1},
        {"Name": "/n", "Value": "v", "Type": "String", "Overwrite": False, "Tags": tags},
    )
    stubber.add_response(
        "put_parameter",
        {"Version": 2},
        {"Name": "/n", "Value": "w", "Type": "String", "Overwrite": True},
    )
    stubber.add_response(
        "add_tags_to_resource", {}, {"ResourceType": "Parameter", "ResourceId": "/n", "Tags": tags}
    )
    with stubber:
        parameters = AwsParameters(client, backoff=backoff)
        assert parameters.put("/n", "v", kind="String", tags={"k": "v"}, overwrite=False) == 1
        assert parameters.put("/n", "w", kind="String", tags={"k": "v"}, overwrite=True) == 2
        stubber.assert_no_pending_responses()
