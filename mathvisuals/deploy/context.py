"""One deployment run's shared state, handed to the orchestrator, rotation and teardown.

The context owns the guarded gateways: every mutating call passes its hook, which takes the
environment lock before the first one and counts them all. ``locked()`` releases the lock on
the way out, whatever happened; ``record()`` is how a step reports its outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mathvisuals.deploy.config import EnvironmentConfig
from mathvisuals.deploy.gateway import Gateways
from mathvisuals.deploy.guard import guard
from mathvisuals.deploy.locks import Lock
from mathvisuals.deploy.profile import TargetProfile
from mathvisuals.deploy.progress import Reporter


@dataclass
class StepResult:
    name: str
    result: str
    detail: str = ""


class DeployContext:
    """Config, gateways (raw and guarded), reporter, profile, lock, and what the run did."""

    def __init__(
        self,
        config: EnvironmentConfig,
        gateways: Gateways,
        reporter: Reporter,
        *,
        profile: TargetProfile,
        lock: Lock,
        break_lock: bool = False,
        token_file: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.raw = gateways  # unguarded: read-only previews (plan) take no lock
        self.gateways = guard(gateways, self._before_mutation)
        self.reporter = reporter
        self.profile = profile
        self.token_file = token_file
        self.sleep = sleep
        self.steps: list[StepResult] = []
        self.mutations: list[str] = []
        self._lock = lock
        self._break_lock = break_lock

    def _before_mutation(self, call: str) -> None:
        if not self.mutations:
            self._lock.acquire(break_lock=self._break_lock)
        self.mutations.append(call)

    @contextmanager
    def locked(self) -> Iterator[DeployContext]:
        """The lock is taken lazily by the first mutating call inside, and released on exit."""
        try:
            yield self
        finally:
            self._lock.release()

    def record(self, name: str, result: str, detail: str = "") -> None:
        self.steps.append(StepResult(name, result, detail))
        self.reporter.done(name, f"{result} {detail}".strip())
