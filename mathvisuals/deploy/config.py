"""The typed per-environment config (``infra/environments/<env>.toml``, deploy.md §5.2).

Every other name (exports, SSM parameters, log group, tags) is derived here, in one place.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from mathvisuals.deploy.errors import ConfigError, CredentialsError, UsageError

ENVIRONMENTS_DIR = Path("infra/environments")
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
     2922, 3288, 3653}
)  # fmt: skip
GITHUB_SOURCES = frozenset({"ssm:endpoint", "ssm:port", "secret:authToken"})
REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
_DAY = "(mon|tue|wed|thu|fri|sat|sun)"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# TOML has real numbers and booleans; a quoted "256" is a mistake, never coerced.
_STRICT_TYPES = {
    "int_type": "must be a TOML integer without quotes (memory_mb = 256)",
    "bool_type": "must be a TOML boolean without quotes (true or false)",
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnvSection(_Section):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,19}$")]
    account_id: Annotated[str, Field(pattern=r"^\d{12}$")]
    region: Annotated[str, Field(pattern=REGION)]
    # The target this environment runs on (aws, or local: the sandbox); --target must agree.
    target: Literal["aws", "local"] | None = None


class StacksSection(_Section):
    shared: str
    data: str
    api: str
    static_site: str | None = None
    static_site_region: Annotated[str, Field(pattern=REGION)] | None = None

    @field_validator("shared", "data", "api", "static_site")
    @classmethod
    def _stack_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,127}", value):
            raise ValueError("a stack name is letters, digits and '-', starting with a letter")
        return value


class RedisSection(_Section):
    auth_secret_name: str
    replication_group_id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")]
    node_type: Annotated[str, Field(pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")] = "cache.t4g.small"
    engine_version: Annotated[str, Field(pattern=r"^\d+\.\d+$")] = "7.1"
    replicas_per_node_group: Annotated[StrictInt, Field(ge=1, le=5)] = 1
    snapshot_retention_days: Annotated[StrictInt, Field(ge=0, le=35)] = 7
    at_rest_encryption: StrictBool = True
    automatic_failover: StrictBool = True
    multi_az: StrictBool = True
    maintenance_window: Annotated[str, Field(pattern=rf"^{_DAY}:\d\d:\d\d-{_DAY}:\d\d:\d\d$")] = (
        "sun:02:00-sun:03:00"
    )
    token_length: Annotated[StrictInt, Field(ge=16, le=128)] = 64


class NetworkSection(_Section):
    vpc_cidr: str = "10.42.0.0/16"
    private_subnet_cidrs: tuple[str, str] = ("10.42.1.0/24", "10.42.2.0/24")

    @model_validator(mode="after")
    def _subnets_inside_vpc(self) -> NetworkSection:
        try:
            vpc = ipaddress.ip_network(self.vpc_cidr)
            subnets = [ipaddress.ip_network(cidr) for cidr in self.private_subnet_cidrs]
        except ValueError as exc:
            raise ValueError(f"not a CIDR block: {exc}") from exc
        for subnet in subnets:
            if not subnet.subnet_of(vpc):  # type: ignore[arg-type]
                raise ValueError(f"subnet {subnet} is outside the VPC {vpc}")
        if subnets[0].overlaps(subnets[1]):
            raise ValueError("the two private subnets overlap")
        return self


class ApiSection(_Section):
    function_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    stage_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
    memory_mb: Annotated[StrictInt, Field(ge=128, le=10240)] = 256
    timeout_s: Annotated[StrictInt, Field(ge=1, le=900)] = 30
    log_retention_days: StrictInt = 30
    artifact_bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    artifact_prefix: str = "api/"
    # Lambda SnapStart (python3.12+): traffic goes to a published version whose initialised
    # process was snapshotted; costs a snapshot cache and a charge per restore.
    snapstart: StrictBool = False

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch accepts only {sorted(LOG_RETENTION_DAYS)}")
        return value


class CorsSection(_Section):
    allowed_origins: tuple[str, ...] = ()
    include_static_site_domain: StrictBool = True
    allow_credentials: StrictBool = True

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for origin in values:
            if origin == "*":
                continue
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise ValueError(f"{origin!r} is not an origin like https://example.no")
        return values

    @model_validator(mode="after")
    def _no_wildcard_with_credentials(self) -> CorsSection:
        if self.allow_credentials and "*" in self.allowed_origins:
            raise ValueError("'*' cannot be combined with allow_credentials = true")
        return self


class AlarmsSection(_Section):
    email_subscriptions: tuple[Annotated[str, Field(pattern=_EMAIL)], ...] = ()


class GithubSection(_Section):
    repository: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")] | None = None
    environment: str = ""
    secrets: dict[str, str] = Field(
        default_factory=lambda: {
            "REDIS_ENDPOINT": "ssm:endpoint",
            "REDIS_PORT": "ssm:port",
            "REDIS_PASSWORD": "secret:authToken",
        }
    )

    @field_validator("secrets")
    @classmethod
    def _sources(cls, value: dict[str, str]) -> dict[str, str]:
        for name, source in value.items():
            if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
                raise ValueError(f"{name!r} is not a valid GitHub secret name")
            if source not in GITHUB_SOURCES:
                raise ValueError(f"{name}: source must be one of {sorted(GITHUB_SOURCES)}")
        return value


class ProtectionSection(_Section):
    termination_protection: StrictBool = True
    # up refuses without --plan FILE (from plan --out) or --yes: review before apply.
    require_plan: StrictBool = False


class ReportSection(_Section):
    path: str


class LocalSection(_Section):
    endpoint_url: str = "http://127.0.0.1:4566"
    redis_ca_file: str = ""

    @field_validator("endpoint_url")
    @classmethod
    def _loopback(cls, value: str) -> str:
        host = urlsplit(value).hostname or ""
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the local emulator must be on loopback (127.0.0.1)")
        return value


class EnvironmentConfig(_Section):
    env: EnvSection
    stacks: StacksSection
    redis: RedisSection
    network: NetworkSection = NetworkSection()
    api: ApiSection
    cors: CorsSection = CorsSection()
    alarms: AlarmsSection = AlarmsSection()
    github: GithubSection = GithubSection()
    protection: ProtectionSection = ProtectionSection()
    report: ReportSection
    local: LocalSection = LocalSection()
    # Written by `mathvisuals adopt` (deploy/takeover): per stack role, what our templates take
    # from live stacks that upstream created. Validated where it is read.
    adopt: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _derive_defaults(cls, data: Any) -> Any:
        """Fill the names that follow from ``env.name`` (math-visuals-<role>[-<env>], …)."""
        if not isinstance(data, dict) or not isinstance(data.get("env"), dict):
            return data
        name = data["env"].get("name")
        if not isinstance(name, str):
            return data
        suffix = "" if name == "prod" else f"-{name}"
        stacks = dict(data.get("stacks") or {})
        for role in ("shared", "data", "api"):
            stacks.setdefault(role, f"math-visuals-{role}{suffix}")
        redis = dict(data.get("redis") or {})
        redis.setdefault("auth_secret_name", f"math-visuals/{name}/redis/auth")
        redis.setdefault("replication_group_id", f"mv-{name}-redis")
        api = dict(data.get("api") or {})
        api.setdefault("function_name", stacks["api"])
        # The stage names the alarm topic: per environment, so two envs never share one.
        api.setdefault("stage_name", name)
        report = dict(data.get("report") or {})
        report.setdefault("path", f"infra/status/{name}")
        return {**data, "stacks": stacks, "redis": redis, "api": api, "report": report}

    @model_validator(mode="after")
    def _names_match_templates(self) -> EnvironmentConfig:
        """The templates derive these from EnvironmentName; a different value would be ignored."""
        redis = self.redis
        expected = {
            "replication_group_id": (redis.replication_group_id, f"mv-{self.name}-redis"),
            "auth_secret_name": (redis.auth_secret_name, f"math-visuals/{self.name}/redis/auth"),
        }
        for key, (value, wanted) in expected.items():
            if value != wanted:
                raise ValueError(f"redis.{key} must be {wanted!r} (derived from env.name)")
        return self

    # Derived names --------------------------------------------------------------------------

    @field_validator("adopt")
    @classmethod
    def _adopt_roles(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        unknown = sorted(set(value) - {"shared", "data", "api"})
        if unknown:
            raise ValueError(f"adopt.{unknown[0]}: only shared, data and api can be adopted")
        for role, section in value.items():
            if set(section) - {"resources"}:
                raise ValueError(f"adopt.{role}: only a resources table belongs here")
        return value

    @property
    def name(self) -> str:
        return self.env.name

    def ssm_name(self, key: str) -> str:
        paths = {
            "endpoint": "redis/endpoint",
            "port": "redis/port",
            "reader-endpoint": "redis/reader-endpoint",
            "examples-origins": "config/examples-allowed-origins",
            "svg-origins": "config/svg-allowed-origins",
            "shared-version": "stack/shared/version",
        }
        return f"/math-visuals/{self.name}/{paths[key]}"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.api.function_name}"

    @property
    def subnet_group_name(self) -> str:
        return f"math-visuals-{self.name}-redis-subnets"

    @property
    def alarm_topic_name(self) -> str:
        return f"math-visuals-api-alarms-{self.api.stage_name}"

    def export(self, stack_role: Literal["shared", "data"], key: str) -> str:
        stack = self.stacks.shared if stack_role == "shared" else self.stacks.data
        return f"{stack}-{key}"

    @property
    def tags(self) -> dict[str, str]:
        return {"app": "math-visuals", "env": self.name, "managed-by": "mathvisuals"}


PLACEHOLDER_ACCOUNT = "123456789012"  # the example account of infra/environments/prod.toml


def check_account(config: EnvironmentConfig, actual: str) -> None:
    """The credentials' account is the configured one; the example id gets its own message."""
    if actual == config.env.account_id:
        return
    if config.env.account_id == PLACEHOLDER_ACCOUNT:
        raise ConfigError(
            str(ENVIRONMENTS_DIR / f"{config.name}.toml"),
            "env.account_id",
            f"is still the example {PLACEHOLDER_ACCOUNT}",
            f'put the 12-digit id of the AWS account to deploy into there: account_id = "{actual}"'
            " if these credentials are for it",
        )
    raise CredentialsError(
        f"the credentials are for account {actual}, the config says {config.env.account_id}"
    ).with_hint("use credentials for the configured account (AWS_PROFILE or OIDC role)")


