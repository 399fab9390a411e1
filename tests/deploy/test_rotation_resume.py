"""Rotation on AWS: a token-only Conditional change passes, anything else is refused; an
interrupted rotation shows, `up` refuses it with a rotate-token hint, rotate-token resumes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mathvisuals.deploy.config import EnvironmentConfig, load_config
from mathvisuals.deploy.errors import RefusedError
from mathvisuals.deploy.gateway import Gateways
from mathvisuals.deploy.model import Change, PropertyDetail
from mathvisuals.deploy.orchestrator import Orchestrator
from mathvisuals.deploy.parameters import Live
from mathvisuals.deploy.pending import read_pending
from mathvisuals.deploy.rotation import TokenRotation
from tests.deploy.fakes import FakeCache, FakeCloudFormation
from tests.deploy.test_orchestrator import make
from tests.deploy.test_rotation_and_down import deployed

GROUP = "AWS::ElastiCache::ReplicationGroup"


def token_change(*names: str, recreation: str = "Conditionally") -> Change:
    details = tuple(PropertyDetail(name, recreation) for name in names)
    return Change("Modify", "RedisReplicationGroup", GROUP, "Conditional", details)


@pytest.fixture
def config() -> EnvironmentConfig:
    return load_config(Path("infra/environments/local.toml"))


def _rotation_with_data_change(
    change: Change, orchestrator: Orchestrator, cfn: FakeCloudFormation
) -> TokenRotation:
    class Sequenced(TokenRotation):
        def deploy_api(self, version: str) -> None:
            super().deploy_api(version)
            cfn.next_changes = (change,)

    return Sequenced(orchestrator, lambda: True, sleep=lambda _: None)


def test_token_only_conditional_change_is_executed(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    orchestrator, gateways, _ = deployed(config, tmp_path)
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    change = token_change("AuthToken", "AuthTokenUpdateStrategy")
    _rotation_with_data_change(change, orchestrator, cfn).run()
    assert cfn.calls[-1] == ("execute", config.stacks.data)
    assert cfn.describe(config.stacks.data).parameters["RedisAuthSecretVersionId"] == "v2"


@pytest.mark.parametrize(
    "change",
    [
        token_change("AuthToken", "CacheNodeType"),
        token_change("AuthToken", recreation="Always"),
        Change("Modify", "RedisReplicationGroup", GROUP, "Conditional"),  # no Details: unknown
        Change("Modify", "RedisReplicationGroup", GROUP, "True", token_change("AuthToken").details),
    ],
)
def test_anything_but_the_token_is_refused(
    config: EnvironmentConfig, tmp_path: Path, change: Change
) -> None:
    orchestrator, gateways, _ = deployed(config, tmp_path)
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    with pytest.raises(RefusedError, match="RedisReplicationGroup"):
        _rotation_with_data_change(change, orchestrator, cfn).run()
    assert cfn.calls[-1] == ("delete_change_set", config.stacks.data)


class Interrupted(Exception):
    pass


def _interrupt_after_api_update(config: EnvironmentConfig, tmp_path: Path) -> Gateways:
    orchestrator, gateways, _ = deployed(config, tmp_path)

    class CtrlC(TokenRotation):
        def deploy_api(self, version: str) -> None:
            super().deploy_api(version)
            raise Interrupted  # KeyboardInterrupt after the api update, before SET

    with pytest.raises(Interrupted):
        CtrlC(orchestrator, lambda: True, sleep=lambda _: None).run()
    return gateways


def test_interrupted_rotation_is_detected(config: EnvironmentConfig, tmp_path: Path) -> None:
    gateways = _interrupt_after_api_update(config, tmp_path)
    pending = read_pending(config, gateways)
    assert pending is not None
    assert (pending.pinned_version, pending.current_version) == ("v1", "v2")


def test_up_refuses_an_unfinished_rotation_with_the_rotate_hint(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    gateways = _interrupt_after_api_update(config, tmp_path)
    orchestrator, _, _ = make(config, tmp_path, gateways)
    with pytest.raises(RefusedError) as caught:
        orchestrator.up()
    assert caught.value.exit_code == 10
    assert "rotate-token" in caught.value.hint and "--allow-replace" not in caught.value.hint


def test_rotate_token_resumes_without_a_second_rotate(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    gateways = _interrupt_after_api_update(config, tmp_path)
    cache, cfn = gateways.cache, gateways.cloudformation
    assert isinstance(cache, FakeCache) and isinstance(cfn, FakeCloudFormation)
    stored = gateways.secrets.value(config.redis.auth_secret_name).reveal()
    orchestrator, _, _ = make(config, tmp_path, gateways)
    fingerprint = TokenRotation(orchestrator, lambda: True, sleep=lambda _: None).run()
    group = config.redis.replication_group_id
    assert cache.calls == [f"ROTATE {group}", f"SET {group}"]  # the one ROTATE, then SET
    assert gateways.secrets.value(config.redis.auth_secret_name).reveal() == stored
    assert cfn.describe(config.stacks.data).parameters["RedisAuthSecretVersionId"] == "v2"
    assert read_pending(config, gateways) is None
    assert fingerprint.startswith("sha256:")


def test_a_token_change_in_a_data_update_never_suggests_allow_replace(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    orchestrator, gateways, _ = deployed(config, tmp_path)
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    cfn.next_changes = (token_change("AuthToken"),)
    with pytest.raises(RefusedError) as caught:
        orchestrator.deploy_stack("data", Live(secret_version_id="v" + "9" * 32))
    assert "AUTH token" in str(caught.value)
    assert "rotate-token" in caught.value.hint and "--allow-replace" not in caught.value.hint
    assert cfn.calls[-1] == ("delete_change_set", config.stacks.data)


def test_a_real_replacement_still_needs_the_flag(config: EnvironmentConfig, tmp_path: Path) -> None:
    orchestrator, gateways, _ = deployed(config, tmp_path)
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    cfn.next_changes = (token_change("AuthToken", "CacheNodeType"),)
    with pytest.raises(RefusedError) as caught:
        orchestrator.deploy_stack("data", Live(secret_version_id="v" + "9" * 32))
    assert "--allow-replace" in caught.value.hint
