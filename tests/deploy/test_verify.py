"""``verify`` (V1–V8) over in-memory gateways, with the V5 Lambda answered in memory."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from mathvisuals.api.lambda_handler import LambdaApp, build_handler, strip_stage
from mathvisuals.deploy.config import EnvironmentConfig, load_config
from mathvisuals.deploy.errors import DeploymentFailedError
from mathvisuals.deploy.gateway import (
    FunctionInfo,
    Gateways,
    ParameterInfo,
    ReplicationGroupInfo,
    SecretValue,
    SubscriptionInfo,
)
from mathvisuals.deploy.model import StackState
from mathvisuals.deploy.parameters import Live, config_version
from mathvisuals.deploy.profile import AWS, LOCAL
from mathvisuals.deploy.verify import HttpGet, VerifyReport, http_event, verify
from mathvisuals.logs import EventLog, MemorySink
from mathvisuals.settings import Settings
from tests.deploy.fakes import (
    FakeCache,
    FakeCloudFormation,
    FakeFunctions,
    FakeLogs,
    FakeMonitoring,
    FakeNetwork,
    FakeParameters,
    FakeSecrets,
    fake_gateways,
)

TOKEN = "Verify-Token-0123456789-abcdefghijklmnopqrstuvwxyz-XYZ"
OTHER_TOKEN = "Other-Token-9876543210-zyxwvutsrqponmlkjihgfedcba-QRS"
ENDPOINT = "master.mv-test-redis.abc123.eun1.cache.amazonaws.com"
READER = "replica.mv-test-redis.abc123.eun1.cache.amazonaws.com"
PORT = "6379"
API_URL = "https://a1b2c3.execute-api.eu-north-1.amazonaws.com/stage"
CODE_SHA = "q83vEjRWeJA="
LAST_MODIFIED = "2026-01-01T10:00:00.000+0000"
READY = {"event": "store.ready", "ts": "t", "level": "info", "mode": "kv", "version": "1"}
TOPIC = "arn:aws:sns:eu-north-1:0:alarms"


@pytest.fixture
def config() -> EnvironmentConfig:
    return load_config(Path("infra/environments/local.toml"))


class KvFunctions(FakeFunctions):
    """Answers V5's events as a kv-mode Lambda would, from a dict (or wrongly, when told)."""

    def __init__(self, mode: str = "kv", reachable: bool = True, header: bool = True) -> None:
        super().__init__()
        self.mode, self.reachable, self.header = mode, reachable, header
        self.entries: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.targets: set[str] = set()

    def invoke(self, name: str, event: Mapping[str, object]) -> dict[str, object]:
        sent: dict[str, Any] = dict(event)
        self.events.append(sent)
        self.targets.add(name)
        path = strip_stage(sent["rawPath"], sent["requestContext"]["stage"])
        method = sent["requestContext"]["http"]["method"]
        if path == "/api/health":
            redis = {"configured": True, "reachable": self.reachable, "latency_ms": 1}
            body = {"mode": self.mode, "persistent": True, "redis": redis, "version": "1"}
            return reply(200 if self.reachable else 503, body)
        key = parse_qs(sent["rawQueryString"])["path"][0]
        headers = {"X-Examples-Store-Mode": self.mode} if self.header else {}
        if method == "PUT":
            self.entries[key] = json.loads(sent["body"])
            return reply(200, {"path": key, **self.entries[key], "mode": self.mode}, headers)
        if method == "DELETE":
            self.entries.pop(key, None)
            return reply(200, {"ok": True}, headers)
        if key in self.entries:
            return reply(200, {"path": key, **self.entries[key]}, headers)
        return reply(404, {"error": "Not Found"}, headers)


class ApiFunctions(FakeFunctions):
    """Invokes the real Lambda entry point in this process."""

    def __init__(self, handler: LambdaApp) -> None:
        super().__init__()
        self.handler = handler

    def invoke(self, name: str, event: Mapping[str, object]) -> dict[str, object]:
        return self.handler(dict(event), None)


