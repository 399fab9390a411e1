"""The sandbox side of ``--target local`` (deploy.md §6.7): the sandbox's endpoints, and a cache
gateway whose AUTH changes also reach the stand-in ``redis-server``.

The orchestrator code path is the one used for AWS; what else differs is in ``profile.LOCAL``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mathvisuals.deploy.config import EnvironmentConfig
from mathvisuals.deploy.gateway import Cache, ReplicationGroupInfo, SecretValue
from mathvisuals.sandbox.sandbox import Endpoints, Sandbox, ensure_token


@dataclass
class LocalTarget:
    sandbox: Sandbox
    endpoints: Endpoints
    token_file: Path

    def configure(self, config: EnvironmentConfig) -> EnvironmentConfig:
        """The emulator's port and the stand-in's CA are only known once the sandbox runs."""
        local = config.local.model_copy(
            update={
                "endpoint_url": self.endpoints.aws_endpoint_url,
                "redis_ca_file": str(self.endpoints.ca_file.resolve()),
            }
        )
        return config.model_copy(update={"local": local})


def start_local(state_dir: Path, ministack_venv: Path | None = None) -> LocalTarget:
    """Bring the sandbox up (or reuse it) with the token the secret will be created with."""
    token_file = state_dir / "token"
    token = ensure_token(token_file)
    sandbox = Sandbox(state_dir, ministack_venv=ministack_venv)
    return LocalTarget(sandbox, sandbox.up(token), token_file)


@dataclass
class FollowingCache:
    """ElastiCache as emulated, plus the same AUTH change applied to the stand-in by ACL.

    ROTATE adds the new password (both valid), SET keeps only the given one; the token file
    follows SET so a restarted stand-in starts with the token the secret holds.
    """

    inner: Cache
    sandbox: Sandbox
    token_file: Path
    added: list[str] = field(default_factory=list)

    def replication_group(self, group_id: str) -> ReplicationGroupInfo | None:
        return self.inner.replication_group(group_id)

    def create_snapshot(self, group_id: str, name: str) -> None:
        self.inner.create_snapshot(group_id, name)

    def snapshot_status(self, name: str) -> str | None:
        return self.inner.snapshot_status(name)

    def modify_auth_token(
        self, group_id: str, token: SecretValue, strategy: Literal["ROTATE", "SET"]
    ) -> None:
        self.inner.modify_auth_token(group_id, token, strategy)
        current = self.token_file.read_text(encoding="utf-8")
        new = token.reveal()
        if strategy == "ROTATE":
            if new != current and new not in self.added:
                self.sandbox.add_password(current, new)
                self.added.append(new)
            return
        for old in [current, *self.added]:
            if old != new:
                self.sandbox.remove_password(new, old)
        self.added.clear()
        self.token_file.write_text(new, encoding="utf-8")
