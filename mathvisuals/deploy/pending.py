"""An unfinished token rotation, read from live state alone (deploy.md §5.14).

``rotate-token`` stores the new token (step 3) before it updates the api (4), SETs (6) and pins
the data stack to the new version (7). Until step 7 the data stack's ``RedisAuthSecretVersionId``
differs from the secret's ``AWSCURRENT``: that is the mark of a rotation that stopped half way
(Ctrl-C, a crash), whatever machine ran it. ``rotate-token`` resumes it; ``up`` refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from mathvisuals.deploy.config import EnvironmentConfig
from mathvisuals.deploy.errors import RefusedError
from mathvisuals.deploy.gateway import Gateways, SecretInfo
from mathvisuals.deploy.model import StackState

VERSION_PARAMETER = "RedisAuthSecretVersionId"
RESUME_HINT = "run `mathvisuals rotate-token` for this environment to finish it"


@dataclass(frozen=True)
class PendingRotation:
    pinned_version: str  # what the data stack (and the old token) use
    current_version: str  # the secret's AWSCURRENT: the new token

    def describe(self) -> str:
        return (
            f"a token rotation is unfinished: the secret is at version {self.current_version} "
            f"but the data stack still pins {self.pinned_version}"
        )


def pending_rotation(data: StackState, secret: SecretInfo | None) -> PendingRotation | None:
    pinned = data.parameters.get(VERSION_PARAMETER) if data.exists else None
    current = secret.current_version if secret is not None and not secret.deleted else None
    if pinned and current and pinned != current:
        return PendingRotation(pinned, current)
    return None


def read_pending(config: EnvironmentConfig, gateways: Gateways) -> PendingRotation | None:
    data = gateways.cloudformation.describe(config.stacks.data)
    return pending_rotation(data, gateways.secrets.describe(config.redis.auth_secret_name))


def refuse_unfinished_rotation(config: EnvironmentConfig, gateways: Gateways) -> None:
    """``up`` would push the new token through CloudFormation, outside ROTATE/SET: refused."""
    pending = read_pending(config, gateways)
    if pending is not None:
        raise RefusedError(pending.describe()).with_hint(RESUME_HINT)
