"""ElastiCache, Lambda, CloudWatch Logs and EC2 as verify reads them."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.response import StreamingBody

from mathvisuals.deploy.aws import (
    AwsCache,
    AwsCallError,
    AwsFunctions,
    AwsLogs,
    AwsNetwork,
    Backoff,
)
from mathvisuals.deploy.errors import (
    DeploymentFailedError,
)
from mathvisuals.deploy.gateway import SecretValue
from tests.deploy.aws.support import (
    ACCOUNT,
    REGION,
    TOKEN,
    stub,
)

# --- ElastiCache ----------------------------------------------------------------------------


def test_replication_group(backoff: Backoff) -> None:
    client, stubber = stub("elasticache")
    arn = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:replicationgroup:mv-test-redis"
    stubber.add_response(
        "describe_replication_groups",
        {
            "ReplicationGroups": [
                {
                    "ReplicationGroupId": "mv-test-redis",
                    "Status": "available",
                    "AuthTokenEnabled": True,
                    "TransitEncryptionEnabled": True,
                    "AtRestEncryptionEnabled": False,
                    "MultiAZ": "enabled",
                    "AutomaticFailover": "enabled",
                    "ARN": arn,
                    "NodeGroups": [
                        {
                            "PrimaryEndpoint": {"Address": "master.example", "Port": 6379},
                            "ReaderEndpoint": {"Address": "replica.example", "Port": 6379},
                        }
                    ],
                }
            ]
        },
        {"ReplicationGroupId": "mv-test-redis"},
    )
    stubber.add_response(
        "list_tags_for_resource",
        {"TagList": [{"Key": "aws:cloudformation:stack-name", "Value": "mv-data"}]},
        {"ResourceName": arn},
    )
    stubber.add_client_error(
        "describe_replication_groups", "ReplicationGroupNotFoundFault", "not found", 404
    )
    stubber.add_response(
        "modify_replication_group",
        {},
        {
            "ReplicationGroupId": "mv-test-redis",
            "AuthToken": TOKEN,
            "AuthTokenUpdateStrategy": "ROTATE",
            "ApplyImmediately": True,
        },
    )
    stubber.add_client_error(
        "modify_replication_group", "InvalidParameterValue", f"Invalid AUTH token provided: {TOKEN}"
    )
    with stubber:
        cache = AwsCache(client, backoff=backoff)
        info = cache.replication_group("mv-test-redis")
        assert info is not None
        assert (info.primary_address, info.primary_port, info.reader_address) == (
            "master.example",
            6379,
            "replica.example",
        )
        assert info.auth_token_enabled and info.transit_encryption and not info.at_rest_encryption
        assert info.multi_az and info.automatic_failover and info.owning_stack == "mv-data"
        assert cache.replication_group("gone") is None
        cache.modify_auth_token("mv-test-redis", SecretValue(TOKEN), "ROTATE")
        with pytest.raises(AwsCallError) as raised:
            cache.modify_auth_token("mv-test-redis", SecretValue(TOKEN), "SET")
    assert TOKEN not in str(raised.value) and "Invalid AUTH token" in str(raised.value)


# --- Lambda ---------------------------------------------------------------------------------


def payload(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def test_function_configuration_wraps_the_environment(backoff: Backoff) -> None:
    client, stubber = stub("lambda")
    stubber.add_response(
        "get_function_configuration",
        {
            "FunctionName": "math-visuals-api",
            "Runtime": "python3.12",
            "CodeSha256": "abc=",
            "LastModified": "2026-01-01T00:00:00.000+0000",
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "Environment": {"Variables": {"REDIS_PASSWORD": TOKEN, "REDIS_TLS": "true"}},
            "VpcConfig": {"SubnetIds": ["subnet-1", "subnet-2"], "SecurityGroupIds": ["sg-1"]},
        },
        {"FunctionName": "math-visuals-api"},
    )
    stubber.add_client_error("get_function_configuration", "ResourceNotFoundException", "nope", 404)
    with stubber:
        functions = AwsFunctions(client, backoff=backoff)
        info = functions.configuration("math-visuals-api")
        assert info is not None
        assert info.environment["REDIS_PASSWORD"].reveal() == TOKEN
        assert TOKEN not in repr(info)
        assert (info.subnet_ids, info.security_group_ids) == (("subnet-1", "subnet-2"), ("sg-1",))
        assert (info.state, info.runtime, info.code_sha256) == ("Active", "python3.12", "abc=")
        assert functions.configuration("gone") is None


def test_invoke(backoff: Backoff) -> None:
    client, stubber = stub("lambda")
    stubber.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": payload(b'{"statusCode": 200}')},
        {
            "FunctionName": "fn",
            "InvocationType": "RequestResponse",
            "Payload": json.dumps({"rawPath": "/api/health"}).encode(),
        },
    )
    error = {"errorType": "AuthenticationError", "errorMessage": f"WRONGPASS {TOKEN}"}
    stubber.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": payload(json.dumps(error).encode()),
        },
    )
    stubber.add_response("invoke", {"StatusCode": 200, "Payload": payload(b"[1, 2]")})
    with stubber:
        functions = AwsFunctions(client, backoff=backoff)
        assert functions.invoke("fn", {"rawPath": "/api/health"}) == {"statusCode": 200}
        with pytest.raises(DeploymentFailedError) as raised:
            functions.invoke("fn", {})
        assert "AuthenticationError" in str(raised.value) and TOKEN not in str(raised.value)
        with pytest.raises(DeploymentFailedError, match="not a JSON object"):
            functions.invoke("fn", {})


# --- Logs, EC2 ------------------------------------------------------------------------------


def test_log_messages(aws: None) -> None:
    client = boto3.client("logs", region_name=REGION)
    logs = AwsLogs(client)
    group = "/aws/lambda/math-visuals-api"
    assert logs.messages(group, 0) == []
    client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName="s")
    start = int(datetime.now(UTC).timestamp() * 1000) - 60_000  # AWS drops events > 14 days old
    client.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[
            {"timestamp": start - 1000, "message": "old"},
            {"timestamp": start, "message": '{"event": "store.ready", "mode": "kv"}'},
            {"timestamp": start + 1000, "message": "END"},
        ],
    )
    assert logs.messages(group, start) == ['{"event": "store.ready", "mode": "kv"}', "END"]


def test_filter_events_pages_with_a_pattern_oldest_first(backoff: Backoff) -> None:
    group = "/aws/lambda/math-visuals-api"
    client, stubber = stub("logs")
    logs = AwsLogs(client, backoff=backoff)
    query = {"logGroupName": group, "startTime": 5, "filterPattern": '{ $.event = "x" }'}
    stubber.add_response(
        "filter_log_events",
        {"events": [{"timestamp": 20, "message": "b\n", "eventId": "2"}], "nextToken": "t"},
        query,
    )
    stubber.add_response(
        "filter_log_events",
        {"events": [{"timestamp": 10, "message": "a", "eventId": "1"}]},
        {**query, "nextToken": "t"},
    )
    stubber.add_client_error("filter_log_events", "ResourceNotFoundException")
    with stubber:
        found = logs.filter_events(group, 5, pattern='{ $.event = "x" }')
        assert logs.filter_events(group, 5) == []  # the function has not logged yet
    assert [(e.timestamp_ms, e.message, e.event_id) for e in found] == [
        (10, "a", "1"),
        (20, "b", "2"),
    ]
    stubber.assert_no_pending_responses()


def test_ingress_sources(aws: None) -> None:
    client = boto3.client("ec2", region_name=REGION)
    vpc = client.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    lambda_sg = client.create_security_group(GroupName="l", Description="l", VpcId=vpc)["GroupId"]
    redis_sg = client.create_security_group(GroupName="r", Description="r", VpcId=vpc)["GroupId"]
    client.authorize_security_group_ingress(
        GroupId=redis_sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 6379,
                "ToPort": 6379,
                "UserIdGroupPairs": [{"GroupId": lambda_sg}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
            },
        ],
    )
    network = AwsNetwork(client)
    assert network.ingress_sources(redis_sg, 6379) == [lambda_sg]
    assert network.ingress_sources(redis_sg, 22) == []
    assert network.ingress_sources("sg-0123456789abcdef0", 6379) == []


def test_function_configuration_of_an_alias_reports_its_version_and_snapstart(
    backoff: Backoff,
) -> None:
    client, stubber = stub("lambda")
    stubber.add_response(
        "get_function_configuration",
        {
            "FunctionName": "math-visuals-api",
            "Version": "7",
            "State": "Active",
            "SnapStart": {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"},
        },
        {"FunctionName": "math-visuals-api", "Qualifier": "live"},
    )
    with stubber:
        info = AwsFunctions(client, backoff=backoff).configuration("math-visuals-api", "live")
    assert info is not None and (info.version, info.snapstart) == ("7", "On")
