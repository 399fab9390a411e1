"""GitHub Actions secrets, AWS → GitHub only (deploy.md §5.15): resolve, seal, PUT.

The only module that talks to the GitHub REST API. Values stay ``SecretValue`` until they are
sealed; results, logs and errors carry names and fingerprints, never values (§5.12).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import quote

import httpx2
from nacl.encoding import Base64Encoder
from nacl.public import PublicKey, SealedBox

from mathvisuals.deploy.config import ENVIRONMENTS_DIR, EnvironmentConfig
from mathvisuals.deploy.errors import (
    CheckFailedError,
    ConfigError,
    GitHubError,
    PreflightBlockedError,
)
from mathvisuals.deploy.gateway import Parameters, Secrets, SecretValue
from mathvisuals.deploy.token import fingerprint, token_problems

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
_PUBLIC_KEY_BYTES = 32
_MESSAGE_LIMIT = 200
_HINTS = {
    401: "GITHUB_TOKEN is missing, expired or wrong",
    403: "GITHUB_TOKEN needs secrets write permission (fine-grained) or the repo scope",
    404: "check [github] repository/environment and that GITHUB_TOKEN can see the repository",
}

SyncAction = Literal["created", "updated", "would write"]


class GitHubApiError(GitHubError):
    """GitHub answered with an error status, or could not be reached (``status`` is None)."""

    def __init__(self, operation: str, status: int | None, detail: str) -> None:
        shown = f"{status} {detail}" if status is not None else detail
        super().__init__(f"GitHub {operation}: {shown}")
        self.operation, self.status, self.detail = operation, status, detail
        self.hint = _HINTS.get(status or 0, "")


@dataclass(frozen=True)
class SyncResult:
    name: str
    action: SyncAction
    fingerprint: str


class SecretsApi(Protocol):
    """What :func:`sync` needs from GitHub; :class:`GitHubClient` is the real one."""

    def public_key(self, repository: str, environment: str) -> tuple[str, str]: ...

    def put_secret(
        self, repository: str, environment: str, name: str, encrypted_value: str, key_id: str
    ) -> Literal["created", "updated"]: ...


def secrets_path(repository: str, environment: str) -> str:
    """``/repos/{owner}/{repo}/actions/secrets`` or the environment variant."""
    if environment:
        return f"/repos/{repository}/environments/{quote(environment, safe='')}/secrets"
    return f"/repos/{repository}/actions/secrets"


class GitHubClient:
    """The two REST calls of the sealed-secret protocol; ``http`` is injected or owned here."""

    def __init__(
        self,
        base_url: str,
        token: SecretValue,
        http: httpx2.Client | None = None,
        *,
        timeout_s: float = 30.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._owns_http = http is None
        self._http = http if http is not None else httpx2.Client(timeout=timeout_s)

    def __repr__(self) -> str:
        return f"GitHubClient({self._base_url!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def public_key(self, repository: str, environment: str) -> tuple[str, str]:
        """``(key_id, key)``; ``key`` is the base64 Curve25519 public key."""
        operation = f"GET {secrets_path(repository, environment)}/public-key"
        response = self._request("GET", f"{secrets_path(repository, environment)}/public-key")
        _raise_for_status(operation, response)
        try:
            body = response.json()
        except ValueError as exc:
            raise GitHubApiError(operation, response.status_code, "response is not JSON") from exc
        key_id = body.get("key_id") if isinstance(body, dict) else None
        key = body.get("key") if isinstance(body, dict) else None
        if not isinstance(key_id, str) or not isinstance(key, str) or not _is_public_key(key):
            raise GitHubApiError(operation, response.status_code, "no usable key_id/key in reply")
        return key_id, key

    def put_secret(
        self, repository: str, environment: str, name: str, encrypted_value: str, key_id: str
    ) -> Literal["created", "updated"]:
        path = f"{secrets_path(repository, environment)}/{name}"
        body = {"encrypted_value": encrypted_value, "key_id": key_id}
        response = self._request("PUT", path, body)
        _raise_for_status(f"PUT {path}", response)
        if response.status_code == 201:
            return "created"
        if response.status_code == 204:
            return "updated"
        raise GitHubApiError(f"PUT {path}", response.status_code, "expected 201 or 204")

    def _request(
        self, method: str, path: str, body: Mapping[str, str] | None = None
    ) -> httpx2.Response:
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self._token.reveal()}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "mathvisuals-deploy",
        }
        try:
            return self._http.request(method, self._base_url + path, headers=headers, json=body)
        except httpx2.HTTPError as exc:
            # Transport errors name the URL only; the token travels in a header.
            raise GitHubApiError(f"{method} {path}", None, type(exc).__name__) from exc


def _raise_for_status(operation: str, response: httpx2.Response) -> None:
    if response.is_success:
        return
    raise GitHubApiError(operation, response.status_code, _github_message(response))


def _github_message(response: httpx2.Response) -> str:
    """GitHub's ``message`` field, else the reason phrase; never the request body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message.strip():
        message = response.reason_phrase or "error"
    return " ".join(message.split())[:_MESSAGE_LIMIT]


