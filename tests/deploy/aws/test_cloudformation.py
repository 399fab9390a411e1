"""The CloudFormation adapter: Stubber for every matched AWS text, moto for the flow."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
)
from botocore.stub import Stubber

from mathvisuals.deploy.aws import (
    NO_CHANGE_REASONS,
    AwsCallError,
    AwsCloudFormation,
    Backoff,
)
from mathvisuals.deploy.errors import (
    DeploymentFailedError,
    WaitTimeoutError,
)
from mathvisuals.deploy.model import Action, ChangeSet, Flags, StackSpec, StackState
from mathvisuals.deploy.plan import decide, refused_replacements
from tests.deploy.aws.support import (
    CHANGE_SET_ARN,
    CHANGE_SET_NAME,
    NOW,
    OURS,
    REGION,
    STACK_ARN,
    cloudformation,
    spec,
    stack,
    stub,
)

# --- CloudFormation: Stubber ---------------------------------------------------------------


def test_describe_missing_stack_is_absent(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    stubber.add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id mv-data does not exist",
        expected_params={"StackName": "mv-data"},
    )
    with stubber:
        assert cloudformation(client, backoff).describe("mv-data") == StackState("mv-data", None)


def test_other_validation_errors_are_translated_keeping_the_cause(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    stubber.add_client_error("describe_stacks", "ValidationError", "1 validation error detected")
    with stubber, pytest.raises(AwsCallError) as raised:
        cloudformation(client, backoff).describe("mv-data")
    assert (raised.value.operation, raised.value.code) == ("DescribeStacks", "ValidationError")
    assert raised.value.exit_code == 7
    assert isinstance(raised.value.__cause__, ClientError)


def test_describe_maps_outputs_parameters_tags(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    stubber.add_response(
        "describe_stacks",
        stack(
            "UPDATE_COMPLETE",
            Outputs=[{"OutputKey": "RedisPort", "OutputValue": "6379"}],
            Parameters=[{"ParameterKey": "EnvironmentName", "ParameterValue": "test"}],
            EnableTerminationProtection=True,
        ),
    )
    with stubber:
        state = cloudformation(client, backoff).describe("mv-data")
    assert state.outputs == {"RedisPort": "6379"}
    assert state.parameters == {"EnvironmentName": "test"}
    assert state.tags == OURS and state.managed
    assert state.termination_protection and not state.pending_execution


@pytest.mark.parametrize(
    ("execution", "pending", "action"),
    [("EXECUTE_IN_PROGRESS", True, Action.WAIT), ("AVAILABLE", False, Action.CREATE)],
)
def test_review_in_progress_pending_execution(
    backoff: Backoff, execution: str, pending: bool, action: Action
) -> None:
    client, stubber = stub("cloudformation")
    stubber.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"))
    summary = {"ChangeSetName": "old", "ExecutionStatus": "UNAVAILABLE", "Status": "FAILED"}
    stubber.add_response(
        "list_change_sets",
        {"Summaries": [summary], "NextToken": "page-2"},
        {"StackName": "mv-data"},
    )
    stubber.add_response(
        "list_change_sets",
        {"Summaries": [{**summary, "ExecutionStatus": execution, "Status": "CREATE_COMPLETE"}]},
        {"StackName": "mv-data", "NextToken": "page-2"},
    )
    with stubber:
        state = cloudformation(client, backoff).describe("mv-data")
    assert state.status == "REVIEW_IN_PROGRESS"
    assert state.pending_execution is pending
    assert decide(spec(), state).action is action


@pytest.mark.parametrize(
    ("status", "flags", "action"),
    [
        ("ROLLBACK_COMPLETE", Flags(force_recreate_data=True), Action.REPLACE),
        ("ROLLBACK_COMPLETE", Flags(), Action.BLOCKED),
        ("UPDATE_ROLLBACK_FAILED", Flags(), Action.CONTINUE_ROLLBACK),
        ("UPDATE_ROLLBACK_COMPLETE", Flags(), Action.UPDATE),
        ("DELETE_FAILED", Flags(force_recreate_data=True), Action.DELETE_RETAINING),
    ],
)
def test_rollback_states(backoff: Backoff, status: str, flags: Flags, action: Action) -> None:
    client, stubber = stub("cloudformation")
    reason = "The following resource(s) failed to create: [RedisReplicationGroup]."
    stubber.add_response("describe_stacks", stack(status, StackStatusReason=reason))
    with stubber:
        state = cloudformation(client, backoff).describe("mv-data")
    assert (state.status, state.reason) == (status, reason)
    assert decide(spec(), state, flags).action is action


def event(seconds: int, logical_id: str, status: str, reason: str = "") -> dict[str, Any]:
    return {
        "StackId": STACK_ARN,
        "EventId": f"e{seconds}",
        "StackName": "mv-data",
        "Timestamp": NOW + timedelta(seconds=seconds),
        "LogicalResourceId": logical_id,
        "ResourceType": "AWS::ElastiCache::ReplicationGroup",
        "ResourceStatus": status,
        "ResourceStatusReason": reason,
    }


def test_events_oldest_first_and_only_after_since(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    newest = [event(3, "Redis", "CREATE_FAILED", "Invalid AUTH token"), event(2, "Redis", "X")]
    stubber.add_response("describe_stack_events", {"StackEvents": newest, "NextToken": "t"})
    stubber.add_response("describe_stack_events", {"StackEvents": [event(1, "Redis", "OLD")]})
    with stubber:
        found = cloudformation(client, backoff).events(
            "mv-data", (NOW + timedelta(seconds=1)).isoformat()
        )
    # The second page is never fetched: the first event at or before ``since`` ends the scan.
    assert [e.status for e in found] == ["X", "CREATE_FAILED"]
    assert found[-1].reason == "Invalid AUTH token"
    assert found[0].timestamp == (NOW + timedelta(seconds=2)).isoformat()


def test_events_all_pages_without_since_and_missing_stack(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    stubber.add_response(
        "describe_stack_events", {"StackEvents": [event(2, "B", "S2")], "NextToken": "t"}
    )
    stubber.add_response("describe_stack_events", {"StackEvents": [event(1, "A", "S1")]})
    stubber.add_client_error(
        "describe_stack_events", "ValidationError", "Stack [mv-gone] does not exist"
    )
    with stubber:
        gateway = cloudformation(client, backoff)
        assert [e.logical_id for e in gateway.events("mv-data")] == ["A", "B"]
        assert gateway.events("mv-gone") == []


def test_template_original_stage_and_missing_stack(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    stubber.add_response(
        "get_template",
        {"TemplateBody": "Resources: {}\n"},
        {"StackName": "mv-data", "TemplateStage": "Original"},
    )
    stubber.add_client_error("get_template", "ValidationError", "Stack with id mv-x does not exist")
    with stubber:
        gateway = cloudformation(client, backoff)
        assert gateway.template("mv-data") == "Resources: {}\n"
        assert gateway.template("mv-x") is None


def add_create_change_set(stubber: Stubber, kind: str = "UPDATE") -> None:
    stubber.add_response(
        "create_change_set",
        {"Id": CHANGE_SET_ARN, "StackId": STACK_ARN},
        {
            "StackName": "mv-data",
            "ChangeSetName": CHANGE_SET_NAME,
            "ChangeSetType": kind,
            "TemplateBody": "{}",
            "Parameters": [
                {"ParameterKey": "EnvironmentName", "ParameterValue": "test"},
                {"ParameterKey": "Replicas", "ParameterValue": "1"},
            ],
            "Capabilities": ["CAPABILITY_IAM"],
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(OURS.items())],
            "Description": "mathvisuals",
        },
    )


def described(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "ChangeSetName": CHANGE_SET_NAME,
        "ChangeSetId": CHANGE_SET_ARN,
        "StackName": "mv-data",
        "Status": status,
        "ExecutionStatus": "UNAVAILABLE",
        **extra,
    }


def resource_change(logical_id: str, kind: str, action: str, **extra: Any) -> dict[str, Any]:
    change = {"Action": action, "LogicalResourceId": logical_id, "ResourceType": kind, **extra}
    return {"Type": "Resource", "ResourceChange": change}


def test_change_set_waits_then_reads_every_page(backoff: Backoff, sleeps: list[float]) -> None:
    client, stubber = stub("cloudformation")
    add_create_change_set(stubber)
    by_arn = {"ChangeSetName": CHANGE_SET_ARN}
    stubber.add_response("describe_change_set", described("CREATE_PENDING"), by_arn)
    stubber.add_response("describe_change_set", described("CREATE_IN_PROGRESS"), by_arn)
    stubber.add_response("describe_change_set", described("CREATE_COMPLETE"), by_arn)
    redis = "AWS::ElastiCache::ReplicationGroup"
    first = [resource_change("RedisReplicationGroup", redis, "Modify", Replacement="True")]
    second = [
        resource_change("ApiFunction", "AWS::Lambda::Function", "Modify", Replacement="False"),
        resource_change("Alarm", "AWS::CloudWatch::Alarm", "Add"),
    ]
    stubber.add_response(
        "describe_change_set", described("CREATE_COMPLETE", Changes=first, NextToken="p2"), by_arn
    )
    stubber.add_response(
        "describe_change_set",
        described("CREATE_COMPLETE", Changes=second),
        {**by_arn, "NextToken": "p2"},
    )
    with stubber:
        found = cloudformation(client, backoff).create_change_set(
            spec(EnvironmentName="test", Replicas="1"), "UPDATE"
        )
        stubber.assert_no_pending_responses()
    assert (found.name, found.change_set_id, found.empty) == (
        CHANGE_SET_NAME,
        CHANGE_SET_ARN,
        False,
    )
    assert [(c.logical_id, c.action, c.replacement) for c in found.changes] == [
        ("RedisReplicationGroup", "Modify", "True"),
        ("ApiFunction", "Modify", "False"),
        ("Alarm", "Add", "False"),
    ]
    assert [c.logical_id for c in refused_replacements(found.changes, False)] == [
        "RedisReplicationGroup"
    ]
    assert sleeps == [0, 0]  # poll interval 0: never sleeps for real


@pytest.mark.parametrize(
    "reason",
    [
        "The submitted information didn't contain changes. Submit different information to "
        "create a change set.",
        "No updates are to be performed.",
    ],
)
def test_no_change_reasons_delete_the_change_set(backoff: Backoff, reason: str) -> None:
    assert any(text in reason for text in NO_CHANGE_REASONS)
    client, stubber = stub("cloudformation")
    add_create_change_set(stubber)
    stubber.add_response("describe_change_set", described("FAILED", StatusReason=reason))
    stubber.add_response(
        "delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ARN, "StackName": "mv-data"}
    )
    with stubber:
        found = cloudformation(client, backoff).create_change_set(
            spec(EnvironmentName="test", Replicas="1"), "UPDATE"
        )
        stubber.assert_no_pending_responses()
    assert found.empty and found.changes == ()


def test_synchronous_no_change_refusal_is_empty(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    stubber.add_client_error(
        "create_change_set", "ValidationError", "No updates are to be performed."
    )
    with stubber:
        found = cloudformation(client, backoff).create_change_set(spec(), "UPDATE")
    assert found.empty


def test_failed_change_set_raises_with_the_reason(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    add_create_change_set(stubber, "CREATE")
    reason = "Requires capabilities : [CAPABILITY_NAMED_IAM]"
    stubber.add_response("describe_change_set", described("FAILED", StatusReason=reason))
    with stubber, pytest.raises(DeploymentFailedError, match=r"CAPABILITY_NAMED_IAM"):
        cloudformation(client, backoff).create_change_set(
            spec(EnvironmentName="test", Replicas="1"), "CREATE"
        )


def test_change_set_wait_is_bounded(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    stubber.add_response("create_change_set", {"Id": CHANGE_SET_ARN})
    stubber.add_response("describe_change_set", described("CREATE_IN_PROGRESS"))
    stubber.add_response("describe_change_set", described("CREATE_IN_PROGRESS"))
    with stubber, pytest.raises(WaitTimeoutError):
        cloudformation(client, backoff, change_set_polls=2).create_change_set(spec(), "UPDATE")


def test_stack_operations_send_exact_parameters(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    change_set = ChangeSet("mv-data", CHANGE_SET_NAME, "UPDATE", change_set_id=CHANGE_SET_ARN)
    stubber.add_response(
        "execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ARN, "StackName": "mv-data"}
    )
    stubber.add_client_error(
        "delete_change_set", "ChangeSetNotFound", "ChangeSet [x] does not exist"
    )
    stubber.add_response("delete_stack", {}, {"StackName": "mv-api"})
    stubber.add_response(
        "delete_stack", {}, {"StackName": "mv-api", "RetainResources": ["Role", "Bucket"]}
    )
    stubber.add_response("continue_update_rollback", {}, {"StackName": "mv-api"})
    stubber.add_response(
        "continue_update_rollback", {}, {"StackName": "mv-api", "ResourcesToSkip": ["Fn"]}
    )
    stubber.add_response(
        "update_termination_protection",
        {"StackId": STACK_ARN},
        {"StackName": "mv-data", "EnableTerminationProtection": True},
    )
    stubber.add_response(
        "set_stack_policy", {}, {"StackName": "mv-data", "StackPolicyBody": '{"Statement": []}'}
    )
    with stubber:
        gateway = cloudformation(client, backoff)
        gateway.execute(change_set)
        gateway.execute(ChangeSet("mv-data", "x", "UPDATE", empty=True))  # nothing to execute
        gateway.delete_change_set(change_set)  # already gone is fine
        gateway.delete_stack("mv-api")
        gateway.delete_stack("mv-api", retain=["Role", "Bucket"])
        gateway.continue_rollback("mv-api")
        gateway.continue_rollback("mv-api", skip=["Fn"])
        gateway.set_termination_protection("mv-data", True)
        gateway.set_stack_policy("mv-data", '{"Statement": []}')
        stubber.assert_no_pending_responses()


def test_importers_paginated_and_not_imported(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    stubber.add_response(
        "list_imports", {"Imports": ["mv-data"], "NextToken": "t"}, {"ExportName": "mv-shared-A"}
    )
    stubber.add_response(
        "list_imports", {"Imports": ["mv-api"]}, {"ExportName": "mv-shared-A", "NextToken": "t"}
    )
    stubber.add_client_error(
        "list_imports", "ValidationError", "Export 'mv-shared-B' is not imported by any stack."
    )
    with stubber:
        gateway = cloudformation(client, backoff)
        assert gateway.importers("mv-shared-A") == ["mv-data", "mv-api"]
        assert gateway.importers("mv-shared-B") == []


def test_throttling_is_retried_with_backoff(backoff: Backoff, sleeps: list[float]) -> None:
    client, stubber = stub("cloudformation")
    stubber.add_client_error("describe_stacks", "Throttling", "Rate exceeded")
    stubber.add_client_error("describe_stacks", "Throttling", "Rate exceeded")
    stubber.add_response("describe_stacks", stack("CREATE_COMPLETE"))
    with stubber:
        assert cloudformation(client, backoff).describe("mv-data").status == "CREATE_COMPLETE"
    assert sleeps == [1.0, 2.0]


def test_throttling_gives_up_after_the_last_attempt(sleeps: list[float]) -> None:
    client, stubber = stub("cloudformation")
    for _ in range(3):
        stubber.add_client_error("list_exports", "Throttling", "Rate exceeded")
    gateway = AwsCloudFormation(client, backoff=Backoff(attempts=3, sleep=sleeps.append))
    with stubber, pytest.raises(AwsCallError) as raised:
        gateway.exports()
    assert raised.value.code == "Throttling"
    assert sleeps == [1.0, 2.0]


# --- CloudFormation: moto -------------------------------------------------------------------


def ssm_template(value: str, outputs: dict[str, Any] | None = None) -> str:
    return json.dumps(
        {
            "Parameters": {"EnvironmentName": {"Type": "String"}},
            "Resources": {
                "Version": {
                    "Type": "AWS::SSM::Parameter",
                    "Properties": {
                        "Name": {
                            "Fn::Sub": "/math-visuals/${EnvironmentName}/stack/shared/version"
                        },
                        "Type": "String",
                        "Value": value,
                    },
                }
            },
            "Outputs": outputs or {},
        }
    )


def test_change_set_flow(aws: None) -> None:
    client = boto3.client("cloudformation", region_name=REGION)
    gateway = AwsCloudFormation(client, poll_seconds=0)
    shared = StackSpec("shared", "mv-shared", ssm_template("1"), {"EnvironmentName": "test"}, OURS)
    assert not gateway.describe("mv-shared").exists

    created = gateway.create_change_set(shared, "CREATE")
    assert [(c.action, c.logical_id) for c in created.changes] == [("Add", "Version")]
    assert gateway.describe("mv-shared").status == "REVIEW_IN_PROGRESS"
    gateway.execute(created)
    state = gateway.describe("mv-shared")
    assert state.status == "CREATE_COMPLETE"
    assert state.tags == OURS and state.parameters == {"EnvironmentName": "test"}
    assert [e.status for e in gateway.events("mv-shared")][-1] == "CREATE_COMPLETE"
    assert gateway.template("mv-shared") == shared.template_body  # JSON kept as text

    # moto refuses an identical template synchronously ("No updates are to be performed.").
    assert gateway.create_change_set(shared, "UPDATE").empty

    changed = StackSpec("shared", "mv-shared", ssm_template("2"), {"EnvironmentName": "test"}, OURS)
    update = gateway.create_change_set(changed, "UPDATE")
    assert [(c.action, c.replacement) for c in update.changes] == [("Modify", "False")]
    gateway.execute(update)
    assert gateway.describe("mv-shared").status == "UPDATE_COMPLETE"

    gateway.delete_stack("mv-shared")
    assert not gateway.describe("mv-shared").exists


def test_outputs_and_exports(aws: None) -> None:
    # moto drops outputs of stacks created through a change set, so create_stack sets this up.
    client = boto3.client("cloudformation", region_name=REGION)
    outputs = {
        "VersionParameterName": {
            "Value": {"Ref": "Version"},
            "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-VersionParameterName"}},
        }
    }
    client.create_stack(
        StackName="mv-shared",
        TemplateBody=ssm_template("1", outputs),
        Parameters=[{"ParameterKey": "EnvironmentName", "ParameterValue": "test"}],
    )
    gateway = AwsCloudFormation(client, poll_seconds=0)
    name = "/math-visuals/test/stack/shared/version"
    assert gateway.describe("mv-shared").outputs == {"VersionParameterName": name}
    assert gateway.exports() == {"mv-shared-VersionParameterName": name}