class BrokenFunctions(KvFunctions):
    def invoke(self, name: str, event: Mapping[str, object]) -> dict[str, object]:
        raise DeploymentFailedError(f"Invoke {name}: the function raised Runtime.ImportModuleError")


def reply(status: int, body: object, headers: Mapping[str, str] | None = None) -> dict[str, object]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


@dataclass
class World:
    config: EnvironmentConfig
    gateways: Gateways
    cfn: FakeCloudFormation
    secrets: FakeSecrets
    parameters: FakeParameters
    cache: FakeCache
    functions: FakeFunctions
    logs: FakeLogs
    network: FakeNetwork

    @property
    def function(self) -> FunctionInfo:
        return self.functions.functions[self.config.api.function_name]

    def set_function(self, **changes: Any) -> None:
        self.functions.functions[self.config.api.function_name] = replace(self.function, **changes)

    def set_env(self, **values: str) -> None:
        env = dict(self.function.environment)
        env.update({key: SecretValue(value) for key, value in values.items()})
        self.set_function(environment=env)

    @property
    def monitoring(self) -> FakeMonitoring:
        found = self.gateways.monitoring
        assert isinstance(found, FakeMonitoring)
        return found

    def run(self, **options: Any) -> VerifyReport:
        arguments: dict[str, Any] = {
            "profile": LOCAL,
            "expected_code_sha256": CODE_SHA,
            "run_id": "run-42",
            "sleep": lambda _: None,
        }
        return verify(self.config, self.gateways, **(arguments | options))


def stack_outputs(config: EnvironmentConfig) -> dict[str, dict[str, str]]:
    return {
        "shared": {
            "RedisAuthSecretName": config.redis.auth_secret_name,
            "RedisEndpointParameterName": config.ssm_name("endpoint"),
            "RedisPortParameterName": config.ssm_name("port"),
            "RedisReaderEndpointParameterName": config.ssm_name("reader-endpoint"),
            "ExamplesAllowedOriginsParameterName": config.ssm_name("examples-origins"),
            "SvgAllowedOriginsParameterName": config.ssm_name("svg-origins"),
        },
        "data": {
            "VpcId": "vpc-1",
            "PrivateSubnet1Id": "subnet-1",
            "PrivateSubnet2Id": "subnet-2",
            "LambdaSecurityGroupId": "sg-lambda",
            "RedisSecurityGroupId": "sg-redis",
            "RedisPrimaryEndpoint": ENDPOINT,
            "RedisReaderEndpoint": READER,
            "RedisPort": PORT,
        },
        "api": {
            "ApiEndpoint": API_URL,
            "ApiFunctionName": config.api.function_name,
            "ApiFunctionArn": f"arn:aws:lambda:eu-north-1:0:function:{config.api.function_name}",
            "ApiFunctionLogGroupName": config.log_group,
            "ApiAccessLogGroupName": f"{config.log_group}-access",
            "AlarmTopicArn": TOPIC,
        },
    }


