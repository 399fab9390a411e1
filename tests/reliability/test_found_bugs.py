"""The minimal examples of what the reliability scenarios found, kept as regression tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mathvisuals.deploy.config import EnvironmentConfig, load_config
from mathvisuals.deploy.errors import ConfigError, DeployError
from mathvisuals.deploy.gateway import ParameterInfo, SecretValue
from mathvisuals.deploy.github import resolve_sources
from reliability.fuzz import deep_bodies
from tests.api.conftest import api_client
from tests.deploy.fakes import FakeParameters, FakeSecrets


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [pytest.param(m, u, b, id=f"{m} {u.split('?')[0]}") for m, u, b in deep_bodies(600)],
)
def test_a_deeply_nested_body_is_a_400_not_a_500(method: str, url: str, body: str) -> None:
    """Was a RecursionError 500 on every JSON write route (the number walk, the encoders'
    fallback, the SVG deep copy recursed per level); bodies deeper than 256 levels are refused."""
    with api_client() as (client, _):
        response = client.request(method, url, content=body.encode())
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid JSON body"}


def test_an_unrouted_path_with_an_encoded_newline_is_a_json_404() -> None:
    """Found by the raw fuzzing: Starlette's ``Mount("")`` pattern did not match a decoded
    newline, so its text/plain 404 answered and no ``http.access`` line was written. Fixed by
    sending every HTTP request straight to the dispatcher (``api.app.Api``)."""
    with api_client() as (client, sink):
        response = client.get("/a%0Ab")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"error": "Not Found"}
        assert [e["route"] for e in sink.events("http.access")] == ["unmatched"]


def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    """Was a UnicodeDecodeError traceback (exit 1): load_config caught OSError only."""
    path = tmp_path / "prod.toml"
    path.write_bytes(b"\xff\xfe[env]\n")
    with pytest.raises(ConfigError, match=r"prod\.toml"):
        load_config(path)


@pytest.mark.parametrize("content", [None, b"\xff" + b"A" * 30], ids=["missing", "not-utf8"])
def test_an_unreadable_token_file_is_refused_in_one_line(
    tmp_path: Path, content: bytes | None
) -> None:
    """Was a traceback from ``up`` and ``rotate-token``: the file was read unguarded."""
    from tests.deploy.test_orchestrator import make

    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_bytes(content)
    config = load_config(Path("infra/environments/local.toml"))
    orchestrator, gateways, _ = make(config, tmp_path, token_file=token_file)
    with pytest.raises(DeployError) as caught:
        orchestrator.up()
    assert caught.value.exit_code == 4
    assert gateways.secrets.describe(config.redis.auth_secret_name) is None


def test_github_secrets_read_the_token_the_gateway_returns() -> None:
    """Was exit 6 'secret … is not JSON' on every run: github._auth_token parsed the value the
    gateway had already unwrapped, and test_github's own fake returned the JSON, hiding it."""
    config = EnvironmentConfig.model_validate(
        {
            "env": {"name": "test", "account_id": "123456789012", "region": "eu-north-1"},
            "api": {"artifact_bucket": "mv-test-artifacts"},
            "github": {"repository": "owner/repo"},
        }
    )
    parameters = FakeParameters()
    for key, value in (("endpoint", "master.example"), ("port", "6379")):
        name = config.ssm_name(key)
        parameters.items[name] = ParameterInfo(name, value, 1)
    secrets = FakeSecrets()
    token = "Valid-token-0123456789-abcdefghij"
    secrets.create(config.redis.auth_secret_name, SecretValue(token), {})
    resolved = resolve_sources(config, parameters, secrets)
    assert resolved["REDIS_PASSWORD"].reveal() == token


def test_the_examples_app_answers_json_for_plain_unrouted_paths() -> None:
    """The control for the newline case: an ordinary unrouted path is already a JSON 404."""
    with api_client() as (client, _):
        response = client.get("/nowhere")
    assert response.status_code == 404 and response.json() == {"error": "Not Found"}
