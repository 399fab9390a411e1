"""``up`` and ``plan`` over in-memory gateways: order, idempotence, refusals, recovery."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from mathvisuals.deploy.config import EnvironmentConfig, load_config
from mathvisuals.deploy.context import DeployContext
from mathvisuals.deploy.errors import (
    CheckFailedError,
    ConfigError,
    CredentialsError,
    DeploymentFailedError,
    LockHeldError,
    PreflightBlockedError,
    RefusedError,
)
from mathvisuals.deploy.gateway import FunctionInfo, Gateways, ParameterInfo, SecretValue
from mathvisuals.deploy.locks import S3Lock
from mathvisuals.deploy.model import Change, Flags, StackRole, StackSpec, StackState
from mathvisuals.deploy.orchestrator import Orchestrator
from mathvisuals.deploy.profile import LOCAL, TargetProfile
from mathvisuals.deploy.progress import RecordingReporter
from tests.deploy.fakes import (
    FakeArtifact,
    FakeCloudFormation,
    FakeFunctions,
    FakeMonitoring,
    FakeParameters,
    fake_gateways,
)

TEMPLATES: dict[StackRole, str] = {"shared": "shared: 1", "data": "data: 1", "api": "api: 1"}
TOPIC = "arn:aws:sns:eu-north-1:000000000000:math-visuals-api-alarms-local"


@pytest.fixture
def config() -> EnvironmentConfig:
    return load_config(Path("infra/environments/local.toml"))


def data_side_effects(
    config: EnvironmentConfig, parameters: FakeParameters
) -> Callable[[StackSpec], Mapping[str, str]]:
    """What CloudFormation does when the data stack runs: it writes the endpoint parameters."""

    def on_execute(spec: StackSpec) -> Mapping[str, str]:
        if spec.role == "data":
            for key, value in (
                ("endpoint", "127.0.0.1"),
                ("port", "6390"),
                ("reader-endpoint", "r"),
            ):
                name = config.ssm_name(key)
                old = parameters.items.get(name)
                if old is None or old.value != value:
                    parameters.items[name] = ParameterInfo(
                        name, value, (old.version + 1) if old else 1, owning_stack=spec.name
                    )
            return {"VpcId": "vpc-1"}
        if spec.role == "api":
            return {"ApiEndpoint": "http://127.0.0.1:4566/local", "AlarmTopicArn": TOPIC}
        return {"RedisAuthSecretName": config.redis.auth_secret_name}

    return on_execute


def make(
    config: EnvironmentConfig,
    tmp_path: Path,
    gateways: Gateways | None = None,
    *,
    profile: TargetProfile = LOCAL,
    token_file: Path | None = None,
    flags: Flags | None = None,
) -> tuple[Orchestrator, Gateways, RecordingReporter]:
    if gateways is None:
        parameters = FakeParameters()
        cfn = FakeCloudFormation(data_side_effects(config, parameters))
        gateways = fake_gateways(cfn, parameters=parameters)
    artifact = tmp_path / "api.zip"
    artifact.write_bytes(b"zip")
    reporter = RecordingReporter()
    context = DeployContext(
        config,
        gateways,
        reporter,
        profile=profile,
        lock=S3Lock(gateways.artifacts, config.api.artifact_bucket, config.name),
        token_file=token_file,
        sleep=lambda _: None,
    )
    orchestrator = Orchestrator(
        context,
        templates=TEMPLATES,
        build_artifact=lambda: FakeArtifact(artifact),
        flags=flags,
        stack_policy="{}",
    )
    return orchestrator, gateways, reporter


def test_first_up_runs_the_steps_in_order(config: EnvironmentConfig, tmp_path: Path) -> None:
    orchestrator, gateways, _ = make(config, tmp_path)
    result = orchestrator.up()
    assert [(s.name, s.result) for s in result.steps] == [
        ("preflight", "ok"),
        ("artefact", "uploaded"),
        ("secret", "created"),
        ("shared", "created"),
        ("allow-lists", "updated"),
        ("data", "created"),
        ("api", "created"),
        ("alarms", "unchanged"),  # local.toml configures no e-mail subscriptions
    ]
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    executed = [stack for call, stack in cfn.calls if call == "execute"]
    assert executed == [config.stacks.shared, config.stacks.data, config.stacks.api]
    api = cfn.describe(config.stacks.api)
    assert api.parameters["RedisAuthSecretVersionId"] == "v1"
    assert api.parameters["AllowedOrigins"] == ",".join(config.cors.allowed_origins)
    assert api.parameters["ConfigVersion"] == result.config_version
    assert api.tags["managed-by"] == "mathvisuals"
    # The lock was taken for the run and released at the end.
    assert ("math-visuals-artifacts-local", "locks/local.json") not in gateways.artifacts.objects  # type: ignore[attr-defined]


def test_second_up_makes_no_mutating_call(config: EnvironmentConfig, tmp_path: Path) -> None:
    orchestrator, gateways, _ = make(config, tmp_path)
    orchestrator.up()
    again, _, _ = make(config, tmp_path, gateways)
    result = again.up()
    assert result.mutations == []
    assert not result.changed
    assert {s.result for s in result.steps} <= {"ok", "unchanged"}


def test_changed_allow_list_updates_only_what_depends_on_it(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    orchestrator, gateways, _ = make(config, tmp_path)
    first = orchestrator.up()
    changed = config.model_copy(
        update={"cors": config.cors.model_copy(update={"allowed_origins": ("https://new.no",)})}
    )
    again, _, _ = make(changed, tmp_path, gateways)
    result = again.up()
    assert [(s.name, s.result) for s in result.steps if s.result != "unchanged"] == [
        ("preflight", "ok"),
        ("allow-lists", "updated"),
        ("api", "updated"),
    ]
    assert result.config_version != first.config_version


def with_emails(config: EnvironmentConfig, *addresses: str) -> EnvironmentConfig:
    alarms = config.alarms.model_copy(update={"email_subscriptions": addresses})
    return config.model_copy(update={"alarms": alarms})


def test_alarm_e_mails_are_subscribed_once(config: EnvironmentConfig, tmp_path: Path) -> None:
    emails = with_emails(config, "ops@mathvisuals.no", "oncall@mathvisuals.no")
    orchestrator, gateways, _ = make(emails, tmp_path)
    result = orchestrator.up()
    assert [(s.name, s.result) for s in result.steps][-2:] == [
        ("api", "created"),
        ("alarms", "subscribed"),
    ]
    monitoring = gateways.monitoring
    assert isinstance(monitoring, FakeMonitoring)
    assert monitoring.calls == ["subscribe ops@mathvisuals.no", "subscribe oncall@mathvisuals.no"]
    assert result.mutations.count("monitoring.subscribe_email") == 2
    # Still pending: a rerun neither subscribes again nor mails a second confirmation.
    again, _, _ = make(emails, tmp_path, gateways)
    rerun = again.up()
    assert rerun.mutations == []
    assert ("alarms", "unchanged") in [(s.name, s.result) for s in rerun.steps]
    assert len(monitoring.calls) == 2


def test_only_the_new_address_is_subscribed(config: EnvironmentConfig, tmp_path: Path) -> None:
    orchestrator, gateways, _ = make(with_emails(config, "ops@mathvisuals.no"), tmp_path)
    orchestrator.up()
    monitoring = gateways.monitoring
    assert isinstance(monitoring, FakeMonitoring)
    changed = with_emails(config, "OPS@mathvisuals.no", "new@mathvisuals.no")
    again, _, _ = make(changed, tmp_path, gateways)
    result = again.up()
    assert result.mutations == ["monitoring.subscribe_email"]  # the stacks are converged
    assert monitoring.calls[-1] == "subscribe new@mathvisuals.no"
    assert ("alarms", "subscribed", "1 e-mail(s), confirmation pending") in [
        (s.name, s.result, s.detail) for s in result.steps
    ]


def test_alarms_step_is_skipped_without_a_monitoring_gateway(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    parameters = FakeParameters()
    cfn = FakeCloudFormation(data_side_effects(config, parameters))
    gateways = fake_gateways(cfn, parameters=parameters, monitoring=None)
    orchestrator, _, _ = make(with_emails(config, "ops@mathvisuals.no"), tmp_path, gateways)
    result = orchestrator.up()
    assert [s.name for s in result.steps][-1] == "api"


def test_a_missing_alarm_topic_output_fails(config: EnvironmentConfig, tmp_path: Path) -> None:
    parameters = FakeParameters()
    effects = data_side_effects(config, parameters)
    cfn = FakeCloudFormation(
        lambda spec: {k: v for k, v in effects(spec).items() if k != "AlarmTopicArn"}
    )
    orchestrator, _, _ = make(
        with_emails(config, "ops@mathvisuals.no"),
        tmp_path,
        fake_gateways(cfn, parameters=parameters),
    )
    with pytest.raises(DeploymentFailedError, match="no output AlarmTopicArn") as caught:
        orchestrator.up()
    assert "ops@" not in str(caught.value)


def test_account_mismatch_stops_before_anything(config: EnvironmentConfig, tmp_path: Path) -> None:
    gateways = fake_gateways(
        identity=__import__("tests.deploy.fakes", fromlist=["x"]).FakeIdentity("111111111111")
    )
    orchestrator, _, _ = make(config, tmp_path, gateways)
    with pytest.raises(CredentialsError) as caught:
        orchestrator.up()
    assert caught.value.exit_code == 5
    assert orchestrator.result.mutations == []


def test_secret_owned_by_a_stack_is_a_collision(config: EnvironmentConfig, tmp_path: Path) -> None:
    orchestrator, gateways, _ = make(config, tmp_path)
    secrets = gateways.secrets
    secrets.create(config.redis.auth_secret_name, SecretValue("A" * 20 + "a1"), {})
    secrets.owners[config.redis.auth_secret_name] = "math-visuals-shared-local"  # type: ignore[attr-defined]
    with pytest.raises(PreflightBlockedError) as caught:
        orchestrator.up()
    assert "belongs to stack math-visuals-shared-local" in str(caught.value)
    assert caught.value.exit_code == 6


def test_parameter_owned_by_the_shared_stack_is_a_collision(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    """B1: upstream's shared and data stacks both created the endpoint parameter."""
    orchestrator, gateways, _ = make(config, tmp_path)
    name = config.ssm_name("endpoint")
    parameters = gateways.parameters
    assert isinstance(parameters, FakeParameters)
    parameters.items[name] = ParameterInfo(
        name, "placeholder", 1, owning_stack="math-visuals-shared-local"
    )
    with pytest.raises(PreflightBlockedError, match="belongs to math-visuals-shared-local"):
        orchestrator.up()