def converged(
    config: EnvironmentConfig, functions: FakeFunctions | None = None, token: str = TOKEN
) -> World:
    """Everything as a successful ``up`` leaves it."""
    cfn = FakeCloudFormation()
    for role, outputs in stack_outputs(config).items():
        name = getattr(config.stacks, role)
        cfn.put_state(StackState(name, "UPDATE_COMPLETE", outputs=outputs), f"{role}: 1")
    secrets = FakeSecrets()
    secrets.values[config.redis.auth_secret_name] = [("v0", SecretValue(OTHER_TOKEN))]
    secrets.values[config.redis.auth_secret_name].append(("v1", SecretValue(token)))
    parameters = FakeParameters()
    allow_list = ",".join(config.cors.allowed_origins)
    for key, value, version in (
        ("endpoint", ENDPOINT, 3),
        ("port", PORT, 1),
        ("reader-endpoint", READER, 1),
        ("examples-origins", allow_list, 2),
        ("svg-origins", allow_list, 2),
    ):
        name = config.ssm_name(key)
        parameters.items[name] = ParameterInfo(name, value, version)
    cache = FakeCache()
    redis = config.redis
    cache.groups[redis.replication_group_id] = ReplicationGroupInfo(
        group_id=redis.replication_group_id,
        status="available",
        auth_token_enabled=True,
        transit_encryption=True,
        at_rest_encryption=redis.at_rest_encryption,
        multi_az=redis.multi_az,
        automatic_failover=redis.automatic_failover,
        primary_address=ENDPOINT,
        primary_port=int(PORT),
        reader_address=READER,
    )
    network = FakeNetwork()
    network.rules["sg-redis"] = ["sg-lambda"]
    live = Live(
        secret_version_id="v1",
        endpoint_version=3,
        port_version=1,
        examples_origins_version=2,
        svg_origins_version=2,
    )
    env = {
        "REDIS_ENDPOINT": ENDPOINT,
        "REDIS_PORT": PORT,
        "REDIS_PASSWORD": token,
        "REDIS_TLS": "true",
        "MATHVISUALS_REQUIRE_KV": "true",
        "EXAMPLES_ALLOWED_ORIGINS": allow_list,
        "SVG_ALLOWED_ORIGINS": allow_list,
        "CONFIG_VERSION": config_version(config, live),
    }
    functions = functions if functions is not None else KvFunctions()
    functions.functions[config.api.function_name] = FunctionInfo(
        name=config.api.function_name,
        state="Active",
        last_update_status="Successful",
        runtime="python3.12",
        code_sha256=CODE_SHA,
        last_modified=LAST_MODIFIED,
        environment={key: SecretValue(value) for key, value in env.items()},
        subnet_ids=("subnet-2", "subnet-1"),
        security_group_ids=("sg-lambda",),
    )
    logs = FakeLogs()
    logs.lines[config.log_group] = [
        "START RequestId: 1 Version: $LATEST",
        json.dumps(READY),
        '{"event":"http.access","ts":"t","level":"info","status":200}',
        "END RequestId: 1",
        "REPORT RequestId: 1\tDuration: 2.00 ms",
    ]
    gateways = fake_gateways(
        cfn,
        secrets=secrets,
        parameters=parameters,
        cache=cache,
        functions=functions,
        logs=logs,
        network=network,
    )
    return World(config, gateways, cfn, secrets, parameters, cache, functions, logs, network)


def edge(allowed: Sequence[str], *, health: int = 200, echo: str | None = None) -> HttpGet:
    """The deployed HTTP API: health, and CORS answered from the allow-list."""

    def get(url: str, headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], object]:
        if url.endswith("/api/health"):
            return health, {"content-type": "application/json"}, {"mode": "kv"}
        origin = headers.get("Origin", "")
        shown = echo or (origin if origin in allowed else None)
        return 204, {"Access-Control-Allow-Origin": shown} if shown else {}, None

    return get


def by_id(report: VerifyReport) -> dict[str, Any]:
    return {check.id: check for check in report.checks}


def assert_no_values(report: VerifyReport) -> None:
    text = report.to_json() + report.summary()
    for value in (TOKEN, OTHER_TOKEN, ENDPOINT, READER):
        assert value not in text
    assert "***" not in text  # nothing even needed scrubbing


# The converged world ------------------------------------------------------------------------


def test_converged_local_target_passes_v1_to_v6_and_skips_v7_v8(config: EnvironmentConfig) -> None:
    report = converged(config).run()
    assert [(c.id, c.outcome) for c in report.checks] == [(f"V{n}", "pass") for n in range(1, 7)], (
        report.summary()
    )
    assert report.ok and report.skipped == ("V7", "V8")
    assert "SKIP V7" in report.summary() and "verify passed" in report.summary()
    assert_no_values(report)


def test_aws_target_runs_v7_and_v8(config: EnvironmentConfig) -> None:
    calls: list[str] = []
    get = edge(config.cors.allowed_origins)

    def recording(url: str, headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], object]:
        calls.append(url)
        return get(url, headers)

    report = converged(config).run(profile=AWS, http_get=recording)
    checks = by_id(report)
    assert checks["V7"].outcome == "pass", checks["V7"].detail
    assert checks["V8"].outcome == "warn", checks["V8"].detail  # nobody confirmed a mail yet
    assert "no confirmed subscription" in checks["V8"].detail
    assert report.ok and report.skipped == ()
    assert calls[0] == f"{API_URL}/api/health"
    assert calls[1:] == [f"{API_URL}/api/examples"] * (len(config.cors.allowed_origins) + 1)
    assert "WARN V8" in report.summary()


