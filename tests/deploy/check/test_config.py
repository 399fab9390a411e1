"""A bad environment file raises ConfigError (exit 3) naming the file and key; nothing else runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mathvisuals.deploy.check import run_checks
from mathvisuals.deploy.errors import ConfigError

from .support import CONFIGS, stage


@pytest.mark.parametrize(
    ("fixture", "key", "words"),
    [
        ("unknown_key.toml", "redis.replicas", "unknown key"),
        ("wrong_type.toml", "redis.replicas_per_node_group", "integer"),
        ("memory_as_string.toml", "api.memory_mb", "TOML integer without quotes"),
        ("bool_as_string.toml", "redis.multi_az", "TOML boolean without quotes"),
        ("zero_replicas.toml", "redis.replicas_per_node_group", "greater than or equal to 1"),
        ("secret_name_mismatch.toml", "redis.auth_secret_name", "math-visuals/prod/redis/auth"),
    ],
)
def test_invalid_config_names_file_and_key(
    tmp_path: Path, fixture: str, key: str, words: str
) -> None:
    path = CONFIGS / fixture
    with pytest.raises(ConfigError) as raised:
        run_checks(path, templates_dir=stage(tmp_path), lint=False)
    assert raised.value.exit_code == 3
    assert raised.value.file == str(path)
    # a field error carries the key; a cross-field check names it in the problem
    assert key in (raised.value.key, raised.value.problem.split(" ")[0])
    assert words in raised.value.problem


def test_malformed_toml_names_the_line(tmp_path: Path) -> None:
    path = CONFIGS / "malformed.toml"
    broken = next(
        n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("node_type")
    )
    with pytest.raises(ConfigError) as raised:
        run_checks(path, templates_dir=stage(tmp_path), lint=False)
    assert raised.value.file == str(path)
    assert "not valid TOML" in raised.value.problem
    assert f"line {broken}" in raised.value.problem


def test_missing_config_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        run_checks(tmp_path / "nope.toml", templates_dir=stage(tmp_path), lint=False)
