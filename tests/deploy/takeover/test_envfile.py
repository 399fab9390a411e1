"""The adoption is written into the environment file: comments kept, round trip exact, stable."""

from __future__ import annotations

import tomllib
from pathlib import Path

from mathvisuals.deploy.takeover.adopt import ResourceAdoption, StackAdoption
from mathvisuals.deploy.takeover.envfile import diff, with_adoption

ROOT = Path(__file__).resolve().parents[3]
ADOPTIONS = {
    "data": StackAdoption(
        {
            "PrivateSubnet1": ResourceAdoption(
                properties={"CidrBlock": "10.42.0.0/19"}, deletion_policy="Retain"
            ),
            "RedisPrimaryEndpointParameter": ResourceAdoption(ours="RedisEndpointParameter"),
        }
    ),
    "api": StackAdoption({"ApiFunction": ResourceAdoption(unset=("FunctionName",))}),
}


def test_the_adoption_is_written_and_read_back_exactly() -> None:
    text = (ROOT / "infra/environments/prod.toml").read_text()
    new = with_adoption(text, ADOPTIONS, {"api": {"function_name": "math-visuals-api-Fn-1"}})
    data = tomllib.loads(new)
    back = {role: StackAdoption.from_mapping(data["adopt"][role]) for role in data["adopt"]}
    assert back == ADOPTIONS
    assert data["api"]["function_name"] == "math-visuals-api-Fn-1"
    # the operator's lines and comments are still there, unchanged
    for line in text.splitlines():
        if not line.startswith("function_name"):
            assert line in new.splitlines()
    assert "# replace with the real account" in new


def test_writing_it_twice_changes_nothing_and_the_diff_shows_only_additions() -> None:
    text = (ROOT / "infra/environments/prod.toml").read_text()
    once = with_adoption(text, ADOPTIONS)
    assert with_adoption(once, ADOPTIONS) == once
    shown = diff(text, once, "prod.toml")
    removed = [
        line for line in shown.splitlines() if line.startswith("-") and not line.startswith("---")
    ]
    assert removed == []
    assert "+[adopt.data.resources.PrivateSubnet1]" in shown


def test_an_empty_adoption_removes_the_section() -> None:
    text = (ROOT / "infra/environments/prod.toml").read_text()
    once = with_adoption(text, ADOPTIONS)
    assert with_adoption(once, {}) == text.rstrip("\n") + "\n"
