"""``mathvisuals status``: the live state as Markdown and JSON, in the seed's five steps (§5.16).

Read-only, from the gateways. Values follow §5.12: names, versions and fingerprints; endpoint,
port and origins only with ``show_values``; tokens never.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from mathvisuals.deploy.config import EnvironmentConfig
from mathvisuals.deploy.errors import DeployError
from mathvisuals.deploy.gateway import Gateways
from mathvisuals.deploy.live import (
    DRIFT_ROLES,
    HEALTHY,
    OUTPUTS,
    REDIS_PORT,
    Observed,
    epoch_ms,
    origins,
    parse_events,
)
from mathvisuals.deploy.model import StackRole
from mathvisuals.deploy.pending import RESUME_HINT, pending_rotation
from mathvisuals.deploy.profile import TargetProfile
from mathvisuals.deploy.token import fingerprint, token_problems
from mathvisuals.deploy.verify import HINTS, VerifyReport

Value = str | int | bool | None | list[str]
DAY_MS = 24 * 60 * 60 * 1000
NOT_SHOWN = "(hidden; --show-values)"


@dataclass(frozen=True)
class Problem:
    id: str  # a V-check id, or the requirement (R…) whose state is wrong
    detail: str
    hint: str = ""
    warning: bool = False


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    rows: dict[str, Value]


@dataclass(frozen=True)
class StatusReport:
    header: dict[str, Value]
    sections: tuple[Section, ...]
    problems: tuple[Problem, ...]
    verify: VerifyReport | None = None

    @property
    def ok(self) -> bool:
        return not any(not problem.warning for problem in self.problems)

    def document(self) -> dict[str, object]:
        return {
            "header": self.header,
            "sections": {section.key: section.rows for section in self.sections},
            "problems": [asdict(problem) for problem in self.problems],
            "verify": self.verify.document() if self.verify else None,
        }

    def to_json(self) -> str:
        return json.dumps(self.document(), indent=2, ensure_ascii=False)

    def to_markdown(self) -> str:
        lines = [f"# Status of {self.header['env']}", "", *_table(self.header, "field")]
        for section in self.sections:
            lines += ["", f"## {section.title}", "", *_table(section.rows, "item")]
            if section.key == "api" and self.verify is not None:
                lines += ["", "| check | outcome | detail |", "|---|---|---|"]
                lines += [
                    f"| {c.id} | {c.outcome} | {_cell(c.detail)} |" for c in self.verify.checks
                ]
        lines += ["", "## Problems", ""]
        if not self.problems:
            lines.append("None.")
        else:
            lines += ["| id | level | problem | hint |", "|---|---|---|---|"]
            lines += [
                f"| {p.id} | {'warning' if p.warning else 'error'} | {_cell(p.detail)} "
                f"| {_cell(p.hint)} |"
                for p in self.problems
            ]
        return "\n".join(lines) + "\n"

    def write(self, path_prefix: Path) -> tuple[Path, Path]:
        """``<prefix>.md`` and ``<prefix>.json`` (``report.path`` in the config)."""
        markdown = path_prefix.with_name(path_prefix.name + ".md")
        document = path_prefix.with_name(path_prefix.name + ".json")
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(self.to_markdown(), encoding="utf-8")
        document.write_text(self.to_json() + "\n", encoding="utf-8")
        return markdown, document


def _cell(value: Value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == []:
        return "–"
    text = ", ".join(value) if isinstance(value, list) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(rows: Mapping[str, Value], first: str) -> list[str]:
    return [
        f"| {first} | value |",
        "|---|---|",
        *(f"| {k} | {_cell(v)} |" for k, v in rows.items()),
    ]


def build_status(
    config: EnvironmentConfig,
    gateways: Gateways,
    *,
    profile: TargetProfile,
    verify_report: VerifyReport | None,
    tool_version: str,
    now: str,
    show_values: bool = False,
    templates: Mapping[StackRole, str] | None = None,
    observed: Observed | None = None,
    last_verify: str | None = None,
) -> StatusReport:
    """The report; ``templates`` (local bodies) adds deployed-vs-local template fingerprints.
    ``observed`` reuses the live state a verify run has read already; ``last_verify`` is the
    recorded outcome of the latest verify when this run has none of its own."""
    seen = observed if observed is not None else Observed(config, gateways)
    builder = _Builder(seen, profile, show_values, templates or {}, now)
    header = builder.header(tool_version)
    sections = tuple(
        builder.section(key, title, build)
        for key, title, build in (
            ("shared", "1. Shared stack", builder.shared),
            ("secret", "2. Auth-token secret", builder.secret),
            ("data", "3. Data stack", builder.data),
            ("parameters", "4. Parameters and GitHub", builder.parameters),
            ("api", "5. API and verification", lambda: builder.api(verify_report, last_verify)),
        )
    )
    if verify_report is not None:
        builder.problems += [
            Problem(c.id, c.detail, HINTS.get(c.id, ""), warning=c.outcome == "warn")
            for c in verify_report.checks
            if c.outcome != "pass"
        ]
    return StatusReport(header, sections, tuple(builder.problems), verify_report)


class _Builder:
    def __init__(
        self,
        seen: Observed,
        profile: TargetProfile,
        show_values: bool,
        templates: Mapping[StackRole, str],
        now: str,
    ) -> None:
        self.config, self.gateways, self.profile = seen.config, seen.gateways, profile
        self.show_values, self.templates, self.now = show_values, templates, now
        self.seen = seen
        self.problems: list[Problem] = []

    def problem(self, rule: str, detail: str, hint: str = "", *, warning: bool = False) -> None:
        self.problems.append(Problem(rule, detail, hint, warning))

    def shown(self, value: str | None) -> Value:
        return (value if self.show_values else NOT_SHOWN) if value is not None else None

    def section(self, key: str, title: str, build: Callable[[], dict[str, Value]]) -> Section:
        try:
            rows = build()
        except DeployError as exc:
            rows = {"error": str(exc)}
            self.problem("R19", f"{title}: could not be read ({exc})", "check credentials and IAM")
        return Section(key, title, rows)

    def header(self, tool_version: str) -> dict[str, Value]:
        config = self.config
        try:
            caller: str | None = self.gateways.identity.account_id()
        except DeployError as exc:
            caller = None
            self.problem("R13", f"the caller's account is unknown ({exc})")
        if caller is not None and caller != config.env.account_id:
            self.problem(
                "R13", f"the credentials are for account {caller}", "use the env's account"
            )
        return {
            "env": config.name,
            "target": self.profile.name,
            "account": config.env.account_id,
            "caller account": caller,
            "region": config.env.region,
            "generated at": self.now,
            "tool version": tool_version,
            "config fingerprint": fingerprint(config.model_dump_json()),
        }

    def stack_rows(self, role: StackRole, rule: str) -> dict[str, Value]:
        state = self.seen.stacks[role]
        cfn = self.gateways.cloudformation
        if state.status not in HEALTHY:
            self.problem(rule, f"{state.name} is {state.status or 'absent'}", "run mathvisuals up")
        events = cfn.events(state.name) if state.exists else []
        deployed = cfn.template(state.name) if state.exists else None
        local = self.templates.get(role)
        same = None if deployed is None or local is None else deployed == local
        if same is False:
            self.problem(
                rule,
                f"{state.name}: deployed template differs from the local one",
                "run mathvisuals plan to see the change",
                warning=True,
            )
        rows: dict[str, Value] = {
            "stack": state.name,
            "status": state.status or "absent",
            "last update": events[-1].timestamp if events else None,
            "template deployed": fingerprint(deployed) if deployed is not None else None,
            "template local": fingerprint(local) if local is not None else "not given",
            "template matches": same,
        }
        drift = self.seen.drift.get(role) if role in DRIFT_ROLES else None
        if drift is not None:
            rows["drift"] = drift.summary()
            if drift.status == "DRIFTED":
                hint = (
                    "a resource was changed outside CloudFormation; undo it, or change the template"
                )
                self.problem("V1", f"{state.name}: {drift.summary()}", hint, warning=True)
        return rows

    def shared(self) -> dict[str, Value]:
        rows = self.stack_rows("shared", "R7")
        names = [self.config.export("shared", key) for key in OUTPUTS["shared"]]
        absent = [name for name in names if name not in self.seen.exports]
        if absent and self.seen.stacks["shared"].exists:
            self.problem("R7", f"exports missing: {', '.join(absent)}", "run mathvisuals up")
        return rows | {"exports present": f"{len(names) - len(absent)}/{len(names)}"}

    def secret(self) -> dict[str, Value]:
        name = self.config.redis.auth_secret_name
        info = self.seen.secret
        if info is None or info.current_version is None:
            self.problem("R9", f"secret {name} does not exist", "run mathvisuals up (creates it)")
            return {"name": name, "exists": False}
        pending = pending_rotation(self.seen.stacks["data"], info)
        if pending is not None:
            self.problem("R17", pending.describe(), RESUME_HINT)
        token = self.gateways.secrets.value(name).reveal()
        problems = token_problems(token)
        if problems:
            self.problem(
                "R9",
                f"the token breaks the rules: {'; '.join(problems)}",
                "run mathvisuals rotate-token",
            )
        return {
            "name": name,
            "exists": True,
            "VersionId": info.current_version,
            "previous VersionId": info.previous_version,
            "created": "n/a (not read by the Secrets gateway)",
            "fingerprint": fingerprint(token),
            "rule check": "; ".join(problems) or f"ok (length {len(token)}, alphabet ok)",
            "rotation": pending.describe() if pending else "none unfinished",
        }

    def parameter_rows(self, label: str, key: str) -> dict[str, Value]:
        found = self.seen.parameters.get(key)
        return {
            f"{label} parameter": self.config.ssm_name(key),
            f"{label} version": found.version if found else None,
            f"{label} value": self.shown(found.value) if found else None,
        }

    def data(self) -> dict[str, Value]:
        redis = self.config.redis
        rows = self.stack_rows("data", "R8")
        group = self.seen.group
        rows |= {
            "replication group": redis.replication_group_id,
            "group status": group.status if group else "absent",
            "engine (configured)": redis.engine_version,
            "node type (configured)": redis.node_type,
            "TLS": group.transit_encryption if group else None,
            "AUTH": group.auth_token_enabled if group else None,
            "at-rest encryption": group.at_rest_encryption if group else None,
            "Multi-AZ": group.multi_az if group else None,
            "automatic failover": group.automatic_failover if group else None,
        }
        for label, key in (
            ("endpoint", "endpoint"),
            ("port", "port"),
            ("reader endpoint", "reader-endpoint"),
        ):
            rows |= self.parameter_rows(label, key)
        lambda_sg = self.seen.data_export("LambdaSecurityGroupId")
        redis_sg = self.seen.data_export("RedisSecurityGroupId")
        pair: bool | None = None
        if lambda_sg and redis_sg:
            pair = lambda_sg in self.gateways.network.ingress_sources(redis_sg, REDIS_PORT)
        rows[f"SG pair (Lambda → Redis tcp {REDIS_PORT})"] = pair
        return rows

    def parameters(self) -> dict[str, Value]:
        config = self.config
        rows: dict[str, Value] = {}
        for label, key in (
            ("examples allow-list", "examples-origins"),
            ("svg allow-list", "svg-origins"),
        ):
            rows |= self.parameter_rows(label, key)
            rows[f"{label} origins"] = len(origins(self.seen.value(key)))
        domain, provisional = self.static_domain()
        rows["provisional"] = provisional
        if provisional:
            self.problem(
                "R10",
                "the allow-list is provisional: the static site has no domain yet",
                "run mathvisuals up after the static-site stack exists",
                warning=True,
            )
        elif domain and f"https://{domain}" not in origins(self.seen.value("examples-origins")):
            self.problem(
                "R10", "the static-site origin is not in the allow-list yet", "run mathvisuals up"
            )
        github = config.github
        rows |= {
            "GitHub repository": github.repository,
            "GitHub environment": github.environment or None,
            "GitHub secrets": [f"{name} ← {source}" for name, source in github.secrets.items()],
            "GitHub updated_at": "not read (run mathvisuals github-secrets --dry-run)",
        }
        return rows

    def static_domain(self) -> tuple[str | None, bool]:
        stack = self.config.stacks.static_site
        if not (stack and self.config.cors.include_static_site_domain):
            return None, False
        static = self.gateways.static_site
        domain = (
            static.describe(stack).outputs.get("CloudFrontDistributionDomainName")
            if static
            else None
        )
        return domain, not domain

    def api(self, verify_report: VerifyReport | None, last_verify: str | None) -> dict[str, Value]:
        rows = self.stack_rows("api", "R11")
        function, seen = self.seen.function, self.seen
        expected, missing = seen.expected_config_version()
        deployed = seen.env("CONFIG_VERSION")
        if function is not None and expected is not None and deployed != expected:
            self.problem(
                "R11",
                f"CONFIG_VERSION {deployed} is not the expected {expected}",
                "run mathvisuals up to re-resolve the function's environment",
            )
        start = (epoch_ms(self.now) or DAY_MS) - DAY_MS
        events = parse_events(self.gateways.logs.messages(self.config.log_group, start))
        ready = [e for e in events if e.get("event") == "store.ready"]
        errors = sum(e.get("event") == "redis.error" for e in events)
        mode = str(ready[-1].get("mode")) if ready else None
        if mode == "memory":
            self.problem("R11", "the latest store.ready is in memory mode", HINTS["V5"])
        if errors:
            self.problem("R11", f"{errors} redis.error in the last 24 h", HINTS["V6"])
        subscriptions = len(self.config.alarms.email_subscriptions)
        if subscriptions == 0 and self.profile.reads_alarms:  # no alarms where they are skipped
            self.problem(
                "R11",
                "the alarm topic has no e-mail subscriptions configured",
                "add alarms.email_subscriptions to the config",
                warning=True,
            )
        snapstart: dict[str, Value] = {}
        if self.config.api.snapstart and function is not None:
            snapstart = {"SnapStart (alias live)": f"version {function.version}: "
                         f"{function.snapstart or 'not reported'}"}  # fmt: skip
            if function.snapstart != "On":
                self.problem("R11", f"SnapStart is {function.snapstart or 'not reported'} on "
                             f"version {function.version}", HINTS["V4"])  # fmt: skip
        alarm_states = self.alarm_states()
        last = last_verify or "not run"
        if verify_report is not None:
            failed = ", ".join(c.id for c in verify_report.failed)
            last = "passed" if verify_report.ok else f"failed: {failed}"
        return rows | {
            "function": self.config.api.function_name,
            "state": function.state if function else "absent",
            "runtime": function.runtime if function else None,
            "CodeSha256": function.code_sha256 if function else None,
            **snapstart,
            "CONFIG_VERSION": deployed,
            "CONFIG_VERSION expected": expected or f"unknown ({', '.join(missing)} missing)",
            "latest store.ready mode": mode,
            "redis.error (24 h)": errors,
            "alarm states": alarm_states,
            "alarm e-mail subscriptions (configured)": subscriptions,
            "last verify": last,
        }

    def alarm_states(self) -> Value:
        """``name → state`` for the api stack's alarms; one in ALARM is a problem (V8)."""
        monitoring = self.gateways.monitoring
        if not self.profile.reads_alarms:
            return f"skipped ({self.profile.name} target)"
        if monitoring is None:
            return "not read (no CloudWatch gateway)"
        prefix = f"{self.config.stacks.api}-"
        try:
            alarms = monitoring.alarms(prefix)
        except DeployError as exc:
            self.problem(
                "R19", f"alarm states could not be read ({exc})", "check credentials and IAM"
            )
            return "not read"
        for alarm in alarms:
            if alarm.state == "ALARM":
                self.problem("R11", f"alarm {alarm.name} is in ALARM", HINTS["V8"])
        return [f"{a.name} → {a.state}" for a in alarms] or f"none with prefix {prefix}"
