"""The local sandbox for real: ministack (own venv) + TLS redis-server, by PID, on loopback."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from mathvisuals.sandbox import SandboxError
from mathvisuals.sandbox.ministack import MINISTACK_VERSION, ensure_venv
from mathvisuals.sandbox.redis_server import free_port
from mathvisuals.sandbox.resp import RespError, connect
from mathvisuals.sandbox.sandbox import Endpoints, Sandbox, ensure_token, generate_token

# The first run installs ministack from the registry into this venv; later runs (and
# `mathvisuals up --target local` from the repository root) reuse it.
REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".mathvisuals" / "ministack" / "venv"
REGION = "eu-north-1"

pytestmark = pytest.mark.timeout(600)


@dataclass
class Running:
    sandbox: Sandbox
    endpoints: Endpoints
    token: str


def client(endpoints: Endpoints, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoints.aws_endpoint_url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    state = tmp_path_factory.mktemp("sandbox")
    token = ensure_token(state / "token")
    sandbox = Sandbox(state, ministack_venv=VENV)
    endpoints = sandbox.up(token)
    try:
        yield Running(sandbox, endpoints, token)
    finally:
        sandbox.down()


def lambda_zip() -> bytes:
    source = (
        "import json, os, sys\n"
        "print('cold start', file=sys.stderr)\n"
        "def handler(event, context):\n"
        "    return {'python': sys.executable, 'task_root': os.environ['LAMBDA_TASK_ROOT'],\n"
        "            'cwd': os.getcwd(), 'flag': os.environ.get('FLAG'),\n"
        "            'redis_port': os.environ.get('REDIS_PORT')}\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("probe.py", source)
    return buffer.getvalue()


def invoke_probe(endpoints: Endpoints, name: str) -> dict[str, Any]:
    lam = client(endpoints, "lambda")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/probe",
        Handler="probe.handler",
        Code={"ZipFile": lambda_zip()},
        Environment={"Variables": {"FLAG": "set"}},
    )
    response = lam.invoke(FunctionName=name, Payload=b"{}")
    assert response["StatusCode"] == 200
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return status.rsplit(")", 1)[-1].split()[0] != "Z"


def listening(pids: list[int]) -> set[str]:
    """``address:port`` (hex, as /proc/net/tcp* writes it) of every socket ``pids`` listen on."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = str(fd.readlink())
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text(encoding="utf-8").splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                found.add(fields[1])
    return found


def test_aws_apis_answer(running: Running) -> None:
    endpoints = running.endpoints
    assert endpoints.aws_endpoint_url.startswith("http://127.0.0.1:")
    identity = client(endpoints, "sts").get_caller_identity()
    assert identity["Account"] == "000000000000"
    ssm = client(endpoints, "ssm")
    ssm.put_parameter(Name="/sandbox/probe", Value="42", Type="String")
    assert ssm.get_parameter(Name="/sandbox/probe")["Parameter"]["Value"] == "42"
    groups = client(endpoints, "elasticache").describe_replication_groups()
    assert groups["ReplicationGroups"] == []


def test_replication_group_endpoint_is_our_redis(running: Running) -> None:
    elasticache = client(running.endpoints, "elasticache")
    group = elasticache.create_replication_group(
        ReplicationGroupId="mv-probe",
        ReplicationGroupDescription="sandbox probe",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=1,
        TransitEncryptionEnabled=True,
        AuthToken=generate_token(),
    )["ReplicationGroup"]
    primary = group["NodeGroups"][0]["PrimaryEndpoint"]
    assert primary == {"Address": "127.0.0.1", "Port": running.endpoints.redis_port}
    assert group["TransitEncryptionEnabled"] is True
    assert group["AuthTokenEnabled"] is True
    assert group["Status"] == "available"


def test_ping_needs_the_token(running: Running) -> None:
    port, ca_file = running.endpoints.redis_port, running.endpoints.ca_file
    with connect(port, ca_file, running.token) as redis:
        assert redis.command("PING") == "PONG"
    with pytest.raises(RespError) as wrong:
        connect(port, ca_file, "not-the-token-" + generate_token(20))
    assert wrong.value.kind == "WRONGPASS"
    with connect(port, ca_file) as redis, pytest.raises(RespError) as anonymous:
        redis.command("PING")
    assert anonymous.value.kind == "NOAUTH"