def test_only_runs_the_named_checks(config: EnvironmentConfig) -> None:
    functions = KvFunctions()
    report = converged(config, functions).run(profile=AWS, only=("V4", "V5", "V6"))
    assert [c.id for c in report.checks] == ["V4", "V5", "V6"] and report.ok
    assert len(functions.events) == 5


def test_report_json_lists_ids_outcomes_and_details(config: EnvironmentConfig) -> None:
    document = json.loads(converged(config).run().to_json())
    assert document["ok"] is True and document["run_id"] == "run-42"
    assert [c["id"] for c in document["checks"]] == ["V1", "V2", "V3", "V4", "V5", "V6"]
    assert set(document["checks"][0]) == {"id", "ok", "detail", "warning", "outcome"}


# V1–V3 ---------------------------------------------------------------------------------------


def test_v1_fails_on_a_rolled_back_stack_and_a_missing_output(config: EnvironmentConfig) -> None:
    world = converged(config)
    api = world.cfn.describe(config.stacks.api)
    world.cfn.put_state(replace(api, status="UPDATE_ROLLBACK_COMPLETE"))
    data = world.cfn.describe(config.stacks.data)
    outputs = {k: v for k, v in data.outputs.items() if k != "RedisReaderEndpoint"}
    world.cfn.put_state(replace(data, outputs=outputs))
    check = by_id(world.run())["V1"]
    assert not check.ok
    assert f"{config.stacks.api} is UPDATE_ROLLBACK_COMPLETE" in check.detail
    assert "lacks outputs RedisReaderEndpoint" in check.detail
    assert f"{config.stacks.data}-RedisReaderEndpoint" in check.detail  # not exported either


def test_v1_fails_when_a_shared_name_is_not_the_derived_one(config: EnvironmentConfig) -> None:
    world = converged(config)
    shared = world.cfn.describe(config.stacks.shared)
    outputs = dict(shared.outputs, RedisAuthSecretName="math-visuals/local/redis/password")
    world.cfn.put_state(replace(shared, outputs=outputs))
    assert "RedisAuthSecretName" in by_id(world.run())["V1"].detail


def test_v2_fails_on_a_wrong_endpoint_without_printing_it(config: EnvironmentConfig) -> None:
    world = converged(config)
    group = world.cache.groups[config.redis.replication_group_id]
    world.cache.groups[group.group_id] = replace(
        group, primary_address="elsewhere.example", auth_token_enabled=False
    )
    report = world.run()
    check = by_id(report)["V2"]
    assert not check.ok and not report.ok
    assert "primary address (sha256:" in check.detail and "the SSM endpoint" in check.detail
    assert "AuthTokenEnabled is False, expected True" in check.detail
    assert "elsewhere.example" not in report.to_json()
    assert_no_values(report)


def test_v2_fails_when_the_group_is_missing(config: EnvironmentConfig) -> None:
    world = converged(config)
    world.cache.groups.clear()
    assert "not found" in by_id(world.run())["V2"].detail


def test_v3_fails_without_the_security_group_rule(config: EnvironmentConfig) -> None:
    world = converged(config)
    world.network.rules["sg-redis"] = ["sg-other"]
    check = by_id(world.run())["V3"]
    assert not check.ok and "does not allow tcp 6379" in check.detail


def test_v3_fails_when_the_function_is_in_other_subnets(config: EnvironmentConfig) -> None:
    world = converged(config)
    world.set_function(subnet_ids=("subnet-1", "subnet-9"))
    assert "subnets differ" in by_id(world.run())["V3"].detail


# V4 ------------------------------------------------------------------------------------------


def stale_config_version(world: World) -> None:
    """A new endpoint parameter version the function was never redeployed for (B8)."""
    name = world.config.ssm_name("endpoint")
    world.parameters.items[name] = replace(world.parameters.items[name], version=4)


