"""The upstream-shaped fixture itself, checked with plain boto3 and Redis in a real sandbox.

If these fail, a takeover test built on the fixture proves nothing: the stacks, their exports
and importers, the physical names of takeover.md §1 and the seeded keys must all be there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from cfnlint.decode import decode_str

from mathvisuals.sandbox.sandbox import Sandbox
from tests.deploy.takeover.upstream_fixture import (
    UpstreamDeployment,
    aws,
    deploy_upstream,
    diff_snapshots,
    redis_client,
    running_sandbox,
    seed,
    snapshot_redis,
)
from tests.deploy.takeover.upstream_seed import seed_values

ENV = "prod"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path, str]]:
    """A sandbox of its own; the third item is the harness token it was started with."""
    with running_sandbox(tmp_path_factory.mktemp("upstream-sandbox")) as running:
        yield running.sandbox, running.token_file, running.harness_token


@pytest.fixture(scope="module")
def upstream(sandbox: tuple[Sandbox, Path, str]) -> UpstreamDeployment:
    box, token_file, _ = sandbox
    return deploy_upstream(box, token_file, ENV)


@pytest.fixture(scope="module")
def client(sandbox: tuple[Sandbox, Path, str], upstream: UpstreamDeployment) -> Any:
    box, _, _ = sandbox

    def make(service: str) -> Any:
        return aws(box.endpoints(), service, upstream.region)

    return make


def test_stacks_are_complete_under_upstream_names(
    client: Any, upstream: UpstreamDeployment
) -> None:
    cfn = client("cloudformation")
    for name in ("math-visuals-shared", "math-visuals-data", "math-visuals-api"):
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        # Upstream's stacks carry no ownership tag of ours.
        assert not any(tag["Key"] == "managed-by" for tag in stack.get("Tags", []))
    assert set(upstream.stack_ids) == {"shared", "data", "api"}


def test_exports_and_their_importers(client: Any, upstream: UpstreamDeployment) -> None:
    cfn = client("cloudformation")
    exports = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
    wanted = upstream.names.exports()
    assert set(wanted) <= set(exports)
    assert (
        exports["math-visuals-shared-RedisPasswordSecretName"] == "math-visuals/prod/redis/password"
    )
    assert exports["math-visuals-shared-ExamplesAllowedOriginsParameterName"] == (
        "/math-visuals/prod/examples-allowed-origins"
    )
    # Ref of a secret is its ARN on AWS (deploy.md B3), its name in ministack (EMULATOR.md).
    secret = client("secretsmanager").describe_secret(SecretId="math-visuals/prod/redis/password")
    assert exports["math-visuals-data-RedisPasswordSecretName"] in {secret["ARN"], secret["Name"]}
    assert (
        exports["math-visuals-data-RedisEndpointParameterName"]
        == "/math-visuals/prod/redis/endpoint"
    )
    assert exports["math-visuals-data-RedisTlsRequired"] == "true"
    for name, importers in wanted.items():
        if importers:
            assert cfn.list_imports(ExportName=name)["Imports"] == importers, name
        else:
            with pytest.raises(cfn.exceptions.ClientError, match="not imported by any stack"):
                cfn.list_imports(ExportName=name)


def test_templates_keep_upstream_logical_ids_and_deletion_policies(client: Any) -> None:
    cfn = client("cloudformation")
    body = cfn.get_template(StackName="math-visuals-data", TemplateStage="Original")
    template, problems = decode_str(body["TemplateBody"])  # the YAML text as sent
    assert problems == []
    resources = template["Resources"]
    retained = {k for k, v in resources.items() if v.get("DeletionPolicy") == "Retain"}
    assert retained == {
        "RedisAuthTokenSecret",
        "RedisPrimaryEndpointParameter",
        "RedisPortParameter",
        "RedisReaderEndpointParameter",
    }
    assert "DeletionPolicy" not in resources["RedisReplicationGroup"]
    listed = {
        r["LogicalResourceId"]
        for r in cfn.list_stack_resources(StackName="math-visuals-api")["StackResourceSummaries"]
    }
    routes = {name for name in listed if name.startswith("ApiRoute")}
    assert len(routes) == 16
    assert {
        "ApiFunction",
        "ApiFunctionRole",
        "HttpApi",
        "HttpApiStage",
        "LambdaIntegration",
    } <= listed
    assert {"ApiFunctionLogGroup", "HttpApiAccessLogGroup", "ApiAlarmTopic"} <= listed


def test_physical_names_follow_upstream(client: Any, upstream: UpstreamDeployment) -> None:
    ssm, ec2, cache = client("ssm"), client("ec2"), client("elasticache")
    for leaf in ("stack/shared/version", "redis/endpoint", "redis/port", "redis/reader-endpoint"):
        assert ssm.get_parameter(Name=f"/math-visuals/prod/{leaf}")["Parameter"]["Value"]
    origins = ssm.get_parameter(Name="/math-visuals/prod/svg-allowed-origins")["Parameter"]
    assert origins["Type"] == "StringList" and "https://mathvisuals.no" in origins["Value"]
    secrets = client("secretsmanager")
    for name in ("math-visuals/prod/redis/auth", "math-visuals/prod/redis/password"):
        value = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])
        assert list(value) == ["authToken"] and value["authToken"] == upstream.live_token

    data = upstream.physical_ids["data"]
    vpc = ec2.describe_vpcs(VpcIds=[data["Vpc"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == "10.42.0.0/16"
    assert {"Key": "Name", "Value": "math-visuals-prod-vpc"} in vpc["Tags"]
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    subnets = ec2.describe_subnets(SubnetIds=[data["PrivateSubnet1"], data["PrivateSubnet2"]])
    by_id = {s["SubnetId"]: s for s in subnets["Subnets"]}
    assert by_id[data["PrivateSubnet1"]]["CidrBlock"] == "10.42.0.0/19"
    assert by_id[data["PrivateSubnet2"]]["CidrBlock"] == "10.42.32.0/19"
    assert by_id[data["PrivateSubnet1"]]["AvailabilityZone"] == zones[0]
    assert by_id[data["PrivateSubnet2"]]["AvailabilityZone"] == zones[1]
    groups = ec2.describe_security_groups(
        GroupIds=[data["LambdaSecurityGroup"], data["RedisSecurityGroup"]]
    )["SecurityGroups"]
    assert {g["Description"] for g in groups} == {
        "Allows Lambda functions to communicate with Redis inside the VPC.",
        "Restricts Redis access to the Lambda security group.",
    }
    group = cache.describe_replication_groups(ReplicationGroupId="mv-prod-redis")
    assert group["ReplicationGroups"][0]["TransitEncryptionEnabled"] is True
    subnet_group = cache.describe_cache_subnet_groups(
        CacheSubnetGroupName="math-visuals-prod-redis-subnets"
    )
    assert len(subnet_group["CacheSubnetGroups"]) == 1

    api = upstream.physical_ids["api"]
    function = api["ApiFunction"]
    assert function.startswith("math-visuals-api-ApiFunction-")
    logs = client("logs")
    for group_name in (f"/aws/lambda/{function}", f"/aws/apigateway/{api['HttpApi']}-access"):
        found = logs.describe_log_groups(logGroupNamePrefix=group_name)["logGroups"]
        assert [g["logGroupName"] for g in found] == [group_name]
    stage = client("apigatewayv2").get_stage(ApiId=api["HttpApi"], StageName="prod")
    assert stage["StageName"] == "prod"
    topics = [t["TopicArn"] for t in client("sns").list_topics()["Topics"]]
    assert any(arn.endswith(":math-visuals-api-alarms-prod") for arn in topics)


def test_the_stub_answers_as_upstream(client: Any, upstream: UpstreamDeployment) -> None:
    reply = client("lambda").invoke(
        FunctionName=upstream.physical_ids["api"]["ApiFunction"], Payload=b"{}"
    )
    assert reply.get("FunctionError") is None
    assert json.loads(json.loads(reply["Payload"].read())["body"]) == {"upstream": True}


def test_seeded_keys_are_there_byte_for_byte(
    sandbox: tuple[Sandbox, Path, str], upstream: UpstreamDeployment
) -> None:
    box, token_file, _ = sandbox
    strings, sets = seed_values()
    assert {k: v.value for k, v in upstream.snapshot.items() if v.type == "string"} == strings
    assert {k: set(v.value) for k, v in upstream.snapshot.items() if v.type == "set"} == sets
    assert all(v.ttl == -1 for v in upstream.snapshot.values())
    # Double-encoded legacy values are stored as such (api.md §6.2).
    assert isinstance(json.loads(strings[b"svg:former/tr%C3%A6kant"]), str)
    live = redis_client(box.endpoints(), upstream.live_token)
    try:
        assert diff_snapshots(upstream.snapshot, snapshot_redis(live)) == {
            "missing": [],
            "changed": [],
            "added": [],
        }
        live.set(b"svg:icons/star", b"{}")
        live.set(b"settings:extra", b"{}")
        live.delete(b"figure:category:m-ling")
        assert diff_snapshots(upstream.snapshot, snapshot_redis(live)) == {
            "missing": [b"figure:category:m-ling"],
            "changed": [b"svg:icons/star"],
            "added": [b"settings:extra"],
        }
        seed(live)  # back to the seeded state for the other tests
        live.delete(b"settings:extra")
        assert snapshot_redis(live) == upstream.snapshot
    finally:
        live.close()
    assert token_file.read_text(encoding="utf-8") == upstream.live_token


def test_the_stand_in_accepts_only_the_live_token(
    sandbox: tuple[Sandbox, Path, str], upstream: UpstreamDeployment
) -> None:
    box, _, harness = sandbox
    assert harness != upstream.live_token
    stale = redis_client(box.endpoints(), harness)
    try:
        with pytest.raises(redis.AuthenticationError):
            stale.ping()
    finally:
        stale.close()
    live = redis_client(box.endpoints(), upstream.live_token)
    try:
        assert live.ping() is True
    finally:
        live.close()
    assert upstream.live_token not in repr(upstream)


def test_upstream_can_live_in_another_region(tmp_path: Path) -> None:
    """Upstream's real region is eu-west-1 while the seed says eu-north-1 (takeover.md §1)."""
    with running_sandbox(tmp_path) as running:
        west = deploy_upstream(running.sandbox, running.token_file, "prod", region="eu-west-1")
        assert west.region == "eu-west-1"
        assert all(":eu-west-1:" in stack_id for stack_id in west.stack_ids.values())
        north = running.aws("cloudformation", "eu-north-1")
        assert [s["StackName"] for s in north.describe_stacks()["Stacks"]] == []
        zones = {
            running.aws("ec2", "eu-west-1").describe_subnets(SubnetIds=[subnet])["Subnets"][0][
                "AvailabilityZone"
            ]
            for subnet in (
                west.physical_ids["data"]["PrivateSubnet1"],
                west.physical_ids["data"]["PrivateSubnet2"],
            )
        }
        assert zones == {"eu-west-1a", "eu-west-1b"}
