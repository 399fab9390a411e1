"""The takeover of upstream's three stacks, planned offline on AWS-shaped live state.

The live side is the upstream-shaped fixture (tests/deploy/takeover/upstream/) with physical ids
as AWS would report them; the predictions must hold without any emulator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str

from mathvisuals.deploy.config import load_config
from mathvisuals.deploy.parameters import stack_parameters
from mathvisuals.deploy.takeover.adopt import StackAdoption, serialise
from mathvisuals.deploy.takeover.model import Action, LiveResource, LiveStack, World
from mathvisuals.deploy.takeover.phases import imports_of
from mathvisuals.deploy.takeover.plan import Ours, TakeoverPlan, build
from mathvisuals.deploy.takeover.predict import build_scope, outputs

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = Path(__file__).with_name("upstream")
CONFIG = load_config(ROOT / "infra/environments/prod.toml")
ROLES = ("shared", "data", "api")
REGION = "eu-west-1"
FUNCTION = "math-visuals-api-ApiFunction-9XK2L0QH1ZRT"
UPSTREAM_PARAMETERS = {
    "shared": {"EnvironmentName": "prod"},
    "data": {
        "EnvironmentName": "prod",
        "SharedParametersStackName": "math-visuals-shared",
        "RedisAuthToken": "****",  # NoEcho: DescribeStacks masks it, as AWS does
    },
    "api": {
        "StageName": "prod",
        "DataStackName": "math-visuals-data",
        "SharedParametersStackName": "math-visuals-shared",
    },
}


def decode(path: Path) -> dict[str, Any]:
    body, _ = decode_str(path.read_text())
    assert isinstance(body, dict)
    return body


def stack_of(role: str) -> str:
    return str(getattr(CONFIG.stacks, role))


def physical_id(logical_id: str, type_name: str) -> str:
    """Ids in the shapes AWS gives them."""
    if logical_id == "ApiFunction":
        return FUNCTION
    prefixes = {
        "AWS::EC2::VPC": "vpc-0a1b2c3d4e5f60718",
        "AWS::EC2::Subnet": f"subnet-0{abs(hash(logical_id)) % 10**16:016d}",
        "AWS::EC2::SecurityGroup": f"sg-0{abs(hash(logical_id)) % 10**16:016d}",
        "AWS::ApiGatewayV2::Api": "a1b2c3d4e5",
    }
    return prefixes.get(type_name, f"{logical_id}-{abs(hash(logical_id)) % 10**6}")


def upstream_live() -> tuple[dict[str, LiveStack | None], World]:
    exports: dict[str, str] = {}
    importers: dict[str, list[str]] = {}
    live: dict[str, LiveStack | None] = {}
    for role in ROLES:
        body = decode(FIXTURE / f"{role}.yaml")
        types = {k: v["Type"] for k, v in body["Resources"].items()}
        physical = {k: physical_id(k, t) for k, t in types.items()}
        world = World(REGION, "123456789012", exports=dict(exports))
        scope = build_scope(body, UPSTREAM_PARAMETERS[role], stack_of(role), world, physical, types)
        exported = {
            k: v if isinstance(v, str) else f"resolved-{k.rsplit('-', 1)[-1]}"
            for k, v in outputs(body, scope).items()
        }
        for name in imports_of(body, scope):
            importers.setdefault(name, []).append(stack_of(role))
        exports.update(exported)
        resources = {k: LiveResource(k, t, physical[k]) for k, t in types.items()}
        live[stack_of(role)] = LiveStack(
            stack_of(role), body, UPSTREAM_PARAMETERS[role], resources, exported
        )
    world = World(
        REGION,
        "123456789012",
        exports=exports,
        importers={k: tuple(v) for k, v in importers.items()},
    )
    return live, world


def ours(config_overrides: dict[str, Any] | None = None) -> list[Ours]:
    config = CONFIG.model_copy(update=config_overrides or {})
    return [
        Ours(r, stack_of(r), decode(ROOT / f"infra/{r}/template.yaml"), stack_parameters(config, r))
        for r in ROLES
    ]


@pytest.fixture(scope="module")
def takeover() -> TakeoverPlan:
    live, world = upstream_live()
    return build(ours(), live, world)


def test_the_upstream_field_is_taken_over_with_no_refusal(takeover: TakeoverPlan) -> None:
    assert takeover.refusals == []
    for step in takeover.steps:
        for verdict in step.prediction.resources:
            if verdict.stateful:
                assert verdict.action in (Action.KEEP, Action.MODIFY, Action.RETAIN, Action.CREATE)
            assert verdict.action not in (Action.REPLACE, Action.COLLIDE, Action.TYPE_CHANGE)


def test_without_adoption_the_plan_names_what_would_break() -> None:
    live, world = upstream_live()
    empty = {role: StackAdoption() for role in ROLES}
    refusals = "\n".join(build(ours(), live, world, adoptions=empty).refusals)
    # takeover.md §2: the very first change set fails on the version parameter's name
    assert "SharedVersionParameter" in refusals and "/stack/shared/version" in refusals
    assert "PrivateSubnet1" in refusals and "InvalidSubnet.Conflict" in refusals
    assert "LambdaSecurityGroup" in refusals and "GroupDescription" in refusals
    assert "RedisEndpointParameter" in refusals  # renamed while the Retained one holds the name
    assert "ANY /api/examples" in refusals  # a new route with a live route key
    assert "ApiFunctionLogGroup" in refusals  # the function's logs would be replaced


def test_stateful_identities_keep_upstreams_logical_ids(takeover: TakeoverPlan) -> None:
    data = takeover.adoptions["data"].resources
    assert data["RedisPrimaryEndpointParameter"].ours == "RedisEndpointParameter"
    assert data["PrivateSubnet1"].properties == {"CidrBlock": "10.42.0.0/19"}
    assert data["PrivateSubnet2"].properties == {"CidrBlock": "10.42.32.0/19"}
    assert data["LambdaSecurityGroup"].properties["GroupDescription"].startswith("Allows Lambda")
    assert data["RedisPrimaryEndpointParameter"].deletion_policy == "Retain"
    api = takeover.adoptions["api"].resources
    assert api["HttpApiStage"].ours == "ApiStage"
    assert api["ApiRouteExamples"].ours == "ExamplesRoute"
    assert "FunctionName" in api["ApiFunction"].unset  # generated name: never set it
    shared = takeover.adoptions["shared"].resources
    assert shared["SharedStackVersionParameter"].ours == "SharedVersionParameter"


def test_the_public_endpoint_and_the_data_plane_stay_the_same_resources(
    takeover: TakeoverPlan,
) -> None:
    kept = {}
    for step in takeover.steps:
        for verdict in step.prediction.resources:
            kept[(step.phase.stack, verdict.logical_id)] = verdict.action
    for logical_id in ("HttpApi", "HttpApiStage", "ApiFunction", "ApiFunctionLogGroup"):
        assert kept[("math-visuals-api", logical_id)] in (Action.KEEP, Action.MODIFY)
    for logical_id in ("Vpc", "PrivateSubnet1", "PrivateSubnet2", "RedisReplicationGroup"):
        assert kept[("math-visuals-data", logical_id)] in (Action.KEEP, Action.MODIFY)


def test_exports_still_imported_are_carried_then_dropped(takeover: TakeoverPlan) -> None:
    phases = [(s.phase.stack, s.phase.final, sorted(s.phase.carried)) for s in takeover.steps]
    assert [p[:2] for p in phases] == [
        ("math-visuals-shared", False),
        ("math-visuals-data", False),
        ("math-visuals-api", True),
        ("math-visuals-shared", True),
        ("math-visuals-data", True),
    ]
    shared_first = phases[0][2]
    assert "math-visuals-shared-ExamplesAllowedOriginsParameterName" in shared_first
    data_first = phases[1][2]
    assert "math-visuals-data-RedisPasswordSecretName" in data_first
    assert phases[3][2] == [] and phases[4][2] == []
    first = takeover.steps[1].template["Outputs"]
    carried = [
        o
        for o in first.values()
        if o["Export"]["Name"] == "math-visuals-data-RedisPasswordSecretName"
    ]
    _, world = upstream_live()
    live_value = world.exports["math-visuals-data-RedisPasswordSecretName"]
    assert carried[0]["Value"] == live_value  # the live value, literally


def test_the_recorded_adoption_renders_the_same_templates(takeover: TakeoverPlan) -> None:
    recorded = {
        role: StackAdoption.from_mapping(json.loads(json.dumps(a.to_mapping())))
        for role, a in takeover.adoptions.items()
    }
    live, world = upstream_live()
    again = build(ours(), live, world, adoptions=recorded)
    assert [serialise(s.template) for s in again.steps] == [
        serialise(s.template) for s in takeover.steps
    ]
    assert again.refusals == []


def test_after_the_takeover_a_second_plan_changes_nothing(takeover: TakeoverPlan) -> None:
    live, _ = upstream_live()
    after: dict[str, LiveStack | None] = {}
    exports: dict[str, str] = {}
    for role in ROLES:
        step = takeover.step_for(role, final=True)
        assert step is not None
        before = live[stack_of(role)]
        assert before is not None
        types = {k: v["Type"] for k, v in step.template["Resources"].items()}
        physical = {
            k: before.resources[k].physical_id if k in before.resources else physical_id(k, t)
            for k, t in types.items()
        }
        params = stack_parameters(CONFIG, role)
        scope = build_scope(
            step.template,
            params,
            stack_of(role),
            World(REGION, "1", exports=exports),
            physical,
            types,
        )
        exported = {k: str(v) for k, v in outputs(step.template, scope).items()}
        exports.update(exported)
        after[stack_of(role)] = LiveStack(
            stack_of(role),
            step.template,
            params,
            {k: LiveResource(k, t, physical[k]) for k, t in types.items()},
            exported,
        )
    world_after = World(REGION, "123456789012", exports=exports)
    second = build(ours(), after, world_after, adoptions=takeover.adoptions)
    assert second.refusals == []
    for step in second.steps:
        assert {v.action for v in step.prediction.resources} == {Action.KEEP}, step.phase.stack
    assert all(s.phase.final and not s.phase.carried for s in second.steps)
