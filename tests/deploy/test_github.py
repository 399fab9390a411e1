"""GitHub Actions secrets sync (deploy.md §5.15) against the loopback fake of §6.6."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx2
import pytest
from nacl.encoding import Base64Encoder
from nacl.public import PrivateKey, SealedBox

from mathvisuals.deploy.config import EnvironmentConfig
from mathvisuals.deploy.errors import (
    CheckFailedError,
    ConfigError,
    GitHubError,
    PreflightBlockedError,
)
from mathvisuals.deploy.gateway import ParameterInfo, SecretValue
from mathvisuals.deploy.github import (
    GitHubApiError,
    GitHubClient,
    SyncResult,
    resolve_sources,
    seal,
    secrets_path,
    sync,
)
from mathvisuals.deploy.token import fingerprint, generate_token
from tests.deploy.github_fake import FakeGitHub

GITHUB_TOKEN = "ghp_" + "T0kenForTheFake" * 2
REPOSITORY = "acme/math-visuals"
AUTH_TOKEN = generate_token(64)
PLAIN = {
    "REDIS_ENDPOINT": "master.mv-test-redis.abc123.eun1.cache.amazonaws.com",
    "REDIS_PORT": "6379",
    "REDIS_PASSWORD": AUTH_TOKEN,
}


def make_config(
    *, environment: str = "", repository: str | None = REPOSITORY, secrets: Any = None
) -> EnvironmentConfig:
    github: dict[str, Any] = {"environment": environment}
    if repository is not None:
        github["repository"] = repository
    if secrets is not None:
        github["secrets"] = secrets
    return EnvironmentConfig.model_validate(
        {
            "env": {"name": "test", "account_id": "123456789012", "region": "eu-north-1"},
            "api": {"artifact_bucket": "mv-test-artifacts"},
            "github": github,
        }
    )


def values(plain: Mapping[str, str] = PLAIN) -> dict[str, SecretValue]:
    return {name: SecretValue(value) for name, value in plain.items()}


def assert_no_value_in(text: str) -> None:
    for value in [*PLAIN.values(), GITHUB_TOKEN]:
        assert value not in text


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(GITHUB_TOKEN) as fake:
        yield fake


@pytest.fixture
def client(github: FakeGitHub) -> Iterator[GitHubClient]:
    with GitHubClient(github.base_url, SecretValue(GITHUB_TOKEN)) as real:
        yield real


# Round trip against the fake ------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["", "production", "prod eu"])
def test_values_decrypt_to_exactly_what_was_sent(
    github: FakeGitHub, client: GitHubClient, environment: str
) -> None:
    results = sync(make_config(environment=environment), values(), client, dry_run=False)

    assert github.secrets == {(REPOSITORY, environment, k): v for k, v in PLAIN.items()}
    assert results == [SyncResult(k, "created", fingerprint(v)) for k, v in PLAIN.items()]
    # one public-key GET for the run, then one PUT per secret, on the right scope
    base = secrets_path(REPOSITORY, environment)
    assert [(r.method, r.path) for r in github.requests] == [
        ("GET", f"{base}/public-key"),
        *[("PUT", f"{base}/{name}") for name in PLAIN],
    ]


def test_repository_and_environment_secrets_are_separate(
    github: FakeGitHub, client: GitHubClient
) -> None:
    sync(make_config(), values(), client, dry_run=False)
    results = sync(make_config(environment="staging"), values(), client, dry_run=False)

    assert {r.action for r in results} == {"created"}
    assert len(github.secrets) == 2 * len(PLAIN)


def test_rerun_is_idempotent_201_then_204(github: FakeGitHub, client: GitHubClient) -> None:
    first = sync(make_config(), values(), client, dry_run=False)
    second = sync(make_config(), values(), client, dry_run=False)

    assert [r.action for r in first] == ["created"] * 3
    assert [r.action for r in second] == ["updated"] * 3
    assert [r.fingerprint for r in first] == [r.fingerprint for r in second]
    assert github.secrets == {(REPOSITORY, "", k): v for k, v in PLAIN.items()}


def test_changed_value_is_updated(github: FakeGitHub, client: GitHubClient) -> None:
    sync(make_config(), values(), client, dry_run=False)
    rotated = generate_token(64)
    [result] = sync(make_config(), {"REDIS_PASSWORD": SecretValue(rotated)}, client, dry_run=False)

    assert result == SyncResult("REDIS_PASSWORD", "updated", fingerprint(rotated))
    assert github.secrets[(REPOSITORY, "", "REDIS_PASSWORD")] == rotated


def test_request_bodies_carry_only_sealed_values(github: FakeGitHub, client: GitHubClient) -> None:
    sync(make_config(), values(), client, dry_run=False)

    puts = [r for r in github.requests if r.method == "PUT"]
    assert len(puts) == 3
    for request in puts:
        assert set(json.loads(request.body)) == {"encrypted_value", "key_id"}
        for value in PLAIN.values():
            assert value.encode() not in request.body


# Dry run --------------------------------------------------------------------------------------


class NoCalls:
    def public_key(self, repository: str, environment: str) -> tuple[str, str]:
        raise AssertionError("dry run called GitHub")

    def put_secret(self, *args: str) -> Any:
        raise AssertionError("dry run called GitHub")


def test_dry_run_makes_zero_requests(github: FakeGitHub, client: GitHubClient) -> None:
    results = sync(make_config(), values(), client, dry_run=True)

    assert github.requests == []
    assert github.secrets == {}
    assert results == [SyncResult(k, "would write", fingerprint(v)) for k, v in PLAIN.items()]


def test_dry_run_never_touches_the_client() -> None:
    results = sync(make_config(), values(), NoCalls(), dry_run=True)

    assert [r.action for r in results] == ["would write"] * 3


def test_nothing_to_write_makes_no_request() -> None:
    assert sync(make_config(), {}, NoCalls(), dry_run=False) == []


def test_missing_repository_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        sync(make_config(repository=None), values(), NoCalls(), dry_run=True)

    assert caught.value.exit_code == 3
    assert caught.value.key == "github.repository"


# Masking ----------------------------------------------------------------------------------------


def test_results_never_show_values(client: GitHubClient) -> None:
    results = sync(make_config(), values(), client, dry_run=False)
    dry = sync(make_config(), values(), client, dry_run=True)

    for shown in [repr(results), str(results), repr(dry), *map(str, results), repr(values())]:
        assert_no_value_in(shown)
    assert_no_value_in(repr(client))


# Errors ---------------------------------------------------------------------------------------


def test_403_is_a_github_error_with_exit_12_and_no_value(
    github: FakeGitHub, client: GitHubClient
) -> None:
    github.fail(403, "Resource not accessible by integration")

    with pytest.raises(GitHubError) as caught:
        sync(make_config(), values(), client, dry_run=False)

    error = caught.value
    assert isinstance(error, GitHubApiError)
    assert error.exit_code == 12
    assert error.status == 403
    assert "403 Resource not accessible by integration" in str(error)
    assert "secrets write permission" in error.hint
    for shown in [str(error), repr(error), error.hint, repr(error.args)]:
        assert_no_value_in(shown)
    assert github.secrets == {}


def test_failed_put_names_the_secret_but_not_its_value(
    github: FakeGitHub, client: GitHubClient
) -> None:
    github.fail(403, "Resource not accessible by integration", method="PUT")

    with pytest.raises(GitHubApiError) as caught:
        sync(make_config(), values(), client, dry_run=False)

    assert "/actions/secrets/REDIS_ENDPOINT" in str(caught.value)
    assert_no_value_in(str(caught.value))


def test_wrong_token_is_401(github: FakeGitHub) -> None:
    with (
        GitHubClient(github.base_url, SecretValue("ghp_wrong")) as wrong,
        pytest.raises(GitHubApiError) as caught,
    ):
        wrong.public_key(REPOSITORY, "")

    assert caught.value.status == 401
    assert "Bad credentials" in str(caught.value)
    assert "GITHUB_TOKEN" in caught.value.hint
    assert "ghp_wrong" not in str(caught.value)


def test_wrong_key_id_is_rejected(github: FakeGitHub, client: GitHubClient) -> None:
    _, key = client.public_key(REPOSITORY, "")

    with pytest.raises(GitHubApiError) as caught:
        client.put_secret(REPOSITORY, "", "REDIS_PORT", seal(key, "6379"), "not-the-key-id")

    assert caught.value.status == 422
    assert "Bad key_id" in str(caught.value)
    assert github.secrets == {}


def test_non_json_error_falls_back_to_the_reason_phrase(
    github: FakeGitHub, client: GitHubClient
) -> None:
    github.fail(502, raw_body=b"<html>upstream\nconnect error</html>")

    with pytest.raises(GitHubApiError) as caught:
        client.public_key(REPOSITORY, "")

    assert caught.value.status == 502
    assert str(caught.value).endswith("502 Bad Gateway")


def test_unreachable_api_is_a_github_error() -> None:
    with socket.socket() as probe:  # a port that nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        GitHubClient(f"http://127.0.0.1:{port}", SecretValue(GITHUB_TOKEN)) as unreachable,
        pytest.raises(GitHubError) as caught,
    ):
        unreachable.public_key(REPOSITORY, "")

    assert isinstance(caught.value, GitHubApiError)
    assert caught.value.status is None
    assert caught.value.exit_code == 12
    assert GITHUB_TOKEN not in str(caught.value)


# The request shape, through an injected httpx2 client ----------------------------------------


def test_request_shape_and_environment_paths() -> None:
    private = PrivateKey.generate()
    public = private.public_key.encode(Base64Encoder).decode()
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if request.method == "GET":
            return httpx2.Response(200, json={"key_id": "42", "key": public})
        return httpx2.Response(204)

    with httpx2.Client(transport=httpx2.MockTransport(handler)) as http:
        client = GitHubClient("https://github.example/api/v3/", SecretValue("tok"), http)
        key_id, key = client.public_key("o/r", "prod eu")
        action = client.put_secret("o/r", "prod eu", "REDIS_PORT", seal(key, "6379"), key_id)
        client.close()  # an injected client is the caller's to close
        assert not http.is_closed

    assert action == "updated"
    assert [str(r.url) for r in seen] == [
        "https://github.example/api/v3/repos/o/r/environments/prod%20eu/secrets/public-key",
        "https://github.example/api/v3/repos/o/r/environments/prod%20eu/secrets/REDIS_PORT",
    ]
    for request in seen:
        assert request.headers["Authorization"] == "Bearer tok"
        assert request.headers["Accept"] == "application/vnd.github+json"
        assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    body = json.loads(seen[1].content)
    assert body["key_id"] == "42"
    assert SealedBox(private).decrypt(base64.b64decode(body["encrypted_value"])) == b"6379"


@pytest.mark.parametrize(
    "reply",
    [{"key_id": "1", "key": "not base64!"}, {"key_id": "1"}, {"key": "AAAA"}, ["x"]],
)
def test_unusable_public_key_reply_is_a_github_error(reply: object) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=reply)

    with httpx2.Client(transport=httpx2.MockTransport(handler)) as http:
        client = GitHubClient("https://github.example", SecretValue("tok"), http)
        with pytest.raises(GitHubApiError, match="no usable key_id/key"):
            client.public_key("o/r", "")


def test_unexpected_success_status_on_put_is_an_error() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={})

    with httpx2.Client(transport=httpx2.MockTransport(handler)) as http:
        client = GitHubClient("https://github.example", SecretValue("tok"), http)
        with pytest.raises(GitHubApiError, match="expected 201 or 204"):
            client.put_secret("o/r", "", "X", "c2VhbGVk", "1")


# seal -------------------------------------------------------------------------------------------


def test_seal_opens_with_the_private_key_only() -> None:
    private = PrivateKey.generate()
    public = private.public_key.encode(Base64Encoder).decode()

    first, second = seal(public, AUTH_TOKEN), seal(public, AUTH_TOKEN)

    assert first != second  # a fresh ephemeral key per box
    assert SealedBox(private).decrypt(base64.b64decode(first)).decode() == AUTH_TOKEN
    assert AUTH_TOKEN not in first


# resolve_sources, with in-memory gateways ------------------------------------------------------


class FakeParameters:
    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.calls: list[list[str]] = []

    def get(self, names: Sequence[str], *, owners: bool = False) -> dict[str, ParameterInfo]:
        self.calls.append(list(names))
        return {n: ParameterInfo(n, self.values[n], 1) for n in names if n in self.values}

    def put(self, *args: Any, **kwargs: Any) -> int:
        raise AssertionError("resolve_sources must not write")

    def delete(self, name: str) -> None:
        raise AssertionError("resolve_sources must not write")


class FakeSecrets:
    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.calls: list[str] = []

    def value(self, name: str, version_id: str | None = None) -> SecretValue:
        self.calls.append(name)
        return SecretValue(self.values[name])

    def describe(self, name: str) -> Any:
        raise AssertionError("not needed")

    def create(self, *args: Any, **kwargs: Any) -> str:
        raise AssertionError("resolve_sources must not write")

    def put(self, *args: Any, **kwargs: Any) -> str:
        raise AssertionError("resolve_sources must not write")

    def restore_current(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("resolve_sources must not write")

    def delete(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("resolve_sources must not write")


AUTH_SECRET = "math-visuals/test/redis/auth"
ENDPOINT_PARAM = "/math-visuals/test/redis/endpoint"
PORT_PARAM = "/math-visuals/test/redis/port"


def aws(
    *, secret: str | None = None, params: Mapping[str, str] | None = None
) -> tuple[FakeParameters, FakeSecrets]:
    if params is None:
        params = {ENDPOINT_PARAM: PLAIN["REDIS_ENDPOINT"], PORT_PARAM: PLAIN["REDIS_PORT"]}
    if secret is None:
        secret = AUTH_TOKEN  # the Secrets gateway returns the authToken of the JSON secret
    return FakeParameters(params), FakeSecrets({AUTH_SECRET: secret})


def test_resolve_sources_maps_every_configured_secret() -> None:
    parameters, secrets = aws()

    resolved = resolve_sources(make_config(), parameters, secrets)

    assert resolved == values()
    assert parameters.calls == [sorted([ENDPOINT_PARAM, PORT_PARAM])]  # one batched read
    assert secrets.calls == [AUTH_SECRET]
    assert_no_value_in(repr(resolved))


def test_resolve_sources_reads_each_source_once_and_only_what_is_configured() -> None:
    parameters, secrets = aws()
    config = make_config(secrets={"PORT_A": "ssm:port", "PORT_B": "ssm:port"})

    resolved = resolve_sources(config, parameters, secrets)

    assert {k: v.reveal() for k, v in resolved.items()} == {"PORT_A": "6379", "PORT_B": "6379"}
    assert parameters.calls == [[PORT_PARAM]]
    assert secrets.calls == []


def test_resolve_sources_secret_only_reads_no_parameters() -> None:
    parameters, secrets = aws()
    config = make_config(secrets={"TOKEN_1": "secret:authToken", "TOKEN_2": "secret:authToken"})

    resolved = resolve_sources(config, parameters, secrets)

    assert resolved == {"TOKEN_1": SecretValue(AUTH_TOKEN), "TOKEN_2": SecretValue(AUTH_TOKEN)}
    assert parameters.calls == []
    assert secrets.calls == [AUTH_SECRET]


def test_missing_parameter_blocks_and_names_it() -> None:
    parameters, secrets = aws(params={ENDPOINT_PARAM: "host"})

    with pytest.raises(PreflightBlockedError) as caught:
        resolve_sources(make_config(), parameters, secrets)

    assert caught.value.exit_code == 6
    assert PORT_PARAM in str(caught.value)
    assert "REDIS_PORT" in str(caught.value)
    assert "mathvisuals up" in caught.value.hint


def test_auth_token_breaking_the_rules_fails_the_check_without_showing_it() -> None:
    bad = "short token"
    parameters, secrets = aws(secret=bad)

    with pytest.raises(CheckFailedError) as caught:
        resolve_sources(make_config(), parameters, secrets)

    assert caught.value.exit_code == 4
    assert "whitespace" in str(caught.value)
    assert bad not in str(caught.value)


def test_resolve_then_sync_end_to_end(github: FakeGitHub, client: GitHubClient) -> None:
    parameters, secrets = aws()
    config = make_config(environment="production")

    sync(config, resolve_sources(config, parameters, secrets), client, dry_run=False)

    assert github.secrets == {(REPOSITORY, "production", k): v for k, v in PLAIN.items()}