def _is_public_key(key: str) -> bool:
    try:
        return len(base64.b64decode(key, validate=True)) == _PUBLIC_KEY_BYTES
    except binascii.Error:
        return False


def seal(public_key_b64: str, value: str) -> str:
    """A libsodium sealed box for ``public_key_b64``, base64 encoded (what GitHub expects)."""
    box = SealedBox(PublicKey(public_key_b64.encode("ascii"), Base64Encoder))
    return base64.b64encode(box.encrypt(value.encode("utf-8"))).decode("ascii")


def resolve_sources(
    config: EnvironmentConfig, parameters: Parameters, secrets: Secrets
) -> dict[str, SecretValue]:
    """{GitHub secret name: value} from the configured ``ssm:*`` / ``secret:authToken`` sources."""
    sources = config.github.secrets
    ssm_names = {
        source: config.ssm_name(source.removeprefix("ssm:"))
        for source in sorted(set(sources.values()))
        if source.startswith("ssm:")
    }
    found = parameters.get(sorted(ssm_names.values())) if ssm_names else {}
    token: SecretValue | None = None
    values: dict[str, SecretValue] = {}
    for name, source in sources.items():
        if source in ssm_names:
            parameter = found.get(ssm_names[source])
            if parameter is None:
                raise _missing_parameter(ssm_names[source], name)
            values[name] = SecretValue(parameter.value)
        elif source == "secret:authToken":
            if token is None:
                token = _auth_token(secrets, config.redis.auth_secret_name)
            values[name] = token
        else:  # the config validator already rejects this; kept for a clear message
            file = str(ENVIRONMENTS_DIR / f"{config.name}.toml")
            raise ConfigError(file, f"github.secrets.{name}", f"unknown source {source!r}")
    return values


def _missing_parameter(parameter: str, secret: str) -> PreflightBlockedError:
    error = PreflightBlockedError(
        f"SSM parameter {parameter} does not exist (source of GitHub secret {secret})"
    )
    error.hint = "run `mathvisuals up` first; the data stack writes it"
    return error


def _auth_token(secrets: Secrets, secret_name: str) -> SecretValue:
    """The secret's ``authToken`` (the gateway unwraps the JSON, §5.6), checked against the
    token rules so a broken token is never copied to GitHub."""
    token = secrets.value(secret_name).reveal()
    problems = token_problems(token)
    if problems:
        raise CheckFailedError(f"secret {secret_name}: authToken {'; '.join(problems)}")
    return SecretValue(token)


def sync(
    config: EnvironmentConfig,
    values: Mapping[str, SecretValue],
    client: SecretsApi,
    *,
    dry_run: bool,
) -> list[SyncResult]:
    """Write every value as a GitHub secret (PUT is idempotent); ``dry_run`` makes no call."""
    repository, environment = config.github.repository, config.github.environment
    if repository is None:
        file = str(ENVIRONMENTS_DIR / f"{config.name}.toml")
        raise ConfigError(file, "github.repository", "not set", 'add repository = "owner/repo"')
    if dry_run:
        return [
            SyncResult(name, "would write", fingerprint(v.reveal())) for name, v in values.items()
        ]
    if not values:
        return []
    # One key for the whole run: every secret of a repository/environment shares it.
    key_id, key = client.public_key(repository, environment)
    results: list[SyncResult] = []
    for name, value in values.items():
        action = client.put_secret(repository, environment, name, seal(key, value.reveal()), key_id)
        log.info("github secret %s: %s", name, action)
        results.append(SyncResult(name, action, fingerprint(value.reveal())))
    return results