def config_path(env: str | None, config: Path | None) -> Path:
    """``--env NAME`` or ``--config FILE``, exactly one; an unknown name lists the known ones."""
    if config is not None and env is not None:
        raise UsageError("--env and --config both given").with_hint("pass one of them")
    if config is not None:
        return config
    if env is None:
        raise UsageError("no environment given").with_hint("pass --env NAME or --config FILE")
    path = ENVIRONMENTS_DIR / f"{env}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in ENVIRONMENTS_DIR.glob("*.toml"))
        raise UsageError(
            f"no environment {env!r}: {ENVIRONMENTS_DIR} has {', '.join(known) or 'none'}"
        ).with_hint(f"pass one of those, or create {path}")
    return path


def load_config(path: Path) -> EnvironmentConfig:
    """Parse and validate; every problem becomes one :class:`ConfigError` naming file and key."""
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(shown, "", "file not found", "create it or pass --config") from exc
    except OSError as exc:
        raise ConfigError(shown, "", f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(shown, "", f"not UTF-8 text (byte {exc.start})") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(shown, "", f"not valid TOML: {exc}") from exc
    try:
        return EnvironmentConfig.model_validate(data)
    except ValidationError as exc:
        # An unknown key (a typo) explains the rest (the key it meant is then "missing").
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        key = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key" + _did_you_mean(EnvironmentConfig, first["loc"])
        elif first["type"] == "missing":
            message = "required key is missing"
        elif first["type"] in _STRICT_TYPES:
            message = f"{_STRICT_TYPES[first['type']]}, not {first['input']!r}"
        more = len(errors) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ConfigError(shown, key, message + suffix) from exc


def _did_you_mean(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """`` (did you mean memory_mb?)`` from the section's known keys, else where to look."""
    fields: dict[str, Any] = dict(model.model_fields)
    for part in loc[:-1]:
        annotation = fields[str(part)].annotation if str(part) in fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            fields = {}
            break
        fields = dict(annotation.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), list(fields), n=1)
    if close:
        return f" (did you mean {close[0]}?)"
    return " (check the spelling against infra/environments/prod.toml)"
