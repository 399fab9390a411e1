"""The bootstrap stack: rendered from the permission table, deployed through CloudFormation (moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mathvisuals.deploy import aws, bootstrap, permissions
from mathvisuals.deploy.config import EnvironmentConfig, ProtectionSection, load_config
from mathvisuals.deploy.errors import ConfigError, PreflightBlockedError
from mathvisuals.deploy.model import Flags
from mathvisuals.deploy.progress import RecordingReporter

PROD = Path("infra/environments/prod.toml")
REGION = "eu-north-1"


@pytest.fixture
def prod() -> EnvironmentConfig:
    return load_config(PROD)


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    with mock_aws():
        yield


def run(config: EnvironmentConfig, **flags: bool) -> bootstrap.BootstrapResult:
    # moto has no UpdateTerminationProtection; the spec's flag is tested without it below.
    unprotected = config.model_copy(
        update={"protection": ProtectionSection(termination_protection=False)}
    )
    return bootstrap.deploy(
        unprotected,
        str(PROD),
        aws.connect(REGION, poll_seconds=0.01),
        RecordingReporter(),
        create_oidc=flags.get("oidc", False),
        flags=Flags(),
        text=bootstrap.read_template(),
    )


def role_statements(iam: Any, role: str) -> list[dict[str, Any]]:
    """Every statement of the managed policies attached to ``role``, as IAM holds them."""
    statements: list[dict[str, Any]] = []
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(
            PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )["PolicyVersion"]["Document"]
        document = json.loads(version) if isinstance(version, str) else version
        statements += document["Statement"]
    return statements


# moto's CloudFormation has no AWS::S3::BucketPolicy (it skips it with this warning); the TLS-only
# policy is held by check's MV300 instead (tests/deploy/test_permissions.py).
@pytest.mark.filterwarnings("ignore:Tried to parse AWS..S3..BucketPolicy")
def test_bootstrap_creates_the_bucket_and_the_role_then_converges(
    prod: EnvironmentConfig, moto: None
) -> None:
    first = run(prod)
    assert first.result == "created"
    # moto's change sets leave Outputs empty (create_stack fills them), so the role is read back.
    iam = boto3.client("iam", region_name=REGION)
    role = iam.get_role(RoleName="math-visuals-deploy-prod")["Role"]
    assert role["MaxSessionDuration"] >= 7200
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert condition == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:lyngner/math_visuals:environment:prod",
    }
    statements = role_statements(iam, "math-visuals-deploy-prod")
    assert permissions.uncovered(prod, statements) == []
    # moto's CloudFormation creates the bucket but drops versioning, the public access block and
    # the lifecycle; check's MV300 and cfn-lint's schema validation hold those properties.
    tags = boto3.client("s3", region_name=REGION).get_bucket_tagging(
        Bucket=prod.api.artifact_bucket
    )
    assert {"Key": "managed-by", "Value": "mathvisuals"} in tags["TagSet"]
    assert run(prod).result == "unchanged"


def test_a_bucket_made_outside_the_stack_blocks(prod: EnvironmentConfig, moto: None) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=prod.api.artifact_bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    with pytest.raises(PreflightBlockedError, match="exists outside") as caught:
        run(prod)
    assert caught.value.exit_code == 6


def test_no_repository_is_a_config_error(moto: None) -> None:
    local = load_config(Path("infra/environments/local.toml"))
    with pytest.raises(ConfigError, match=r"github\.repository") as caught:
        bootstrap.spec(local, bootstrap.read_template(), "local.toml", create_oidc=False)
    assert caught.value.exit_code == 3


def test_the_placeholders_are_each_filled_once(prod: EnvironmentConfig) -> None:
    text = bootstrap.read_template()
    rendered = bootstrap.render(text, prod)
    assert all(marker not in rendered for marker in bootstrap.MARKERS)
    assert rendered.count("\n") == text.count("\n")  # file:line findings stay true
    with pytest.raises(ValueError, match="exactly once"):
        bootstrap.render(text.replace(bootstrap.MARKERS[1], "Statement: []"), prod)


def test_the_spec_is_protected_and_named_iam(prod: EnvironmentConfig) -> None:
    spec = bootstrap.spec(prod, bootstrap.read_template(), str(PROD), create_oidc=True)
    assert spec.name == "math-visuals-bootstrap-prod"
    assert spec.termination_protection is True
    assert spec.capabilities == ("CAPABILITY_NAMED_IAM",)
    assert spec.parameters["CreateOidcProvider"] == "true"
