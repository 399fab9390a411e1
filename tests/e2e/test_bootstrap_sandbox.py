"""`bootstrap` on the sandbox: the bucket and the deploy role as IAM and S3 hold them, the
policy that lands in IAM covers every call the tool makes, a second run changes nothing, and
`up` deploys into the bucket bootstrap made.

The emulator has no ``AWS::IAM::OIDCProvider``, so this runs with --existing-oidc-provider;
the provider itself is covered by the template tests (tests/deploy/test_bootstrap.py, moto).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mathvisuals.deploy.config import load_config
from mathvisuals.deploy.permissions import policy_statements, uncovered
from tests.deploy.test_bootstrap import role_statements
from tests.e2e.test_local_workflow import Runs, aws, runs, state  # noqa: F401 (fixtures)

pytestmark = pytest.mark.timeout(900)
REPOSITORY = "example/math-visuals"
BUCKET = "math-visuals-artifacts-local"  # infra/environments/local.toml
ROLE = "math-visuals-deploy-local"


def bootstrap(where: Path, config: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "mathvisuals", "bootstrap", "--config", str(config),
         "--existing-oidc-provider", "--json"],
        env={**os.environ, "MATHVISUALS_STATE_DIR": str(where)},
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    body: dict[str, Any] = json.loads(done.stdout)
    return body


def test_bootstrap_then_up_on_the_sandbox(runs: Runs, state: Path, tmp_path: Path) -> None:  # noqa: F811
    config = tmp_path / "local.toml"
    text = Path("infra/environments/local.toml").read_text(encoding="utf-8")
    config.write_text(text + f'\n[github]\nrepository = "{REPOSITORY}"\n', encoding="utf-8")

    first = bootstrap(state, config)
    assert first["result"] == "created"
    assert first["outputs"] == {
        "artifact_bucket_name": BUCKET,
        "deploy_role_arn": f"arn:aws:iam::000000000000:role/{ROLE}",
    }

    iam, s3 = aws(state, "iam"), aws(state, "s3")
    trust = iam.get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": f"repo:{REPOSITORY}:environment:local",
    }
    landed = role_statements(iam, ROLE)
    loaded = load_config(config)
    assert uncovered(loaded, landed) == []  # every call the tool makes, as IAM holds it
    assert sorted(map(json.dumps, landed)) == sorted(map(json.dumps, policy_statements(loaded)))

    versioning = s3.get_bucket_versioning(Bucket=BUCKET)
    assert versioning["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    rules = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules and "ApplyServerSideEncryptionByDefault" in rules[0]
    bucket_policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert any(
        s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s.get("Condition", {}))
        for s in bucket_policy["Statement"]
    )

    again = bootstrap(state, config)
    assert again["result"] == "unchanged" and again["outputs"] == first["outputs"]

    # up finds the bucket bootstrap made and deploys into it.
    up = runs("up", "--json")
    assert up["ok"] is True
    objects = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    assert any(o["Key"].endswith(".zip") for o in objects)
    assert iam.get_role(RoleName=ROLE)["Role"]["RoleName"] == ROLE  # up left the role alone
    runs("down")
