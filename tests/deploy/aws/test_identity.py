"""STS and IAM: the account, the principal, the permission simulation."""

from __future__ import annotations

import boto3
import pytest

from mathvisuals.deploy.aws import (
    AwsIdentity,
    Backoff,
    principal_arn,
)
from tests.deploy.aws.support import (
    ACCOUNT,
    NOW,
    REGION,
    stub,
)

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


def test_missing_permissions_passes_the_scoped_resource_and_the_context(backoff: Backoff) -> None:
    sts, sts_stub = stub("sts")
    iam, iam_stub = stub("iam")
    sts_stub.add_response(
        "get_caller_identity", caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/x")
    )
    role = f"arn:aws:iam::{ACCOUNT}:role/math-visuals-api-example"
    iam_stub.add_response(
        "simulate_principal_policy",
        {"EvaluationResults": [{"EvalActionName": "iam:PassRole", "EvalDecision": "allowed"}]},
        {
            "PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:role/Deployer",
            "ActionNames": ["iam:PassRole"],
            "ResourceArns": [role],
            "ContextEntries": [
                {
                    "ContextKeyName": "iam:PassedToService",
                    "ContextKeyValues": ["lambda.amazonaws.com"],
                    "ContextKeyType": "string",
                }
            ],
        },
    )
    with sts_stub, iam_stub:
        identity = AwsIdentity(sts, iam, backoff=backoff)
        found = identity.missing_permissions(
            ["iam:PassRole"], role, {"iam:PassedToService": "lambda.amazonaws.com"}
        )
    assert found == []