V4_CASES: dict[str, tuple[Any, str]] = {
    "wrong endpoint": (
        lambda w: w.set_env(REDIS_ENDPOINT="old.example"),
        "REDIS_ENDPOINT (sha256:",
    ),
    "wrong port": (lambda w: w.set_env(REDIS_PORT="6380"), "REDIS_PORT (sha256:"),
    "token mismatch": (lambda w: w.set_env(REDIS_PASSWORD=OTHER_TOKEN), "REDIS_PASSWORD (sha256:"),
    "stale CONFIG_VERSION": (stale_config_version, "is stale: live versions give"),
    "unresolved reference": (
        lambda w: w.set_env(
            REDIS_PASSWORD="{{resolve:secretsmanager:math-visuals/local/redis/auth:SecretString:authToken}}"
        ),
        "left unresolved in REDIS_PASSWORD",
    ),
    "allow-list differs": (
        lambda w: w.set_env(EXAMPLES_ALLOWED_ORIGINS="https://elsewhere.no"),
        "EXAMPLES_ALLOWED_ORIGINS (sha256:",
    ),
    "runtime": (lambda w: w.set_function(runtime="python3.11"), "Runtime is python3.11"),
    "update failed": (
        lambda w: w.set_function(last_update_status="Failed"),
        "LastUpdateStatus is Failed, expected Successful",
    ),
    "pending": (lambda w: w.set_function(state="Pending"), "State is Pending"),
    "other code": (lambda w: w.set_function(code_sha256="AAAA"), "CodeSha256 AAAA is not"),
    "missing variable": (
        lambda w: w.set_function(
            environment={k: v for k, v in w.function.environment.items() if k != "REDIS_PORT"}
        ),
        "REDIS_PORT (absent)",
    ),
}


@pytest.mark.parametrize("case", list(V4_CASES))
def test_v4_fails(config: EnvironmentConfig, case: str) -> None:
    world = converged(config)
    change, expected = V4_CASES[case]
    change(world)
    report = world.run()
    check = by_id(report)["V4"]
    assert not check.ok and expected in check.detail, check.detail
    assert [c.id for c in report.failed] == ["V4"]
    assert_no_values(report)


def test_v4_token_mismatch_shows_both_fingerprints_only(config: EnvironmentConfig) -> None:
    from mathvisuals.deploy.token import fingerprint

    world = converged(config)
    world.set_env(REDIS_PASSWORD=OTHER_TOKEN)
    detail = by_id(world.run())["V4"].detail
    assert fingerprint(OTHER_TOKEN) in detail and fingerprint(TOKEN) in detail


def test_v4_compares_origins_as_lists_and_skips_the_code_when_not_given(
    config: EnvironmentConfig,
) -> None:
    world = converged(config)
    world.set_env(EXAMPLES_ALLOWED_ORIGINS=" , ".join(config.cors.allowed_origins))
    world.set_function(code_sha256="other")
    assert by_id(world.run(expected_code_sha256=None))["V4"].ok


def test_v4_fails_when_the_secret_is_missing(config: EnvironmentConfig) -> None:
    world = converged(config)
    world.secrets.values.clear()
    detail = by_id(world.run())["V4"].detail
    assert "not found" in detail and "CONFIG_VERSION cannot be computed" in detail


# V5 ------------------------------------------------------------------------------------------


def test_v5_round_trip_uses_stage_prefixed_events_and_cleans_up(config: EnvironmentConfig) -> None:
    functions = KvFunctions()
    converged(config, functions).run()
    stage = config.api.stage_name
    assert [(e["requestContext"]["http"]["method"], e["rawPath"]) for e in functions.events] == [
        ("GET", f"/{stage}/api/health"),
        ("PUT", f"/{stage}/api/examples"),
        ("GET", f"/{stage}/api/examples"),
        ("DELETE", f"/{stage}/api/examples"),
        ("GET", f"/{stage}/api/examples"),
    ]
    assert {e["requestContext"]["stage"] for e in functions.events} == {stage}
    assert functions.events[1]["rawQueryString"] == "path=/__deploycheck__/run-42"
    assert functions.entries == {}


