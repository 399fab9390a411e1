"""Zero-downtime AUTH token rotation with its rollback path (deploy.md §5.14)."""

from __future__ import annotations

import time
from collections.abc import Callable

from mathvisuals.deploy.errors import RefusedError, VerificationError, WaitTimeoutError
from mathvisuals.deploy.gateway import SecretValue
from mathvisuals.deploy.orchestrator import Orchestrator
from mathvisuals.deploy.parameters import Live
from mathvisuals.deploy.pending import VERSION_PARAMETER, PendingRotation, read_pending
from mathvisuals.deploy.plan import token_only
from mathvisuals.deploy.stacks import WAIT_LIMITS
from mathvisuals.deploy.token import fingerprint

GROUP_WAIT_SECONDS = 30 * 60.0


class TokenRotation:
    """ROTATE (both tokens valid) → store → api → verify → SET; every step reported.

    ``verify`` runs V4–V6 and returns whether the api works with the new token; on failure the
    secret, the api and the replication group go back to the old token (exit 8).
    """

    def __init__(
        self,
        orchestrator: Orchestrator,
        verify: Callable[[], bool],
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._o = orchestrator
        self._context = orchestrator.context
        self._verify = verify
        self._sleep = sleep
        self._clock = clock
        self._poll = orchestrator.context.profile.rotation_poll_seconds

    def run(self) -> str:
        """Returns the new token's fingerprint."""
        context, config = self._context, self._o.config
        gateways = context.gateways
        secret_name = config.redis.auth_secret_name
        group = config.redis.replication_group_id
        with context.locked():
            pending = read_pending(config, context.raw)
            if pending is not None:
                return self._resume(pending)
            info = gateways.secrets.describe(secret_name)
            if info is None or info.current_version is None:
                raise RefusedError(f"{secret_name} does not exist: run mathvisuals up first")
            old_version = info.current_version
            old_token = gateways.secrets.value(secret_name)
            new_token = self._o.new_token()
            context.reporter.step("rotate", f"ROTATE on {group}: old and new token both valid")
            gateways.cache.modify_auth_token(group, new_token, "ROTATE")
            self._wait_available(group)
            new_version = gateways.secrets.put(secret_name, new_token)
            context.record("secret", "rotated", f"version {new_version}")
            # From here on the data stack pins old_version while AWSCURRENT is new_version: an
            # interruption shows in `status` and the next rotate-token resumes (deploy/pending).
            self.deploy_api(new_version)
            self._finish(old_version, new_version, old_token, new_token)
        return fingerprint(new_token.reveal())

    def _resume(self, pending: PendingRotation) -> str:
        """Steps 4-7 of an interrupted rotation: the new token is stored, the group takes both."""
        o, name = self._o, self._o.config.redis.auth_secret_name
        old, new = pending.pinned_version, pending.current_version
        o.context.record("rotation", "resumed", f"{pending.describe()}; finishing it")
        new_token = o.gateways.secrets.value(name, new)
        old_token = o.gateways.secrets.value(name, old)
        api = o.gateways.cloudformation.describe(o.config.stacks.api).parameters
        if api.get(VERSION_PARAMETER) != new:
            self.deploy_api(new)
        self._finish(old, new, old_token, new_token)
        return fingerprint(new_token.reveal())

    def _finish(
        self, old_version: str, new_version: str, old_token: SecretValue, new_token: SecretValue
    ) -> None:
        context, gateways = self._context, self._o.gateways
        secret_name = self._o.config.redis.auth_secret_name
        group = self._o.config.redis.replication_group_id
        if not self._verify():
            self._roll_back(secret_name, old_version, new_version, old_token, group)
            raise VerificationError(
                "the api failed verification with the new token; rolled back to the old one"
            )
        context.reporter.step("rotate", f"SET on {group}: only the new token is valid")
        gateways.cache.modify_auth_token(group, new_token, "SET")
        self._wait_available(group)
        self._update_data(new_version)

    def deploy_api(self, version: str) -> None:
        """The api stack with the given secret version; artefact and origins as deployed."""
        o = self._o
        current = o.gateways.cloudformation.describe(o.config.stacks.api).parameters
        o.deploy_stack("api", o.live_values_for_rotation(version, current))

    def _update_data(self, version: str) -> None:
        """The data template must resolve to the live token again, as a plain Modify."""
        o = self._o
        spec = o.spec("data", Live(secret_version_id=version))
        change_set = o.gateways.cloudformation.create_change_set(spec, "UPDATE")
        if change_set.empty:
            return
        # Only the group's AUTH token may change (deploy.md §5.14 step 7), judged from the
        # change set's Details, on AWS and in the sandbox alike (plan.token_only).
        unexpected = [
            c
            for c in change_set.changes
            if not (
                (c.logical_id == "RedisReplicationGroup" and token_only(c))
                # The endpoint parameters read the group's attributes, so they are re-evaluated.
                or (c.resource_type == "AWS::SSM::Parameter" and c.replacement == "False")
            )
        ]
        if unexpected:
            o.gateways.cloudformation.delete_change_set(change_set)
            names = ", ".join(f"{c.action} {c.logical_id} ({c.replacement})" for c in unexpected)
            raise RefusedError(
                f"the data stack update after rotation would also change: {names}"
            ).with_hint("the token is rotated; review the data stack change set by hand")
        o.deployer.execute(spec, change_set, "UPDATE", WAIT_LIMITS["data"])
        self._context.record("data", "updated", "secret version pinned to the rotated token")

    def _roll_back(self, name: str, old: str, new: str, old_token: SecretValue, group: str) -> None:
        o = self._o
        o.context.reporter.warn("verification failed: restoring the previous token")
        o.gateways.secrets.restore_current(name, old, new)
        self.deploy_api(old)
        o.gateways.cache.modify_auth_token(group, old_token, "SET")
        self._wait_available(group)

    def _wait_available(self, group: str) -> None:
        deadline = self._clock() + GROUP_WAIT_SECONDS
        while True:
            info = self._o.gateways.cache.replication_group(group)
            if info is not None and info.status == "available":
                return
            if self._clock() >= deadline:
                status = info.status if info else "missing"
                raise WaitTimeoutError(f"replication group {group} still {status}")
            self._sleep(self._poll)
