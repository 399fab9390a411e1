"""The deploy branch of the error tree; each class carries its CLI exit code (deploy.md §5.18)."""

from __future__ import annotations

from mathvisuals.errors import MathVisualsError


class DeployError(MathVisualsError):
    def with_hint(self, hint: str) -> DeployError:
        """Attach how to fix it; the CLI prints it after the message."""
        if hint:
            self.hint = hint
        return self


class ConfigError(DeployError):
    """The environment file is invalid or contradicts the environment (exit 3)."""

    exit_code = 3

    def __init__(self, file: str, key: str, problem: str, hint: str = "") -> None:
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {problem}" if where else problem)
        self.file, self.key, self.problem = file, key, problem
        self.hint = hint


class CheckFailedError(DeployError):
    exit_code = 4


class CredentialsError(DeployError):
    exit_code = 5


class PreflightBlockedError(DeployError):
    exit_code = 6


class DeploymentFailedError(DeployError):
    exit_code = 7


class VerificationError(DeployError):
    exit_code = 8


class WaitTimeoutError(DeployError):
    exit_code = 9


class RefusedError(DeployError):
    exit_code = 10


class LockHeldError(DeployError):
    exit_code = 11


class GitHubError(DeployError):
    exit_code = 12


class UsageError(DeployError):
    """An option's value cannot be used as given (exit 2, like the parser's own errors)."""

    exit_code = 2
