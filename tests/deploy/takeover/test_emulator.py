"""What the pinned ministack does with the calls a takeover relies on (EMULATOR.md).

These pin the emulator's behaviour, including where it differs from AWS: a takeover test that
passes in the sandbox proves only what the emulator can tell. When ministack's pin moves and
one of these fails, update EMULATOR.md and the takeover tests that lean on the finding.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deploy.takeover.upstream_fixture import RunningSandbox, running_sandbox

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
NOT_SUPPORTED = "Resource import is not supported by this emulator"


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with running_sandbox(tmp_path_factory.mktemp("emulator")) as running:
        yield running


def template(resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
    body: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    if outputs:
        body["Outputs"] = outputs
    return json.dumps(body)


def parameter(name: str, value: Any = "v", policy: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "Type": "AWS::SSM::Parameter",
        "Properties": {"Name": name, "Type": "String", "Value": value},
    }
    if policy:
        resource.update(DeletionPolicy=policy, UpdateReplacePolicy=policy)
    return resource


def settle(cfn: Any, stack: str) -> str:
    for _ in range(600):
        status: str = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"{stack} did not settle")


def create(cfn: Any, stack: str, body: str) -> None:
    cfn.create_stack(StackName=stack, TemplateBody=body)
    assert settle(cfn, stack) == "CREATE_COMPLETE"


def update(cfn: Any, stack: str, body: str, **extra: Any) -> str:
    cfn.update_stack(StackName=stack, TemplateBody=body, **extra)
    return settle(cfn, stack)


def change_set(cfn: Any, stack: str, name: str, body: str, **extra: Any) -> dict[str, Any]:
    cfn.create_change_set(StackName=stack, ChangeSetName=name, TemplateBody=body, **extra)
    for _ in range(300):
        described: dict[str, Any] = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
        if described["Status"] not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
            return described
        time.sleep(0.1)
    raise AssertionError(f"change set {name} did not settle")


def failures(cfn: Any, stack: str) -> list[str]:
    return [
        e.get("ResourceStatusReason", "")
        for e in cfn.describe_stack_events(StackName=stack)["StackEvents"]
        if e["ResourceStatus"].endswith("FAILED")
    ]


def test_retain_and_import_moves_a_parameter_to_a_new_logical_id(box: RunningSandbox) -> None:
    cfn, ssm = box.aws("cloudformation"), box.aws("ssm")
    other = parameter("/emu/move/other")
    create(cfn, "emu-move", template({"Old": parameter("/emu/move", "live", "Retain"), "O": other}))
    assert update(cfn, "emu-move", template({"O": other})) == "UPDATE_COMPLETE"
    imported = change_set(
        cfn, "emu-move", "move", template({"O": other, "New": parameter("/emu/move", "ours", "Retain")}),
        ChangeSetType="IMPORT",
        ResourcesToImport=[{"ResourceType": "AWS::SSM::Parameter", "LogicalResourceId": "New",
                            "ResourceIdentifier": {"Name": "/emu/move"}}],
    )  # fmt: skip
    assert imported["ExecutionStatus"] == "AVAILABLE"
    assert [c["ResourceChange"]["Action"] for c in imported["Changes"]] == ["Import"]
    cfn.execute_change_set(StackName="emu-move", ChangeSetName="move")
    assert settle(cfn, "emu-move") == "IMPORT_COMPLETE"
    # The import adopts the resource as it is; the template's value comes with the next update.
    assert ssm.get_parameter(Name="/emu/move")["Parameter"]["Value"] == "live"
    resources = cfn.describe_stack_resources(StackName="emu-move")["StackResources"]
    assert {(r["LogicalResourceId"], r["PhysicalResourceId"]) for r in resources} == {
        ("O", "/emu/move/other"),
        ("New", "/emu/move"),
    }


def test_import_is_refused_for_subnets_and_routes(box: RunningSandbox) -> None:
    cfn, ec2, apis = box.aws("cloudformation"), box.aws("ec2"), box.aws("apigatewayv2")
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.60.0.0/24")["Subnet"]["SubnetId"]
    api = apis.create_api(Name="emu-import", ProtocolType="HTTP")["ApiId"]
    route = apis.create_route(ApiId=api, RouteKey="ANY /x")["RouteId"]
    create(cfn, "emu-refuse", template({"D": parameter("/emu/refuse")}))
    retained = {"DeletionPolicy": "Retain"}
    resources = {
        "D": parameter("/emu/refuse"),
        "Sub": {"Type": "AWS::EC2::Subnet", **retained,
                "Properties": {"VpcId": vpc, "CidrBlock": "10.60.0.0/24"}},
        "Route": {"Type": "AWS::ApiGatewayV2::Route", **retained,
                  "Properties": {"ApiId": api, "RouteKey": "ANY /x"}},
    }  # fmt: skip
    refused = change_set(
        cfn, "emu-refuse", "refused", template(resources), ChangeSetType="IMPORT",
        ResourcesToImport=[
            {"ResourceType": "AWS::EC2::Subnet", "LogicalResourceId": "Sub",
             "ResourceIdentifier": {"SubnetId": subnet}},
            {"ResourceType": "AWS::ApiGatewayV2::Route", "LogicalResourceId": "Route",
             "ResourceIdentifier": {"ApiId": api, "RouteId": route}},
        ],
    )  # fmt: skip
    assert refused["ExecutionStatus"] == "UNAVAILABLE"
    assert refused["StatusReason"] == (
        f"{NOT_SUPPORTED} for AWS::ApiGatewayV2::Route, AWS::EC2::Subnet"
    )


def test_renaming_a_parameter_collides_on_its_name(box: RunningSandbox) -> None:
    cfn = box.aws("cloudformation")
    create(cfn, "emu-rename", template({"Old": parameter("/emu/rename", policy="Retain")}))
    assert update(cfn, "emu-rename", template({"New": parameter("/emu/rename")})) == (
        "UPDATE_ROLLBACK_COMPLETE"
    )
    assert any("ParameterAlreadyExists" in reason for reason in failures(cfn, "emu-rename"))


def test_a_taken_log_group_name_is_adopted_and_deleted_with_the_stack(
    box: RunningSandbox,
) -> None:
    """AWS fails the create ("already exists"); the emulator takes the group over."""
    cfn, logs = box.aws("cloudformation"), box.aws("logs")
    logs.create_log_group(logGroupName="/emu/taken")
    group = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/emu/taken"}}
    create(cfn, "emu-taken", template({"Lg": group}))
    cfn.delete_stack(StackName="emu-taken")
    for _ in range(100):
        if not logs.describe_log_groups(logGroupNamePrefix="/emu/taken")["logGroups"]:
            break
        time.sleep(0.1)
    assert logs.describe_log_groups(logGroupNamePrefix="/emu/taken")["logGroups"] == []


def test_an_imported_export_can_be_removed(box: RunningSandbox) -> None:
    """AWS refuses ("cannot be updated as it is in use"); the emulator keeps a stale export."""
    cfn = box.aws("cloudformation")
    exported = {"X": {"Value": "one", "Export": {"Name": "emu-exp-X"}}}
    create(cfn, "emu-exp", template({"A": parameter("/emu/exp/a")}, exported))
    create(
        cfn, "emu-imp", template({"B": parameter("/emu/exp/b", {"Fn::ImportValue": "emu-exp-X"})})
    )
    assert update(cfn, "emu-exp", template({"A": parameter("/emu/exp/a", "v2")})) == (
        "UPDATE_COMPLETE"
    )
    assert cfn.describe_stacks(StackName="emu-exp")["Stacks"][0].get("Outputs", []) == []
    exports = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
    assert exports.get("emu-exp-X") == "one"
    assert cfn.list_imports(ExportName="emu-exp-X")["Imports"] == ["emu-imp"]


def network(cidr: str, tag: str) -> str:
    tags = [{"Key": "Name", "Value": tag}]
    return template({
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.61.0.0/16", "Tags": tags}},
        "Sub": {"Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": cidr, "Tags": tags}},
    })  # fmt: skip


def test_change_set_replacement_is_conditional_but_execution_is_right(
    box: RunningSandbox,
) -> None:
    cfn = box.aws("cloudformation")
    create(cfn, "emu-net", network("10.61.0.0/24", "a"))

    def replacement(name: str, body: str) -> dict[str, str]:
        described = change_set(cfn, "emu-net", name, body)
        cfn.delete_change_set(StackName="emu-net", ChangeSetName=name)
        return {
            c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]["Replacement"]
            for c in described["Changes"]
        }

    # AWS: tag-only False for both; a subnet CIDR change True.
    assert replacement("tags", network("10.61.0.0/24", "b")) == {
        "Vpc": "Conditional",
        "Sub": "Conditional",
    }
    assert replacement("cidr", network("10.61.1.0/24", "a")) == {"Sub": "Conditional"}

    def ids() -> dict[str, str]:
        resources = cfn.describe_stack_resources(StackName="emu-net")["StackResources"]
        return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}

    before = ids()
    assert update(cfn, "emu-net", network("10.61.0.0/24", "b")) == "UPDATE_COMPLETE"
    assert ids() == before
    assert update(cfn, "emu-net", network("10.61.1.0/24", "b")) == "UPDATE_COMPLETE"
    after = ids()
    assert after["Vpc"] == before["Vpc"] and after["Sub"] != before["Sub"]


def test_stack_policy_is_stored_but_not_enforced(box: RunningSandbox) -> None:
    cfn, ssm = box.aws("cloudformation"), box.aws("ssm")
    create(cfn, "emu-policy", template({"A": parameter("/emu/policy")}))
    deny = {
        "Statement": [{"Effect": "Deny", "Action": "Update:*", "Principal": "*", "Resource": "*"}]
    }
    cfn.set_stack_policy(StackName="emu-policy", StackPolicyBody=json.dumps(deny))
    assert json.loads(cfn.get_stack_policy(StackName="emu-policy")["StackPolicyBody"]) == deny
    assert update(cfn, "emu-policy", template({"A": parameter("/emu/policy", "v2")})) == (
        "UPDATE_COMPLETE"
    )
    assert ssm.get_parameter(Name="/emu/policy")["Parameter"]["Value"] == "v2"
    cfn.update_termination_protection(StackName="emu-policy", EnableTerminationProtection=True)
    with pytest.raises(cfn.exceptions.ClientError, match="TerminationProtection is enabled"):
        cfn.delete_stack(StackName="emu-policy")


def test_regions_are_separate(box: RunningSandbox) -> None:
    west, north = box.aws("cloudformation", "eu-west-1"), box.aws("cloudformation")
    exported = {"X": {"Value": "w", "Export": {"Name": "emu-west-X"}}}
    create(west, "emu-west", template({"A": parameter("/emu/west")}, exported))
    assert [s["StackName"] for s in north.list_stacks()["StackSummaries"]].count("emu-west") == 0
    assert "emu-west-X" not in {e["Name"] for e in north.list_exports()["Exports"]}
    with pytest.raises(box.aws("ssm").exceptions.ParameterNotFound):
        box.aws("ssm").get_parameter(Name="/emu/west")


def test_a_snapshot_is_a_record_available_at_once(box: RunningSandbox) -> None:
    """AWS: ``creating`` for minutes, and an unknown group is ReplicationGroupNotFoundFault."""
    cache = box.aws("elasticache")
    snapshot = cache.create_snapshot(ReplicationGroupId="emu-nowhere", SnapshotName="emu-snap")
    assert snapshot["Snapshot"]["SnapshotStatus"] == "available"
    listed = cache.describe_snapshots(ReplicationGroupId="emu-nowhere")["Snapshots"]
    assert [s["SnapshotName"] for s in listed] == ["emu-snap"]
    with pytest.raises(cache.exceptions.SnapshotAlreadyExistsFault):
        cache.create_snapshot(ReplicationGroupId="emu-nowhere", SnapshotName="emu-snap")
