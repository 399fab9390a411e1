"""What differs per deploy target, in one value per target (deploy.md §6.7).

The orchestrator, verify, status, rotation and teardown run the same code for every target;
where a target needs something else (its pace, its lock, the interpreter the artefact is built
for, the checks it cannot run, what its emulator is allowed to get wrong) they ask the profile.
A new target is one more ``TargetProfile`` registered in ``PROFILES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mathvisuals.deploy.config import EnvironmentConfig
from mathvisuals.deploy.gateway import Artifacts
from mathvisuals.deploy.locks import FileLock, Lock, S3Lock


@dataclass(frozen=True)
class TargetProfile:
    name: str
    # Clients point at ``config.local.endpoint_url`` with dummy credentials (an emulator).
    emulated: bool
    # How often each wait polls: stack operations, rotation, V6's log reads, boto3 waiters.
    stack_poll_seconds: float
    rotation_poll_seconds: float
    log_poll_seconds: float
    client_poll_seconds: float
    # Where the environment lock lives: an S3 object in the artefact bucket, or a local file.
    lock_kind: Literal["s3", "file"]
    # The Python the Lambda zip is built for; ``None`` is the running interpreter.
    artifact_python: str | None
    # Preflight simulates the principal's permissions (IAM is not emulated).
    simulates_permissions: bool
    # AWS_REGION must agree with the file (an emulator ignores the variable).
    checks_region: bool
    # verify checks not run against this target, and whether alarm states can be read.
    skipped_checks: tuple[str, ...]
    # ``down`` deletes data and secret without the confirmation flags (nothing real is lost).
    down_removes_everything: bool
    # The api stack gets the sandbox's CA file through ``RedisTlsCaFile``.
    passes_redis_ca: bool
    # Emulator allowance: a function reported without its VpcConfig. (Rotation judges the
    # group's change from the change set's Details, the same on AWS and in the sandbox.)
    vpc_config_optional: bool = False
    # How `data` pages reach the function: inline in the invoke payload (the VPC has no route
    # to S3, deploy.md B21), or by presigned S3 URLs (the sandbox's function reaches ministack).
    data_pages: Literal["inline", "s3"] = "inline"

    @property
    def verify_label(self) -> str:
        """``V1-V8``, or the range this target runs (its skipped checks are the last ones)."""
        last = 8 - len(self.skipped_checks)
        return f"V1-V{last}"

    @property
    def reads_alarms(self) -> bool:
        return "V8" not in self.skipped_checks

    def lock(self, config: EnvironmentConfig, artifacts: Artifacts, state_dir: Path) -> Lock:
        if self.lock_kind == "file":
            return FileLock(state_dir / "locks" / f"{config.name}.lock")
        return S3Lock(artifacts, config.api.artifact_bucket, config.name)

    def redis_ca_file(self, config: EnvironmentConfig) -> str:
        return config.local.redis_ca_file if self.passes_redis_ca else ""


AWS = TargetProfile(
    name="aws",
    emulated=False,
    # CloudFormation's own pace: polling faster only burns API quota (throttling).
    stack_poll_seconds=5.0,
    rotation_poll_seconds=15.0,
    log_poll_seconds=5.0,
    client_poll_seconds=5.0,
    lock_kind="s3",
    artifact_python="3.12",
    simulates_permissions=True,
    checks_region=True,
    skipped_checks=(),
    down_removes_everything=False,
    passes_redis_ca=False,
)

LOCAL = TargetProfile(
    name="local",
    emulated=True,
    stack_poll_seconds=0.5,
    rotation_poll_seconds=0.5,
    log_poll_seconds=1.0,
    client_poll_seconds=0.2,
    lock_kind="file",
    # ministack runs the handler with its own interpreter, the one running this tool.
    artifact_python=None,
    simulates_permissions=False,
    checks_region=False,
    skipped_checks=("V7", "V8"),
    down_removes_everything=True,
    passes_redis_ca=True,
    # ministack keeps no VpcConfig on functions (the comparison is covered by moto).
    vpc_config_optional=True,
    data_pages="s3",
)

PROFILES: dict[str, TargetProfile] = {profile.name: profile for profile in (AWS, LOCAL)}
