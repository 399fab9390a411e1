"""What every AWS adapter shares: throttling backoff and the one translation of failures.

Every ``ClientError`` is translated here, once, keeping the cause. AWS message texts are matched
in the adapters and nowhere else; each matched text has a ``Stubber`` test in
``tests/deploy/aws/``. Clients are typed ``Any`` because no boto3 stubs are installed.
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.parsers import ResponseParserError

from mathvisuals.deploy.aws import failures
from mathvisuals.deploy.errors import (
    CredentialsError,
    DeployError,
    DeploymentFailedError,
    PreflightBlockedError,
)
from mathvisuals.deploy.gateway import (
    SecretValue,
)

SENSITIVE_ENV = frozenset({"REDIS_PASSWORD", "REDIS_AUTH_TOKEN", "REDIS_URL", "REDIS_URI"})

log = logging.getLogger(__name__)

_T = TypeVar("_T")

STACK_NAME_TAG = "aws:cloudformation:stack-name"
CREDENTIALS_HINT = (
    "no usable AWS credentials: set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, or run `aws sso login`"
)
CREDENTIAL_FAILURES = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AuthFailure",
    }
)
DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "403"}
)
_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
    }
)
_ACTION_IN_MESSAGE = re.compile(r"not authorized to perform:? ([A-Za-z0-9-]+:[A-Za-z0-9*]+)")
# API operations whose IAM action has another name (for denials that do not name the action).
_IAM_ACTION = {
    "HeadObject": "GetObject",
    "HeadBucket": "ListBucket",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "Invoke": "InvokeFunction",
}
# Operations of a gateway's second service (AwsMonitoring reads CloudWatch and SNS).
_IAM_SERVICE = {"ListSubscriptionsByTopic": "sns", "Subscribe": "sns"}
# AWS validation errors echo the offending value: "Value 'x' at 'secretString' failed to ...".
_ECHOED_VALUE = re.compile(r"Value '.*?' at '", re.DOTALL)


class AwsCallError(DeploymentFailedError):
    """An AWS call failed (exit 7): the operation and AWS error code, never parameter values."""

    def __init__(self, operation: str, code: str, detail: str = "") -> None:
        super().__init__(f"{operation} failed: {code}" + (f": {detail}" if detail else ""))
        self.operation, self.code = operation, code


@dataclass(frozen=True)
class Backoff:
    """Our own retry on throttling, outside botocore's (Stubber bypasses botocore's retries)."""

    attempts: int = 5
    base_seconds: float = 1.0
    cap_seconds: float = 20.0
    sleep: Callable[[float], None] = time.sleep

    def delays(self) -> Iterable[float]:
        for attempt in range(self.attempts - 1):
            yield min(self.cap_seconds, self.base_seconds * 2**attempt)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def redact(text: str, secrets: Sequence[SecretValue]) -> str:
    for secret in secrets:
        value = secret.reveal()
        if value:
            for form in {value, urllib.parse.quote(value, safe=""), json.dumps(value)[1:-1]}:
                text = text.replace(form, "***")
    return _ECHOED_VALUE.sub("Value '***' at '", text)


def tag_map(
    items: Iterable[Mapping[str, Any]] | None, key: str = "Key", value: str = "Value"
) -> dict[str, str]:
    return {str(item[key]): str(item[value]) for item in items or ()}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


class Gateway:
    """Throttling backoff and the one translation of AWS failures into DeployError."""

    service = ""  # the IAM action prefix, for AccessDenied messages without an action

    def __init__(self, *, backoff: Backoff | None = None) -> None:
        self._backoff = backoff or Backoff()

    def _raw(self, operation: str, thunk: Callable[[], _T]) -> _T:
        """Retries throttling; credential failures raise; other ClientErrors are the caller's."""
        delays = iter(self._backoff.delays())
        while True:
            try:
                return thunk()
            except ClientError as exc:
                delay = next(delays, None) if error_code(exc) in _THROTTLING_CODES else None
                if delay is None:
                    raise
                log.info("%s throttled (%s); retrying in %.1fs", operation, error_code(exc), delay)
                self._backoff.sleep(delay)
            except CREDENTIAL_FAILURES as exc:
                raise CredentialsError(f"{operation}: {CREDENTIALS_HINT}") from exc
            except (BotoCoreError, ResponseParserError) as exc:
                network = failures.translate(operation, exc)
                if network is not None:
                    raise network from exc
                # str(exc) may quote parameter values (ParamValidationError): name the class,
                # and the endpoint for connection failures.
                endpoint = str(getattr(exc, "kwargs", {}).get("endpoint_url", ""))
                raise AwsCallError(operation, type(exc).__name__, endpoint) from exc

    def _call(
        self, operation: str, thunk: Callable[[], _T], secrets: Sequence[SecretValue] = ()
    ) -> _T:
        try:
            return self._raw(operation, thunk)
        except ClientError as exc:
            raise self._error(operation, exc, secrets) from exc

    def _error(
        self, operation: str, exc: ClientError, secrets: Sequence[SecretValue] = ()
    ) -> DeployError:
        code, message = error_code(exc) or str(http_status(exc)), error_message(exc)
        if code in _CREDENTIAL_CODES:
            return CredentialsError(f"{operation} failed: {code}: {CREDENTIALS_HINT}")
        if code in DENIED_CODES or http_status(exc) == 403:
            found = _ACTION_IN_MESSAGE.search(message)
            action = (
                found.group(1)
                if found
                else f"{_IAM_SERVICE.get(operation, self.service)}:"
                f"{_IAM_ACTION.get(operation, operation)}"
            )
            return PreflightBlockedError(
                f"{operation} failed: {code}: not allowed to {action}"
            ).with_hint(f"grant {action} to the deploying role")
        return AwsCallError(operation, code, redact(message, secrets))


def stack_missing(exc: ClientError) -> bool:
    # CloudFormation has no error code for a missing stack: "Stack with id X does not exist".
    return error_code(exc) == "ValidationError" and "does not exist" in error_message(exc)


def iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
