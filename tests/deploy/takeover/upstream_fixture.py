"""Upstream's live production, rebuilt in the sandbox the way upstream built it (takeover.md §1, §4).

``deploy_upstream`` creates the three upstream-shaped stacks with ``CreateStack`` (shared → data
→ api, each waited for), then what lived outside stacks: the seed's hand-made secret (before
the data stack, whose ``RedisAuthToken`` parameter refers to it) and the writes of upstream's
``update-shared-params.sh`` (the token into the ``…/redis/password`` copy, endpoint and port
overwritten, the two allow-lists). The stand-in redis-server is switched to the live AUTH token
(ElastiCache-``SET`` semantics: the harness token stops working and the token file follows, as
``FollowingCache`` does), and users' data is seeded through Redis's own protocol in upstream's
key schema. The result carries a byte-exact snapshot of every key for later comparison.

Reading of takeover.md used here: the replication group's ``AuthToken`` is ``!Ref RedisAuthToken``,
a parameter whose *value* is ``{{resolve:secretsmanager:math-visuals/<env>/redis/auth:SecretString:
authToken}}`` (seed step 3 with upstream's fix dcafce27); the stack's ``RedisAuthTokenSecret``
(``…/redis/password``) is a copy of the same token, which the api stack reads by ARN.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import redis

from mathvisuals.sandbox.sandbox import Endpoints, Sandbox, ensure_token, generate_token
from tests.deploy.takeover.upstream_seed import seed_values

TEMPLATES = Path(__file__).resolve().parent / "upstream"
# Where tests/sandbox and the CLI (run from the repository root) keep the pinned ministack.
MINISTACK_VENV = Path(__file__).resolve().parents[3] / ".mathvisuals" / "ministack" / "venv"
ORIGINS = "https://d1example.cloudfront.net,https://mathvisuals.no,https://app.mathvisuals.no"
ACCOUNT = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


class UpstreamFixtureError(AssertionError):
    """The upstream-shaped deployment could not be built (a broken fixture, not a finding)."""


@dataclass(frozen=True)
class UpstreamNames:
    """Every name upstream's deployment uses for one environment (takeover.md §1)."""

    env: str

    @property
    def suffix(self) -> str:
        return "" if self.env == "prod" else f"-{self.env}"

    @property
    def shared_stack(self) -> str:
        return f"math-visuals-shared{self.suffix}"

    @property
    def data_stack(self) -> str:
        return f"math-visuals-data{self.suffix}"

    @property
    def api_stack(self) -> str:
        return f"math-visuals-api{self.suffix}"

    @property
    def stacks(self) -> dict[str, str]:
        return {"shared": self.shared_stack, "data": self.data_stack, "api": self.api_stack}

    @property
    def stage(self) -> str:
        return self.env

    @property
    def auth_secret(self) -> str:
        """The seed's hand-made secret, outside every stack."""
        return f"math-visuals/{self.env}/redis/auth"

    @property
    def password_secret(self) -> str:
        """The data stack's ``RedisAuthTokenSecret`` (Retain)."""
        return f"math-visuals/{self.env}/redis/password"

    def parameter(self, leaf: str) -> str:
        return f"/math-visuals/{self.env}/{leaf}"

    @property
    def allow_lists(self) -> tuple[str, str]:
        return self.parameter("examples-allowed-origins"), self.parameter("svg-allowed-origins")

    @property
    def replication_group(self) -> str:
        return f"mv-{self.env}-redis"

    @property
    def subnet_group(self) -> str:
        return f"math-visuals-{self.env}-redis-subnets"

    @property
    def alarm_topic(self) -> str:
        return f"math-visuals-api-alarms-{self.stage}"

    def exports(self) -> dict[str, list[str]]:
        """Each export upstream's stacks create → the stacks that import it (takeover.md §1)."""
        shared, data, api = self.shared_stack, self.data_stack, self.api_stack
        table: dict[str, list[str]] = {}
        for name in (
            "RedisPasswordSecretName",
            "RedisEndpointParameterName",
            "RedisPortParameterName",
        ):
            table[f"{shared}-{name}"] = [data]
        for name in ("ExamplesAllowedOriginsParameterName", "SvgAllowedOriginsParameterName"):
            table[f"{shared}-{name}"] = [api]
        for name in (
            "PrivateSubnet1Id",
            "PrivateSubnet2Id",
            "LambdaSecurityGroupId",
            "RedisEndpointParameterName",
            "RedisPortParameterName",
            "RedisPasswordSecretName",
        ):
            table[f"{data}-{name}"] = [api]
        for name in (
            "VpcId",
            "RedisSecurityGroupId",
            "RedisPrimaryEndpoint",
            "RedisReaderEndpoint",
            "RedisPort",
            "RedisTlsRequired",
            "RedisReaderEndpointParameterName",
        ):
            table[f"{data}-{name}"] = []
        return table


