"""The reads a takeover makes, on AWS-shaped answers (botocore Stubber), and the verdicts.

The emulator differs from AWS exactly where a takeover is judged (EMULATOR.md): physical ids,
NoEcho parameters, the ARN of a secret. Here the live data stack is answered as AWS answers.
"""

from __future__ import annotations

from pathlib import Path

from botocore.stub import Stubber

from mathvisuals.deploy.aws import AwsCache, Backoff
from mathvisuals.deploy.config import load_config
from mathvisuals.deploy.model import ExportInfo, StackResource
from mathvisuals.deploy.parameters import stack_parameters
from mathvisuals.deploy.takeover.adopt import StackAdoption
from mathvisuals.deploy.takeover.model import Action
from mathvisuals.deploy.takeover.plan import Ours, build
from mathvisuals.deploy.takeover.reader import decode, read_world
from tests.deploy.aws.support import ACCOUNT, NOW, REGION, cloudformation, spec, stub

ROOT = Path(__file__).resolve().parents[3]
DATA = "math-visuals-data"
ARN = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{DATA}/5e1c2f40-b7a4-11f0-8f2b-0a1b2c3d4e5f"
PHYSICAL = {
    "Vpc": ("AWS::EC2::VPC", "vpc-0a1b2c3d4e5f60718"),
    "PrivateSubnet1": ("AWS::EC2::Subnet", "subnet-0f1e2d3c4b5a69788"),
    "PrivateSubnet2": ("AWS::EC2::Subnet", "subnet-0a9b8c7d6e5f40312"),
    "LambdaSecurityGroup": ("AWS::EC2::SecurityGroup", "sg-0123456789abcdef0"),
    "RedisSecurityGroup": ("AWS::EC2::SecurityGroup", "sg-0fedcba9876543210"),
    "RedisSubnetGroup": ("AWS::ElastiCache::SubnetGroup", "math-visuals-prod-redis-subnets"),
    "RedisAuthTokenSecret": (
        "AWS::SecretsManager::Secret",
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:math-visuals/prod/redis/password-AbCdEf",
    ),
    "RedisReplicationGroup": ("AWS::ElastiCache::ReplicationGroup", "mv-prod-redis"),
    "RedisPrimaryEndpointParameter": ("AWS::SSM::Parameter", "/math-visuals/prod/redis/endpoint"),
    "RedisPortParameter": ("AWS::SSM::Parameter", "/math-visuals/prod/redis/port"),
    "RedisReaderEndpointParameter": (
        "AWS::SSM::Parameter",
        "/math-visuals/prod/redis/reader-endpoint",
    ),
}
EXPORTS = {
    "PrivateSubnet1Id": "subnet-0f1e2d3c4b5a69788",
    "PrivateSubnet2Id": "subnet-0a9b8c7d6e5f40312",
    "LambdaSecurityGroupId": "sg-0123456789abcdef0",
    "RedisPasswordSecretName": PHYSICAL["RedisAuthTokenSecret"][1],
    "VpcId": "vpc-0a1b2c3d4e5f60718",
}


def stub_live_data_stack(stubber: Stubber) -> None:
    template = (ROOT / "tests/deploy/takeover/upstream/data.yaml").read_text(encoding="utf-8")
    stubber.add_response(
        "list_exports",
        {
            "Exports": [
                {"ExportingStackId": ARN, "Name": f"{DATA}-{k}", "Value": v}
                for k, v in EXPORTS.items()
            ]
        },
    )
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": DATA,
                    "StackId": ARN,
                    "CreationTime": NOW,
                    "StackStatus": "UPDATE_COMPLETE",
                    "Tags": [],
                    "Parameters": [
                        {"ParameterKey": "EnvironmentName", "ParameterValue": "prod"},
                        {
                            "ParameterKey": "SharedParametersStackName",
                            "ParameterValue": "math-visuals-shared",
                        },
                        # NoEcho: AWS masks the value
                        {"ParameterKey": "RedisAuthToken", "ParameterValue": "****"},
                    ],
                }
            ]
        },
        {"StackName": DATA},
    )
    stubber.add_response(
        "get_template",
        {"TemplateBody": template, "StagesAvailable": ["Original", "Processed"]},
        {"StackName": DATA, "TemplateStage": "Original"},
    )
    stubber.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": k,
                    "PhysicalResourceId": physical,
                    "ResourceType": kind,
                    "LastUpdatedTimestamp": NOW,
                    "ResourceStatus": "UPDATE_COMPLETE",
                }
                for k, (kind, physical) in PHYSICAL.items()
            ]
        },
        {"StackName": DATA},
    )
    for key in EXPORTS:
        if key == "VpcId":
            stubber.add_client_error(
                "list_imports",
                "ValidationError",
                f"Export '{DATA}-{key}' is not imported by any stack.",
            )
        else:
            stubber.add_response("list_imports", {"Imports": ["math-visuals-api"]})


def ours() -> list[Ours]:
    config = load_config(ROOT / "infra/environments/prod.toml")
    body = decode((ROOT / "infra/data/template.yaml").read_text(encoding="utf-8"))
    assert body is not None
    return [Ours("data", DATA, body, stack_parameters(config, "data"))]


