"""Merging the ``REDIS_*`` variables into a mode (api.md §3.1–§3.4)."""

from __future__ import annotations

import pytest

from mathvisuals.settings import Settings, redis_config


@pytest.mark.parametrize(
    ("env", "mode", "expected"),
    [
        ({"REDIS_ENDPOINT": "h", "REDIS_PORT": "6379", "REDIS_PASSWORD": "p"}, "kv",
         {"host": "h", "port": 6379, "tls": False}),
        ({"REDIS_ENDPOINT": "h"}, "memory", {"missing": ("port", "password")}),
        ({"REDIS_PORT": "1", "REDIS_PASSWORD": "p"}, "memory", {"missing": ("host",)}),
        ({"REDIS_ENDPOINT": "master.x.euw1.cache.amazonaws.com", "REDIS_PORT": "6379",
          "REDIS_PASSWORD": "p"}, "kv", {"tls": True}),
        ({"REDIS_ENDPOINT": "master.x.euw1.cache.amazonaws.com", "REDIS_PORT": "6379",
          "REDIS_PASSWORD": "p", "REDIS_TLS": "off"}, "kv", {"tls": False}),
        ({"REDIS_URL": "rediss://:secret@h.example:6380/2"}, "kv",
         {"host": "h.example", "port": 6380, "password": "secret", "db": 2, "tls": True}),
        ({"REDIS_URL": "redis://:secret@h.example"}, "memory", {"missing": ("port",)}),
        ({"REDIS_HOST": "redis://:p2@hh:6390/3"}, "kv",
         {"host": "hh", "port": 6390, "password": "p2", "db": 3}),
        ({"REDIS_HOST": "h", "REDIS_PASSWORD": "p", "REDIS_PORT": "99999"}, "memory",
         {"missing": ("port",), "warnings": ("invalid_port",)}),
        ({"REDIS_URL": "h.example:7000", "REDIS_PASSWORD": " p%20 \r\n"}, "kv",
         {"host": "h.example", "port": 7000, "password": "p%20"}),
        ({"REDIS_URL": "redis://:a%40b@h:1", "REDIS_HOST": "other"}, "kv",
         {"host": "h", "password": "a@b"}),
        ({"REDIS_HOST": "memorydb-x", "REDIS_PORT": "1", "REDIS_PASS": "p", "REDIS_DB": "4"}, "kv",
         {"tls": True, "db": 4}),
    ],
)  # fmt: skip
def test_mode_table(env: dict[str, str], mode: str, expected: dict[str, object]) -> None:
    config = redis_config(env)
    assert config.mode == mode
    for name, value in expected.items():
        assert getattr(config, name) == value, name


def test_password_never_in_repr() -> None:
    config = redis_config({"REDIS_HOST": "h", "REDIS_PORT": "1", "REDIS_PASSWORD": "s3cret"})
    assert "s3cret" not in repr(config)
    assert "s3cret" not in repr(Settings(redis=config))
    assert "s3cret" not in str(config.describe())


def test_cors_precedence() -> None:
    settings = Settings.from_env({"ALLOWED_ORIGINS": "https://x", "SVG_ALLOWED_ORIGINS": " , "})
    assert settings.allowed_origins("examples") == ("https://x",)
    assert settings.allowed_origins("svg") == ("https://x",)
    assert Settings.from_env({}).allowed_origins("figures") == ("*",)
