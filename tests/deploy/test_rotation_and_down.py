"""rotate-token (deploy.md §5.14) and down (§5.17) over in-memory gateways."""

from __future__ import annotations

from pathlib import Path

import pytest

from mathvisuals.deploy.config import EnvironmentConfig, load_config
from mathvisuals.deploy.errors import RefusedError, VerificationError
from mathvisuals.deploy.gateway import Gateways, ReplicationGroupInfo
from mathvisuals.deploy.model import Change
from mathvisuals.deploy.orchestrator import Orchestrator
from mathvisuals.deploy.profile import AWS, LOCAL, TargetProfile
from mathvisuals.deploy.progress import RecordingReporter
from mathvisuals.deploy.rotation import TokenRotation
from mathvisuals.deploy.teardown import DownOptions, down
from tests.deploy.fakes import FakeCache, FakeCloudFormation, FakeSecrets
from tests.deploy.test_orchestrator import make


@pytest.fixture
def config() -> EnvironmentConfig:
    return load_config(Path("infra/environments/local.toml"))


def deployed(
    config: EnvironmentConfig, tmp_path: Path, profile: TargetProfile = LOCAL
) -> tuple[Orchestrator, Gateways, RecordingReporter]:
    orchestrator, gateways, reporter = make(config, tmp_path)
    orchestrator.up()
    cache = gateways.cache
    assert isinstance(cache, FakeCache)
    cache.groups[config.redis.replication_group_id] = ReplicationGroupInfo(
        config.redis.replication_group_id, "available", True, True, True, True, True,
        "127.0.0.1", 6379, "127.0.0.1", config.stacks.data,
    )  # fmt: skip
    again, _, reporter = make(config, tmp_path, gateways, profile=profile)
    return again, gateways, reporter


def test_rotation_order_and_result(config: EnvironmentConfig, tmp_path: Path) -> None:
    orchestrator, gateways, reporter = deployed(config, tmp_path)
    secrets, cache, cfn = gateways.secrets, gateways.cache, gateways.cloudformation
    assert isinstance(secrets, FakeSecrets) and isinstance(cache, FakeCache)
    assert isinstance(cfn, FakeCloudFormation)
    old = secrets.value(config.redis.auth_secret_name).reveal()
    cfn.next_changes = None
    fingerprint = TokenRotation(orchestrator, lambda: True, sleep=lambda _: None).run()
    new = secrets.value(config.redis.auth_secret_name).reveal()
    assert new != old and fingerprint.startswith("sha256:")
    assert cache.calls == [f"ROTATE {config.redis.replication_group_id}",
                           f"SET {config.redis.replication_group_id}"]  # fmt: skip
    api = cfn.describe(config.stacks.api).parameters
    data = cfn.describe(config.stacks.data).parameters
    assert api["RedisAuthSecretVersionId"] == data["RedisAuthSecretVersionId"] == "v2"
    assert all(old not in line and new not in line for line in reporter.lines)


def test_failed_verification_rolls_back(config: EnvironmentConfig, tmp_path: Path) -> None:
    orchestrator, gateways, _ = deployed(config, tmp_path)
    secrets, cache, cfn = gateways.secrets, gateways.cache, gateways.cloudformation
    assert isinstance(secrets, FakeSecrets) and isinstance(cache, FakeCache)
    assert isinstance(cfn, FakeCloudFormation)
    with pytest.raises(VerificationError) as caught:
        TokenRotation(orchestrator, lambda: False, sleep=lambda _: None).run()
    assert caught.value.exit_code == 8
    group = config.redis.replication_group_id
    # ROTATE, then back to the old token with SET; the secret's AWSCURRENT moved back.
    assert cache.calls == [f"ROTATE {group}", f"SET {group}"]
    assert f"restore {config.redis.auth_secret_name}" in secrets.calls
    assert cfn.describe(config.stacks.api).parameters["RedisAuthSecretVersionId"] == "v1"
    assert cfn.describe(config.stacks.data).parameters["RedisAuthSecretVersionId"] == "v1"


def test_data_update_with_unexpected_changes_is_refused(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    orchestrator, gateways, _ = deployed(config, tmp_path)
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    fake: FakeCloudFormation = cfn

    class Sequenced(TokenRotation):
        def deploy_api(self, version: str) -> None:
            super().deploy_api(version)
            fake.next_changes = (Change("Modify", "Vpc", "AWS::EC2::VPC", "True"),)

    with pytest.raises(RefusedError, match="Vpc"):
        Sequenced(orchestrator, lambda: True, sleep=lambda _: None).run()
    assert cfn.calls[-1] == ("delete_change_set", config.stacks.data)


def test_down_keeps_data_and_secret_without_flags(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    orchestrator, gateways, _ = deployed(config, tmp_path, AWS)
    done = dict(down(orchestrator, DownOptions()))
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    assert done[config.stacks.api] == "deleted"
    assert done[config.stacks.data].startswith("kept")
    assert cfn.describe(config.stacks.data).exists
    assert gateways.secrets.describe(config.redis.auth_secret_name) is not None


def test_down_with_data_needs_the_confirmation(config: EnvironmentConfig, tmp_path: Path) -> None:
    orchestrator, _, _ = deployed(config, tmp_path, AWS)
    with pytest.raises(RefusedError) as caught:
        down(orchestrator, DownOptions(include_data=True, confirm_env="prod"))
    assert caught.value.exit_code == 10


def test_local_down_removes_everything(config: EnvironmentConfig, tmp_path: Path) -> None:
    orchestrator, gateways, _ = deployed(config, tmp_path)
    done = dict(down(orchestrator, DownOptions()))
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    assert not any(cfn.describe(name).exists for name in vars(config.stacks).values() if name)
    assert done[config.redis.auth_secret_name] == "deleted"
    assert gateways.parameters.get([config.ssm_name("examples-origins")]) == {}


def test_down_of_nothing_claims_nothing(config: EnvironmentConfig, tmp_path: Path) -> None:
    orchestrator, _, _ = make(config, tmp_path)
    done = dict(down(orchestrator, DownOptions(delete_secret=True)))
    assert done[config.stacks.api] == "absent" and done[config.stacks.shared] == "absent"
    assert done["allow-list parameters"] == "absent"
    assert done[config.redis.auth_secret_name] == "absent"