def test_http_event_shape() -> None:
    event = http_event("PUT", "/api/examples", "path=/a", {"examples": []}, stage="prod")
    assert event["rawPath"] == "/prod/api/examples"
    assert event["requestContext"] == {
        "stage": "prod",
        "requestId": "mathvisuals-verify",
        "http": {"method": "PUT", "path": "/prod/api/examples", "sourceIp": "127.0.0.1"},
    }
    assert event["body"] == '{"examples":[]}' and event["version"] == "2.0"
    assert http_event("GET", "/api/health")["rawPath"] == "/api/health"  # $default: no prefix
    assert "body" not in http_event("GET", "/api/health")


@pytest.fixture
def memory_lambda() -> Iterator[tuple[LambdaApp, MemorySink]]:
    sink = MemorySink()
    handler = build_handler(Settings.from_env({}), EventLog(sink))
    yield handler, sink
    # Mangum keeps a process-wide event loop (style.md §6.11): close it.
    loop = asyncio.get_event_loop()
    loop.run_until_complete(handler.app.state.ctx.store.aclose())
    loop.close()
    asyncio.set_event_loop(None)


def test_v5_and_v6_fail_against_the_real_api_in_memory_mode(
    config: EnvironmentConfig, memory_lambda: tuple[LambdaApp, MemorySink]
) -> None:
    handler, sink = memory_lambda
    world = converged(config, ApiFunctions(handler))
    world.logs.lines[config.log_group] = sink.lines  # the real cold start's store.ready
    report = world.run(log_attempts=1)
    checks = by_id(report)
    assert not checks["V5"].ok and "mode memory" in checks["V5"].detail
    assert not checks["V6"].ok and "modes seen: memory" in checks["V6"].detail
    assert [c.id for c in report.failed] == ["V5", "V6"]


def test_v5_fails_without_the_kv_store_mode_header(config: EnvironmentConfig) -> None:
    functions = KvFunctions(header=False)
    check = by_id(converged(config, functions).run())["V5"]
    assert not check.ok and "X-Examples-Store-Mode absent" in check.detail
    assert functions.entries == {}  # the DELETE still ran


def test_v5_stops_after_an_unreachable_health(config: EnvironmentConfig) -> None:
    functions = KvFunctions(reachable=False)
    check = by_id(converged(config, functions).run())["V5"]
    assert not check.ok and "GET /api/health: 503" in check.detail
    assert len(functions.events) == 1  # nothing was written


def test_a_failing_invoke_is_a_failed_check_not_an_exception(config: EnvironmentConfig) -> None:
    report = converged(config, BrokenFunctions()).run()
    check = by_id(report)["V5"]
    assert not check.ok and "Runtime.ImportModuleError" in check.detail
    assert len(report.checks) == 6


def test_a_gateway_error_fails_only_its_own_check(config: EnvironmentConfig) -> None:
    class BrokenCache(FakeCache):
        def replication_group(self, group_id: str) -> ReplicationGroupInfo | None:
            raise DeploymentFailedError("DescribeReplicationGroups: AccessDenied")

    world = converged(config)
    world.gateways.cache = BrokenCache()
    report = world.run()
    assert [c.id for c in report.failed] == ["V2"]
    assert "could not check: DescribeReplicationGroups: AccessDenied" in by_id(report)["V2"].detail


# V6 ------------------------------------------------------------------------------------------


def test_v6_fails_on_a_redis_error(config: EnvironmentConfig) -> None:
    world = converged(config)
    error = {
        "event": "redis.error",
        "level": "error",
        "error_class": "WRONGPASS",
        "operation": "connect",
        "message": "AuthenticationError WRONGPASS",
    }
    world.logs.lines[config.log_group].append(json.dumps(error))
    check = by_id(world.run())["V6"]
    assert not check.ok and check.detail == "1 redis.error (WRONGPASS/connect)"