def test_rotation_emulation(running: Running) -> None:
    sandbox, old = running.sandbox, running.token
    port, ca_file = running.endpoints.redis_port, running.endpoints.ca_file
    new = generate_token()

    sandbox.add_password(old, new)
    for password in (old, new):
        with connect(port, ca_file, password) as redis:
            assert redis.command("PING") == "PONG"

    sandbox.remove_password(new, old)
    with connect(port, ca_file, new) as redis:
        assert redis.command("PING") == "PONG"
    with pytest.raises(RespError) as rejected:
        connect(port, ca_file, old)
    assert rejected.value.kind == "WRONGPASS"
    assert old not in str(rejected.value)

    with pytest.raises(SandboxError):
        sandbox.remove_password(new, new)
    # Back to the module's token for the other tests.
    sandbox.add_password(new, old)
    sandbox.remove_password(old, new)


def test_acl_errors_do_not_echo_the_password(running: Running) -> None:
    missing = generate_token()
    with pytest.raises(RespError) as error:
        running.sandbox.remove_password(running.token, missing)
    assert missing not in str(error.value)


def test_secrets_stay_out_of_argv_environment_and_state(running: Running) -> None:
    sandbox, token = running.sandbox, running.token
    secret = token.encode()
    for pid in sandbox.processes():
        assert secret not in Path(f"/proc/{pid}/cmdline").read_bytes()
        assert secret not in Path(f"/proc/{pid}/environ").read_bytes()
    assert token not in sandbox.state_file.read_text(encoding="utf-8")
    assert stat.S_IMODE((sandbox.redis_dir / "redis.conf").stat().st_mode) == 0o600


def test_everything_listens_on_loopback_only(running: Running) -> None:
    addresses = listening(running.sandbox.processes())
    ports = {int(address.split(":")[1], 16) for address in addresses}
    gateway = int(running.endpoints.aws_endpoint_url.rsplit(":", 1)[1])
    assert ports == {running.endpoints.redis_port, gateway}
    assert all(address.startswith("0100007F:") for address in addresses), addresses


def test_cloudformation_creates_an_ssm_parameter(running: Running) -> None:
    cloudformation = client(running.endpoints, "cloudformation")
    template = {
        "Resources": {
            "Probe": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": "/sandbox/cfn-probe", "Type": "String", "Value": "ok"},
            }
        },
        "Outputs": {"Name": {"Value": {"Ref": "Probe"}}},
    }
    cloudformation.create_stack(StackName="sandbox-probe", TemplateBody=json.dumps(template))
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName="sandbox-probe", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    stack = cloudformation.describe_stacks(StackName="sandbox-probe")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"] == [
        {"OutputKey": "Name", "OutputValue": "/sandbox/cfn-probe", "Description": ""}
    ]
    parameter = client(running.endpoints, "ssm").get_parameter(Name="/sandbox/cfn-probe")
    assert parameter["Parameter"]["Value"] == "ok"


def test_lambda_runs_with_ministack_python(running: Running) -> None:
    result = invoke_probe(running.endpoints, "sandbox-probe")
    assert result["python"].startswith(str(VENV.resolve()))
    assert result["cwd"] == result["task_root"]
    assert result["task_root"].startswith(str(running.sandbox.state_dir / "ministack" / "tmp"))
    assert result["flag"] == "set"
    # Inherited from ministack's own environment (the function did not set it).
    assert result["redis_port"] == str(running.endpoints.redis_port)


def test_second_up_reuses_live_processes(running: Running) -> None:
    before = json.loads(running.sandbox.state_file.read_text(encoding="utf-8"))
    again = Sandbox(running.sandbox.state_dir, ministack_venv=VENV)
    assert again.up(running.token) == running.endpoints
    assert json.loads(again.state_file.read_text(encoding="utf-8")) == before
    assert again.status().up
    assert again.endpoints() == running.endpoints


