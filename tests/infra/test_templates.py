"""The three CloudFormation templates: lint-clean, in step with the config, and shaped by deploy.md §5."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from cfnlint.decode import decode_str

from mathvisuals.deploy.config import EnvironmentConfig, load_config
from mathvisuals.deploy.parameters import SNAPSTART_ALIAS, STACK_ROLES, Live, stack_parameters

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("prod", "local")

# api.md §2.4, plus /api/health and the OpenAPI document.
ROUTE_KEYS = {
    "GET /api/openapi.json",
    "ANY /api/examples",
    "ANY /api/examples/{proxy+}",
    "ANY /api/svg",
    "ANY /api/svg/{proxy+}",
    "ANY /api/figure-library",
    "ANY /api/figure-library/{proxy+}",
    "ANY /api/settings",
    "ANY /api/health",
    "ANY /svg",
    "ANY /svg/{proxy+}",
    "ANY /bildearkiv",
    "ANY /bildearkiv/{proxy+}",
    "ANY /figure-library",
    "ANY /figure-library/{proxy+}",
}

# deploy.md §5.8: metric → (filter pattern, alarm threshold), namespace MathVisuals/Api.
METRIC_FILTERS = {
    "RedisErrors": ('{ $.event = "redis.error" }', 1),
    "RedisAuthErrors": (
        '{ $.event = "redis.error" && ($.error_class = "WRONGPASS" || $.error_class = "NOAUTH") }',
        1,
    ),
    "MemoryModeStarts": ('{ $.event = "store.ready" && $.mode = "memory" }', 1),
    "Http5xx": ('{ $.event = "http.access" && $.status >= 500 }', 5),
}

AUTH_REFERENCE = (
    "{{resolve:secretsmanager:${RedisAuthSecretName}:SecretString:authToken"
    "::${RedisAuthSecretVersionId}}}"
)

# Resource types whose creation needs CAPABILITY_NAMED_IAM when given an explicit name.
NAMED_IAM = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
}


def _path(role: str) -> Path:
    return ROOT / "infra" / role / "template.yaml"


@functools.cache
def _text(role: str) -> str:
    return _path(role).read_text(encoding="utf-8")


@functools.cache
def _template(role: str) -> dict[str, Any]:
    body, matches = decode_str(_text(role))
    assert matches == [], [str(m) for m in matches]
    assert isinstance(body, dict)
    return body


@functools.cache
def _config(env: str) -> EnvironmentConfig:
    return load_config(ROOT / "infra" / "environments" / f"{env}.toml")


def _resources(role: str, type_: str | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = _template(role)["Resources"]
    return {k: v for k, v in resources.items() if type_ is None or v["Type"] == type_}


def _props(role: str, logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = _template(role)["Resources"][logical_id]["Properties"]
    return props


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _intrinsic_calls(node: object, name: str) -> Iterator[object]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == name:
                yield value
            yield from _intrinsic_calls(value, name)
    elif isinstance(node, list):
        for item in node:
            yield from _intrinsic_calls(item, name)


def _import(export_key_template: str) -> dict[str, Any]:
    return {"Fn::ImportValue": {"Fn::Sub": export_key_template}}


# Every template ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STACK_ROLES)
def test_cfn_lint_reports_nothing(role: str) -> None:
    regions = sorted({_config(env).env.region for env in ENVIRONMENTS})
    matches = lint(_text(role), config=ManualArgs(regions=regions))
    assert [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches] == []


@pytest.mark.parametrize("role", STACK_ROLES)
def test_plain_cloudformation_with_a_description(role: str) -> None:
    template = _template(role)
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    assert template["Description"].strip()
    assert "Transform" not in template
    assert not any(t.startswith("AWS::Serverless::") for t in _types(role))


def _types(role: str) -> set[str]:
    return {str(r["Type"]) for r in _resources(role).values()}


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("role", STACK_ROLES)
def test_parameters_are_exactly_what_the_orchestrator_passes(env: str, role: str) -> None:
    declared = set(_template(role)["Parameters"])
    assert declared == stack_parameters(_config(env), role).keys()


LIVE = Live(
    secret_version_id="a1b2c3d4-5678-90ab-cdef-1234567890ab",
    endpoint_version=3,
    port_version=2,
    artifact_key="api/" + "ab" * 32 + ".zip",
    artifact_version="3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY",
    redis_ca_file="/var/task/ca.crt",
)


@pytest.mark.parametrize("live", [Live(), LIVE], ids=["placeholders", "live"])
@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("role", STACK_ROLES)
def test_passed_values_satisfy_the_parameter_constraints(env: str, role: str, live: Live) -> None:
    declared = _template(role)["Parameters"]
    for name, value in stack_parameters(_config(env), role, live).items():
        spec = declared[name]
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), (name, value)
        if "AllowedValues" in spec:
            assert value in {str(v) for v in spec["AllowedValues"]}, (name, value)
        if spec["Type"] == "Number":
            number = float(value)
            assert float(spec.get("MinValue", number)) <= number, (name, value)
            assert number <= float(spec.get("MaxValue", number)), (name, value)


@pytest.mark.parametrize("role", STACK_ROLES)
def test_dynamic_references_are_few_and_never_split_or_defaulted(role: str) -> None:
    template = _template(role)
    assert sum(s.count("{{resolve:") for s in _strings(template)) <= 60
    for spec in template.get("Parameters", {}).values():
        assert "{{resolve:" not in str(spec.get("Default", ""))
    for name in ("Fn::Split", "Fn::Select"):
        for args in _intrinsic_calls(template, name):
            assert "{{resolve:" not in json.dumps(args), (name, args)


@pytest.mark.parametrize("role", STACK_ROLES)
def test_no_secret_is_a_resource_or_a_parameter(role: str) -> None:
    # The orchestrator owns the one secret (B1, B4); tokens never travel as parameters (R4).
    assert not any(t.startswith("AWS::SecretsManager::") for t in _types(role))
    for name, spec in _template(role)["Parameters"].items():
        assert not re.search(r"token|password", name, re.IGNORECASE) or name.endswith("Name"), name
        assert "NoEcho" not in spec, name


@pytest.mark.parametrize("role", STACK_ROLES)
def test_only_capability_iam_is_needed(role: str) -> None:
    for resource in _resources(role).values():
        assert NAMED_IAM.get(resource["Type"], "-") not in resource.get("Properties", {})


# Shared stack (deploy.md §5.4) ---------------------------------------------------------------

SHARED_EXPORTS = {
    "RedisAuthSecretName": "math-visuals/${EnvironmentName}/redis/auth",
    "RedisEndpointParameterName": "/math-visuals/${EnvironmentName}/redis/endpoint",
    "RedisPortParameterName": "/math-visuals/${EnvironmentName}/redis/port",
    "RedisReaderEndpointParameterName": "/math-visuals/${EnvironmentName}/redis/reader-endpoint",
    "ExamplesAllowedOriginsParameterName": (
        "/math-visuals/${EnvironmentName}/config/examples-allowed-origins"
    ),
    "SvgAllowedOriginsParameterName": "/math-visuals/${EnvironmentName}/config/svg-allowed-origins",
}


def test_shared_stack_creates_only_its_version_parameter() -> None:
    resources = _resources("shared")
    assert [r["Type"] for r in resources.values()] == ["AWS::SSM::Parameter"]
    (resource,) = resources.values()
    assert resource["Properties"]["Name"] == {
        "Fn::Sub": "/math-visuals/${EnvironmentName}/stack/shared/version"
    }


def test_shared_stack_exports_the_canonical_names() -> None:
    outputs = _template("shared")["Outputs"]
    assert set(outputs) == set(SHARED_EXPORTS)
    for key, value in SHARED_EXPORTS.items():
        assert outputs[key]["Value"] == {"Fn::Sub": value}
        assert outputs[key]["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{key}"}


def test_shared_names_match_the_config_derivations() -> None:
    config = _config("prod")
    expected = {
        "RedisAuthSecretName": config.redis.auth_secret_name,
        "RedisEndpointParameterName": config.ssm_name("endpoint"),
        "RedisPortParameterName": config.ssm_name("port"),
        "RedisReaderEndpointParameterName": config.ssm_name("reader-endpoint"),
        "ExamplesAllowedOriginsParameterName": config.ssm_name("examples-origins"),
        "SvgAllowedOriginsParameterName": config.ssm_name("svg-origins"),
    }
    for key, value in SHARED_EXPORTS.items():
        assert value.replace("${EnvironmentName}", config.name) == expected[key]


# Data stack (deploy.md §5.5) -----------------------------------------------------------------

DATA_EXPORTS = (
    "VpcId",
    "PrivateSubnet1Id",
    "PrivateSubnet2Id",
    "LambdaSecurityGroupId",
    "RedisSecurityGroupId",
    "RedisPrimaryEndpoint",
    "RedisReaderEndpoint",
    "RedisPort",
)
STATEFUL = ("RedisReplicationGroup", "Vpc", "PrivateSubnet1", "PrivateSubnet2")


def test_data_stack_keeps_the_stateful_logical_ids_and_names() -> None:
    resources = _resources("data")
    expected_types = {
        "Vpc": "AWS::EC2::VPC",
        "PrivateSubnet1": "AWS::EC2::Subnet",
        "PrivateSubnet2": "AWS::EC2::Subnet",
        "LambdaSecurityGroup": "AWS::EC2::SecurityGroup",
        "RedisSecurityGroup": "AWS::EC2::SecurityGroup",
        "RedisSubnetGroup": "AWS::ElastiCache::SubnetGroup",
        "RedisReplicationGroup": "AWS::ElastiCache::ReplicationGroup",
    }
    for logical_id, type_ in expected_types.items():
        assert resources[logical_id]["Type"] == type_
    assert _props("data", "RedisSubnetGroup")["CacheSubnetGroupName"] == {
        "Fn::Sub": "math-visuals-${EnvironmentName}-redis-subnets"
    }
    assert _props("data", "RedisReplicationGroup")["ReplicationGroupId"] == {
        "Fn::Sub": "mv-${EnvironmentName}-redis"
    }
    config = _config("prod")
    assert config.redis.replication_group_id == f"mv-{config.name}-redis"
    assert config.subnet_group_name == f"math-visuals-{config.name}-redis-subnets"


def test_subnets_are_in_two_availability_zones() -> None:
    zones = [_props("data", f"PrivateSubnet{n}")["AvailabilityZone"] for n in (1, 2)]
    assert zones == [
        {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        {"Fn::Select": [1, {"Fn::GetAZs": ""}]},
    ]


def test_replication_group_has_tls_auth_and_a_final_snapshot() -> None:
    group = _resources("data")["RedisReplicationGroup"]
    props = group["Properties"]
    assert group["DeletionPolicy"] == "Snapshot"
    assert group["UpdateReplacePolicy"] == "Snapshot"
    assert props["Engine"] == "redis"
    assert props["TransitEncryptionEnabled"] is True
    assert props["AuthToken"] == {"Fn::Sub": AUTH_REFERENCE}
    assert props["Port"] == 6379
    assert props["NumNodeGroups"] == 1
    assert props["ReplicasPerNodeGroup"] == {"Ref": "RedisReplicasPerNodeGroup"}
    assert props["SnapshotRetentionLimit"] == {"Ref": "RedisSnapshotRetentionDays"}
    assert props["PreferredMaintenanceWindow"] == {"Ref": "RedisMaintenanceWindow"}
    flags = {
        "AtRestEncryptionEnabled": "RedisAtRestEncryption",
        "AutomaticFailoverEnabled": "RedisAutomaticFailover",
        "MultiAZEnabled": "RedisMultiAz",
    }
    conditions = _template("data")["Conditions"]
    for prop, parameter in flags.items():
        condition, when_true, when_false = props[prop]["Fn::If"]
        assert conditions[condition] == {"Fn::Equals": [{"Ref": parameter}, "true"]}
        assert (when_true, when_false) == (True, False)


def test_replicas_cannot_be_zero() -> None:
    spec = _template("data")["Parameters"]["RedisReplicasPerNodeGroup"]
    assert spec["Type"] == "Number"
    assert spec["MinValue"] == 1


def test_redis_ingress_from_the_lambda_group_is_inline() -> None:
    assert "AWS::EC2::SecurityGroupIngress" not in _types("data")
    (rule,) = _props("data", "RedisSecurityGroup")["SecurityGroupIngress"]
    assert rule["IpProtocol"] == "tcp"
    assert (rule["FromPort"], rule["ToPort"]) == (6379, 6379)
    assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": ["LambdaSecurityGroup", "GroupId"]}


def test_data_stack_owns_the_redis_parameters_named_by_the_shared_stack() -> None:
    parameters = _resources("data", "AWS::SSM::Parameter")
    by_export = {
        str(r["Properties"]["Name"]["Fn::ImportValue"]["Fn::Sub"]): r for r in parameters.values()
    }
    expected = {
        "${SharedStackName}-RedisEndpointParameterName": "PrimaryEndPoint.Address",
        "${SharedStackName}-RedisPortParameterName": "PrimaryEndPoint.Port",
        "${SharedStackName}-RedisReaderEndpointParameterName": "ReaderEndPoint.Address",  # B16
    }
    assert set(by_export) == set(expected)
    for export, attribute in expected.items():
        resource = by_export[export]
        assert resource["DeletionPolicy"] == "Delete"
        assert resource["Properties"]["Type"] == "String"
        assert resource["Properties"]["Value"] == {
            "Fn::GetAtt": ["RedisReplicationGroup", attribute]
        }


def test_data_stack_exports() -> None:
    outputs = _template("data")["Outputs"]
    assert set(outputs) == set(DATA_EXPORTS)
    for key in DATA_EXPORTS:
        assert outputs[key]["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{key}"}


def test_stack_policy_protects_the_stateful_resources() -> None:
    policy = json.loads((ROOT / "infra" / "data" / "stack-policy.json").read_text("utf-8"))
    statements = policy["Statement"]
    assert {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"} in (
        statements
    )
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert sorted(deny["Action"]) == ["Update:Delete", "Update:Replace"]
    assert deny["Principal"] == "*"
    assert sorted(deny["Resource"]) == sorted(f"LogicalResourceId/{i}" for i in STATEFUL)
    assert set(STATEFUL) <= set(_resources("data"))


# API stack (deploy.md §5.8) ------------------------------------------------------------------


def test_api_function() -> None:
    function = _resources("api")["ApiFunction"]
    props = function["Properties"]
    assert function["DependsOn"] == "ApiFunctionLogGroup"
    assert props["FunctionName"] == {"Ref": "FunctionName"}
    assert props["Runtime"] == "python3.12"
    assert props["Handler"] == "mathvisuals.api.lambda_handler.handler"
    assert props["TracingConfig"] == {"Mode": "PassThrough"}
    assert props["Code"]["S3ObjectVersion"] == {
        "Fn::If": [
            "HasArtifactObjectVersion",
            {"Ref": "ArtifactObjectVersion"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert props["VpcConfig"] == {
        "SubnetIds": [
            _import("${DataStackName}-PrivateSubnet1Id"),
            _import("${DataStackName}-PrivateSubnet2Id"),
        ],
        "SecurityGroupIds": [_import("${DataStackName}-LambdaSecurityGroupId")],
    }
    log_group = _props("api", "ApiFunctionLogGroup")
    assert log_group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${FunctionName}"}
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_api_function_environment() -> None:
    variables = _props("api", "ApiFunction")["Environment"]["Variables"]
    origins = {"Fn::Join": [",", {"Ref": "AllowedOrigins"}]}
    assert variables == {
        "REDIS_ENDPOINT": {
            "Fn::Sub": "{{resolve:ssm:/math-visuals/${EnvironmentName}/redis/endpoint"
            ":${RedisEndpointParameterVersion}}}"
        },
        "REDIS_PORT": {
            "Fn::Sub": "{{resolve:ssm:/math-visuals/${EnvironmentName}/redis/port"
            ":${RedisPortParameterVersion}}}"
        },
        "REDIS_PASSWORD": {"Fn::Sub": AUTH_REFERENCE},
        "REDIS_TLS": "true",
        # deploy.md §5.8: only the local profile sets it; in AWS the variable is absent.
        "REDIS_TLS_CA_FILE": {
            "Fn::If": ["HasRedisTlsCaFile", {"Ref": "RedisTlsCaFile"}, {"Ref": "AWS::NoValue"}]
        },
        "MATHVISUALS_REQUIRE_KV": "true",
        "EXAMPLES_ALLOWED_ORIGINS": origins,
        "SVG_ALLOWED_ORIGINS": origins,
        "CONFIG_VERSION": {"Ref": "ConfigVersion"},
        "FUNCTION_REVISION": {
            "Fn::If": ["SnapStartEnabled", {"Ref": "FunctionRevision"}, {"Ref": "AWS::NoValue"}]
        },
    }


def test_optional_parameters_default_to_empty() -> None:
    parameters = _template("api")["Parameters"]
    for name in ("ArtifactObjectVersion", "RedisTlsCaFile"):
        assert parameters[name]["Default"] == ""
    conditions = _template("api")["Conditions"]
    assert conditions["HasArtifactObjectVersion"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ArtifactObjectVersion"}, ""]}]
    }
    assert conditions["HasRedisTlsCaFile"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "RedisTlsCaFile"}, ""]}]
    }


def test_snapstart_is_off_unless_asked_and_then_the_gateway_invokes_the_alias() -> None:
    body = _template("api")
    assert body["Parameters"]["SnapStart"]["Default"] == "false"
    assert body["Conditions"]["SnapStartEnabled"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "true"]}
    resources = body["Resources"]
    off_or_on = ["SnapStartEnabled"]
    assert resources["ApiFunction"]["Properties"]["SnapStart"] == {
        "Fn::If": [*off_or_on, {"ApplyOn": "PublishedVersions"}, {"Ref": "AWS::NoValue"}]
    }
    version, alias = resources["ApiFunctionVersion"], resources["ApiFunctionAlias"]
    assert version["Condition"] == alias["Condition"] == "SnapStartEnabled"
    # Description is create-only: a new revision publishes (and snapshots) a new version.
    assert version["Properties"] == {
        "FunctionName": {"Ref": "ApiFunction"},
        "Description": {"Fn::Sub": "mathvisuals revision ${FunctionRevision}"},
    }
    assert alias["Properties"]["Name"] == SNAPSTART_ALIAS  # what verify and status read
    assert alias["Properties"]["FunctionVersion"] == {
        "Fn::GetAtt": ["ApiFunctionVersion", "Version"]
    }
    assert resources["ApiIntegration"]["Properties"]["IntegrationUri"] == {
        "Fn::If": [*off_or_on, {"Ref": "ApiFunctionAlias"}, {"Fn::GetAtt": ["ApiFunction", "Arn"]}]
    }
    assert resources["ApiInvokePermission"]["Properties"]["FunctionName"] == {
        "Fn::If": [*off_or_on, {"Ref": "ApiFunctionAlias"}, {"Ref": "ApiFunction"}]
    }


def test_function_revision_changes_with_every_other_parameter() -> None:
    config = _config("prod")
    base = stack_parameters(config, "api")
    assert base["SnapStart"] == "false"
    on = stack_parameters(
        config.model_copy(update={"api": config.api.model_copy(update={"snapstart": True})}), "api"
    )
    assert on["SnapStart"] == "true" and on["FunctionRevision"] != base["FunctionRevision"]
    moved = stack_parameters(config, "api", dataclasses.replace(Live(), artifact_key="api/x.zip"))
    assert moved["FunctionRevision"] != base["FunctionRevision"]
    assert stack_parameters(config, "api")["FunctionRevision"] == base["FunctionRevision"]


def test_allowed_origins_is_a_real_list() -> None:
    # A CommaDelimitedList gives the gateway one origin per element; !Split over a dynamic
    # reference gave one comma-joined origin (B10).
    assert _template("api")["Parameters"]["AllowedOrigins"]["Type"] == "CommaDelimitedList"
    cors = _props("api", "HttpApi")["CorsConfiguration"]
    assert cors["AllowOrigins"] == {"Ref": "AllowedOrigins"}
    assert cors["AllowCredentials"] == {"Fn::If": ["AllowCredentialsEnabled", True, False]}
    assert cors["AllowHeaders"] == ["Content-Type"]
    assert cors["AllowMethods"] == ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    assert set(cors["ExposeHeaders"]) == {
        "X-Examples-Store-Mode",
        "X-Svg-Store-Mode",
        "X-Figure-Library-Store-Mode",
    }


def test_every_forwarded_route_targets_the_proxy_integration() -> None:
    routes = _resources("api", "AWS::ApiGatewayV2::Route").values()
    keys = [str(r["Properties"]["RouteKey"]) for r in routes]
    assert sorted(keys) == sorted(ROUTE_KEYS)
    for route in routes:
        assert route["Properties"]["ApiId"] == {"Ref": "HttpApi"}
        assert route["Properties"]["Target"] == {"Fn::Sub": "integrations/${ApiIntegration}"}
    (integration,) = _resources("api", "AWS::ApiGatewayV2::Integration").values()
    assert integration["Properties"]["IntegrationType"] == "AWS_PROXY"
    assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
    uri = integration["Properties"]["IntegrationUri"]["Fn::If"]  # the alias under SnapStart
    assert uri[2] == {"Fn::GetAtt": ["ApiFunction", "Arn"]}


def test_stage_auto_deploys_with_separate_access_logs() -> None:
    stage = _props("api", "ApiStage")
    assert stage["StageName"] == {"Ref": "StageName"}
    assert stage["AutoDeploy"] is True
    assert stage["AccessLogSettings"]["DestinationArn"] == {
        "Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]
    }
    assert _props("api", "ApiAccessLogGroup")["LogGroupName"] != {
        "Fn::Sub": "/aws/lambda/${FunctionName}"
    }
    (permission,) = _resources("api", "AWS::Lambda::Permission").values()
    assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"


def test_metric_filters_match_the_json_events() -> None:
    filters = _resources("api", "AWS::Logs::MetricFilter").values()
    found = {}
    for metric_filter in filters:
        props = metric_filter["Properties"]
        assert props["LogGroupName"] == {"Ref": "ApiFunctionLogGroup"}
        (transformation,) = props["MetricTransformations"]
        assert transformation["MetricNamespace"] == "MathVisuals/Api"
        assert "Dimensions" not in transformation  # B27
        found[str(transformation["MetricName"])] = str(props["FilterPattern"])
    assert found == {metric: pattern for metric, (pattern, _) in METRIC_FILTERS.items()}


def test_each_metric_has_an_alarm_on_the_topic() -> None:
    topic = _props("api", "AlarmTopic")
    assert topic["TopicName"] == {"Fn::Sub": "math-visuals-api-alarms-${StageName}"}
    assert "Subscription" not in topic
    assert _resources("api", "AWS::SNS::Subscription") == {}
    thresholds = {}
    for alarm in _resources("api", "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        assert props["Namespace"] == "MathVisuals/Api"
        assert "Dimensions" not in props  # B27
        assert props["Statistic"] == "Sum"
        assert props["Period"] == 300
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["TreatMissingData"] == "notBreaching"
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        thresholds[str(props["MetricName"])] = props["Threshold"]
    assert thresholds == {metric: threshold for metric, (_, threshold) in METRIC_FILTERS.items()}


def test_api_outputs() -> None:
    outputs = _template("api")["Outputs"]
    assert set(outputs) == {
        "ApiEndpoint",
        "ApiFunctionName",
        "ApiFunctionArn",
        "ApiFunctionLogGroupName",
        "ApiAccessLogGroupName",
        "AlarmTopicArn",
        "ApiFunctionAliasArn",
    }
    assert outputs["ApiFunctionAliasArn"]["Condition"] == "SnapStartEnabled"
    assert str(outputs["ApiEndpoint"]["Value"]["Fn::Sub"]).endswith("/${ApiStage}")


def test_api_role_has_only_the_vpc_access_policy() -> None:
    (role,) = _resources("api", "AWS::IAM::Role").values()
    props = role["Properties"]
    assert props["ManagedPolicyArns"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
            "AWSLambdaVPCAccessExecutionRole"
        }
    ]
    assert "Policies" not in props
    assert _props("api", "ApiFunction")["Role"] == {"Fn::GetAtt": [_role_id(), "Arn"]}


def _role_id() -> str:
    (logical_id,) = _resources("api", "AWS::IAM::Role")
    return str(logical_id)


def test_every_readme_route_reaches_the_function_through_the_gateway() -> None:
    """Each path of the README's route table matches a route key (exact, or under {proxy+})."""
    routes = _resources("api", "AWS::ApiGatewayV2::Route").values()
    keys = [str(r["Properties"]["RouteKey"]).split(" ", 1)[1] for r in routes]
    table = (ROOT / "README.md").read_text().split("## Routes", 1)[1].split("\n\n", 2)[1]
    paths = [p.replace("<slug>", "x") for p in re.findall(r"`(/[^`]+)`", table)]
    assert "/api/openapi.json" in paths and len(paths) >= 10

    def routed(path: str) -> bool:
        return any(
            path == key or (key.endswith("/{proxy+}") and path.startswith(key[: -len("{proxy+}")]))
            for key in keys
        )

    assert [path for path in paths if not routed(path)] == []