def test_v6_fails_without_a_kv_store_ready(config: EnvironmentConfig) -> None:
    world = converged(config)
    world.logs.lines[config.log_group] = ["START RequestId: 1", "not json {", "{broken"]
    check = by_id(world.run())["V6"]
    assert not check.ok and "modes seen: none" in check.detail


def test_v6_reads_again_until_the_cold_start_arrives(config: EnvironmentConfig) -> None:
    class LateLogs(FakeLogs):
        def __init__(self) -> None:
            super().__init__()
            self.starts: list[int] = []

        def messages(self, group: str, start_ms: int) -> list[str]:
            self.starts.append(start_ms)
            return [json.dumps(READY)] if len(self.starts) == 3 else []

    world = converged(config)
    logs = LateLogs()
    world.gateways.logs = logs
    slept: list[float] = []
    check = by_id(world.run(sleep=slept.append, log_interval_s=2.0))["V6"]
    assert check.ok and slept == [2.0, 2.0]
    assert logs.starts == [1767261600000] * 3  # from the function's LastModified


def test_v6_starts_at_since_ms_when_given(config: EnvironmentConfig) -> None:
    class RecordingLogs(FakeLogs):
        start = -1

        def messages(self, group: str, start_ms: int) -> list[str]:
            self.start = start_ms
            return [json.dumps(READY)]

    world = converged(config)
    logs = RecordingLogs()
    world.gateways.logs = logs
    world.run(since_ms=123)
    assert logs.start == 123


# V7 ------------------------------------------------------------------------------------------


def test_v7_fails_when_a_disallowed_origin_is_echoed(config: EnvironmentConfig) -> None:
    get = edge(config.cors.allowed_origins, echo="*")
    check = by_id(converged(config).run(profile=AWS, http_get=get))["V7"]
    assert not check.ok and "a disallowed origin got Access-Control-Allow-Origin" in check.detail


def test_v7_fails_when_an_allowed_origin_is_not_echoed(config: EnvironmentConfig) -> None:
    get = edge(config.cors.allowed_origins[:1], health=502)
    check = by_id(converged(config).run(profile=AWS, http_get=get))["V7"]
    assert "allowed origin 2/2 is not echoed" in check.detail
    assert "GET <ApiEndpoint>/api/health: 502" in check.detail


def test_v7_uses_the_options_client_for_preflights(config: EnvironmentConfig) -> None:
    preflights: list[Mapping[str, str]] = []
    answer = edge(config.cors.allowed_origins)

    def options(url: str, headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], object]:
        preflights.append(headers)
        return answer(url, headers)

    report = converged(config).run(profile=AWS, http_get=answer, http_options=options)
    assert by_id(report)["V7"].ok and "preflights" in by_id(report)["V7"].detail
    assert [h["Origin"] for h in preflights][-1] == "https://verify.mathvisuals.invalid"
    assert all(h["Access-Control-Request-Method"] == "PUT" for h in preflights)


def test_v7_without_an_http_client_fails(config: EnvironmentConfig) -> None:
    report = converged(config).run(profile=AWS)
    assert [c.id for c in report.failed] == ["V7"]
    assert "an HTTP client is missing" in by_id(report)["V7"].detail


def test_v7_transport_error_is_a_failed_check(config: EnvironmentConfig) -> None:
    def refused(url: str, headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], object]:
        raise ConnectionRefusedError(url)

    check = by_id(converged(config).run(profile=AWS, http_get=refused))["V7"]
    assert check.detail == "the request failed (ConnectionRefusedError)"


# V8 -----------------------------------------------------------------------------------------


def alarmed(config: EnvironmentConfig, state: str = "OK", *, confirmed: bool = True) -> World:
    world = converged(config)
    api = config.stacks.api
    for alarm in ("RedisErrorsAlarm-1A", "RedisAuthErrorsAlarm-2B", "Http5xxAlarm-3C"):
        world.monitoring.states[f"{api}-{alarm}"] = "OK"
    world.monitoring.states[f"{api}-MemoryModeStartsAlarm-4D"] = state
    world.monitoring.states[f"{config.stacks.data}-OtherAlarm-5E"] = "ALARM"  # not ours
    world.monitoring.topics[TOPIC] = [
        SubscriptionInfo("email", "ops@mathvisuals.no", confirmed=confirmed),
    ]
    return world