def test_down_leaves_no_process_behind(tmp_path: Path) -> None:
    port = free_port()
    sandbox = Sandbox(tmp_path, ministack_venv=VENV, gateway_port=port)
    endpoints = sandbox.up(ensure_token(tmp_path / "token"))
    try:
        assert endpoints.aws_endpoint_url == f"http://127.0.0.1:{port}"
        invoke_probe(endpoints, "worker-probe")
        pids = sandbox.processes()
        # redis-server, ministack and the warm Lambda worker it keeps.
        assert len(pids) >= 3
        assert all(alive(pid) for pid in pids)
    finally:
        sandbox.down()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    assert [pid for pid in pids if alive(pid)] == []
    assert not sandbox.state_file.exists()
    assert not (sandbox.redis_dir / "redis.conf").exists()
    status = sandbox.status()
    assert status.redis is None and status.ministack is None and not status.up
    with pytest.raises(SandboxError):
        sandbox.endpoints()
    sandbox.down()  # idempotent


def test_down_stops_a_sandbox_another_process_started(tmp_path: Path) -> None:
    # As with `mathvisuals sandbox up` then `... down`: the starter has exited by now.
    script = (
        "import sys; from pathlib import Path\n"
        "from mathvisuals.sandbox.sandbox import Sandbox, ensure_token\n"
        "state, venv = Path(sys.argv[1]), Path(sys.argv[2])\n"
        "Sandbox(state, ministack_venv=venv).up(ensure_token(state / 'token'))\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path), str(VENV)], check=True)
    sandbox = Sandbox(tmp_path)
    pids = sandbox.processes()
    try:
        assert sandbox.status().up
        assert len(pids) == 2
    finally:
        sandbox.down()
    assert [pid for pid in pids if alive(pid)] == []
    assert not (tmp_path / "ministack" / "ministack.pid").exists()
    assert not sandbox.state_file.exists()


def test_up_after_a_crash_starts_fresh(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, ministack_venv=VENV)
    token = ensure_token(tmp_path / "token")
    sandbox.up(token)
    try:
        crashed = json.loads(sandbox.state_file.read_text(encoding="utf-8"))
        os.kill(crashed["ministack_pid"], signal.SIGKILL)
        deadline = time.monotonic() + 5  # SIGKILL is delivered asynchronously
        while alive(crashed["ministack_pid"]) and time.monotonic() < deadline:
            time.sleep(0.02)
        status = sandbox.status()
        assert status.ministack is not None and not status.ministack.alive
        assert status.redis is not None and status.redis.answering and not status.up
        sandbox.up(token)
        fresh = json.loads(sandbox.state_file.read_text(encoding="utf-8"))
        assert fresh["ministack_pid"] != crashed["ministack_pid"]
        assert fresh["redis_pid"] != crashed["redis_pid"]
        assert not alive(crashed["redis_pid"])
        assert sandbox.status().up
    finally:
        sandbox.down()
    assert sandbox.processes() == []


def test_ensure_token(tmp_path: Path) -> None:
    path = tmp_path / "state" / "token"
    token = ensure_token(path)
    assert len(token) == 48
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
    assert any(c.isupper() for c in token) and any(c.islower() for c in token)
    assert any(c.isdigit() for c in token)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_token(path) == token
    path.write_text("short\n")
    with pytest.raises(SandboxError):
        ensure_token(path)


def test_up_refuses_a_token_redis_cannot_carry(tmp_path: Path) -> None:
    with pytest.raises(SandboxError):
        Sandbox(tmp_path, ministack_venv=VENV).up("has a space in it, so no")
    assert not (tmp_path / "sandbox.json").exists()


def test_the_venv_is_pinned() -> None:
    ensure_venv(VENV)
    stamp = (VENV / ".mathvisuals-ministack-version").read_text(encoding="utf-8").split()
    assert stamp == [f"ministack=={MINISTACK_VERSION}", "python{}.{}".format(*sys.version_info)]
    assert (VENV / "bin" / "python").resolve().name.startswith("python3")
