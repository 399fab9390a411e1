"""``status``: the five sections from live state, and no value where §5.12 forbids one."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mathvisuals.deploy.config import EnvironmentConfig, load_config
from mathvisuals.deploy.errors import DeploymentFailedError
from mathvisuals.deploy.gateway import ParameterInfo, ReplicationGroupInfo
from mathvisuals.deploy.model import StackState
from mathvisuals.deploy.profile import AWS, LOCAL, TargetProfile
from mathvisuals.deploy.status import StatusReport, Value, build_status
from mathvisuals.deploy.token import fingerprint
from mathvisuals.deploy.verify import VerifyReport
from tests.deploy.fakes import FakeCache, FakeCloudFormation, FakeMonitoring, fake_gateways
from tests.deploy.test_verify import (
    ENDPOINT,
    OTHER_TOKEN,
    PORT,
    READER,
    TOKEN,
    World,
    alarmed,
    converged,
)

NOW = "2026-01-02T10:00:00.000+00:00"
SECTIONS = (
    "## 1. Shared stack",
    "## 2. Auth-token secret",
    "## 3. Data stack",
    "## 4. Parameters and GitHub",
    "## 5. API and verification",
    "## Problems",
)


@pytest.fixture
def config() -> EnvironmentConfig:
    return load_config(Path("infra/environments/local.toml"))


@pytest.fixture
def prod() -> EnvironmentConfig:
    return load_config(Path("infra/environments/prod.toml"))


def status(
    world: World,
    verify_report: VerifyReport | None = None,
    profile: TargetProfile = LOCAL,
    **options: object,
) -> StatusReport:
    return build_status(
        world.config,
        world.gateways,
        profile=profile,
        verify_report=verify_report,
        tool_version="0.1.0",
        now=NOW,
        **options,  # type: ignore[arg-type]
    )


def rows(report: StatusReport, key: str) -> dict[str, Value]:
    return next(section.rows for section in report.sections if section.key == key)


def problem_ids(report: StatusReport) -> list[tuple[str, bool]]:
    return [(p.id, p.warning) for p in report.problems]


def test_markdown_has_the_header_and_every_section(config: EnvironmentConfig) -> None:
    report = status(converged(config))
    markdown = report.to_markdown()
    assert markdown.startswith("# Status of local\n")
    positions = [markdown.index(title) for title in SECTIONS]
    assert positions == sorted(positions)
    for field in ("| env | local |", "| region | eu-north-1 |", f"| generated at | {NOW} |",
                  "| tool version | 0.1.0 |", "| config fingerprint | sha256:"):  # fmt: skip
        assert field in markdown
    assert "| VersionId | v1 |" in markdown and "| previous VersionId | v0 |" in markdown
    assert f"| fingerprint | {fingerprint(TOKEN)} |" in markdown
    assert "| rule check | ok (length 54, alphabet ok) |" in markdown
    assert f"| endpoint parameter | {config.ssm_name('endpoint')} |" in markdown
    assert "| endpoint version | 3 |" in markdown
    assert "| SG pair (Lambda → Redis tcp 6379) | yes |" in markdown
    assert "| runtime | python3.12 |" in markdown and "| CodeSha256 | q83vEjRWeJA= |" in markdown
    assert "| latest store.ready mode | kv |" in markdown
    assert "| redis.error (24 h) | 0 |" in markdown
    assert "| last verify | not run |" in markdown
    assert "| GitHub secrets | REDIS_ENDPOINT ← ssm:endpoint," in markdown


def test_a_converged_world_has_no_problem_where_alarms_are_skipped(
    config: EnvironmentConfig,
) -> None:
    report = status(converged(config))
    assert problem_ids(report) == []  # no alarm e-mail warning: the local target has no alarms
    assert report.ok
    api = rows(report, "api")
    assert api["CONFIG_VERSION"] == api["CONFIG_VERSION expected"]
    assert rows(report, "parameters")["provisional"] is False


def test_without_subscriptions_aws_warns_about_alarm_email(config: EnvironmentConfig) -> None:
    report = status(converged(config), profile=AWS)
    assert ("R11", True) in problem_ids(report)
    assert any("e-mail subscriptions" in p.detail for p in report.problems)


def test_the_recorded_verify_is_shown_when_this_run_has_none(config: EnvironmentConfig) -> None:
    recorded = status(converged(config), last_verify="passed (2026-12-02T14:00:00Z)")
    assert rows(recorded, "api")["last verify"] == "passed (2026-12-02T14:00:00Z)"


def test_no_token_or_endpoint_in_the_files_by_default(
    config: EnvironmentConfig, tmp_path: Path
) -> None:
    world = converged(config)
    world.set_env(REDIS_PASSWORD=OTHER_TOKEN)  # a failing verify, whose details are included too
    verify_report = world.run()
    markdown, document = status(world, verify_report).write(tmp_path / "status" / "local")
    assert (markdown.name, document.name) == ("local.md", "local.json")
    for path in (markdown, document):
        data = path.read_bytes()
        for value in (TOKEN, OTHER_TOKEN, ENDPOINT, READER):
            assert value.encode() not in data
        for origin in config.cors.allowed_origins:
            assert origin.encode() not in data
        assert b"***" not in data
    assert b"(hidden; --show-values)" in markdown.read_bytes()


def test_show_values_shows_endpoints_but_never_the_token(config: EnvironmentConfig) -> None:
    report = status(converged(config), show_values=True)
    text = report.to_markdown() + report.to_json()
    assert f"| endpoint value | {ENDPOINT} |" in text and f"| port value | {PORT} |" in text
    assert READER in text and config.cors.allowed_origins[0] in text
    assert TOKEN not in text and OTHER_TOKEN not in text


def test_json_holds_the_same_sections_and_the_verify_report(config: EnvironmentConfig) -> None:
    world = converged(config)
    document = json.loads(status(world, world.run()).to_json())
    assert list(document) == ["header", "sections", "problems", "verify"]
    assert list(document["sections"]) == ["shared", "secret", "data", "parameters", "api"]
    assert document["header"]["env"] == "local" and document["header"]["caller account"]
    assert document["sections"]["data"]["TLS"] is True
    assert document["sections"]["api"]["last verify"] == "passed"
    assert [c["id"] for c in document["verify"]["checks"]] == ["V1", "V2", "V3", "V4", "V5", "V6"]


def test_verify_failures_become_problems_with_hints(config: EnvironmentConfig) -> None:
    world = converged(config)
    world.network.rules.clear()
    report = status(world, world.run(profile=AWS, http_get=None))
    assert rows(report, "api")["last verify"] == "failed: V3, V7"
    found = {p.id: p for p in report.problems}
    assert "does not allow tcp 6379" in found["V3"].detail and found["V3"].hint
    assert found["V8"].warning and not found["V7"].warning
    markdown = report.to_markdown()
    assert "| V3 | fail |" in markdown and "| V3 | error |" in markdown
    assert "| SG pair (Lambda → Redis tcp 6379) | no |" in markdown


def test_stale_config_version_is_a_problem(config: EnvironmentConfig) -> None:
    world = converged(config)
    name = config.ssm_name("port")
    world.parameters.items[name] = replace(world.parameters.items[name], version=2)
    report = status(world)
    api = rows(report, "api")
    assert api["CONFIG_VERSION"] != api["CONFIG_VERSION expected"]
    assert ("R11", False) in problem_ids(report) and not report.ok


def test_a_token_breaking_the_rules_is_reported_by_rule_never_by_value(
    config: EnvironmentConfig,
) -> None:
    bad = "short token"
    world = converged(config, token=bad)
    report = status(world)
    secret = rows(report, "secret")
    assert "length 11 is outside 16..128" in str(secret["rule check"])
    assert ("R9", False) in problem_ids(report)
    assert bad not in report.to_markdown() and bad not in report.to_json()


def test_logs_of_the_last_day_give_mode_and_error_count(config: EnvironmentConfig) -> None:
    world = converged(config)
    memory = {"event": "store.ready", "mode": "memory"}
    error = {"event": "redis.error", "error_class": "TIMEOUT", "operation": "ping"}
    world.logs.lines[config.log_group] += [json.dumps(memory), json.dumps(error), "END x"]
    report = status(world)
    api = rows(report, "api")
    assert api["latest store.ready mode"] == "memory" and api["redis.error (24 h)"] == 1
    assert [p.detail for p in report.problems if p.id == "R11" and not p.warning] == [
        "the latest store.ready is in memory mode",
        "1 redis.error in the last 24 h",
    ]


def test_nothing_deployed_is_reported_not_raised(config: EnvironmentConfig) -> None:
    empty = fake_gateways()
    report = build_status(
        config, empty, profile=LOCAL, verify_report=None, tool_version="0", now=NOW
    )
    assert rows(report, "shared")["status"] == "absent"
    assert rows(report, "secret") == {"name": config.redis.auth_secret_name, "exists": False}
    assert rows(report, "data")["group status"] == "absent"
    assert rows(report, "api")["state"] == "absent"
    assert {"R7", "R8", "R9", "R11"} <= {p.id for p in report.problems}


def test_an_unreadable_section_is_a_problem(config: EnvironmentConfig) -> None:
    class DeniedCache(FakeCache):
        def replication_group(self, group_id: str) -> ReplicationGroupInfo | None:
            raise DeploymentFailedError("DescribeReplicationGroups: AccessDenied")

    world = converged(config)
    world.gateways.cache = DeniedCache()
    report = status(world)
    assert rows(report, "data") == {"error": "DescribeReplicationGroups: AccessDenied"}
    assert ("R19", False) in problem_ids(report)
    assert rows(report, "api")["runtime"] == "python3.12"  # the other sections still ran


def test_templates_compare_deployed_and_local_fingerprints(config: EnvironmentConfig) -> None:
    world = converged(config)
    report = status(world, templates={"shared": "shared: 1", "data": "data: 2"})
    assert rows(report, "shared")["template matches"] is True
    data = rows(report, "data")
    assert data["template matches"] is False
    assert data["template deployed"] == fingerprint("data: 1")
    assert rows(report, "api")["template local"] == "not given"
    assert ("R8", True) in problem_ids(report)


# Alarm states (§5.16) ---------------------------------------------------------------------------


def test_alarm_states_are_listed_for_the_aws_target(config: EnvironmentConfig) -> None:
    report = status(alarmed(config), profile=AWS)
    api = config.stacks.api
    assert rows(report, "api")["alarm states"] == [
        f"{api}-Http5xxAlarm-3C → OK",
        f"{api}-MemoryModeStartsAlarm-4D → OK",
        f"{api}-RedisAuthErrorsAlarm-2B → OK",
        f"{api}-RedisErrorsAlarm-1A → OK",
    ]
    assert f"| alarm states | {api}-Http5xxAlarm-3C → OK, " in report.to_markdown()
    assert problem_ids(report) == [("R11", True)]  # only: no e-mail subscription configured


def test_an_alarm_in_alarm_is_a_problem(config: EnvironmentConfig) -> None:
    report = status(alarmed(config, "ALARM"), profile=AWS)
    found = [p for p in report.problems if not p.warning]
    assert [(p.id, p.detail) for p in found] == [
        ("R11", f"alarm {config.stacks.api}-MemoryModeStartsAlarm-4D is in ALARM")
    ]
    assert found[0].hint and not report.ok


def test_alarm_states_skipped_locally_and_without_a_gateway(config: EnvironmentConfig) -> None:
    world = alarmed(config, "ALARM")
    assert rows(status(world), "api")["alarm states"] == "skipped (local target)"
    world.gateways.monitoring = None
    report = status(world, profile=AWS)
    assert rows(report, "api")["alarm states"] == "not read (no CloudWatch gateway)"
    assert report.ok


def test_unreadable_alarm_states_keep_the_rest_of_the_section(config: EnvironmentConfig) -> None:
    class Denied(FakeMonitoring):
        def alarms(self, prefix: str) -> list[Any]:
            raise DeploymentFailedError("DescribeAlarms failed: AccessDenied")

    world = converged(config)
    world.gateways.monitoring = Denied()
    report = status(world, profile=AWS)
    assert rows(report, "api")["alarm states"] == "not read"
    assert rows(report, "api")["runtime"] == "python3.12"
    assert ("R19", False) in problem_ids(report)


# The allow-list bootstrap (§5.7) ----------------------------------------------------------------


def prod_world(prod: EnvironmentConfig, domain: str | None) -> World:
    world = converged(prod)
    static = FakeCloudFormation()
    outputs = {"CloudFrontDistributionDomainName": domain} if domain else {}
    static.put_state(StackState(str(prod.stacks.static_site), "UPDATE_COMPLETE", outputs=outputs))
    world.gateways.static_site = static
    return world


def test_allow_list_is_provisional_until_the_static_site_has_a_domain(
    prod: EnvironmentConfig,
) -> None:
    report = status(prod_world(prod, None))
    assert rows(report, "parameters")["provisional"] is True
    assert "| provisional | yes |" in report.to_markdown()
    assert ("R10", True) in problem_ids(report)


def test_a_static_domain_missing_from_the_allow_list_is_a_problem(
    prod: EnvironmentConfig,
) -> None:
    report = status(prod_world(prod, "d111.cloudfront.net"))
    assert rows(report, "parameters")["provisional"] is False
    assert ("R10", False) in problem_ids(report)


def test_a_static_domain_in_the_allow_list_is_final(prod: EnvironmentConfig) -> None:
    world = prod_world(prod, "d111.cloudfront.net")
    value = ",".join([*prod.cors.allowed_origins, "https://d111.cloudfront.net"])
    for key in ("examples-origins", "svg-origins"):
        name = prod.ssm_name(key)
        world.parameters.items[name] = ParameterInfo(name, value, 3, "StringList")
    report = status(world)
    assert rows(report, "parameters")["examples allow-list origins"] == 3
    assert "R10" not in {p.id for p in report.problems}


def test_an_unfinished_rotation_is_a_problem_with_the_resume_hint(
    config: EnvironmentConfig,
) -> None:
    world = converged(config)
    data = world.cfn.stacks[config.stacks.data]
    pinned = {**data.state.parameters, "RedisAuthSecretVersionId": "v0"}  # AWSCURRENT is v1
    data.state = replace(data.state, parameters=pinned)
    report = status(world)
    (problem,) = [p for p in report.problems if p.id == "R17"]
    assert "unfinished" in problem.detail and "rotate-token" in problem.hint
    assert "unfinished" in str(rows(report, "secret")["rotation"]) and not report.ok


def test_with_snapstart_the_alias_version_and_its_status_are_shown(
    config: EnvironmentConfig,
) -> None:
    snap = config.model_copy(update={"api": config.api.model_copy(update={"snapstart": True})})
    world = converged(snap)
    world.functions.functions[f"{snap.api.function_name}:live"] = replace(
        world.function, version="4", snapstart="Off"
    )
    report = status(world)
    assert rows(report, "api")["SnapStart (alias live)"] == "version 4: Off"
    assert ("R11", False) in problem_ids(report)
    world.functions.functions[f"{snap.api.function_name}:live"] = replace(
        world.function, version="4", snapstart="On"
    )
    report = status(world)
    assert rows(report, "api")["SnapStart (alias live)"] == "version 4: On"
    assert "SnapStart is" not in str(report.problems) and report.ok, report.problems
