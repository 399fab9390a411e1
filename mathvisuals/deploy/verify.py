"""``mathvisuals verify``: the V1–V8 assertions of deploy.md §5.13, read through the gateways.

Nothing here raises for a failed assertion: each becomes a :class:`Check`, and the CLI exits 8
when the report is not ok. Details name parameters, versions and fingerprints, never values
(§5.12): endpoints, ports and tokens are compared here and only ever shown as ``sha256:…``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Literal
from urllib.parse import urlencode

from mathvisuals.deploy import masking
from mathvisuals.deploy.config import EnvironmentConfig
from mathvisuals.deploy.errors import DeployError
from mathvisuals.deploy.gateway import FunctionInfo, Gateways, ParameterInfo, SecretInfo
from mathvisuals.deploy.model import StackRole, StackState
from mathvisuals.deploy.parameters import Live, config_version
from mathvisuals.deploy.token import fingerprint

Target = Literal["aws", "local"]
HttpReply = tuple[int, Mapping[str, str], object]
# (url, headers) -> (status, headers, parsed JSON body or None); transport failures raise
# DeployError (or OSError), which fails V7 instead of escaping.
HttpGet = Callable[[str, Mapping[str, str]], HttpReply]

ROLES: tuple[StackRole, ...] = ("shared", "data", "api")
HEALTHY = ("CREATE_COMPLETE", "UPDATE_COMPLETE")
OUTPUTS: dict[StackRole, tuple[str, ...]] = {
    "shared": (
        "RedisAuthSecretName", "RedisEndpointParameterName", "RedisPortParameterName",
        "RedisReaderEndpointParameterName", "ExamplesAllowedOriginsParameterName",
        "SvgAllowedOriginsParameterName",
    ),
    "data": (
        "VpcId", "PrivateSubnet1Id", "PrivateSubnet2Id", "LambdaSecurityGroupId",
        "RedisSecurityGroupId", "RedisPrimaryEndpoint", "RedisReaderEndpoint", "RedisPort",
    ),
    "api": (
        "ApiEndpoint", "ApiFunctionName", "ApiFunctionArn", "ApiFunctionLogGroupName",
        "ApiAccessLogGroupName", "AlarmTopicArn",
    ),
}  # fmt: skip
PARAMETER_KEYS = ("endpoint", "port", "reader-endpoint", "examples-origins", "svg-origins")
REDIS_PORT = 6379
RUNTIME = "python3.12"
DISALLOWED_ORIGIN = "https://verify.mathvisuals.invalid"
HINTS = {
    "V1": "run `mathvisuals up`; a stack in another state follows the recovery table (§5.11)",
    "V2": "run `mathvisuals up`; flags that differ from the config need a data stack update",
    "V3": "the data stack owns both security groups and the api stack imports them: run up",
    "V4": "run `mathvisuals up`: a new ConfigVersion makes CloudFormation re-resolve the env",
    "V5": "read the function's log group; memory mode or 503 means Redis is not usable",
    "V6": "a redis.error names its error_class (WRONGPASS: token, TIMEOUT: security groups)",
    "V7": "check the stage, the routes and the CorsConfiguration of the HTTP API",
    "V8": "alarm states and SNS subscriptions are not read yet: check them in CloudWatch",
}


@dataclass(frozen=True)
class Check:
    """One assertion. A ``warning`` check is reported but never fails the run."""

    id: str
    ok: bool
    detail: str
    warning: bool = False

    @property
    def outcome(self) -> Literal["pass", "warn", "fail"]:
        if self.ok:
            return "pass"
        return "warn" if self.warning else "fail"


@dataclass(frozen=True)
class VerifyReport:
    checks: tuple[Check, ...]
    target: Target
    run_id: str
    skipped: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(check.outcome != "fail" for check in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.outcome == "fail")

    def document(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "target": self.target,
            "run_id": self.run_id,
            "checks": [
                {
                    "id": c.id,
                    "ok": c.ok,
                    "warning": c.warning,
                    "outcome": c.outcome,
                    "detail": c.detail,
                }
                for c in self.checks
            ],  # fmt: skip
            "skipped": list(self.skipped),
        }

    def to_json(self) -> str:
        return json.dumps(self.document(), indent=2)

    def summary(self) -> str:
        lines = [f"{c.outcome.upper():4} {c.id} {c.detail}" for c in self.checks]
        lines += [
            f"SKIP {check_id} not run for the {self.target} target" for check_id in self.skipped
        ]
        warnings = sum(check.outcome == "warn" for check in self.checks)
        if self.ok:
            lines.append(f"verify passed: {len(self.checks)} checks, {warnings} warning(s)")
        else:
            failed = ", ".join(check.id for check in self.failed)
            lines.append(f"verify failed: {failed}")
        return "\n".join(lines)


def http_event(
    method: str,
    path: str,
    query: str = "",
    body: object = None,
    stage: str = "$default",
) -> dict[str, object]:
    """A synthetic API Gateway HTTP API (payload 2.0) event, as the gateway would send it."""
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    event: dict[str, object] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "user-agent": "mathvisuals-verify"},
        "requestContext": {
            "stage": stage,
            "requestId": "mathvisuals-verify",
            "routeKey": "$default",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "mathvisuals-verify",
            },
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = json.dumps(body, separators=(",", ":"))
    return event


@dataclass(frozen=True)
class Reply:
    """A Lambda proxy response (payload 2.0), headers lower-cased, body parsed when JSON."""

    status: int
    headers: Mapping[str, str]
    body: object

    @classmethod
    def parse(cls, result: Mapping[str, object]) -> Reply:
        status = result.get("statusCode")
        headers = result.get("headers")
        text = result.get("body")
        body: object = None
        if isinstance(text, str) and text:
            try:
                raw = base64.b64decode(text) if result.get("isBase64Encoded") else text
                body = json.loads(raw)
            except (ValueError, binascii.Error):
                body = None
        shown = (
            {str(k).lower(): str(v) for k, v in headers.items()}
            if isinstance(headers, dict)
            else {}
        )
        return cls(status if isinstance(status, int) else 0, shown, body)

    def field(self, *keys: str) -> object:
        value: object = self.body
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value


def parse_events(messages: Sequence[str]) -> list[dict[str, object]]:
    """Our JSON log records (api.md §15); START/END/REPORT and other text lines are skipped."""
    events: list[dict[str, object]] = []
    for message in messages:
        text = message.strip()
        if not text.startswith("{") and "\t" in text:
            text = text.rsplit("\t", 1)[-1]  # the runtime's "<ts>\t<request id>\t<level>\t" prefix
        if not text.startswith("{"):
            continue
        try:
            record = json.loads(text)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("event"), str):
            events.append(record)
    return events


def epoch_ms(timestamp: str) -> int | None:
    """ISO 8601 (Lambda's ``LastModified`` is ``2026-01-01T10:00:00.000+0000``) to epoch ms."""
    for parse in (
        lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")),
        lambda s: datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f%z"),
    ):
        try:
            moment = parse(timestamp)
        except ValueError:
            continue
        if moment.tzinfo is not None:
            return int(moment.timestamp() * 1000)
    return None


def origins(value: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def _differs(what: str, actual: str | None, expected: str | None, against: str) -> str:
    """A mismatch shown by fingerprints only (§5.12)."""
    shown = fingerprint(actual) if actual is not None else "absent"
    wanted = fingerprint(expected) if expected is not None else "absent"
    return f"{what} ({shown}) differs from {against} ({wanted})"


class Observed:
    """Live state read once and shared by the checks (and by ``status``)."""

    def __init__(self, config: EnvironmentConfig, gateways: Gateways) -> None:
        self.config = config
        self.gateways = gateways

    @cached_property
    def stacks(self) -> dict[StackRole, StackState]:
        cfn = self.gateways.cloudformation
        return {role: cfn.describe(getattr(self.config.stacks, role)) for role in ROLES}

    @cached_property
    def exports(self) -> Mapping[str, str]:
        return self.gateways.cloudformation.exports()

    @cached_property
    def parameters(self) -> dict[str, ParameterInfo]:
        names = {self.config.ssm_name(key): key for key in PARAMETER_KEYS}
        found = self.gateways.parameters.get(list(names))
        return {names[name]: info for name, info in found.items()}

    @cached_property
    def secret(self) -> SecretInfo | None:
        found = self.gateways.secrets.describe(self.config.redis.auth_secret_name)
        return None if found is None or found.deleted else found

    @cached_property
    def function(self) -> FunctionInfo | None:
        return self.gateways.functions.configuration(self.config.api.function_name)

    def value(self, key: str) -> str | None:
        found = self.parameters.get(key)
        return found.value if found else None

    def env(self, name: str) -> str | None:
        function = self.function
        found = function.environment.get(name) if function else None
        return found.reveal() if found is not None else None

    def data_export(self, key: str) -> str | None:
        return self.exports.get(self.config.export("data", key))

    def expected_config_version(self) -> tuple[str | None, list[str]]:
        """``CONFIG_VERSION`` as ``up`` computes it from the live versions, or what is missing."""
        missing: list[str] = []
        secret = self.secret
        if secret is None or secret.current_version is None:
            missing.append(f"secret {self.config.redis.auth_secret_name}")
        versions: dict[str, int] = {}
        for key in ("endpoint", "port", "examples-origins", "svg-origins"):
            found = self.parameters.get(key)
            if found is None:
                missing.append(self.config.ssm_name(key))
            else:
                versions[key] = found.version
        if missing or secret is None or secret.current_version is None:
            return None, missing
        live = Live(
            secret_version_id=secret.current_version,
            endpoint_version=versions["endpoint"],
            port_version=versions["port"],
            examples_origins_version=versions["examples-origins"],
            svg_origins_version=versions["svg-origins"],
        )
        return config_version(self.config, live), []


def verify(
    config: EnvironmentConfig,
    gateways: Gateways,
    *,
    target: Target,
    expected_code_sha256: str | None,
    run_id: str,
    http_get: HttpGet | None = None,
    http_options: HttpGet | None = None,
    since_ms: int | None = None,
    log_attempts: int = 6,
    log_interval_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> VerifyReport:
    """Run V1–V6, plus V7 and V8 for the AWS target (§6.7 skips them locally).

    ``http_options`` sends the V7 preflights; without it the CORS rule is checked on a GET
    carrying ``Origin`` (the HTTP API applies the same allow-list to both). V6 re-reads the
    logs up to ``log_attempts`` times, because CloudWatch shows new lines a few seconds late.
    """
    suite = _Suite(config, Observed(config, gateways), gateways, run_id)
    runs: list[tuple[str, Callable[[], Check]]] = [
        ("V1", suite.v1),
        ("V2", suite.v2),
        ("V3", suite.v3),
        ("V4", lambda: suite.v4(expected_code_sha256)),
        ("V5", suite.v5),
        ("V6", lambda: suite.v6(since_ms, log_attempts, log_interval_s, sleep)),
    ]
    if target == "aws":
        runs += [("V7", lambda: suite.v7(http_get, http_options)), ("V8", suite.v8)]
    checks = [_guarded(check_id, run) for check_id, run in runs]
    skipped = () if target == "aws" else ("V7", "V8")
    return VerifyReport(tuple(checks), target, run_id, skipped)


def _guarded(check_id: str, run: Callable[[], Check]) -> Check:
    try:
        check = run()
    except DeployError as exc:
        check = Check(check_id, False, f"could not check: {exc}")
    # Defence in depth: any registered secret that slipped into a detail prints as ***.
    return Check(check.id, check.ok, masking.scrub(check.detail), check.warning)


def _result(check_id: str, problems: Sequence[str], passed: str) -> Check:
    return Check(check_id, not problems, "; ".join(problems) if problems else passed)


class _Suite:
    def __init__(
        self, config: EnvironmentConfig, seen: Observed, gateways: Gateways, run_id: str
    ) -> None:
        self.config, self.seen, self.gateways, self.run_id = config, seen, gateways, run_id

    def v1(self) -> Check:
        problems: list[str] = []
        for role, state in self.seen.stacks.items():
            if state.status not in HEALTHY:
                problems.append(f"{state.name} is {state.status or 'absent'}")
                continue
            missing = [key for key in OUTPUTS[role] if key not in state.outputs]
            if missing:
                problems.append(f"{state.name} lacks outputs {', '.join(missing)}")
            if role != "api":
                absent = [
                    k for k in OUTPUTS[role] if self.config.export(role, k) not in self.seen.exports
                ]
                if absent:
                    problems.append(f"{state.name} does not export {', '.join(absent)}")
        shared = self.seen.stacks["shared"].outputs
        names = {"RedisAuthSecretName": self.config.redis.auth_secret_name}
        names |= {f"{k}ParameterName": self.config.ssm_name(key) for k, key in (
            ("RedisEndpoint", "endpoint"), ("RedisPort", "port"),
            ("RedisReaderEndpoint", "reader-endpoint"),
            ("ExamplesAllowedOrigins", "examples-origins"), ("SvgAllowedOrigins", "svg-origins"),
        )}  # fmt: skip
        for key, name in names.items():
            if key in shared and shared[key] != name:
                problems.append(f"shared output {key} is {shared[key]}, the config derives {name}")
        api = self.seen.stacks["api"].outputs
        if api.get("ApiFunctionLogGroupName", self.config.log_group) != self.config.log_group:
            problems.append(f"the function logs to {api['ApiFunctionLogGroupName']}")
        return _result(
            "V1", problems, "3 stacks complete, outputs and exports present (drift not checked)"
        )

    def v2(self) -> Check:
        redis = self.config.redis
        group = self.gateways.cache.replication_group(redis.replication_group_id)
        if group is None:
            return Check("V2", False, f"replication group {redis.replication_group_id} not found")
        problems = [] if group.status == "available" else [f"status {group.status}"]
        flags = {
            "AuthTokenEnabled": (group.auth_token_enabled, True),
            "TransitEncryptionEnabled": (group.transit_encryption, True),
            "AtRestEncryptionEnabled": (group.at_rest_encryption, redis.at_rest_encryption),
            "MultiAZ": (group.multi_az, redis.multi_az),
            "AutomaticFailover": (group.automatic_failover, redis.automatic_failover),
        }
        problems += [f"{k} is {a}, expected {e}" for k, (a, e) in flags.items() if a != e]
        endpoint, port = self.config.ssm_name("endpoint"), self.config.ssm_name("port")
        live_port = str(group.primary_port) if group.primary_port is not None else None
        for what, actual, expected, against in (
            ("primary address", group.primary_address, self.seen.value("endpoint"), endpoint),
            ("primary port", live_port, self.seen.value("port"), port),
            ("primary address", group.primary_address, self.seen.data_export("RedisPrimaryEndpoint"),
             "data export RedisPrimaryEndpoint"),
            ("primary port", live_port, self.seen.data_export("RedisPort"), "data export RedisPort"),
        ):  # fmt: skip
            if actual is None or actual != expected:
                problems.append(_differs(what, actual, expected, against))
        return _result("V2", problems, f"{group.group_id} available, TLS+AUTH, endpoint = SSM")

    def v3(self) -> Check:
        lambda_sg = self.seen.data_export("LambdaSecurityGroupId")
        redis_sg = self.seen.data_export("RedisSecurityGroupId")
        if lambda_sg is None or redis_sg is None:
            return Check("V3", False, "the data stack does not export both security groups")
        problems: list[str] = []
        if lambda_sg not in self.gateways.network.ingress_sources(redis_sg, REDIS_PORT):
            problems.append(f"the Redis SG does not allow tcp {REDIS_PORT} from the Lambda SG")
        function = self.seen.function
        if function is None:
            problems.append(f"function {self.config.api.function_name} not found")
        else:
            subnets = {self.seen.data_export(k) for k in ("PrivateSubnet1Id", "PrivateSubnet2Id")}
            if set(function.subnet_ids) != subnets:
                problems.append("the function's subnets differ from the data exports")
            if tuple(function.security_group_ids) != (lambda_sg,):
                problems.append("the function's security groups differ from the Lambda SG export")
        return _result(
            "V3", problems, f"Lambda SG → Redis SG tcp {REDIS_PORT}; VpcConfig = exports"
        )

    def v4(self, expected_code_sha256: str | None) -> Check:
        function = self.seen.function
        if function is None:
            return Check("V4", False, f"function {self.config.api.function_name} not found")
        problems = [
            f"{label} is {actual or 'empty'}, expected {wanted}"
            for label, actual, wanted in (
                ("State", function.state, "Active"),
                ("LastUpdateStatus", function.last_update_status, "Successful"),
                ("Runtime", function.runtime, RUNTIME),
            )
            if actual != wanted
        ]
        if expected_code_sha256 is not None and function.code_sha256 != expected_code_sha256:
            problems.append(
                f"CodeSha256 {function.code_sha256} is not the artefact's {expected_code_sha256}"
            )
        seen, config = self.seen, self.config
        for env, key in (("REDIS_ENDPOINT", "endpoint"), ("REDIS_PORT", "port")):
            if seen.env(env) is None or seen.env(env) != seen.value(key):
                problems.append(_differs(env, seen.env(env), seen.value(key), config.ssm_name(key)))
        problems += self._password()
        expected, missing = seen.expected_config_version()
        if expected is None:
            problems.append(f"CONFIG_VERSION cannot be computed: {', '.join(missing)} missing")
        elif seen.env("CONFIG_VERSION") != expected:
            problems.append(
                f"CONFIG_VERSION {seen.env('CONFIG_VERSION')} is stale, expected {expected}"
            )
        for env, key in (("EXAMPLES_ALLOWED_ORIGINS", "examples-origins"),
                         ("SVG_ALLOWED_ORIGINS", "svg-origins")):  # fmt: skip
            if seen.env(env) is None or origins(seen.env(env)) != origins(seen.value(key)):
                problems.append(_differs(env, seen.env(env), seen.value(key), config.ssm_name(key)))
        unresolved = sorted(
            k for k, v in function.environment.items() if "{{resolve:" in v.reveal()
        )
        if unresolved:
            problems.append(f"unresolved {{{{resolve:}}}} left in {', '.join(unresolved)}")
        return _result(
            "V4", problems, "function Active on python3.12; env = SSM, secret, ConfigVersion"
        )

    def _password(self) -> list[str]:
        name = self.config.redis.auth_secret_name
        if self.seen.secret is None:
            return [f"secret {name} not found"]
        token = self.gateways.secrets.value(name)
        password = self.seen.env("REDIS_PASSWORD")
        wanted = fingerprint(token.reveal())
        if password is None or fingerprint(password) != wanted:
            return [_differs("REDIS_PASSWORD", password, token.reveal(), f"{name} authToken")]
        return []

    def v5(self) -> Check:
        stage = self.config.api.stage_name
        name = self.config.api.function_name
        problems: list[str] = []

        def call(method: str, path: str, query: str = "", body: object = None) -> Reply | None:
            try:
                answer = self.gateways.functions.invoke(
                    name, http_event(method, path, query, body, stage)
                )
            except DeployError as exc:
                problems.append(f"{method} {path}: {exc}")
                return None
            return Reply.parse(answer)

        health = call("GET", "/api/health")
        if health is None:
            return _result("V5", problems, "")
        if health.status != 200 or health.field("mode") != "kv":
            problems.append(f"GET /api/health answered {health.status} mode {health.field('mode')}")
        elif health.field("redis", "reachable") is not True:
            problems.append("GET /api/health: redis.reachable is not true")
        if problems:
            return _result("V5", problems, "")
        query = urlencode({"path": f"/__deploycheck__/{self.run_id}"}, safe="/")
        examples = [{"title": "mathvisuals verify", "description": f"run {self.run_id}"}]
        put = call("PUT", "/api/examples", query, {"examples": examples, "deletedProvided": []})
        if put is not None and (
            put.status != 200 or put.headers.get("x-examples-store-mode") != "kv"
        ):
            mode = put.headers.get("x-examples-store-mode", "absent")
            problems.append(f"PUT answered {put.status}, X-Examples-Store-Mode {mode}")
        got = call("GET", "/api/examples", query)
        if got is not None and (got.status != 200 or got.field("examples") != examples):
            problems.append(f"GET after PUT answered {got.status} without the example")
        deleted = call("DELETE", "/api/examples", query)  # always: never leave the entry behind
        if deleted is not None and deleted.status != 200:
            problems.append(f"DELETE answered {deleted.status}")
        final = call("GET", "/api/examples", query)
        if final is not None and final.status != 404:
            problems.append(f"GET after DELETE answered {final.status}, expected 404")
        return _result("V5", problems, "health kv reachable; PUT/GET/DELETE/GET round trip in kv")

    def v6(
        self,
        since_ms: int | None,
        attempts: int,
        interval_s: float,
        sleep: Callable[[float], None],
    ) -> Check:
        start = since_ms
        if start is None:
            function = self.seen.function
            start = epoch_ms(function.last_modified) if function else None
        group = self.config.log_group
        for attempt in range(max(attempts, 1)):
            events = parse_events(self.gateways.logs.messages(group, start or 0))
            ready = [e for e in events if e.get("event") == "store.ready"]
            kv = [e for e in ready if e.get("mode") == "kv"]
            errors = [e for e in events if e.get("event") == "redis.error"]
            if kv or errors or attempt == attempts - 1:
                break
            sleep(interval_s)
        problems: list[str] = []
        if not kv:
            modes = sorted({str(e.get("mode")) for e in ready}) or ["none"]
            problems.append(
                f"no store.ready with mode kv in {group} (modes seen: {', '.join(modes)})"
            )
        if errors:
            classes = sorted({f"{e.get('error_class')}/{e.get('operation')}" for e in errors})
            problems.append(f"{len(errors)} redis.error ({', '.join(classes)})")
        return _result("V6", problems, f"{len(kv)} store.ready kv, 0 redis.error in {group}")

    def v7(self, http_get: HttpGet | None, http_options: HttpGet | None) -> Check:
        if http_get is None:
            return Check("V7", False, "not checked: verify was given no HTTP client")
        endpoint = self.seen.stacks["api"].outputs.get("ApiEndpoint")
        if not endpoint:
            return Check("V7", False, "the api stack has no ApiEndpoint output")
        base = endpoint.rstrip("/")
        problems: list[str] = []
        try:
            status, _, body = http_get(f"{base}/api/health", {"Accept": "application/json"})
            if status != 200 or not isinstance(body, dict):
                problems.append(f"GET <ApiEndpoint>/api/health answered {status}")
            allowed = (
                origins(self.seen.value("examples-origins")) or self.config.cors.allowed_origins
            )
            preflight = http_options or http_get
            for index, origin in enumerate((*allowed, DISALLOWED_ORIGIN), start=1):
                headers = {"Origin": origin, "Access-Control-Request-Method": "PUT",
                           "Access-Control-Request-Headers": "content-type"}  # fmt: skip
                _, answer, _ = preflight(f"{base}/api/examples", headers)
                echoed = {k.lower(): v for k, v in answer.items()}.get(
                    "access-control-allow-origin"
                )
                if origin != DISALLOWED_ORIGIN and echoed != origin:
                    problems.append(f"allowed origin {index}/{len(allowed)} is not echoed")
                if origin == DISALLOWED_ORIGIN and echoed:
                    problems.append("a disallowed origin got Access-Control-Allow-Origin")
        except (DeployError, OSError) as exc:
            problems.append(f"request failed: {type(exc).__name__}")
        how = "preflights" if http_options else "CORS on GET (no OPTIONS client)"
        return _result("V7", problems, f"edge health 200; {how} echo only allowed origins")

    def v8(self) -> Check:
        return Check(
            "V8",
            False,
            "not checked: no gateway reads CloudWatch alarm states or SNS subscriptions yet",
            warning=True,
        )