@dataclass(frozen=True)
class KeyValue:
    """One Redis key: its type and its value, byte-exact (sets as sorted members)."""

    type: str
    value: bytes | tuple[bytes, ...]
    ttl: int


Snapshot = dict[bytes, KeyValue]


@dataclass(frozen=True)
class UpstreamDeployment:
    names: UpstreamNames
    region: str
    stack_ids: dict[str, str]
    # stack role → logical id → physical id, as the emulator reported them after the create.
    physical_ids: dict[str, dict[str, str]]
    snapshot: Snapshot = field(repr=False)
    live_token: str = field(repr=False)


@dataclass(frozen=True)
class RunningSandbox:
    sandbox: Sandbox
    token_file: Path
    # The token the stand-in was started with; deploy_upstream replaces it with the live one.
    harness_token: str = field(repr=False)

    def aws(self, service: str, region: str | None = None) -> Any:
        return aws(self.sandbox.endpoints(), service, region or self.sandbox.region)


@contextlib.contextmanager
def running_sandbox(state_dir: Path, region: str = "eu-north-1") -> Iterator[RunningSandbox]:
    """A sandbox of its own in ``state_dir`` (token file ``state_dir/token``), stopped after.

    The CLI run with ``MATHVISUALS_STATE_DIR=state_dir`` from the repository root reuses it.
    """
    sandbox = Sandbox(state_dir, ministack_venv=MINISTACK_VENV, region=region)
    token_file = state_dir / "token"
    harness = ensure_token(token_file)
    sandbox.up(harness)
    try:
        yield RunningSandbox(sandbox, token_file, harness)
    finally:
        sandbox.down()


def aws(endpoints: Endpoints, service: str, region: str) -> Any:
    return boto3.client(
        service, endpoint_url=endpoints.aws_endpoint_url, region_name=region, **ACCOUNT
    )


def redis_client(endpoints: Endpoints, password: str) -> redis.Redis:
    """The stand-in over TLS, verified against the sandbox CA (certificate for localhost)."""
    return redis.Redis(
        host="localhost",
        port=endpoints.redis_port,
        password=password,
        ssl=True,
        ssl_ca_certs=str(endpoints.ca_file),
        socket_timeout=5,
    )


def deploy_upstream(
    sandbox: Sandbox,
    token_file: Path,
    env: str = "prod",
    *,
    region: str | None = None,
    timeout: float = 300.0,
) -> UpstreamDeployment:
    """Build upstream's live production for ``env`` in a running sandbox; return its snapshot.

    ``token_file`` holds the token the stand-in accepts now; afterwards it holds the live one.
    """
    endpoints = sandbox.endpoints()
    names = UpstreamNames(env)
    region = region or sandbox.region
    harness_token = token_file.read_text(encoding="utf-8")
    live_token = generate_token(64)
    cfn = aws(endpoints, "cloudformation", region)
    secrets = aws(endpoints, "secretsmanager", region)
    ssm = aws(endpoints, "ssm", region)

    # Seed step 2, by hand: the source of the token the data stack resolves.
    secrets.create_secret(
        Name=names.auth_secret, SecretString=json.dumps({"authToken": live_token})
    )
    stack_ids = {
        "shared": _create(cfn, names.shared_stack, "shared", {"EnvironmentName": env}, timeout),
    }
    reference = f"{{{{resolve:secretsmanager:{names.auth_secret}:SecretString:authToken}}}}"
    data_parameters = {
        "EnvironmentName": env,
        "SharedParametersStackName": names.shared_stack,
        "RedisAuthToken": reference,
    }
    stack_ids["data"] = _create(cfn, names.data_stack, "data", data_parameters, timeout)
    _update_shared_params(names, ssm, secrets, cfn, live_token)
    api_parameters = {
        "StageName": names.stage,
        "DataStackName": names.data_stack,
        "SharedParametersStackName": names.shared_stack,
    }
    stack_ids["api"] = _create(cfn, names.api_stack, "api", api_parameters, timeout)

    # ministack reports the stand-in as every replication group's endpoint and ignores AuthToken;
    # make the stand-in hold the live token alone, as ElastiCache would.
    sandbox.add_password(harness_token, live_token)
    if harness_token != live_token:
        sandbox.remove_password(live_token, harness_token)
    token_file.write_text(live_token, encoding="utf-8")

    client = redis_client(endpoints, live_token)
    try:
        seed(client)
        snapshot = snapshot_redis(client)
    finally:
        client.close()
    physical = {
        role: {
            r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
            for r in cfn.describe_stack_resources(StackName=name)["StackResources"]
        }
        for role, name in names.stacks.items()
    }
    return UpstreamDeployment(names, region, stack_ids, physical, snapshot, live_token)