def test_bucket_in_another_region_is_refused(config: EnvironmentConfig, tmp_path: Path) -> None:
    from tests.deploy.fakes import FakeArtifacts

    orchestrator, _, _ = make(config, tmp_path, fake_gateways(artifacts=FakeArtifacts("us-east-1")))
    with pytest.raises(PreflightBlockedError, match="us-east-1"):
        orchestrator.up()


def test_existing_bad_token_is_refused_and_not_echoed(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    orchestrator, gateways, reporter = make(config, tmp_path)
    bad = "c2VjcmV0K3Rva2VuL3dpdGg9cGFkZGluZz09"  # base64 with + / =
    gateways.secrets.create(config.redis.auth_secret_name, SecretValue(bad + "+/="), {})
    with pytest.raises(CheckFailedError) as caught:
        orchestrator.up()
    assert caught.value.exit_code == 4
    assert bad not in str(caught.value) and all(bad not in line for line in reporter.lines)


def test_token_from_file_is_used_and_never_reported(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    token = "Sandbox-Token-0123456789abcdef"
    token_file = tmp_path / "token"
    token_file.write_text(token)
    orchestrator, gateways, reporter = make(config, tmp_path, token_file=token_file)
    result = orchestrator.up()
    assert gateways.secrets.value(config.redis.auth_secret_name).reveal() == token
    assert all(token not in line for line in reporter.lines)
    assert result.secret_fingerprint.startswith("sha256:")


def test_failed_api_create_is_deleted_then_recreated(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    orchestrator, gateways, _ = make(config, tmp_path)
    orchestrator.up()
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    cfn.put_state(StackState(config.stacks.api, "ROLLBACK_COMPLETE", tags=config.tags))
    cfn.calls.clear()
    again, _, _ = make(config, tmp_path, gateways)
    result = again.up()
    assert ("delete_stack", config.stacks.api) in cfn.calls
    assert ("api", "recreated") in [(s.name, s.result) for s in result.steps]


def test_failed_data_create_blocks_without_the_flag(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    orchestrator, gateways, _ = make(config, tmp_path)
    orchestrator.up()
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    cfn.put_state(StackState(config.stacks.data, "ROLLBACK_COMPLETE", tags=config.tags))
    again, _, _ = make(config, tmp_path, gateways)
    with pytest.raises(PreflightBlockedError) as caught:
        again.up()
    assert "--force-recreate-data" in caught.value.hint
    assert ("delete_stack", config.stacks.data) not in cfn.calls
    forced, _, _ = make(config, tmp_path, gateways, flags=Flags(force_recreate_data=True))
    forced.up()
    assert ("delete_stack", config.stacks.data) in cfn.calls


def test_replacing_the_replication_group_needs_allow_replace(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    orchestrator, gateways, _ = make(config, tmp_path)
    orchestrator.up()
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    changed = config.model_copy(
        update={"redis": config.redis.model_copy(update={"node_type": "cache.t4g.medium"})}
    )
    cfn.next_changes = (
        Change("Modify", "RedisReplicationGroup", "AWS::ElastiCache::ReplicationGroup", "True"),
    )
    again, _, _ = make(changed, tmp_path, gateways)
    with pytest.raises(RefusedError) as caught:
        again.up()
    assert caught.value.exit_code == 10
    assert cfn.calls[-1] == ("delete_change_set", config.stacks.data)


def test_failed_update_reports_the_first_failure_with_a_hint(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    orchestrator, gateways, _ = make(config, tmp_path)
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    cfn.fail_next_execute = "Invalid AUTH token provided"
    with pytest.raises(DeploymentFailedError) as caught:
        orchestrator.up()
    assert "Invalid AUTH token" in str(caught.value)
    assert "ElastiCache rules" in caught.value.hint


def test_lock_held_by_another_run(config: EnvironmentConfig, tmp_path: Path) -> None:
    orchestrator, gateways, _ = make(config, tmp_path)
    import json
    import time

    gateways.artifacts.objects[(config.api.artifact_bucket, "locks/local.json")] = json.dumps(  # type: ignore[attr-defined]
        {"holder": "ci:1", "expires": time.time() + 600}
    ).encode()
    with pytest.raises(LockHeldError) as caught:
        orchestrator.up()
    assert caught.value.exit_code == 11
    assert gateways.secrets.describe(config.redis.auth_secret_name) is None


def test_plan_never_mutates(config: EnvironmentConfig, tmp_path: Path) -> None:
    orchestrator, _, _ = make(config, tmp_path)
    plan = orchestrator.plan()
    assert orchestrator.result.mutations == []
    assert [p.stack for p in plan.stacks] == [config.stacks.shared, config.stacks.data]
    assert plan.notes[0].startswith("secret: would be created")


def test_plan_previews_changes_and_the_replacement_guard(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    orchestrator, gateways, _ = make(config, tmp_path)
    orchestrator.up()
    cfn = gateways.cloudformation
    assert isinstance(cfn, FakeCloudFormation)
    changed = config.model_copy(
        update={"redis": config.redis.model_copy(update={"node_type": "cache.t4g.medium"})}
    )
    cfn.next_changes = (
        Change("Modify", "RedisReplicationGroup", "AWS::ElastiCache::ReplicationGroup", "True"),
    )
    planner, _, _ = make(changed, tmp_path, gateways)
    plan = planner.plan()
    data = next(p for p in plan.stacks if p.stack == config.stacks.data)
    assert [c.logical_id for c in data.refused] == ["RedisReplicationGroup"]
    assert all(p.unchanged for p in plan.stacks if p.stack != config.stacks.data)
    assert planner.result.mutations == []  # change sets were only described, then deleted
    assert cfn.calls[-1] == ("delete_change_set", config.stacks.data)
    assert cfn.describe(config.stacks.data).parameters["RedisNodeType"] == "cache.t4g.small"


def simulating(missing: list[str]) -> tuple[TargetProfile, Gateways]:
    from dataclasses import replace

    from tests.deploy.fakes import FakeIdentity

    return replace(LOCAL, simulates_permissions=True), fake_gateways(
        identity=FakeIdentity(missing=missing)
    )


def test_preflight_simulates_the_whole_table_where_the_policy_scopes_it(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    from mathvisuals.deploy import permissions

    profile, gateways = simulating([])
    orchestrator, _, _ = make(config, tmp_path, gateways, profile=profile)
    orchestrator.preflight()
    simulated = gateways.identity.simulated  # type: ignore[attr-defined]
    actions = {a for batch, _, _ in simulated for a in batch}
    assert actions == set(permissions.all_actions()) - permissions.NO_PERMISSION_NEEDED
    where = {a: (resource, context) for batch, resource, context in simulated for a in batch}
    account, region = config.env.account_id, config.env.region
    assert where["secretsmanager:PutSecretValue"][0].startswith(
        f"arn:aws:secretsmanager:{region}:{account}:secret:math-visuals/{config.name}/"
    )
    assert where["iam:PassRole"] == (
        f"arn:aws:iam::{account}:role/{config.stacks.api}-example",
        {"iam:PassedToService": "lambda.amazonaws.com"},
    )
    assert where["cloudformation:ListChangeSets"][0].startswith(
        f"arn:aws:cloudformation:{region}:{account}:stack/"
    )


def test_preflight_blocks_on_a_missing_action_and_names_bootstrap(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    profile, gateways = simulating(["elasticache:ListTagsForResource", "iam:GetRole"])
    orchestrator, _, _ = make(config, tmp_path, gateways, profile=profile)
    with pytest.raises(PreflightBlockedError) as caught:
        orchestrator.preflight()
    assert caught.value.exit_code == 6
    assert "iam:GetRole" in str(caught.value) and "elasticache:ListTagsForResource" in str(
        caught.value
    )
    assert f"mathvisuals bootstrap --env {config.name}" in caught.value.hint
    assert orchestrator.result.mutations == []


def test_the_example_account_id_says_what_to_put_there(tmp_path: Path) -> None:
    from tests.deploy.fakes import FakeIdentity

    prod = load_config(Path("infra/environments/prod.toml"))
    assert prod.env.account_id == "123456789012"  # the example the file ships with
    gateways = fake_gateways(identity=FakeIdentity("210987654321"))
    orchestrator, _, _ = make(prod, tmp_path, gateways)
    with pytest.raises(ConfigError) as caught:
        orchestrator.preflight()
    assert caught.value.exit_code == 3
    message = f"{caught.value} {caught.value.hint}"
    assert "env.account_id" in message and 'account_id = "210987654321"' in message
    assert "\n" not in message


class Publishing(FakeFunctions):
    """The alias's version is Pending while its snapshot is made, then Active."""

    def __init__(self, states: list[str]) -> None:
        super().__init__()
        self.states = states
        self.asked: list[tuple[str, str | None]] = []

    def configuration(self, name: str, qualifier: str | None = None) -> FunctionInfo | None:
        self.asked.append((name, qualifier))
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return FunctionInfo(name, state, "Successful", "python3.12", "", "", {}, version="3")


def test_with_snapstart_up_waits_for_the_version_behind_the_alias(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    snap = config.model_copy(update={"api": config.api.model_copy(update={"snapstart": True})})
    parameters = FakeParameters()
    functions = Publishing(["Pending", "Pending", "Active"])
    cfn = FakeCloudFormation(data_side_effects(snap, parameters))
    gateways = fake_gateways(cfn, parameters=parameters, functions=functions)
    orchestrator, _, _ = make(snap, tmp_path, gateways)
    orchestrator.up()
    api = cfn.describe(snap.stacks.api)
    assert api.parameters["SnapStart"] == "true"
    assert len(api.parameters["FunctionRevision"]) == 16
    name = snap.api.function_name
    assert functions.asked[:3] == [(name, "live")] * 3  # polled until Active
    assert functions.states == ["Active"]