def v8(world: World) -> Any:
    return by_id(world.run(profile=AWS, http_get=edge(world.config.cors.allowed_origins)))["V8"]


def test_v8_passes_with_quiet_alarms_and_a_confirmed_subscription(
    config: EnvironmentConfig,
) -> None:
    check = v8(alarmed(config))
    assert check.outcome == "pass", check.detail
    assert check.detail == (
        f"4 alarms with prefix {config.stacks.api}- not in ALARM; 1 confirmed subscription(s)"
    )


def test_v8_fails_when_an_alarm_of_the_api_stack_is_in_alarm(config: EnvironmentConfig) -> None:
    world = alarmed(config, "ALARM")
    report = world.run(profile=AWS, http_get=edge(config.cors.allowed_origins))
    check = by_id(report)["V8"]
    assert check.outcome == "fail" and not report.ok
    assert check.detail == f"in ALARM: {config.stacks.api}-MemoryModeStartsAlarm-4D"


def test_v8_warns_when_every_subscription_is_pending(config: EnvironmentConfig) -> None:
    check = v8(alarmed(config, "INSUFFICIENT_DATA", confirmed=False))
    assert check.outcome == "warn"
    assert check.detail.endswith("has no confirmed subscription (1 pending)")
    assert "ops@" not in check.detail


def test_v8_is_not_checked_without_a_monitoring_gateway(config: EnvironmentConfig) -> None:
    world = alarmed(config, "ALARM")
    world.gateways.monitoring = None
    check = v8(world)
    assert check.outcome == "warn" and check.detail.startswith("not checked:")


def test_v8_unreadable_alarms_fail_only_v8(config: EnvironmentConfig) -> None:
    class Denied(FakeMonitoring):
        def alarms(self, prefix: str) -> list[Any]:
            raise DeploymentFailedError("DescribeAlarms failed: AccessDenied")

    world = alarmed(config)
    world.gateways.monitoring = Denied()
    report = world.run(profile=AWS, http_get=edge(config.cors.allowed_origins))
    assert [c.id for c in report.failed] == ["V8"]
    assert by_id(report)["V8"].detail == "could not check: DescribeAlarms failed: AccessDenied"


# The real API against the real TLS Redis --------------------------------------------------------


def test_v5_and_v6_pass_against_the_real_api_in_kv_mode(
    config: EnvironmentConfig, kv_lambda: tuple[LambdaApp, MemorySink]
) -> None:
    handler, sink = kv_lambda
    world = converged(config, ApiFunctions(handler))
    world.logs.lines[config.log_group] = sink.lines  # store.ready kv, then one access line per call
    report = world.run(run_id="Run-43", log_attempts=1)
    checks = by_id(report)
    assert checks["V5"].ok, checks["V5"].detail
    assert checks["V6"].ok, checks["V6"].detail
    assert report.ok
    assert [e["status"] for e in sink.events("http.access")] == [200, 200, 200, 200, 404]
    assert sink.events("redis.error") == []


def test_v4_with_snapstart_checks_the_version_behind_the_alias(config: EnvironmentConfig) -> None:
    snap = config.model_copy(update={"api": config.api.model_copy(update={"snapstart": True})})
    world = converged(snap)
    alias = f"{snap.api.function_name}:live"
    check = by_id(world.run())["V4"]
    assert not check.ok and check.detail == f"function {alias} not found"
    world.functions.functions[alias] = replace(world.function, version="7", snapstart="Off")
    check = by_id(world.run())["V4"]
    assert (
        not check.ok and "SnapStart of version 7 (alias live) is Off, expected On" in check.detail
    )
    world.functions.functions[alias] = replace(world.function, version="7", snapstart="On")
    report = world.run()
    check = by_id(report)["V4"]
    assert check.ok and "SnapStart On (version 7)" in check.detail, check.detail
    # V5's round trip goes where the gateway sends traffic: the alias.
    assert by_id(report)["V5"].ok
    assert isinstance(world.functions, KvFunctions) and world.functions.targets == {alias}
