"""The takeover, end to end: upstream's stacks in the sandbox, then adopt → plan → up → up.

The emulator is not the judge of replacement (EMULATOR.md): the checks here are independent
reads with boto3 and Redis of what must not change (physical ids, every key byte for byte,
the HTTP API the static site forwards to) and of what must (our templates, tags, kv mode).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.deploy.takeover.upstream_fixture import (
    RunningSandbox,
    UpstreamDeployment,
    deploy_upstream,
    diff_snapshots,
    redis_client,
    running_sandbox,
    snapshot_redis,
)

ROOT = Path(__file__).resolve().parents[3]
ENV = "brown"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with running_sandbox(tmp_path_factory.mktemp("takeover-sandbox")) as found:
        yield found


@pytest.fixture(scope="module")
def upstream(running: RunningSandbox) -> UpstreamDeployment:
    return deploy_upstream(running.sandbox, running.token_file, ENV)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sandbox profile for an environment upstream created (names derive from ``brown``)."""
    text = (ROOT / "infra/environments/local.toml").read_text(encoding="utf-8")
    text = text.replace('name = "local"', f'name = "{ENV}"')
    text = text.replace('stage_name = "local"', f'stage_name = "{ENV}"')
    text = text.replace("math-visuals-artifacts-local", f"math-visuals-artifacts-{ENV}")
    folder = tmp_path_factory.mktemp("takeover-config")
    text = text.replace('path = ".mathvisuals/status/local"', f'path = "{folder}/status"')
    path = folder / f"{ENV}.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Cli:
    def __init__(self, state: Path, config: Path) -> None:
        self.state, self.config = state, config
        self.output: list[str] = []

    def __call__(self, *args: str, expect: int = 0) -> tuple[dict[str, Any], str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REDIS_"))}
        env["MATHVISUALS_STATE_DIR"] = str(self.state)
        done = subprocess.run(
            [sys.executable, "-m", "mathvisuals", *args, "--target", "local",
             "--config", str(self.config)],
            capture_output=True, text=True, env=env, check=False, timeout=600, cwd=ROOT,
        )  # fmt: skip
        self.output += [done.stdout, done.stderr]
        assert done.returncode == expect, done.stdout + done.stderr
        found = json.loads(done.stdout) if "--json" in args and done.stdout.strip() else {}
        return found, done.stdout + done.stderr


def physical(running: RunningSandbox, region: str, stack: str) -> dict[str, str]:
    cfn = running.aws("cloudformation", region)
    return {
        r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
        for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]
    }


def test_upstreams_production_is_taken_over_in_place_with_its_data(
    running: RunningSandbox, upstream: UpstreamDeployment, config_file: Path
) -> None:
    cli = Cli(running.sandbox.state_dir, config_file)
    names = upstream.names
    before = {role: physical(running, upstream.region, name) for role, name in names.stacks.items()}
    api_id = before["api"]["HttpApi"]

    # Before anything is recorded: plan shows the takeover, up refuses without touching it.
    shown, text = cli("plan", "--json")
    assert shown["refusals"] == [] and shown["takeover"]
    _, text = cli("up", expect=10)
    assert "mathvisuals adopt" in text

    # adopt writes the live values; the token check passes (the secret holds the live token).
    adopted, _ = cli("adopt", "--json")
    assert adopted["written"] is True and adopted["refusals"] == []
    recorded = tomllib.loads(config_file.read_text(encoding="utf-8"))
    data = recorded["adopt"]["data"]["resources"]
    assert data["PrivateSubnet1"]["properties"] == {"CidrBlock": "10.42.0.0/19"}
    assert data["RedisPrimaryEndpointParameter"]["ours"] == "RedisEndpointParameter"
    assert recorded["api"]["function_name"] == before["api"]["ApiFunction"]

    planned, _ = cli("plan", "--json")
    assert planned["refusals"] == []
    assert not any(" replace " in f" {line} " for line in planned["takeover"])

    first, _ = cli("up", "--json")
    assert first["changed"] is True and first["verified"] is True, first
    assert any(step["name"] == "backup" for step in first["steps"])

    # The stateful resources and the public API are the same physical resources.
    after = {role: physical(running, upstream.region, name) for role, name in names.stacks.items()}
    for logical_id in (
        "Vpc", "PrivateSubnet1", "PrivateSubnet2", "LambdaSecurityGroup", "RedisSecurityGroup",
        "RedisSubnetGroup", "RedisReplicationGroup", "RedisPrimaryEndpointParameter",
    ):  # fmt: skip
        assert after["data"][logical_id] == before["data"][logical_id], logical_id
    for logical_id in ("HttpApi", "HttpApiStage", "ApiFunction", "ApiFunctionLogGroup"):
        assert after["api"][logical_id] == before["api"][logical_id], logical_id
    assert (
        after["shared"]["SharedStackVersionParameter"]
        == (before["shared"]["SharedStackVersionParameter"])
    )

    # Our templates and tags, every stack complete.
    cfn = running.aws("cloudformation", upstream.region)
    for name in names.stacks.values():
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        assert stack["StackStatus"].endswith("_COMPLETE") and "ROLLBACK" not in stack["StackStatus"]
        assert {"Key": "managed-by", "Value": "mathvisuals"} in stack["Tags"]
    body = cfn.get_template(StackName=names.api_stack)["TemplateBody"]
    assert "mathvisuals.api.lambda_handler.handler" in json.dumps(body)
    exports = {e["Name"] for e in cfn.list_exports()["Exports"]}
    assert f"{names.data_stack}-PrivateSubnet1Id" in exports

    # Every key byte-identical, and our code serves it in kv mode through the same HTTP API.
    client = redis_client(running.sandbox.endpoints(), running.token_file.read_text())
    try:
        changed = diff_snapshots(upstream.snapshot, snapshot_redis(client))
    finally:
        client.close()
    assert changed["missing"] == [] and changed["changed"] == [], changed
    port = json.loads((running.sandbox.state_dir / "sandbox.json").read_text())["ministack_port"]
    base = f"http://127.0.0.1:{port}/_aws/execute-api/{api_id}/{names.stage}"
    with httpx2.Client(base_url=base, timeout=10) as http:
        health = http.get("/api/health").json()
        assert health.get("upstream") is None and health["mode"] == "kv"
        listing = http.get("/api/examples").json()
        assert listing["mode"] == "kv" and listing["entries"]

    # A second up changes nothing.
    second, _ = cli("up", "--json")
    assert second["changed"] is False and second["mutating_calls"] == 0, second

    secret = upstream.live_token
    assert all(secret not in part for part in cli.output)
