"""SnapStart on the sandbox: turned on, a rotation publishing a new version, turned off again.

The emulator takes the function's SnapStart setting, publishes versions and keeps the alias;
it does not snapshot anything (tests/api/test_snapstart.py runs the hooks as Lambda does).
What this proves is the stack side: the gateway reaches the function through the alias, each
update moves the alias to a new version and deletes the old one, and data survives both
switches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx2
import pytest

pytestmark = pytest.mark.timeout(900)

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = "math-visuals-api-local"


class Cli:
    def __init__(self, state: Path, config: Path) -> None:
        self.state, self.config = state, config

    def __call__(self, *args: str) -> dict[str, Any]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REDIS_"))}
        env["MATHVISUALS_STATE_DIR"] = str(self.state)
        done = subprocess.run(
            [sys.executable, "-m", "mathvisuals", *args, "--target", "local",
             "--config", str(self.config), "--json"],
            capture_output=True, text=True, env=env, check=False, timeout=600, cwd=ROOT,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    def lambda_client(self) -> Any:
        port = json.loads((self.state / "sandbox.json").read_text())["ministack_port"]
        return boto3.client(
            "lambda", endpoint_url=f"http://127.0.0.1:{port}", region_name="eu-north-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        )  # fmt: skip


def with_snapstart(path: Path, on: bool) -> None:
    text = (ROOT / "infra/environments/local.toml").read_text(encoding="utf-8")
    flag = "true" if on else "false"
    text = text.replace("[api]\n", f"[api]\nsnapstart = {flag}\n", 1)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    config = tmp_path / "local.toml"
    with_snapstart(config, on=True)
    runner = Cli(tmp_path / "state", config)
    yield runner
    if (runner.state / "sandbox.json").exists():
        subprocess.run(
            [sys.executable, "-m", "mathvisuals", "down", "--target", "local",
             "--config", str(config)],
            env={**os.environ, "MATHVISUALS_STATE_DIR": str(runner.state)},
            capture_output=True, check=False, timeout=300, cwd=ROOT,
        )  # fmt: skip


def versions(client: Any) -> list[str]:
    listed = client.list_versions_by_function(FunctionName=FUNCTION)["Versions"]
    return [v["Version"] for v in listed if v["Version"] != "$LATEST"]


def test_snapstart_on_rotated_and_off_again(cli: Cli) -> None:
    up = cli("up")
    assert up["verified"] is True
    url = up["api_endpoint"]
    client = cli.lambda_client()
    alias = client.get_alias(FunctionName=FUNCTION, Name="live")
    assert versions(client) == [alias["FunctionVersion"]]
    published = client.get_function_configuration(FunctionName=FUNCTION, Qualifier="live")
    assert published["SnapStart"]["ApplyOn"] == "PublishedVersions"
    body = {"examples": [{"title": "snap"}], "deletedProvided": []}
    with httpx2.Client(base_url=url, timeout=10) as http:
        assert http.put("/api/examples?path=/e2e/snap", json=body).status_code == 200

    # A rotation changes the function's inputs: a new version, the alias moved, the old one gone.
    cli("rotate-token")
    moved = client.get_alias(FunctionName=FUNCTION, Name="live")["FunctionVersion"]
    assert moved != alias["FunctionVersion"] and versions(client) == [moved]
    with httpx2.Client(base_url=url, timeout=10) as http:
        assert http.get("/api/examples?path=/e2e/snap").json()["examples"][0]["title"] == "snap"

    # Off again: the alias and its version go, the gateway invokes the function itself.
    with_snapstart(cli.config, on=False)
    assert cli("up")["verified"] is True
    assert versions(client) == []
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_alias(FunctionName=FUNCTION, Name="live")
    with httpx2.Client(base_url=url, timeout=10) as http:
        assert http.get("/api/examples?path=/e2e/snap").json()["examples"][0]["title"] == "snap"
    cli("down")
    assert not (cli.state / "sandbox.json").exists()
