"""``plan --out`` / ``up --plan``: a saved plan is applied only while the live state matches it."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from mathvisuals.cli import up as up_command
from mathvisuals.cli.render import RichReporter
from mathvisuals.cli.wiring import Session, saved_plan
from mathvisuals.deploy.config import EnvironmentConfig, load_config
from mathvisuals.deploy.errors import RefusedError
from mathvisuals.deploy.model import Change
from mathvisuals.deploy.profile import LOCAL
from mathvisuals.deploy.saved_plan import PlanFileError, differences, read
from tests.deploy.fakes import FakeCloudFormation
from tests.deploy.test_orchestrator import make


@pytest.fixture
def config() -> EnvironmentConfig:
    return load_config(Path("infra/environments/local.toml"))


def session(config: EnvironmentConfig, orchestrator_gateways: object) -> Session:
    console = Console(file=io.StringIO())
    return Session(
        config,
        Path("infra/environments/local.toml"),
        LOCAL,
        orchestrator_gateways,  # type: ignore[arg-type]
        RichReporter(console),
        console,
    )


def test_a_saved_plan_round_trips_and_matches_itself(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    orchestrator, gateways, _ = make(config, tmp_path)
    orchestrator.up()
    s = session(config, gateways)
    planned = saved_plan(s, orchestrator.plan())
    path = tmp_path / "plan.json"
    path.write_text(planned.to_json(), encoding="utf-8")
    loaded = read(path)
    assert loaded == planned
    body = json.loads(path.read_text(encoding="utf-8"))
    assert body["schema_version"] == 1
    assert all(len(stack["template_sha256"]) == 64 for stack in body["stacks"])
    again, _, _ = make(config, tmp_path, gateways)
    assert differences(loaded, saved_plan(s, again.plan())) == []


def test_a_changed_input_is_named(config: EnvironmentConfig, tmp_path: Path) -> None:
    orchestrator, gateways, _ = make(config, tmp_path)
    orchestrator.up()
    s = session(config, gateways)
    before = saved_plan(s, orchestrator.plan())
    changed = config.model_copy(
        update={"redis": config.redis.model_copy(update={"node_type": "cache.t4g.medium"})}
    )
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    cfn.next_changes = (
        Change("Modify", "RedisReplicationGroup", "AWS::ElastiCache::ReplicationGroup", "False"),
    )
    planner, _, _ = make(changed, tmp_path, gateways)
    after = saved_plan(s, planner.plan())
    moved = differences(before, after)
    assert f"{config.stacks.data}: the parameters or tags changed" in moved
    assert any("change set differs" in line for line in moved)
    assert not any(config.stacks.shared in line for line in moved)


def test_up_with_a_moved_plan_is_refused_before_any_mutation(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    orchestrator, gateways, _ = make(config, tmp_path)
    s = session(config, gateways)
    path = tmp_path / "plan.json"
    path.write_text(saved_plan(s, orchestrator.plan()).to_json(), encoding="utf-8")
    orchestrator.up()  # someone deployed after the review: every stack now exists
    again, _, _ = make(config, tmp_path, gateways)
    with pytest.raises(RefusedError, match="moved since") as caught:
        up_command.reviewed(s, again, path, yes=False)
    assert caught.value.exit_code == 10
    assert "plan --env local --out" in caught.value.hint
    assert again.result.mutations == []


def test_require_plan_refuses_without_plan_or_yes(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    protected = config.model_copy(
        update={"protection": config.protection.model_copy(update={"require_plan": True})}
    )
    orchestrator, gateways, _ = make(protected, tmp_path)
    s = session(protected, gateways)
    with pytest.raises(RefusedError, match="requires a reviewed plan") as caught:
        up_command.reviewed(s, orchestrator, None, yes=False)
    assert "--plan" in caught.value.hint and "--yes" in caught.value.hint
    up_command.reviewed(s, orchestrator, None, yes=True)  # waived
    up_command.reviewed(session(config, gateways), orchestrator, None, yes=False)  # not required


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("not json", "is not JSON"),
        ('{"schema_version": 99}', "not a plan written by"),
        ('{"schema_version": 1, "stacks": [{}]}', "missing or malformed"),
    ],
)
def test_a_bad_plan_file_is_a_usage_error(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanFileError, match=needle) as caught:
        read(path)
    assert caught.value.exit_code == 2
    with pytest.raises(PlanFileError, match="cannot read"):
        read(tmp_path / "missing.json")


def test_prod_requires_a_reviewed_plan() -> None:
    assert load_config(Path("infra/environments/prod.toml")).protection.require_plan


def test_up_exports_only_before_it_changes_a_live_data_stack_of_ours(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    first, gateways, _ = make(config, tmp_path)
    assert not up_command.data_will_change(first)  # nothing deployed: nothing to export
    first.up()
    again, _, _ = make(config, tmp_path, gateways)
    assert not up_command.data_will_change(again)  # converged
    assert again.result.mutations == []
    changed = config.model_copy(
        update={"redis": config.redis.model_copy(update={"node_type": "cache.t4g.medium"})}
    )
    moving, _, _ = make(changed, tmp_path, gateways)
    assert up_command.data_will_change(moving)
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    api = cfn.describe(config.stacks.api)
    cfn.put_state(dataclasses.replace(api, tags={}))  # upstream's api stack
    assert not up_command.data_will_change(moving)  # its function cannot export: the snapshot
