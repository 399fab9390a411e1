"""V1 drift (deploy.md §5.13): DetectStackDrift on data and api, reported by verify and status."""

from __future__ import annotations

from pathlib import Path

import pytest

from mathvisuals.deploy.config import EnvironmentConfig, load_config
from mathvisuals.deploy.model import DriftReport
from tests.deploy.test_status import problem_ids, rows, status
from tests.deploy.test_verify import by_id, converged


@pytest.fixture
def config() -> EnvironmentConfig:
    return load_config(Path("infra/environments/local.toml"))


def test_v1_runs_drift_detection_on_data_and_api_only(config: EnvironmentConfig) -> None:
    world = converged(config)
    check = by_id(world.run())["V1"]
    assert check.outcome == "pass"
    assert f"{config.stacks.data} IN_SYNC" in check.detail
    assert f"{config.stacks.api} IN_SYNC" in check.detail
    drifted = [stack for call, stack in world.cfn.calls if call == "drift"]
    assert drifted == [config.stacks.data, config.stacks.api]


def test_drift_is_a_warning_naming_the_resources(config: EnvironmentConfig) -> None:
    world = converged(config)
    data = config.stacks.data
    world.cfn.drifts[data] = DriftReport(data, "DRIFTED", ("RedisSecurityGroup",))
    report = world.run()
    check = by_id(report)["V1"]
    assert check.outcome == "warn" and "RedisSecurityGroup" in check.detail
    assert report.ok  # reported, never failing


def test_a_failing_stack_still_fails_v1_with_drift(config: EnvironmentConfig) -> None:
    world = converged(config)
    data = config.stacks.data
    world.cfn.drifts[data] = DriftReport(data, "DRIFTED", ("Vpc",))
    state = world.cfn.describe(config.stacks.api)
    world.cfn.put_state(type(state)(state.name, "UPDATE_ROLLBACK_COMPLETE"))
    assert by_id(world.run())["V1"].outcome == "fail"


def test_an_endpoint_without_drift_detection_is_a_note(config: EnvironmentConfig) -> None:
    world = converged(config)
    for stack in (config.stacks.data, config.stacks.api):
        world.cfn.drifts[stack] = DriftReport(stack, "NOT_SUPPORTED", note="InvalidAction")
    check = by_id(world.run())["V1"]
    assert check.outcome == "pass" and "NOT_SUPPORTED (InvalidAction)" in check.detail


def test_status_shows_drift_per_stack_and_warns(config: EnvironmentConfig) -> None:
    world = converged(config)
    api = config.stacks.api
    world.cfn.drifts[api] = DriftReport(api, "DRIFTED", ("ApiFunction",))
    report = status(world)
    assert rows(report, "data")["drift"] == "IN_SYNC"
    assert rows(report, "api")["drift"] == "DRIFTED (ApiFunction)"
    assert "drift" not in rows(report, "shared")
    assert ("V1", True) in problem_ids(report)
