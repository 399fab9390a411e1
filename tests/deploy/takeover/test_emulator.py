"""What the pinned ministack does with the calls a takeover relies on (EMULATOR.md).

These pin the emulator's behaviour, including where it differs from AWS: a takeover test that
passes in the sandbox proves only what the emulator can tell. When ministack's pin moves and
one of these fails, update EMULATOR.md and the takeover tests that lean on the finding.
"""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.takeover.lambda_workers import KILLED_SERVING, KILLED_STARTING, worker_replaced
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


PROBE_CODE = """
import os, time

def wait(gate):
    open(gate + ".started", "w").close()
    while not os.path.exists(gate + ".release"):
        time.sleep(0.01)

if os.environ.get("GATE"):  # the cold start waits
    wait(os.environ["GATE"])

def handler(event, context):
    if "gate" in event:  # the request waits
        wait(event["gate"])
    if "raise" in event:
        raise RuntimeError(event["raise"])
    return {"probe": os.environ.get("PROBE")}
"""


def probe_function(box: RunningSandbox, name: str, **environment: str) -> Any:
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", PROBE_CODE)
    lam = box.aws("lambda")
    lam.create_function(
        FunctionName=name, Runtime="python3.12", Handler="index.handler", Timeout=30,
        Role="arn:aws:iam::000000000000:role/emu", Code={"ZipFile": code.getvalue()},
        Environment={"Variables": {"PROBE": "old", **environment}},
    )  # fmt: skip
    return lam


def update_while_waiting(
    lam: Any, name: str, gate: Path, event: dict[str, Any], *, meanwhile: bool = False
) -> str:
    """Invoke; once the probe waits at ``gate``, update the configuration; the answer's payload.

    ``meanwhile``: first check that a second invocation is served beside the waiting one."""
    answers: list[dict[str, Any]] = []
    payload = json.dumps(event).encode()
    caller = threading.Thread(
        target=lambda: answers.append(lam.invoke(FunctionName=name, Payload=payload))
    )
    caller.start()
    try:
        for _ in range(3000):
            if Path(f"{gate}.started").exists():
                break
            time.sleep(0.01)
        assert Path(f"{gate}.started").exists(), "the probe never reached its gate"
        if meanwhile:  # its own worker, as a maintenance invocation beside API traffic gets
            beside = lam.invoke(FunctionName=name, Payload=b"{}")
            assert "FunctionError" not in beside
            assert json.loads(beside["Payload"].read()) == {"probe": "old"}
        lam.update_function_configuration(
            FunctionName=name, Environment={"Variables": {"PROBE": "new"}}
        )
    finally:
        Path(f"{gate}.release").touch()
        caller.join()
    assert answers[0].get("FunctionError") == "Unhandled"
    text: str = answers[0]["Payload"].read().decode()
    return text


def test_a_configuration_update_kills_the_worker_serving_a_request(
    box: RunningSandbox, tmp_path: Path
) -> None:
    """AWS: the in-flight request completes on the old execution environment, and new requests
    keep landing there until the new configuration is ready. ministack kills it mid-request: a
    worker error, which its HTTP API answers as a 502 with that body (lambda_workers.py)."""
    lam = probe_function(box, "emu-serving")
    gate = tmp_path / "gate"
    payload = update_while_waiting(lam, "emu-serving", gate, {"gate": str(gate)}, meanwhile=True)
    assert json.loads(payload)["errorMessage"] in KILLED_SERVING
    assert worker_replaced(payload), payload
    # The next request starts a worker with the new configuration.
    after = lam.invoke(FunctionName="emu-serving", Payload=b"{}")
    assert "FunctionError" not in after
    assert json.loads(after["Payload"].read()) == {"probe": "new"}


def test_a_configuration_update_kills_a_worker_that_is_starting(
    box: RunningSandbox, tmp_path: Path
) -> None:
    """AWS: an environment being initialised finishes and serves the request it started for."""
    gate = tmp_path / "init"
    lam = probe_function(box, "emu-starting", GATE=str(gate))
    payload = update_while_waiting(lam, "emu-starting", gate, {})
    assert json.loads(payload) == {"errorMessage": KILLED_STARTING, "errorType": "RuntimeError"}
    assert worker_replaced(payload), payload
    after = lam.invoke(FunctionName="emu-starting", Payload=b"{}")
    assert json.loads(after["Payload"].read()) == {"probe": "new"}


def test_an_application_error_is_not_taken_for_a_replaced_worker(box: RunningSandbox) -> None:
    """The e2e load check tells the two apart by the body: a handler that raises stays an error,
    whatever it says, and so does an import error of the handler's own module."""
    lam = probe_function(box, "emu-raises")
    raised = lam.invoke(FunctionName="emu-raises", Payload=b'{"raise": "invalid password"}')
    assert raised.get("FunctionError") == "Unhandled"
    body = raised["Payload"].read().decode()
    assert json.loads(body) == {
        "errorMessage": "invalid password",
        "errorType": "Runtime.HandlerError",
    }
    assert not worker_replaced(body)
    lam.update_function_configuration(FunctionName="emu-raises", Handler="missing.handler")
    missing = lam.invoke(FunctionName="emu-raises", Payload=b"{}")["Payload"].read().decode()
    assert "No module named 'missing'" in missing and not worker_replaced(missing)