def test_the_live_data_stack_as_aws_answers_it_is_kept_in_place(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    stub_live_data_stack(stubber)
    with stubber:
        live, world = read_world(cloudformation(client, backoff), [DATA], REGION, ACCOUNT)
    found = live[DATA]
    assert found is not None and found.parameters["RedisAuthToken"] == "****"
    assert found.resources["RedisAuthTokenSecret"].physical_id.startswith("arn:aws:secretsmanager")
    assert world.importers[f"{DATA}-PrivateSubnet1Id"] == ("math-visuals-api",)
    assert f"{DATA}-VpcId" not in world.importers

    plan = build(ours(), live, world)
    assert plan.refusals == []
    (step,) = plan.steps
    by_id = {v.logical_id: v for v in step.prediction.resources}
    for logical_id in ("Vpc", "PrivateSubnet1", "PrivateSubnet2", "RedisReplicationGroup"):
        assert by_id[logical_id].action in (Action.KEEP, Action.MODIFY), by_id[logical_id]
    assert by_id["RedisAuthTokenSecret"].action is Action.RETAIN
    # still imported by the api stack, so carried with its live value (an ARN on AWS)
    assert (
        step.phase.carried[f"{DATA}-RedisPasswordSecretName"] == EXPORTS["RedisPasswordSecretName"]
    )

    bare = build(ours(), live, world, adoptions={"data": StackAdoption()})
    lines = "\n".join(bare.refusals)
    assert "PrivateSubnet1" in lines and "InvalidSubnet.Conflict" in lines
    assert "LambdaSecurityGroup" in lines and "GroupDescription" in lines
    assert "'10.42.0.0/19'" in lines or "10.42.0.0/19" in lines


def test_resources_and_the_export_table(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    stub_live_data_stack(stubber)
    stubber.add_client_error(
        "list_stack_resources", "ValidationError", "Stack with id nope does not exist"
    )
    with stubber:
        gateway = cloudformation(client, backoff)
        table = gateway.export_table()
        gateway.describe(DATA)
        gateway.template(DATA)
        found = gateway.resources(DATA)
        imported = [gateway.importers(f"{DATA}-{key}") for key in EXPORTS]
        assert gateway.resources("nope") == []
    assert imported[-1] == []  # VpcId: "is not imported by any stack" is an answer, not an error
    assert ExportInfo(f"{DATA}-VpcId", "vpc-0a1b2c3d4e5f60718", DATA) in table
    assert (
        StackResource("Vpc", "AWS::EC2::VPC", "vpc-0a1b2c3d4e5f60718", "UPDATE_COMPLETE") in found
    )


def test_stacks_elsewhere_reads_every_other_region_and_skips_disabled_ones(
    backoff: Backoff,
) -> None:
    west, west_stub = stub("cloudformation")
    south, south_stub = stub("cloudformation")
    west_stub.add_response(
        "list_stacks",
        {
            "StackSummaries": [
                {
                    "StackName": name,
                    "CreationTime": NOW,
                    "StackStatus": "UPDATE_COMPLETE",
                }
                for name in ("math-visuals-data", "math-visuals-api", "unrelated")
            ]
        },
    )
    south_stub.add_client_error(
        "list_stacks", "InvalidClientTokenId", "The security token included is invalid."
    )
    home, _ = stub("cloudformation")
    with west_stub, south_stub:
        gateway = cloudformation(
            home, backoff, elsewhere=lambda: {"eu-west-1": west, "eu-south-2": south}
        )
        found = gateway.stacks_elsewhere(
            ["math-visuals-shared", "math-visuals-data", "math-visuals-api"]
        )
    assert found == {"eu-west-1": ["math-visuals-api", "math-visuals-data"]}


def test_update_outputs_says_when_there_is_nothing_to_update(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    stubber.add_response("update_stack", {"StackId": ARN})
    stubber.add_client_error("update_stack", "ValidationError", "No updates are to be performed.")
    with stubber:
        gateway = cloudformation(client, backoff)
        assert gateway.update_outputs(spec(DATA, '{"Resources": {}}')) is True
        assert gateway.update_outputs(spec(DATA, '{"Resources": {}}')) is False


def test_snapshots_are_created_and_read(backoff: Backoff) -> None:
    client, stubber = stub("elasticache")
    stubber.add_response(
        "create_snapshot",
        {"Snapshot": {"SnapshotName": "s1", "SnapshotStatus": "creating"}},
        {"ReplicationGroupId": "mv-prod-redis", "SnapshotName": "s1"},
    )
    stubber.add_response(
        "describe_snapshots",
        {"Snapshots": [{"SnapshotName": "s1", "SnapshotStatus": "creating"}]},
        {"SnapshotName": "s1"},
    )
    stubber.add_client_error("describe_snapshots", "SnapshotNotFoundFault", "Snapshot s2 not found")
    with stubber:
        cache = AwsCache(client, backoff=backoff)
        cache.create_snapshot("mv-prod-redis", "s1")
        assert cache.snapshot_status("s1") == "creating"
        assert cache.snapshot_status("s2") is None
