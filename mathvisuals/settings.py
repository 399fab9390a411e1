"""Runtime configuration: the only module that reads ``os.environ`` (api.md §3, §5.1)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mathvisuals import __version__

URL_VARS = ("REDIS_URL", "REDIS_URI")
HOST_VARS = ("REDIS_HOST", "REDIS_ENDPOINT", "REDIS_SERVER", "REDIS_ADDRESS")
PORT_VARS = ("REDIS_PORT",)
PASSWORD_VARS = ("REDIS_PASSWORD", "REDIS_AUTH_TOKEN", "REDIS_SECRET", "REDIS_PASS")
DB_VARS = ("REDIS_DB", "REDIS_DATABASE")
TLS_VARS = ("REDIS_TLS", "REDIS_USE_TLS")

_TRUE = frozenset({"1", "true", "yes", "y", "on", "enabled"})
_FALSE = frozenset({"0", "false", "no", "n", "off", "disabled"})
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_AWS_HOST = re.compile(r"\.amazonaws\.com$", re.IGNORECASE)

# Which environment variables feed each handler's CORS allow-list, in priority order.
CORS_VARS: Mapping[str, tuple[str, ...]] = {
    "examples": ("EXAMPLES_ALLOWED_ORIGINS", "ALLOWED_ORIGINS"),
    "svg": ("SVG_ALLOWED_ORIGINS", "ALLOWED_ORIGINS", "EXAMPLES_ALLOWED_ORIGINS"),
    "figures": (
        "FIGURE_LIBRARY_ALLOWED_ORIGINS",
        "SVG_ALLOWED_ORIGINS",
        "ALLOWED_ORIGINS",
        "EXAMPLES_ALLOWED_ORIGINS",
    ),
}


@dataclass(frozen=True)
class RedisConfig:
    """The merged Redis settings; ``mode`` is ``kv`` only when nothing is missing (FIX-A)."""

    host: str | None = None
    port: int | None = None
    password: str | None = field(default=None, repr=False)
    db: int = 0
    tls: bool = False
    ca_file: str | None = None
    ca_file_readable: bool = True
    missing: tuple[str, ...] = ("host", "port", "password")
    warnings: tuple[str, ...] = ()

    @property
    def mode(self) -> str:
        return "memory" if self.missing else "kv"

    def describe(self) -> dict[str, object]:
        """What ``store.ready`` may show: never the password."""
        return {
            "host": self.host,
            "port": self.port,
            "tls": self.tls,
            "db": self.db,
            "ca_file": self.ca_file is not None,
        }


@dataclass(frozen=True)
class Settings:
    """Everything the API reads from its environment, parsed once at start-up."""

    redis: RedisConfig = field(default_factory=RedisConfig)
    origins: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    version: str = __version__
    config_version: str | None = None
    require_kv: bool = False

    def allowed_origins(self, family: str) -> tuple[str, ...]:
        return self.origins.get(family, ("*",))

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, overrides: Mapping[str, str] = {}
    ) -> Settings:
        env: Mapping[str, str] = os.environ if environ is None else environ
        if overrides:
            env = {**env, **overrides}
        origins = {family: _origin_list(env, names) for family, names in CORS_VARS.items()}
        return cls(
            redis=redis_config(env),
            origins=origins,
            version=_first(env, ("MATHVISUALS_VERSION",)) or __version__,
            config_version=_first(env, ("CONFIG_VERSION",)),
            require_kv=parse_bool(_first(env, ("MATHVISUALS_REQUIRE_KV",))) is True,
        )


def parse_bool(value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def _first(env: Mapping[str, str], names: Sequence[str]) -> str | None:
    for name in names:
        value = env.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def _origin_list(env: Mapping[str, str], names: Sequence[str]) -> tuple[str, ...]:
    for name in names:
        items = tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())
        if items:
            return items
    return ("*",)


@dataclass
class _Parts:
    """What a Redis URL names."""

    host: str | None = None
    port: int | None = None
    password: str | None = None
    db: int | None = None
    tls_hint: bool = False
    port_invalid: bool = False


def _parse_url(value: str) -> _Parts:
    if not _SCHEME.match(value):
        value = "redis://" + value
    parts = urlsplit(value)
    found = _Parts(tls_hint=parts.scheme.lower() == "rediss")
    found.host = parts.hostname or None
    try:
        found.port = parts.port
    except ValueError:
        found.port_invalid = True
    if parts.password:
        found.password = unquote(parts.password)
    db = parts.path.lstrip("/")
    if db.isdigit():
        found.db = int(db)
    return found


def _valid_port(value: str) -> int | None:
    if not value.isdigit():
        return None
    port = int(value)
    return port if 0 < port < 65536 else None


def redis_config(env: Mapping[str, str]) -> RedisConfig:
    """Merge the ``REDIS_*`` groups by the rules of api.md §3.2–§3.4."""
    warnings: list[str] = []
    url = _first(env, URL_VARS)
    merged = _parse_url(url) if url else _Parts()
    host_value = _first(env, HOST_VARS)
    if host_value:
        if _SCHEME.match(host_value):
            extra = _parse_url(host_value)
            merged.host = extra.host or merged.host
            merged.port = extra.port or merged.port
            merged.password = extra.password or merged.password
            merged.db = extra.db if extra.db is not None else merged.db
            merged.tls_hint = merged.tls_hint or extra.tls_hint
        elif merged.host is None:
            merged.host = host_value
    port_value = _first(env, PORT_VARS)
    if port_value is not None:
        port = _valid_port(port_value)
        if port is None:
            warnings.append("invalid_port")
        else:
            merged.port = port
    password = _first(env, PASSWORD_VARS)
    if password is not None:
        merged.password = password
    db_value = _first(env, DB_VARS)
    if db_value is not None and db_value.isdigit():
        merged.db = int(db_value)

    explicit_tls = parse_bool(_first(env, TLS_VARS))
    host = merged.host
    if explicit_tls is not None:
        tls = explicit_tls
    else:
        tls = merged.tls_hint or bool(
            host and (_AWS_HOST.search(host) or "memorydb" in host.lower())
        )
    if host and (host.startswith("/") or "{{resolve:" in host):
        warnings.append("host_looks_like_reference")
    secret = merged.password
    if secret and (secret.startswith("arn:aws:secretsmanager:") or "{{resolve:" in secret):
        warnings.append("password_looks_like_reference")
    ca_file = _first(env, ("REDIS_TLS_CA_FILE",))
    ca_readable = True
    if ca_file is not None:
        ca_readable = Path(ca_file).is_file() and os.access(ca_file, os.R_OK)
        if not ca_readable:
            warnings.append("ca_file_unreadable")
    missing = tuple(
        name
        for name, value in (("host", host), ("port", merged.port), ("password", secret))
        if not value
    )
    return RedisConfig(
        host=host,
        port=merged.port,
        password=secret,
        db=merged.db or 0,
        tls=tls,
        ca_file=ca_file,
        ca_file_readable=ca_readable,
        missing=missing,
        warnings=tuple(warnings),
    )


def token_file_from_env(environ: Mapping[str, str] | None = None) -> Path | None:
    """``MATHVISUALS_TOKEN_FILE``: a token to import or rotate to, read from a file, never argv."""
    value = _first(os.environ if environ is None else environ, ("MATHVISUALS_TOKEN_FILE",))
    return Path(value) if value else None


def snapstart_init(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this Lambda init phase is the one SnapStart snapshots (api/snapstart.py)."""
    env = os.environ if environ is None else environ
    return env.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"


