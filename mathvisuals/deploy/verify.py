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
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal
from urllib.parse import urlencode

from mathvisuals.deploy.config import EnvironmentConfig
from mathvisuals.deploy.errors import DeployError
from mathvisuals.deploy.gateway import Gateways
from mathvisuals.deploy.live import (
    HEALTHY,
    OUTPUTS,
    REDIS_PORT,
    SHARED_NAMES,
    Observed,
    epoch_ms,
    origins,
    parse_events,
)
from mathvisuals.deploy.parameters import SNAPSTART_ALIAS, served_function
from mathvisuals.deploy.profile import TargetProfile
from mathvisuals.deploy.token import fingerprint

HttpReply = tuple[int, Mapping[str, str], object]
# (url, headers) -> (status, headers, parsed JSON body or None). Transport failures raise
# DeployError or OSError; either fails V7 instead of escaping.
HttpGet = Callable[[str, Mapping[str, str]], HttpReply]

RUNTIME = "python3.12"
DISALLOWED_ORIGIN = "https://verify.mathvisuals.invalid"
HINTS = {
    "V1": "run `mathvisuals up`; a stack in another state follows the recovery table (§5.11)",
    "V2": "run `mathvisuals up`; flags that differ from the config need a data stack update",
    "V3": "the data stack owns both security groups and the api stack imports them: run up",
    "V4": "run `mathvisuals up`: a new ConfigVersion makes CloudFormation re-resolve the env",
    "V5": "read the function's log group; memory mode or a 503 means Redis is not usable",
    "V6": "a redis.error names its error_class (WRONGPASS: token, TIMEOUT: security groups)",
    "V7": "check the stage, the routes and the CorsConfiguration of the HTTP API",
    "V8": "an alarm in ALARM names its metric (api.md §15): read the function's log group; "
    "a subscription is confirmed from the link in the mail AWS sends",
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
        return "pass" if self.ok else "warn" if self.warning else "fail"


@dataclass(frozen=True)
class VerifyReport:
    checks: tuple[Check, ...]
    target: str  # the profile's name
    run_id: str
    skipped: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.outcome == "fail")

    def document(self) -> dict[str, object]:
        """Ids, outcomes and details only: no value is ever part of a check."""
        return {
            "ok": self.ok,
            "target": self.target,
            "run_id": self.run_id,
            "checks": [asdict(check) | {"outcome": check.outcome} for check in self.checks],
            "skipped": list(self.skipped),
        }

    def to_json(self) -> str:
        return json.dumps(self.document(), indent=2)

    def summary(self) -> str:
        lines = [f"{check.outcome.upper():4} {check.id} {check.detail}" for check in self.checks]
        lines += [f"SKIP {check_id} ({self.target} target)" for check_id in self.skipped]
        if self.ok:
            warnings = sum(check.outcome == "warn" for check in self.checks)
            lines.append(f"verify passed: {len(self.checks)} checks, {warnings} warning(s)")
        else:
            lines.append("verify failed: " + ", ".join(check.id for check in self.failed))
        return "\n".join(lines)


