"""The boto3 adapter: moto for what it emulates, botocore Stubber for every matched AWS text."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
)
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from mathvisuals.deploy.aws import (
    NO_CHANGE_REASONS,
    AwsArtifacts,
    AwsCache,
    AwsCallError,
    AwsCloudFormation,
    AwsFunctions,
    AwsIdentity,
    AwsLogs,
    AwsNetwork,
    AwsParameters,
    AwsSecrets,
    Backoff,
    connect,
    principal_arn,
)
from mathvisuals.deploy.errors import (
    CredentialsError,
    DeploymentFailedError,
    PreflightBlockedError,
    WaitTimeoutError,
)
from mathvisuals.deploy.gateway import Gateways, SecretValue
from mathvisuals.deploy.model import Action, ChangeSet, Flags, StackSpec, StackState
from mathvisuals.deploy.plan import decide, refused_replacements

REGION = "eu-north-1"
ACCOUNT = "123456789012"
OURS = {"app": "math-visuals", "env": "test", "managed-by": "mathvisuals"}
TOKEN = "Tok3n-Abcdefghijklmnop-0123456789"
NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
CHANGE_SET_NAME = "mathvisuals-20260102T030405678901Z"
CHANGE_SET_ARN = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/{CHANGE_SET_NAME}/abc"
STACK_ARN = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/mv-data/abc"


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Fake keys, no profile files, no instance metadata: nothing can reach a real endpoint."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def backoff(sleeps: list[float]) -> Backoff:
    return Backoff(sleep=sleeps.append)


def stub(service: str) -> tuple[Any, Stubber]:
    """A real client for ``service`` with a Stubber; the Stubber answers before any I/O."""
    client = boto3.client(service, region_name=REGION)
    return client, Stubber(client)


def cloudformation(client: Any, backoff: Backoff, **kwargs: Any) -> AwsCloudFormation:
    return AwsCloudFormation(client, poll_seconds=0, backoff=backoff, clock=lambda: NOW, **kwargs)


def spec(name: str = "mv-data", template: str = "{}", **parameters: str) -> StackSpec:
    return StackSpec(
        role="data",
        name=name,
        template_body=template,
        parameters=parameters,
        tags=OURS,
        capabilities=("CAPABILITY_IAM",),
    )


def stack(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": "mv-data",
                "StackId": STACK_ARN,
                "CreationTime": NOW,
                "StackStatus": status,
                "Tags": [{"Key": k, "Value": v} for k, v in OURS.items()],
                **extra,
            }
        ]
    }


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
    with pytest.raises(AwsCallError, match=r"EndpointConnectionError: http://localhost:4566/"):
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
        # botocore reads ``max_attempts`` in this dict as retries: 8 retries, 9 attempts in all.
        assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 9}
        assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (5, 60)


def test_connect_without_endpoint_uses_the_regional_one() -> None:
    gateways = connect(REGION)
    assert isinstance(gateways.secrets, AwsSecrets)
    assert gateways.secrets._client.meta.endpoint_url.endswith(f"{REGION}.amazonaws.com")


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


# --- STS / IAM ------------------------------------------------------------------------------


def test_account_id(aws: None) -> None:
    identity = AwsIdentity(
        boto3.client("sts", region_name=REGION), boto3.client("iam", region_name=REGION)
    )
    assert identity.account_id() == ACCOUNT


@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        (
            f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/ci-run",
            f"arn:aws:iam::{ACCOUNT}:role/Deployer",
        ),
        (f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/R/s", f"arn:aws-cn:iam::{ACCOUNT}:role/R"),
        (f"arn:aws:iam::{ACCOUNT}:user/ops/alice", f"arn:aws:iam::{ACCOUNT}:user/ops/alice"),
        (f"arn:aws:iam::{ACCOUNT}:root", None),
        (f"arn:aws:sts::{ACCOUNT}:federated-user/bob", None),
    ],
)
def test_principal_arn(caller: str, principal: str | None) -> None:
    assert principal_arn(caller) == principal


def caller(arn: str) -> dict[str, str]:
    return {"UserId": "AID", "Account": ACCOUNT, "Arn": arn}


def test_missing_permissions_simulates_the_role(backoff: Backoff) -> None:
    sts, sts_stub = stub("sts")
    iam, iam_stub = stub("iam")
    sts_stub.add_response(
        "get_caller_identity", caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/x")
    )
    actions = ["ssm:PutParameter", "cloudformation:CreateChangeSet"]
    iam_stub.add_response(
        "simulate_principal_policy",
        {
            "EvaluationResults": [
                {"EvalActionName": "ssm:PutParameter", "EvalDecision": "implicitDeny"},
                {"EvalActionName": "cloudformation:CreateChangeSet", "EvalDecision": "allowed"},
            ]
        },
        {"PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:role/Deployer", "ActionNames": actions},
    )
    with sts_stub, iam_stub:
        assert AwsIdentity(sts, iam, backoff=backoff).missing_permissions(actions) == [
            "ssm:PutParameter"
        ]


def test_missing_permissions_finds_a_role_path(backoff: Backoff) -> None:
    sts, sts_stub = stub("sts")
    iam, iam_stub = stub("iam")
    sts_stub.add_response(
        "get_caller_identity", caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/x")
    )
    iam_stub.add_client_error("simulate_principal_policy", "NoSuchEntity", "no such role")
    real = f"arn:aws:iam::{ACCOUNT}:role/ci/Deployer"
    iam_stub.add_response(
        "get_role",
        {
            "Role": {
                "Path": "/ci/",
                "RoleName": "Deployer",
                "RoleId": "AROAEXAMPLEEXAMPLE1",
                "Arn": real,
                "CreateDate": NOW,
            }
        },
        {"RoleName": "Deployer"},
    )
    iam_stub.add_response(
        "simulate_principal_policy",
        {"EvaluationResults": [{"EvalActionName": "s3:PutObject", "EvalDecision": "explicitDeny"}]},
        {"PolicySourceArn": real, "ActionNames": ["s3:PutObject"]},
    )
    with sts_stub, iam_stub:
        assert AwsIdentity(sts, iam, backoff=backoff).missing_permissions(["s3:PutObject"]) == [
            "s3:PutObject"
        ]


def test_simulation_not_allowed_is_none(backoff: Backoff) -> None:
    sts, sts_stub = stub("sts")
    iam, iam_stub = stub("iam")
    sts_stub.add_response("get_caller_identity", caller(f"arn:aws:iam::{ACCOUNT}:user/ci"))
    iam_stub.add_client_error(
        "simulate_principal_policy",
        "AccessDenied",
        "User: ci is not authorized to perform: iam:SimulatePrincipalPolicy",
        http_status_code=403,
    )
    with sts_stub, iam_stub:
        assert AwsIdentity(sts, iam, backoff=backoff).missing_permissions(["s3:PutObject"]) is None


# --- S3 -------------------------------------------------------------------------------------


def test_artifact_bucket(aws: None) -> None:
    client = boto3.client("s3", region_name=REGION)
    artifacts = AwsArtifacts(client)
    bucket = "math-visuals-artifacts-eu-north-1"
    assert artifacts.bucket_region(bucket) is None
    artifacts.create_bucket(bucket, REGION, {"app": "math-visuals"})
    artifacts.create_bucket(bucket, REGION, {"app": "math-visuals"})  # already ours: fine
    assert artifacts.bucket_region(bucket) == REGION
    assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    assert client.get_bucket_tagging(Bucket=bucket)["TagSet"] == [
        {"Key": "app", "Value": "math-visuals"}
    ]

    key = "api/abc.zip"
    assert artifacts.head(bucket, key) is None
    first = artifacts.upload(bucket, key, b"zip-1")
    second = artifacts.upload(bucket, key, b"zip-2")
    assert first and second and first != second
    assert artifacts.head(bucket, key) == second
    assert artifacts.read(bucket, key) == b"zip-2"
    assert artifacts.read(bucket, "absent") is None


def test_us_east_1_bucket_has_no_location(aws: None) -> None:
    AwsArtifacts(boto3.client("s3", region_name="us-east-1")).create_bucket(
        "old-bucket", "us-east-1", {}
    )
    assert (
        AwsArtifacts(boto3.client("s3", region_name=REGION)).bucket_region("old-bucket")
        == "us-east-1"
    )


def test_unversioned_object_has_empty_version(aws: None) -> None:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket="plain", CreateBucketConfiguration={"LocationConstraint": REGION})
    artifacts = AwsArtifacts(client)
    assert artifacts.upload("plain", "k", b"x") == ""
    assert artifacts.head("plain", "k") == ""


def test_lock_is_acquired_once(aws: None) -> None:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket="locks", CreateBucketConfiguration={"LocationConstraint": REGION})
    artifacts = AwsArtifacts(client)
    assert artifacts.acquire_lock("locks", "locks/test.json", b'{"holder": "a"}')
    assert not artifacts.acquire_lock("locks", "locks/test.json", b'{"holder": "b"}')
    assert artifacts.read("locks", "locks/test.json") == b'{"holder": "a"}'
    artifacts.delete("locks", "locks/test.json")
    assert artifacts.acquire_lock("locks", "locks/test.json", b'{"holder": "b"}')


@pytest.mark.parametrize("code", ["PreconditionFailed", "ConditionalRequestConflict"])
def test_lock_conflicts_are_false(backoff: Backoff, code: str) -> None:
    client, stubber = stub("s3")
    stubber.add_client_error(
        "put_object",
        code,
        "At least one of the pre-conditions you specified did not hold",
        http_status_code=412,
        expected_params={"Bucket": "b", "Key": "k", "Body": b"x", "IfNoneMatch": "*"},
    )
    with stubber:
        assert AwsArtifacts(client, backoff=backoff).acquire_lock("b", "k", b"x") is False


def test_bucket_region_falls_back_to_head_bucket(backoff: Backoff) -> None:
    client, stubber = stub("s3")
    stubber.add_response("get_bucket_location", {"LocationConstraint": "EU"})
    stubber.add_client_error("get_bucket_location", "AccessDenied", "Access Denied", 403)
    stubber.add_client_error(
        "head_bucket",
        "403",
        "Forbidden",
        403,
        response_meta={"HTTPHeaders": {"x-amz-bucket-region": "eu-west-1"}},
    )
    stubber.add_client_error("get_bucket_location", "AccessDenied", "Access Denied", 403)
    stubber.add_client_error("head_bucket", "404", "Not Found", 404)
    with stubber:
        artifacts = AwsArtifacts(client, backoff=backoff)
        assert artifacts.bucket_region("legacy") == "eu-west-1"
        assert artifacts.bucket_region("someone-elses") == "eu-west-1"
        assert artifacts.bucket_region("gone") is None


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