def _create(cfn: Any, name: str, role: str, parameters: dict[str, str], timeout: float) -> str:
    """``CreateStack`` as upstream's CLI did, then wait for ``CREATE_COMPLETE``."""
    stack_id: str = cfn.create_stack(
        StackName=name,
        TemplateBody=(TEMPLATES / f"{role}.yaml").read_text(encoding="utf-8"),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"] if role == "api" else [],
    )["StackId"]
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        status = stack["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            break
        if time.monotonic() > deadline:
            raise UpstreamFixtureError(f"{name} still {status} after {timeout:.0f}s")
        time.sleep(0.25)
    if status != "CREATE_COMPLETE":
        failed = [
            f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
            for e in cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
            if e["ResourceStatus"].endswith("FAILED")
        ]
        raise UpstreamFixtureError(f"{name} ended {status}: {'; '.join(failed) or 'no reason'}")
    return stack_id


def _update_shared_params(
    names: UpstreamNames, ssm: Any, secrets: Any, cfn: Any, token: str
) -> None:
    """What upstream's update-shared-params.sh wrote (deploy.md §1.5): the token into the
    secret the shared stack names, endpoint and port over the data stack's own parameters
    (values pasted from the stack outputs), and the two allow-lists, which no stack creates."""
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cfn.describe_stacks(StackName=names.data_stack)["Stacks"][0]["Outputs"]
    }
    secrets.put_secret_value(
        SecretId=names.password_secret, SecretString=json.dumps({"authToken": token})
    )
    for leaf, value in (
        ("redis/endpoint", outputs["RedisPrimaryEndpoint"]),
        ("redis/port", outputs["RedisPort"]),
    ):
        ssm.put_parameter(Name=names.parameter(leaf), Value=value, Type="String", Overwrite=True)
    for name in names.allow_lists:
        ssm.put_parameter(Name=name, Value=ORIGINS, Type="StringList", Overwrite=True)


def seed(client: redis.Redis) -> None:
    """Write users' data in upstream's key schema: one ``MULTI``, as upstream's writers did."""
    strings, sets = seed_values()
    pipe = client.pipeline(transaction=True)
    for key, value in strings.items():
        pipe.set(key, value)
    for key, members in sets.items():
        pipe.sadd(key, *sorted(members))
    pipe.execute()


def snapshot_redis(client: redis.Redis) -> Snapshot:
    """Every key with its type, its value (strings byte-exact, sets sorted) and its TTL.

    Types other than string and set (none in upstream's schema) are compared by ``DUMP``.
    """
    snapshot: Snapshot = {}
    for key in sorted(_raw(k) for k in client.scan_iter(count=1000)):
        kind = _raw(client.type(key)).decode()
        value: bytes | tuple[bytes, ...]
        if kind == "string":
            value = _raw(client.get(key))
        elif kind == "set":
            value = tuple(sorted(_raw(m) for m in client.smembers(key)))
        else:
            value = _raw(client.dump(key))
        snapshot[key] = KeyValue(kind, value, int(client.ttl(key)))
    return snapshot


def diff_snapshots(before: Snapshot, after: Snapshot) -> dict[str, list[bytes]]:
    """Key names only (never values): ``missing``, ``changed`` (type, value or TTL), ``added``."""
    return {
        "missing": sorted(set(before) - set(after)),
        "changed": sorted(k for k in set(before) & set(after) if before[k] != after[k]),
        "added": sorted(set(after) - set(before)),
    }


def _raw(value: object) -> bytes:
    """A reply of a client without ``decode_responses``: bytes (``None`` as empty)."""
    if value is None:
        return b""
    if not isinstance(value, bytes):
        raise UpstreamFixtureError(f"expected bytes from Redis, got {type(value).__name__}")
    return value