@dataclass(frozen=True)
class DeployEnvironment:
    """What the deploy CLI reads from the environment (never configuration: that is the TOML)."""

    region: str | None
    token_file: Path | None
    github_token: str | None = field(default=None, repr=False)
    github_api_url: str = "https://api.github.com"
    github_actions: bool = False
    state_dir: Path = Path(".mathvisuals")
    pyenv_root: Path | None = None  # where the artefact builder looks for a Python


def deploy_environment(environ: Mapping[str, str] | None = None) -> DeployEnvironment:
    env = os.environ if environ is None else environ
    return DeployEnvironment(
        region=_first(env, ("AWS_REGION", "AWS_DEFAULT_REGION")),
        token_file=token_file_from_env(env),
        github_token=_first(env, ("GITHUB_TOKEN",)),
        github_api_url=_first(env, ("GITHUB_API_URL",)) or "https://api.github.com",
        github_actions=parse_bool(_first(env, ("GITHUB_ACTIONS",))) is True,
        state_dir=Path(_first(env, ("MATHVISUALS_STATE_DIR",)) or ".mathvisuals"),
        pyenv_root=Path(_first(env, ("PYENV_ROOT",)) or Path.home() / ".pyenv"),
    )


# Paths an operator may give relative to where a command was typed (cli/workdir.py).
OPERATOR_PATH_VARIABLES = ("MATHVISUALS_STATE_DIR", "MATHVISUALS_TOKEN_FILE", "REDIS_TLS_CA_FILE")


def anchor_operator_paths(origin: Path) -> None:
    """Make those variables absolute against ``origin`` before the CLI changes directory."""
    for name in OPERATOR_PATH_VARIABLES:
        value = os.environ.get(name)
        if value and not Path(value).is_absolute():
            os.environ[name] = str(origin / value)