def http_event(
    method: str, path: str, query: str = "", body: object = None, stage: str = "$default"
) -> dict[str, object]:
    """A synthetic API Gateway HTTP API event (payload 2.0), stage prefix included."""
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    agent = "mathvisuals-verify"
    event: dict[str, object] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "user-agent": agent},
        "requestContext": {
            "stage": stage,
            "requestId": agent,
            "http": {"method": method, "path": raw_path, "sourceIp": "127.0.0.1"},
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = json.dumps(body, separators=(",", ":"))
    return event


@dataclass(frozen=True)
class Reply:
    """A Lambda proxy response (payload 2.0): headers lower-cased, body parsed when JSON."""

    status: int
    headers: Mapping[str, str]
    body: object

    @classmethod
    def parse(cls, result: Mapping[str, object]) -> Reply:
        status, headers, text = result.get("statusCode"), result.get("headers"), result.get("body")
        body: object = None
        if isinstance(text, str) and text:
            try:
                body = json.loads(base64.b64decode(text) if result.get("isBase64Encoded") else text)
            except (ValueError, binascii.Error):
                body = None
        pairs = headers.items() if isinstance(headers, dict) else ()
        lowered = {str(key).lower(): str(value) for key, value in pairs}
        return cls(status if isinstance(status, int) else 0, lowered, body)

    def field(self, *keys: str) -> object:
        value: object = self.body
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value


def _differs(what: str, actual: str | None, expected: str | None, against: str) -> str | None:
    """``None`` when equal; otherwise the mismatch, shown by fingerprints only (§5.12)."""
    if actual is not None and actual == expected:
        return None
    shown, wanted = (fingerprint(v) if v is not None else "absent" for v in (actual, expected))
    return f"{what} ({shown}) differs from {against} ({wanted})"


def verify(
    config: EnvironmentConfig,
    gateways: Gateways,
    *,
    profile: TargetProfile,
    expected_code_sha256: str | None,
    run_id: str,
    http_get: HttpGet | None = None,
    http_options: HttpGet | None = None,
    since_ms: int | None = None,
    log_attempts: int = 6,
    log_interval_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    only: Collection[str] | None = None,
    observed: Observed | None = None,
) -> VerifyReport:
    """V1–V8, less the profile's skipped checks (the local profile skips V7 and V8, §6.7).

    ``only`` restricts the run to some ids (``rotate-token`` verifies V4–V6, §5.14).

    ``http_options`` sends V7's preflights; without it the CORS rule is checked on a GET that
    carries ``Origin`` (the HTTP API applies one allow-list to both). V6 reads the logs up to
    ``log_attempts`` times, because CloudWatch shows new lines only after a few seconds.
    ``observed`` shares the live state already read (``up`` hands the same one to ``status``).
    """
    seen = observed if observed is not None else Observed(config, gateways)
    suite = _Suite(seen, run_id, profile)
    runs: list[tuple[str, Callable[[], Check]]] = [
        ("V1", suite.v1),
        ("V2", suite.v2),
        ("V3", suite.v3),
        ("V4", lambda: suite.v4(expected_code_sha256)),
        ("V5", suite.v5),
        ("V6", lambda: suite.v6(since_ms, log_attempts, log_interval_s, sleep)),
        ("V7", lambda: suite.v7(http_get, http_options)),
        ("V8", suite.v8),
    ]
    skipped = profile.skipped_checks
    checks = tuple(
        _guarded(i, run) for i, run in runs if i not in skipped and (only is None or i in only)
    )
    return VerifyReport(checks, profile.name, run_id, skipped)


def _guarded(check_id: str, run: Callable[[], Check]) -> Check:
    # Not masking.scrub: every Lambda env value is registered there (CONFIG_VERSION too), and
    # the details are built from names, versions and fingerprints only.
    try:
        return run()
    except DeployError as exc:
        return Check(check_id, False, f"could not check: {exc}")


def _result(check_id: str, problems: Sequence[str | None], passed: str) -> Check:
    found = [problem for problem in problems if problem]
    return Check(check_id, not found, "; ".join(found) if found else passed)


class _Suite:
    def __init__(self, seen: Observed, run_id: str, profile: TargetProfile) -> None:
        self.profile = profile
        self.seen, self.run_id = seen, run_id
        self.config, self.gateways = seen.config, seen.gateways

    def v1(self) -> Check:
        problems: list[str | None] = []
        for role, state in self.seen.stacks.items():
            if state.status not in HEALTHY:
                problems.append(f"{state.name} is {state.status or 'absent'}")
                continue
            if missing := [key for key in OUTPUTS[role] if key not in state.outputs]:
                problems.append(f"{state.name} lacks outputs {', '.join(missing)}")
            if role != "api":
                wanted = [self.config.export(role, key) for key in OUTPUTS[role]]
                if absent := [name for name in wanted if name not in self.seen.exports]:
                    problems.append(f"exports missing: {', '.join(absent)}")
        names = {key: self.config.ssm_name(value) for key, value in SHARED_NAMES.items()}
        names["RedisAuthSecretName"] = self.config.redis.auth_secret_name
        shared = self.seen.stacks["shared"].outputs
        for key, name in names.items():
            if shared.get(key, name) != name:
                problems.append(f"shared output {key} is {shared[key]}, the config says {name}")
        group = self.seen.stacks["api"].outputs.get("ApiFunctionLogGroupName")
        if group not in (None, self.config.log_group):
            problems.append(f"the function logs to {group}, not {self.config.log_group}")
        drift = list(self.seen.drift.values())
        shown = "; ".join(f"{report.stack} {report.summary()}" for report in drift) or "n/a"
        check = _result(
            "V1", problems, f"3 stacks complete with outputs and exports (drift: {shown})"
        )
        if check.ok and any(report.status == "DRIFTED" for report in drift):
            # Reported, never failing (§5.13): drift is a finding for a human, not a broken deploy.
            return Check("V1", False, f"stacks complete, but drift: {shown}", warning=True)
        return check

    def v2(self) -> Check:
        redis, seen = self.config.redis, self.seen
        group = seen.group
        if group is None:
            return Check("V2", False, f"replication group {redis.replication_group_id} not found")
        problems: list[str | None] = [
            None if group.status == "available" else f"status {group.status}"
        ]
        flags = {
            "AuthTokenEnabled": (group.auth_token_enabled, True),
            "TransitEncryptionEnabled": (group.transit_encryption, True),
            "AtRestEncryptionEnabled": (group.at_rest_encryption, redis.at_rest_encryption),
            "MultiAZ": (group.multi_az, redis.multi_az),
            "AutomaticFailover": (group.automatic_failover, redis.automatic_failover),
        }
        problems += [f"{k} is {a}, expected {e}" for k, (a, e) in flags.items() if a != e]
        port = str(group.primary_port) if group.primary_port is not None else None
        address = group.primary_address
        problems += [
            _differs("primary address", address, seen.value("endpoint"), "the SSM endpoint"),
            _differs("primary port", port, seen.value("port"), "the SSM port"),
            _differs("primary address", address, seen.data_export("RedisPrimaryEndpoint"),
                     "the data export RedisPrimaryEndpoint"),
            _differs("primary port", port, seen.data_export("RedisPort"),
                     "the data export RedisPort"),
        ]  # fmt: skip
        return _result("V2", problems, f"{group.group_id} available, TLS+AUTH, endpoint = SSM")

    def v3(self) -> Check:
        lambda_sg = self.seen.data_export("LambdaSecurityGroupId")
        redis_sg = self.seen.data_export("RedisSecurityGroupId")
        if lambda_sg is None or redis_sg is None:
            return Check("V3", False, "the data stack does not export both security groups")
        problems: list[str | None] = []
        if lambda_sg not in self.gateways.network.ingress_sources(redis_sg, REDIS_PORT):
            problems.append(f"the Redis SG does not allow tcp {REDIS_PORT} from the Lambda SG")
        function = self.seen.function
        subnets = {self.seen.data_export(k) for k in ("PrivateSubnet1Id", "PrivateSubnet2Id")}
        passed = "Lambda SG → Redis SG tcp 6379; VpcConfig = data exports"
        if function is None:
            problems.append(f"function {self.config.api.function_name} not found")
        elif (
            self.profile.vpc_config_optional
            and not function.subnet_ids
            and not function.security_group_ids
        ):
            passed = "Lambda SG → Redis SG tcp 6379; VpcConfig not reported by the emulator"
        elif set(function.subnet_ids) != subnets:
            problems.append("the function's subnets differ from the data exports")
        elif tuple(function.security_group_ids) != (lambda_sg,):
            problems.append("the function's security groups differ from the Lambda SG export")
        return _result("V3", problems, passed)

    def v4(self, expected_code_sha256: str | None) -> Check:
        seen, config, function = self.seen, self.config, self.seen.function
        if function is None:
            return Check("V4", False, f"function {served_function(config)} not found")
        problems: list[str | None] = [
            f"{label} is {actual or 'empty'}, expected {wanted}"
            for label, actual, wanted in (
                ("State", function.state, "Active"),
                ("LastUpdateStatus", function.last_update_status, "Successful"),
                ("Runtime", function.runtime, RUNTIME),
            )
            if actual != wanted
        ]
        passed = "Active python3.12; env = SSM, secret and ConfigVersion"
        if config.api.snapstart:
            if function.snapstart != "On":
                problems.append(
                    f"SnapStart of version {function.version} (alias {SNAPSTART_ALIAS}) is "
                    f"{function.snapstart or 'not reported'}, expected On"
                )
            passed = (
                f"Active python3.12, SnapStart On (version {function.version}); "
                "env = SSM, secret and ConfigVersion"
            )
        if expected_code_sha256 is not None and function.code_sha256 != expected_code_sha256:
            problems.append(f"CodeSha256 {function.code_sha256} is not {expected_code_sha256}")
        for variable, key in (
            ("REDIS_ENDPOINT", "endpoint"), ("REDIS_PORT", "port"),
            ("EXAMPLES_ALLOWED_ORIGINS", "examples-origins"),
            ("SVG_ALLOWED_ORIGINS", "svg-origins"),
        ):  # fmt: skip
            actual, wanted = seen.env(variable), seen.value(key)
            if key.endswith("origins") and actual is not None and wanted is not None:
                actual, wanted = ",".join(origins(actual)), ",".join(origins(wanted))
            problems.append(_differs(variable, actual, wanted, config.ssm_name(key)))
        problems.append(self._password())
        expected, missing = seen.expected_config_version()
        actual = seen.env("CONFIG_VERSION")
        if expected is None:
            problems.append(f"CONFIG_VERSION cannot be computed: {', '.join(missing)} missing")
        elif actual != expected:
            problems.append(f"CONFIG_VERSION {actual} is stale: live versions give {expected}")
        env = function.environment
        if unresolved := sorted(k for k, v in env.items() if "{{resolve:" in v.reveal()):
            problems.append(f"{{{{resolve:…}}}} left unresolved in {', '.join(unresolved)}")
        return _result("V4", problems, passed)

    def _password(self) -> str | None:
        name = self.config.redis.auth_secret_name
        if self.seen.secret is None:
            return f"secret {name} not found"
        token = self.gateways.secrets.value(name).reveal()
        return _differs("REDIS_PASSWORD", self.seen.env("REDIS_PASSWORD"), token, f"{name}")

    def v5(self) -> Check:
        api = self.config.api
        problems: list[str | None] = []

        target = served_function(self.config)  # under SnapStart the alias, as the gateway

        def call(method: str, path: str, query: str = "", body: object = None) -> Reply | None:
            event = http_event(method, path, query, body, api.stage_name)
            try:
                return Reply.parse(self.gateways.functions.invoke(target, event))
            except DeployError as exc:
                problems.append(f"{method} {path}: {exc}")
                return None

        health = call("GET", "/api/health")
        if health is not None and (health.status != 200 or health.field("mode") != "kv"):
            problems.append(f"GET /api/health: {health.status}, mode {health.field('mode')}")
        elif health is not None and health.field("redis", "reachable") is not True:
            problems.append("GET /api/health: redis.reachable is not true")
        if problems:
            return _result("V5", problems, "")
        query = urlencode({"path": f"/__deploycheck__/{self.run_id}"}, safe="/")
        examples = [{"title": "mathvisuals verify", "description": f"run {self.run_id}"}]
        put = call("PUT", "/api/examples", query, {"examples": examples, "deletedProvided": []})
        mode = put.headers.get("x-examples-store-mode", "absent") if put else None
        if put is not None and (put.status != 200 or mode != "kv"):
            problems.append(f"PUT /api/examples: {put.status}, X-Examples-Store-Mode {mode}")
        got = call("GET", "/api/examples", query)
        if got is not None and (got.status != 200 or got.field("examples") != examples):
            problems.append(f"GET after PUT: {got.status}, not the example written")
        deleted = call("DELETE", "/api/examples", query)  # always, so nothing is left behind
        if deleted is not None and deleted.status != 200:
            problems.append(f"DELETE /api/examples: {deleted.status}")
        final = call("GET", "/api/examples", query)
        if final is not None and final.status != 404:
            problems.append(f"GET after DELETE: {final.status}, expected 404")
        return _result("V5", problems, "health kv reachable; PUT, GET, DELETE, GET 404 in kv")

    def v6(
        self, since_ms: int | None, attempts: int, interval_s: float, sleep: Callable[[float], None]
    ) -> Check:
        # From the function's current configuration on (or this run's start, if earlier): a
        # warm worker of that configuration logged its store.ready already (a resumed rotation).
        start = since_ms
        changed = epoch_ms(self.seen.function.last_modified) if self.seen.function else None
        if changed is not None:
            start = changed if start is None else min(start, changed)
        group = self.config.log_group
        for attempt in range(1, max(attempts, 1) + 1):
            events = parse_events(self.gateways.logs.messages(group, start or 0))
            ready = [e for e in events if e.get("event") == "store.ready"]
            kv = [e for e in ready if e.get("mode") == "kv"]
            errors = [e for e in events if e.get("event") == "redis.error"]
            if kv or errors or attempt >= attempts:
                break
            sleep(interval_s)  # the V5 cold start may not have reached CloudWatch yet
        problems: list[str | None] = []
        if not kv:
            modes = ", ".join(sorted({str(e.get("mode")) for e in ready})) or "none"
            problems.append(f"no store.ready with mode kv in {group} (modes seen: {modes})")
        if errors:
            kinds = sorted({f"{e.get('error_class')}/{e.get('operation')}" for e in errors})
            problems.append(f"{len(errors)} redis.error ({', '.join(kinds)})")
        return _result("V6", problems, f"{len(kv)} store.ready kv, 0 redis.error in {group}")

    def v7(self, http_get: HttpGet | None, http_options: HttpGet | None) -> Check:
        endpoint = self.seen.stacks["api"].outputs.get("ApiEndpoint")
        if http_get is None or not endpoint:
            missing = "an HTTP client" if http_get is None else "the ApiEndpoint output"
            return Check("V7", False, f"not checked: {missing} is missing")
        base, problems = endpoint.rstrip("/"), []
        allowed = origins(self.seen.value("examples-origins")) or self.config.cors.allowed_origins
        try:
            status, _, body = http_get(f"{base}/api/health", {"Accept": "application/json"})
            if status != 200 or not isinstance(body, dict):
                problems.append(f"GET <ApiEndpoint>/api/health: {status}")
            for index, origin in enumerate((*allowed, DISALLOWED_ORIGIN), start=1):
                headers = {"Origin": origin, "Access-Control-Request-Method": "PUT"}
                _, answer, _ = (http_options or http_get)(f"{base}/api/examples", headers)
                lowered = {key.lower(): value for key, value in answer.items()}
                echoed = lowered.get("access-control-allow-origin")
                if origin == DISALLOWED_ORIGIN and echoed:
                    problems.append("a disallowed origin got Access-Control-Allow-Origin")
                elif origin != DISALLOWED_ORIGIN and echoed != origin:
                    problems.append(f"allowed origin {index}/{len(allowed)} is not echoed")
        except (DeployError, OSError) as exc:
            problems.append(f"the request failed ({type(exc).__name__})")
        how = "preflights" if http_options else "CORS on GET"
        return _result("V7", problems, f"edge health 200; {how} echo only allowed origins")

    def v8(self) -> Check:
        monitoring = self.gateways.monitoring
        if monitoring is None:
            detail = "not checked: no gateway reads CloudWatch alarm states or SNS subscriptions"
            return Check("V8", False, detail, warning=True)
        prefix = f"{self.config.stacks.api}-"
        alarms = monitoring.alarms(prefix)
        if firing := sorted(alarm.name for alarm in alarms if alarm.state == "ALARM"):
            return Check("V8", False, f"in ALARM: {', '.join(firing)}")
        topic = self.seen.stacks["api"].outputs.get("AlarmTopicArn")
        if not topic:
            detail = (
                f"{len(alarms)} alarms not in ALARM; subscriptions not checked: no AlarmTopicArn"
            )
            return Check("V8", False, detail, warning=True)
        found = monitoring.subscriptions(topic)
        confirmed = sum(subscription.confirmed for subscription in found)
        if not confirmed:
            pending = f" ({len(found)} pending)" if found else ""
            detail = (
                f"{len(alarms)} alarms not in ALARM, but {self.config.alarm_topic_name} has no "
                f"confirmed subscription{pending}"
            )
            return Check("V8", False, detail, warning=True)
        return Check(
            "V8",
            True,
            f"{len(alarms)} alarms with prefix {prefix} not in ALARM; "
            f"{confirmed} confirmed subscription(s)",
        )
