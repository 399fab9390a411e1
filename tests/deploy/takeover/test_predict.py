"""Predictor tables: what AWS does to each resource type of our templates, from the schemas."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str

from mathvisuals.deploy.config import load_config
from mathvisuals.deploy.parameters import stack_parameters
from mathvisuals.deploy.takeover.model import (
    Action,
    ExportAction,
    LiveResource,
    LiveStack,
    WantedStack,
    World,
)
from mathvisuals.deploy.takeover.predict import build_scope, outputs, predict

ROOT = Path(__file__).resolve().parents[3]
CONFIG = load_config(ROOT / "infra/environments/prod.toml")
REGION = "eu-west-1"


def template(role: str) -> dict[str, Any]:
    body, _ = decode_str((ROOT / f"infra/{role}/template.yaml").read_text())
    assert isinstance(body, dict)
    return body


def params(role: str) -> dict[str, str]:
    return stack_parameters(CONFIG, role)


def stack_name(role: str) -> str:
    return str(getattr(CONFIG.stacks, role))


def live_of(role: str, body: dict[str, Any] | None = None, **extra: Any) -> LiveStack:
    """Our own template as if it were live, with invented physical ids."""
    body = body or template(role)
    resources = {
        k: LiveResource(k, v["Type"], f"phys-{k.lower()}") for k, v in body["Resources"].items()
    }
    if "exports" not in extra:
        physical = {k: r.physical_id for k, r in resources.items()}
        types = {k: r.type for k, r in resources.items()}
        scope = build_scope(body, params(role), stack_name(role), world(), physical, types)
        extra["exports"] = {k: str(v) for k, v in outputs(body, scope).items()}
    return LiveStack(stack_name(role), body, params(role), resources, **extra)


def world(**extra: Any) -> World:
    exports = {
        f"{CONFIG.stacks.shared}-{key}": value
        for key, value in {
            "RedisEndpointParameterName": "/math-visuals/prod/redis/endpoint",
            "RedisPortParameterName": "/math-visuals/prod/redis/port",
            "RedisReaderEndpointParameterName": "/math-visuals/prod/redis/reader-endpoint",
        }.items()
    }
    exports.update(
        {
            f"{CONFIG.stacks.data}-PrivateSubnet1Id": "phys-privatesubnet1",
            f"{CONFIG.stacks.data}-PrivateSubnet2Id": "phys-privatesubnet2",
            f"{CONFIG.stacks.data}-LambdaSecurityGroupId": "phys-lambdasecuritygroup",
        }
    )
    return World(REGION, "123456789012", exports=exports, **extra)


def with_property(role: str, logical_id: str, name: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(template(role))
    props = body["Resources"][logical_id].setdefault("Properties", {})
    if value is None:
        props.pop(name, None)
    else:
        props[name] = value
    return body


def verdict_of(role: str, wanted: dict[str, Any], logical_id: str) -> Any:
    prediction = predict(
        live_of(role), WantedStack(stack_name(role), wanted, params(role)), world()
    )
    return next(v for v in prediction.resources if v.logical_id == logical_id)


@pytest.mark.parametrize("role", ["shared", "data", "api"])
def test_an_unchanged_template_keeps_every_resource_and_export(role: str) -> None:
    body = template(role)
    live = live_of(role)
    prediction = predict(live, WantedStack(stack_name(role), body, params(role)), world())
    assert {v.action for v in prediction.resources} == {Action.KEEP}
    assert prediction.refusals == []
    # SnapStart is off in prod.toml: its version and alias are not part of the stack.
    snapstart_only = {"ApiFunctionVersion", "ApiFunctionAlias"} if role == "api" else set()
    assert {v.logical_id for v in prediction.resources} == set(body["Resources"]) - snapstart_only
    assert {e.name for e in prediction.exports} == set(live.exports)
    assert {e.action for e in prediction.exports} <= {ExportAction.KEEP}


def test_turning_snapstart_on_adds_a_version_and_an_alias_and_keeps_the_function() -> None:
    live = live_of("api")
    wanted = WantedStack(stack_name("api"), template("api"), {**params("api"), "SnapStart": "true"})
    prediction = predict(live, wanted, world())
    actions = {v.logical_id: v.action for v in prediction.resources}
    assert actions["ApiFunctionVersion"] == actions["ApiFunctionAlias"] == Action.CREATE
    # The function is updated in place (SnapStart, FUNCTION_REVISION), never replaced.
    assert actions["ApiFunction"] == Action.MODIFY
    assert actions["ApiIntegration"] == Action.MODIFY  # now invokes the alias
    assert actions["ApiInvokePermission"] == Action.REPLACE  # FunctionName is create-only
    assert actions["ApiFunctionLogGroup"] == Action.KEEP
    assert prediction.refusals == []


# (role, logical id, property, new value, what AWS does) — facts of the resource schemas and of
# takeover.md §1 "replaced when".
TABLE = [
    ("shared", "SharedVersionParameter", "Name", "/math-visuals/prod/other", Action.REPLACE),
    ("shared", "SharedVersionParameter", "Value", "2", Action.MODIFY),
    ("data", "Vpc", "CidrBlock", "10.43.0.0/16", Action.REPLACE),
    ("data", "Vpc", "EnableDnsHostnames", False, Action.MODIFY),
    ("data", "PrivateSubnet1", "CidrBlock", "10.42.200.0/24", Action.REPLACE),
    ("data", "PrivateSubnet1", "AvailabilityZone", "eu-west-1c", Action.REPLACE),
    ("data", "PrivateSubnet1", "MapPublicIpOnLaunch", True, Action.MODIFY),
    ("data", "LambdaSecurityGroup", "GroupDescription", "other", Action.REPLACE),
    ("data", "RedisSecurityGroup", "SecurityGroupIngress", [], Action.MODIFY),
    ("data", "RedisSubnetGroup", "CacheSubnetGroupName", "other-subnets", Action.REPLACE),
    ("data", "RedisSubnetGroup", "Description", "other", Action.MODIFY),
    ("data", "RedisReplicationGroup", "Port", 6380, Action.REPLACE),
    ("data", "RedisReplicationGroup", "AtRestEncryptionEnabled", False, Action.REPLACE),
    ("data", "RedisReplicationGroup", "ReplicationGroupId", "mv-other", Action.REPLACE),
    ("data", "RedisReplicationGroup", "CacheNodeType", "cache.t4g.medium", Action.MODIFY),
    ("data", "RedisReplicationGroup", "EngineVersion", "7.0", Action.MODIFY),
    ("data", "RedisReplicationGroup", "SnapshotRetentionLimit", 3, Action.MODIFY),
    (
        "data",
        "RedisReplicationGroup",
        "AuthToken",
        "{{resolve:secretsmanager:another/secret:SecretString:authToken}}",
        Action.REPLACE,
    ),
    (
        "data",
        "RedisReplicationGroup",
        "AuthToken",
        "{{resolve:secretsmanager:math-visuals/prod/redis/auth:SecretString:authToken::"
        "11111111-2222-3333-4444-555555555555}}",
        Action.MODIFY,
    ),
    ("data", "RedisPortParameter", "Value", "6380", Action.MODIFY),
    ("api", "ApiFunction", "FunctionName", "math-visuals-api-other", Action.REPLACE),
    ("api", "ApiFunction", "MemorySize", 512, Action.MODIFY),
    ("api", "ApiFunction", "Runtime", "python3.13", Action.MODIFY),
    ("api", "ApiFunctionLogGroup", "LogGroupName", "/aws/lambda/other", Action.REPLACE),
    ("api", "ApiFunctionLogGroup", "RetentionInDays", 90, Action.MODIFY),
    ("api", "ApiFunctionRole", "RoleName", "named-role", Action.REPLACE),
    ("api", "HttpApi", "ProtocolType", "WEBSOCKET", Action.REPLACE),
    ("api", "HttpApi", "Name", "other-http", Action.MODIFY),
    ("api", "ExamplesRoute", "RouteKey", "ANY /api/other", Action.MODIFY),
    ("api", "ApiStage", "StageName", "other", Action.REPLACE),
    ("api", "ApiStage", "AutoDeploy", False, Action.MODIFY),
    ("api", "AlarmTopic", "TopicName", "other-topic", Action.REPLACE),
]


@pytest.mark.parametrize(("role", "logical_id", "name", "value", "expected"), TABLE)
def test_property_changes_are_judged_like_aws(
    role: str, logical_id: str, name: str, value: Any, expected: Action
) -> None:
    verdict = verdict_of(role, with_property(role, logical_id, name, value), logical_id)
    assert verdict.action is expected, verdict
    assert name in {c.name for c in verdict.changes}


def _tagged() -> list[tuple[str, str]]:
    found = []
    for role in ("shared", "data", "api"):
        for logical_id, node in template(role)["Resources"].items():
            if "Tags" in node.get("Properties", {}):
                found.append((role, logical_id))
    return found


@pytest.mark.parametrize(("role", "logical_id"), _tagged())
def test_a_tag_only_change_is_never_a_replacement(role: str, logical_id: str) -> None:
    body = copy.deepcopy(template(role))
    tags = body["Resources"][logical_id]["Properties"]["Tags"]
    if isinstance(tags, dict):
        tags["owner"] = "someone-else"
    else:
        tags.append({"Key": "owner", "Value": "someone-else"})
    verdict = verdict_of(role, body, logical_id)
    assert verdict.action is Action.MODIFY
    assert [c.name for c in verdict.changes] == ["Tags"]


def test_a_replaced_resource_changes_what_refers_to_it() -> None:
    wanted = with_property("data", "PrivateSubnet1", "CidrBlock", "10.42.200.0/24")
    prediction = predict(
        live_of("data"), WantedStack(stack_name("data"), wanted, params("data")), world()
    )
    by_id = {v.logical_id: v for v in prediction.resources}
    assert by_id["PrivateSubnet1"].action is Action.REPLACE
    assert by_id["RedisSubnetGroup"].action is Action.MODIFY
    assert [c.name for c in by_id["RedisSubnetGroup"].changes] == ["SubnetIds"]
    subnet_export = next(e for e in prediction.exports if e.name.endswith("-PrivateSubnet1Id"))
    assert subnet_export.action is ExportAction.CHANGE


def test_a_stateful_replacement_is_refused_naming_property_and_both_values() -> None:
    wanted = with_property("data", "LambdaSecurityGroup", "GroupDescription", "new words")
    prediction = predict(
        live_of("data"), WantedStack(stack_name("data"), wanted, params("data")), world()
    )
    (line,) = prediction.refusals
    assert "LambdaSecurityGroup" in line and "GroupDescription" in line
    assert "'new words'" in line and "'Math Visuals API Lambda (prod)'" in line
    assert "mathvisuals adopt" in line


def test_a_renamed_logical_id_whose_old_resource_is_retained_collides() -> None:
    live_body = copy.deepcopy(template("data"))
    node = live_body["Resources"].pop("RedisEndpointParameter")
    node["DeletionPolicy"] = "Retain"
    live_body["Resources"]["RedisPrimaryEndpointParameter"] = node
    live = live_of("data", live_body)
    prediction = predict(
        live, WantedStack(stack_name("data"), template("data"), params("data")), world()
    )
    by_id = {v.logical_id: v for v in prediction.resources}
    assert by_id["RedisPrimaryEndpointParameter"].action is Action.RETAIN
    collided = by_id["RedisEndpointParameter"]
    assert collided.action is Action.COLLIDE and collided.refused
    assert "/math-visuals/prod/redis/endpoint" in collided.note


def test_a_new_route_with_a_live_route_key_collides() -> None:
    live_body = copy.deepcopy(template("api"))
    live_body["Resources"]["ApiRouteExamples"] = live_body["Resources"].pop("ExamplesRoute")
    prediction = predict(
        live_of("api", live_body),
        WantedStack(stack_name("api"), template("api"), params("api")),
        world(),
    )
    by_id = {v.logical_id: v for v in prediction.resources}
    assert by_id["ExamplesRoute"].action is Action.COLLIDE
    assert "ANY /api/examples" in by_id["ExamplesRoute"].note
    assert by_id["ApiRouteExamples"].action is Action.DELETE
    assert not by_id["ApiRouteExamples"].refused  # a route holds no state


def test_a_new_subnet_overlapping_a_live_one_collides() -> None:
    live_body = with_property("data", "PrivateSubnet1", "CidrBlock", "10.42.0.0/19")
    wanted = template("data")  # 10.42.1.0/24 lies inside 10.42.0.0/19
    prediction = predict(
        live_of("data", live_body), WantedStack(stack_name("data"), wanted, params("data")), world()
    )
    subnet = next(v for v in prediction.resources if v.logical_id == "PrivateSubnet1")
    # the replacement is created before the old subnet goes: its range overlaps the old one
    assert subnet.action is Action.REPLACE and subnet.refused
    assert "InvalidSubnet.Conflict" in subnet.fails


def test_a_removed_or_changed_export_that_something_imports_is_refused() -> None:
    data = CONFIG.stacks.data
    exports = {**live_of("data").exports, f"{data}-Gone": "x"}
    live = live_of("data", exports=exports)
    wanted = with_property("data", "PrivateSubnet1", "CidrBlock", "10.42.200.0/24")
    importers = dict.fromkeys(exports, (CONFIG.stacks.api,))
    prediction = predict(
        live, WantedStack(data, wanted, params("data")), world(importers=importers)
    )
    by_name = {e.name: e for e in prediction.exports}
    assert by_name[f"{data}-PrivateSubnet1Id"].action is ExportAction.CHANGE
    assert by_name[f"{data}-Gone"].action is ExportAction.REMOVE
    assert by_name[f"{data}-Gone"].refused
    assert any("Gone" in line and CONFIG.stacks.api in line for line in prediction.refusals)
    released = predict(
        live,
        WantedStack(data, template("data"), params("data")),
        world(importers=importers),
        releasing=[CONFIG.stacks.api],
    )
    assert [e for e in released.exports if e.refused] == []


def test_a_stateful_resource_dropped_without_retain_is_a_refused_delete() -> None:
    wanted = copy.deepcopy(template("data"))
    del wanted["Resources"]["RedisReaderEndpointParameter"]
    del wanted["Outputs"]["RedisReaderEndpoint"]
    prediction = predict(
        live_of("data"), WantedStack(stack_name("data"), wanted, params("data")), world()
    )
    dropped = next(
        v for v in prediction.resources if v.logical_id == "RedisReaderEndpointParameter"
    )
    assert dropped.action is Action.DELETE and dropped.refused


def test_a_name_taken_outside_any_stack_collides() -> None:
    taken = {("AWS::SNS::Topic", "math-visuals-api-alarms-prod"): "outside stacks"}
    prediction = predict(
        None, WantedStack(stack_name("api"), template("api"), params("api")), world(taken=taken)
    )
    topic = next(v for v in prediction.resources if v.logical_id == "AlarmTopic")
    assert topic.action is Action.COLLIDE
    assert {v.action for v in prediction.resources if v.logical_id != "AlarmTopic"} == {
        Action.CREATE
    }
