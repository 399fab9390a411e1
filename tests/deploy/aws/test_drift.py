"""DetectStackDrift as AWS answers it (Stubber): polled to a bound, drifted resources listed,
an endpoint without it reported as a note, a refusal translated."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from mathvisuals.deploy.aws import Backoff
from mathvisuals.deploy.errors import DeployError
from tests.deploy.aws.support import NOW, STACK_ARN, cloudformation, stub

DETECTION = "b78ac9b0-dec1-11e7-a451-503a3e7b14f9"
BY_ID = {"StackDriftDetectionId": DETECTION}


def status(state: str, **extra: Any) -> dict[str, Any]:
    return {
        "StackId": STACK_ARN,
        "StackDriftDetectionId": DETECTION,
        "DetectionStatus": state,
        "Timestamp": NOW,
        **extra,
    }


def drifted_resource(logical_id: str, drift: str) -> dict[str, Any]:
    return {
        "StackId": STACK_ARN,
        "LogicalResourceId": logical_id,
        "ResourceType": "AWS::EC2::SecurityGroup",
        "StackResourceDriftStatus": drift,
        "Timestamp": NOW,
    }


def start(stubber: Stubber) -> None:
    stubber.add_response(
        "detect_stack_drift", {"StackDriftDetectionId": DETECTION}, {"StackName": "mv-data"}
    )


def test_drifted_stack_lists_modified_and_deleted_resources(
    backoff: Backoff, sleeps: list[float]
) -> None:
    client, stubber = stub("cloudformation")
    start(stubber)
    stubber.add_response(
        "describe_stack_drift_detection_status", status("DETECTION_IN_PROGRESS"), BY_ID
    )
    stubber.add_response(
        "describe_stack_drift_detection_status",
        status("DETECTION_COMPLETE", StackDriftStatus="DRIFTED", DriftedStackResourceCount=2),
        BY_ID,
    )
    filters = {"StackName": "mv-data", "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]}
    stubber.add_response(
        "describe_stack_resource_drifts",
        {
            "StackResourceDrifts": [drifted_resource("RedisSecurityGroup", "MODIFIED")],
            "NextToken": "p2",
        },
        filters,
    )
    stubber.add_response(
        "describe_stack_resource_drifts",
        {"StackResourceDrifts": [drifted_resource("PrivateSubnet2", "DELETED")]},
        {**filters, "NextToken": "p2"},
    )
    with stubber:
        report = cloudformation(client, backoff).drift("mv-data")
        stubber.assert_no_pending_responses()
    assert (report.status, report.drifted) == ("DRIFTED", ("PrivateSubnet2", "RedisSecurityGroup"))
    assert "RedisSecurityGroup" in report.summary()
    assert sleeps == [0]  # one wait between the two polls


def test_in_sync(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    start(stubber)
    stubber.add_response(
        "describe_stack_drift_detection_status",
        status("DETECTION_COMPLETE", StackDriftStatus="IN_SYNC"),
        BY_ID,
    )
    with stubber:
        report = cloudformation(client, backoff).drift("mv-data")
    assert (report.status, report.drifted, report.summary()) == ("IN_SYNC", (), "IN_SYNC")


def test_failed_detection_keeps_its_reason(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    start(stubber)
    reason = "Failed to detect drift on resource [ApiStage]: unsupported"
    stubber.add_response(
        "describe_stack_drift_detection_status",
        status("DETECTION_FAILED", StackDriftStatus="IN_SYNC", DetectionStatusReason=reason),
        BY_ID,
    )
    with stubber:
        report = cloudformation(client, backoff).drift("mv-data")
    assert report.status == "FAILED" and reason in report.summary()


def test_the_wait_is_bounded(backoff: Backoff, sleeps: list[float]) -> None:
    client, stubber = stub("cloudformation")
    start(stubber)
    for _ in range(3):
        stubber.add_response(
            "describe_stack_drift_detection_status", status("DETECTION_IN_PROGRESS"), BY_ID
        )
    with stubber:
        report = cloudformation(client, backoff, change_set_polls=3).drift("mv-data")
        stubber.assert_no_pending_responses()
    assert report.status == "TIMED_OUT" and len(sleeps) == 2


@pytest.mark.parametrize(("code", "http"), [("InvalidAction", 400), ("NotImplemented", 501)])
def test_an_endpoint_without_drift_detection_is_a_note(
    backoff: Backoff, code: str, http: int
) -> None:
    client, stubber = stub("cloudformation")
    stubber.add_client_error("detect_stack_drift", code, "not implemented", http_status_code=http)
    with stubber:
        report = cloudformation(client, backoff).drift("mv-data")
    assert report.status == "NOT_SUPPORTED" and code in report.note


def test_a_refusal_is_a_deploy_error(backoff: Backoff) -> None:
    client, stubber = stub("cloudformation")
    stubber.add_client_error(
        "detect_stack_drift",
        "AccessDenied",
        "User is not authorized to perform: cloudformation:DetectStackDrift",
        http_status_code=403,
    )
    with stubber, pytest.raises(DeployError) as caught:
        cloudformation(client, backoff).drift("mv-data")
    assert "\n" not in str(caught.value)
