"""The only module that imports boto3: implements deploy.gateway in deploy.model's vocabulary.

Every ``ClientError`` is translated here, once, keeping the cause. AWS message texts are matched
here and nowhere else; each matched text has a ``Stubber`` test in ``tests/deploy/test_aws.py``.
Clients are typed ``Any`` because no boto3 stubs are installed.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import boto3
from botocore.config import Config
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
from botocore.handlers import json_decode_template_body

from mathvisuals.deploy.errors import (
    CredentialsError,
    DeployError,
    DeploymentFailedError,
    PreflightBlockedError,
    WaitTimeoutError,
)
from mathvisuals.deploy.gateway import (
    AlarmInfo,
    FunctionInfo,
    Gateways,
    ParameterInfo,
    ReplicationGroupInfo,
    SecretInfo,
    SecretValue,
    SubscriptionInfo,
)
from mathvisuals.deploy.model import Change, ChangeSet, StackEvent, StackSpec, StackState

SENSITIVE_ENV = frozenset({"REDIS_PASSWORD", "REDIS_AUTH_TOKEN", "REDIS_URL", "REDIS_URI"})

log = logging.getLogger(__name__)

_T = TypeVar("_T")

STACK_NAME_TAG = "aws:cloudformation:stack-name"
CREDENTIALS_HINT = (
    "no usable AWS credentials: set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, or run `aws sso login`"
)
_CREDENTIAL_FAILURES = (
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
_DENIED_CODES = frozenset(
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
# The two ways CloudFormation says a change set would change nothing (CLI v1 and v2 disagree
# on which one they surface, hence both).
NO_CHANGE_REASONS = (
    "The submitted information didn't contain changes",
    "No updates are to be performed.",
)


def _no_changes(reason: str) -> bool:
    return any(text in reason for text in NO_CHANGE_REASONS)


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


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _redact(text: str, secrets: Sequence[SecretValue]) -> str:
    for secret in secrets:
        value = secret.reveal()
        if value:
            for form in {value, urllib.parse.quote(value, safe=""), json.dumps(value)[1:-1]}:
                text = text.replace(form, "***")
    return _ECHOED_VALUE.sub("Value '***' at '", text)


def _tags(
    items: Iterable[Mapping[str, Any]] | None, key: str = "Key", value: str = "Value"
) -> dict[str, str]:
    return {str(item[key]): str(item[value]) for item in items or ()}


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


class _Gateway:
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
                delay = next(delays, None) if _code(exc) in _THROTTLING_CODES else None
                if delay is None:
                    raise
                log.info("%s throttled (%s); retrying in %.1fs", operation, _code(exc), delay)
                self._backoff.sleep(delay)
            except _CREDENTIAL_FAILURES as exc:
                raise CredentialsError(f"{operation}: {CREDENTIALS_HINT}") from exc
            except BotoCoreError as exc:
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
        code, message = _code(exc) or str(_status(exc)), _message(exc)
        if code in _CREDENTIAL_CODES:
            return CredentialsError(f"{operation} failed: {code}: {CREDENTIALS_HINT}")
        if code in _DENIED_CODES or _status(exc) == 403:
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
        return AwsCallError(operation, code, _redact(message, secrets))


def _stack_missing(exc: ClientError) -> bool:
    # CloudFormation has no error code for a missing stack: "Stack with id X does not exist".
    return _code(exc) == "ValidationError" and "does not exist" in _message(exc)


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class AwsCloudFormation(_Gateway):
    service = "cloudformation"

    def __init__(
        self,
        client: Any,  # CloudFormation client (no boto3 stubs installed)
        *,
        poll_seconds: float = 5.0,
        change_set_polls: int = 120,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(backoff=backoff)
        self._client = client
        # botocore decodes a JSON TemplateBody into a dict; keep the text exactly as submitted,
        # so that it compares equal to the local template.
        client.meta.events.unregister(
            "after-call.cloudformation.GetTemplate", json_decode_template_body
        )
        self._poll_seconds = poll_seconds
        self._change_set_polls = change_set_polls
        self._clock = clock

    def describe(self, stack: str) -> StackState:
        try:
            found = self._raw(
                "DescribeStacks", lambda: self._client.describe_stacks(StackName=stack)
            )
        except ClientError as exc:
            if _stack_missing(exc):
                return StackState(stack, None)
            raise self._error("DescribeStacks", exc) from exc
        data = found["Stacks"][0]
        status = str(data["StackStatus"])
        return StackState(
            name=stack,
            status=status,
            reason=str(data.get("StackStatusReason", "")),
            outputs=_tags(data.get("Outputs"), "OutputKey", "OutputValue"),
            parameters=_tags(data.get("Parameters"), "ParameterKey", "ParameterValue"),
            tags=_tags(data.get("Tags")),
            # CreateChangeSet(CREATE) leaves the stack in REVIEW_IN_PROGRESS until executed; only
            # a change set being executed means someone else is at work.
            pending_execution=status == "REVIEW_IN_PROGRESS" and self._executing(stack),
            termination_protection=bool(data.get("EnableTerminationProtection", False)),
        )

    def _executing(self, stack: str) -> bool:
        def summaries() -> list[dict[str, Any]]:
            pages = self._client.get_paginator("list_change_sets").paginate(StackName=stack)
            return [summary for page in pages for summary in page.get("Summaries", [])]

        found = self._call("ListChangeSets", summaries)
        return any(s.get("ExecutionStatus") == "EXECUTE_IN_PROGRESS" for s in found)

    def template(self, stack: str) -> str | None:
        try:
            found = self._raw(
                "GetTemplate",
                lambda: self._client.get_template(StackName=stack, TemplateStage="Original"),
            )
        except ClientError as exc:
            if _stack_missing(exc):
                return None
            raise self._error("GetTemplate", exc) from exc
        return str(found["TemplateBody"])

    def events(self, stack: str, since: str | None = None) -> list[StackEvent]:
        after = _as_utc(datetime.fromisoformat(since)) if since else None

        def newest_first() -> list[dict[str, Any]]:
            collected: list[dict[str, Any]] = []
            pages = self._client.get_paginator("describe_stack_events").paginate(StackName=stack)
            for page in pages:
                for event in page.get("StackEvents", []):
                    if after is not None and _as_utc(event["Timestamp"]) <= after:
                        return collected  # events come newest first: the rest is older
                    collected.append(event)
            return collected

        try:
            found = self._raw("DescribeStackEvents", newest_first)
        except ClientError as exc:
            if _stack_missing(exc):
                return []
            raise self._error("DescribeStackEvents", exc) from exc
        return [
            StackEvent(
                timestamp=_iso(event["Timestamp"]),
                logical_id=str(event.get("LogicalResourceId", "")),
                resource_type=str(event.get("ResourceType", "")),
                status=str(event.get("ResourceStatus", "")),
                reason=str(event.get("ResourceStatusReason", "")),
            )
            for event in reversed(found)
        ]

    def create_change_set(self, spec: StackSpec, kind: Literal["CREATE", "UPDATE"]) -> ChangeSet:
        name = f"mathvisuals-{self._clock():%Y%m%dT%H%M%S%fZ}"
        try:
            created = self._raw(
                "CreateChangeSet",
                lambda: self._client.create_change_set(
                    StackName=spec.name,
                    ChangeSetName=name,
                    # Explicit: without it moto (and old CLIs) assume CREATE.
                    ChangeSetType=kind,
                    TemplateBody=spec.template_body,
                    # Every parameter explicit, never UsePreviousValue: the plan is the whole truth.
                    Parameters=[
                        {"ParameterKey": key, "ParameterValue": value}
                        for key, value in sorted(spec.parameters.items())
                    ],
                    Capabilities=list(spec.capabilities),
                    Tags=_tag_list(spec.tags),
                    Description="mathvisuals",
                ),
            )
        except ClientError as exc:
            # moto refuses an identical template synchronously rather than failing the change set.
            if _code(exc) == "ValidationError" and _no_changes(_message(exc)):
                log.info("%s: no changes", spec.name)
                return ChangeSet(spec.name, name, kind, empty=True)
            raise self._error("CreateChangeSet", exc) from exc
        change_set_id = str(created["Id"])
        described = self._wait_for_change_set(spec.name, name, change_set_id)
        if described["Status"] == "FAILED":
            reason = str(described.get("StatusReason", ""))
            if _no_changes(reason):
                log.info("%s: no changes", spec.name)
                empty = ChangeSet(spec.name, name, kind, empty=True, change_set_id=change_set_id)
                self.delete_change_set(empty)
                return empty
            # The failed change set stays for inspection; a later run creates a fresh one.
            raise DeploymentFailedError(
                f"change set {name} for {spec.name} failed: {reason or 'no reason given'}"
            )
        changes = tuple(self._changes(change_set_id))
        log.info("%s: change set %s has %d changes", spec.name, name, len(changes))
        return ChangeSet(spec.name, name, kind, changes=changes, change_set_id=change_set_id)

    def _wait_for_change_set(self, stack: str, name: str, change_set_id: str) -> dict[str, Any]:
        for attempt in range(self._change_set_polls):
            if attempt:
                self._backoff.sleep(self._poll_seconds)
            described: dict[str, Any] = self._call(
                "DescribeChangeSet",
                lambda: self._client.describe_change_set(ChangeSetName=change_set_id),
            )
            if described["Status"] not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
                return described
        raise WaitTimeoutError(f"change set {name} for {stack} was not ready in time")

    def _changes(self, change_set_id: str) -> Iterable[Change]:
        def pages() -> list[dict[str, Any]]:
            paginator = self._client.get_paginator("describe_change_set")
            return [
                change
                for page in paginator.paginate(ChangeSetName=change_set_id)
                for change in page.get("Changes", [])
            ]

        for change in self._call("DescribeChangeSet", pages):
            resource = change.get("ResourceChange")
            if change.get("Type") != "Resource" or not resource:
                continue
            yield Change(
                action=str(resource.get("Action", "")),
                logical_id=str(resource.get("LogicalResourceId", "")),
                resource_type=str(resource.get("ResourceType", "")),
                # Absent for Add/Remove; "True" | "False" | "Conditional" otherwise.
                replacement=str(resource.get("Replacement", "False")),
            )

    def execute(self, change_set: ChangeSet) -> None:
        if change_set.empty:
            return  # an empty change set was already deleted: executing nothing does nothing
        self._call(
            "ExecuteChangeSet",
            lambda: self._client.execute_change_set(
                ChangeSetName=change_set.change_set_id or change_set.name,
                StackName=change_set.stack,
            ),
        )

    def delete_change_set(self, change_set: ChangeSet) -> None:
        try:
            self._raw(
                "DeleteChangeSet",
                lambda: self._client.delete_change_set(
                    ChangeSetName=change_set.change_set_id or change_set.name,
                    StackName=change_set.stack,
                ),
            )
        except ClientError as exc:
            if _code(exc) != "ChangeSetNotFound":
                raise self._error("DeleteChangeSet", exc) from exc

    def delete_stack(self, stack: str, retain: Sequence[str] = ()) -> None:
        # RetainResources is only accepted for stacks in DELETE_FAILED: pass it only when asked.
        extra: dict[str, Any] = {"RetainResources": list(retain)} if retain else {}
        self._call("DeleteStack", lambda: self._client.delete_stack(StackName=stack, **extra))

    def continue_rollback(self, stack: str, skip: Sequence[str] = ()) -> None:
        extra: dict[str, Any] = {"ResourcesToSkip": list(skip)} if skip else {}
        self._call(
            "ContinueUpdateRollback",
            lambda: self._client.continue_update_rollback(StackName=stack, **extra),
        )

    def physical_ids(self, stack: str) -> set[str]:
        def pages() -> list[dict[str, Any]]:
            paginator = self._client.get_paginator("list_stack_resources")
            return [
                item
                for page in paginator.paginate(StackName=stack)
                for item in page.get("StackResourceSummaries", [])
            ]

        try:
            resources = self._raw("ListStackResources", pages)
        except ClientError as exc:
            if "does not exist" in _message(exc):
                return set()
            raise self._error("ListStackResources", exc) from exc
        return {
            str(item["PhysicalResourceId"]) for item in resources if "PhysicalResourceId" in item
        }

    def exports(self) -> Mapping[str, str]:
        def pages() -> list[dict[str, Any]]:
            paginator = self._client.get_paginator("list_exports")
            return [item for page in paginator.paginate() for item in page.get("Exports", [])]

        return _tags(self._call("ListExports", pages), "Name", "Value")

    def importers(self, export: str) -> list[str]:
        def pages() -> list[str]:
            paginator = self._client.get_paginator("list_imports")
            return [
                str(stack)
                for page in paginator.paginate(ExportName=export)
                for stack in page.get("Imports", [])
            ]

        try:
            return self._raw("ListImports", pages)
        except ClientError as exc:
            if "is not imported by any stack" in _message(exc):
                return []
            raise self._error("ListImports", exc) from exc

    def set_termination_protection(self, stack: str, enabled: bool) -> None:
        self._call(
            "UpdateTerminationProtection",
            lambda: self._client.update_termination_protection(
                StackName=stack, EnableTerminationProtection=enabled
            ),
        )

    def set_stack_policy(self, stack: str, policy: str) -> None:
        self._call(
            "SetStackPolicy",
            lambda: self._client.set_stack_policy(StackName=stack, StackPolicyBody=policy),
        )


def _secret_string(value: SecretValue) -> str:
    return json.dumps({"authToken": value.reveal()}, separators=(",", ":"))


class AwsSecrets(_Gateway):
    service = "secretsmanager"

    def __init__(self, client: Any, *, backoff: Backoff | None = None) -> None:  # Secrets Manager
        super().__init__(backoff=backoff)
        self._client = client

    def describe(self, name: str) -> SecretInfo | None:
        try:
            found = self._raw("DescribeSecret", lambda: self._client.describe_secret(SecretId=name))
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise self._error("DescribeSecret", exc) from exc
        stages: Mapping[str, Sequence[str]] = found.get("VersionIdsToStages", {})

        def holding(stage: str) -> str | None:
            return next((str(v) for v, names in stages.items() if stage in names), None)

        tags = _tags(found.get("Tags"))
        return SecretInfo(
            name=str(found["Name"]),
            arn=str(found["ARN"]),
            current_version=holding("AWSCURRENT"),
            previous_version=holding("AWSPREVIOUS"),
            tags=tags,
            deleted=found.get("DeletedDate") is not None,
            owning_stack=tags.get(STACK_NAME_TAG),
        )

    def value(self, name: str, version_id: str | None = None) -> SecretValue:
        extra = {"VersionId": version_id} if version_id else {}
        found = self._call(
            "GetSecretValue", lambda: self._client.get_secret_value(SecretId=name, **extra)
        )
        try:
            token = json.loads(found["SecretString"])["authToken"]
        except (KeyError, TypeError, ValueError):
            token = None
        if not isinstance(token, str):
            # Raised without the cause: a JSONDecodeError carries the whole document.
            raise DeploymentFailedError(
                f'secret {name}: the value is not JSON {{"authToken": "<token>"}}'
            ) from None
        return SecretValue(token)

    def create(self, name: str, value: SecretValue, tags: Mapping[str, str]) -> str:
        created = self._call(
            "CreateSecret",
            lambda: self._client.create_secret(
                Name=name, SecretString=_secret_string(value), Tags=_tag_list(tags)
            ),
            secrets=(value,),
        )
        return str(created["VersionId"])

    def put(self, name: str, value: SecretValue) -> str:
        stored = self._call(
            "PutSecretValue",
            lambda: self._client.put_secret_value(
                SecretId=name, SecretString=_secret_string(value)
            ),
            secrets=(value,),
        )
        return str(stored["VersionId"])

    def restore_current(self, name: str, version_id: str, from_version_id: str) -> None:
        self._call(
            "UpdateSecretVersionStage",
            lambda: self._client.update_secret_version_stage(
                SecretId=name,
                VersionStage="AWSCURRENT",
                MoveToVersionId=version_id,
                RemoveFromVersionId=from_version_id,
            ),
        )

    def delete(self, name: str, *, force: bool) -> None:
        extra: dict[str, Any] = (
            {"ForceDeleteWithoutRecovery": True} if force else {"RecoveryWindowInDays": 30}
        )
        try:
            self._raw("DeleteSecret", lambda: self._client.delete_secret(SecretId=name, **extra))
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise self._error("DeleteSecret", exc) from exc


class AwsParameters(_Gateway):
    service = "ssm"
    BATCH = 10  # GetParameters accepts at most 10 names

    def __init__(self, client: Any, *, backoff: Backoff | None = None) -> None:  # SSM client
        super().__init__(backoff=backoff)
        self._client = client

    def get(self, names: Sequence[str], *, owners: bool = False) -> dict[str, ParameterInfo]:
        found: dict[str, ParameterInfo] = {}
        unique = list(dict.fromkeys(names))
        for start in range(0, len(unique), self.BATCH):
            batch = unique[start : start + self.BATCH]
            # No decryption: the orchestrator's parameters are String/StringList, and a
            # SecureString value must not land in a plain str.
            page = self._call(
                "GetParameters",
                functools.partial(self._client.get_parameters, Names=batch, WithDecryption=False),
            )
            for item in page.get("Parameters", []):
                name = str(item["Name"])
                found[name] = ParameterInfo(
                    name=name,
                    value=str(item["Value"]),
                    version=int(item["Version"]),
                    type=str(item.get("Type", "String")),
                    # One ListTagsForResource per parameter: only the ownership probe asks.
                    owning_stack=self._tags(name).get(STACK_NAME_TAG) if owners else None,
                )
        return found

    def _tags(self, name: str) -> dict[str, str]:
        found = self._call(
            "ListTagsForResource",
            lambda: self._client.list_tags_for_resource(ResourceType="Parameter", ResourceId=name),
        )
        return _tags(found.get("TagList"))

    def put(
        self, name: str, value: str, *, kind: str, tags: Mapping[str, str], overwrite: bool
    ) -> int:
        hidden = (SecretValue(value),) if kind == "SecureString" else ()
        # AWS refuses Tags together with Overwrite=true: tag separately then.
        extra: dict[str, Any] = {"Tags": _tag_list(tags)} if tags and not overwrite else {}
        stored = self._call(
            "PutParameter",
            lambda: self._client.put_parameter(
                Name=name, Value=value, Type=kind, Overwrite=overwrite, **extra
            ),
            secrets=hidden,
        )
        if tags and overwrite:
            self._call(
                "AddTagsToResource",
                lambda: self._client.add_tags_to_resource(
                    ResourceType="Parameter", ResourceId=name, Tags=_tag_list(tags)
                ),
            )
        return int(stored["Version"])

    def delete(self, name: str) -> None:
        try:
            self._raw("DeleteParameter", lambda: self._client.delete_parameter(Name=name))
        except ClientError as exc:
            if _code(exc) != "ParameterNotFound":
                raise self._error("DeleteParameter", exc) from exc


_ASSUMED_ROLE = re.compile(
    r"^arn:(?P<partition>[^:]+):sts::(?P<account>\d+):assumed-role/(?P<role>[^/]+)/"
)


def principal_arn(caller_arn: str) -> str | None:
    """The IAM principal to simulate for a caller ARN; ``None`` for root and federated users."""
    assumed = _ASSUMED_ROLE.match(caller_arn)
    if assumed:
        return "arn:{partition}:iam::{account}:role/{role}".format(**assumed.groupdict())
    if re.match(r"^arn:[^:]+:iam::\d+:(user|role)/", caller_arn):
        return caller_arn
    return None


class AwsIdentity(_Gateway):
    service = "sts"

    def __init__(
        self,
        sts: Any,  # STS client
        iam: Any,  # IAM client
        *,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(backoff=backoff)
        self._sts, self._iam = sts, iam
        self._caller: dict[str, Any] | None = None

    def _identity(self) -> dict[str, Any]:
        if self._caller is None:
            self._caller = self._call("GetCallerIdentity", self._sts.get_caller_identity)
        return self._caller

    def account_id(self) -> str:
        return str(self._identity()["Account"])

    def missing_permissions(self, actions: Sequence[str]) -> list[str] | None:
        principal = principal_arn(str(self._identity()["Arn"]))
        if principal is None:
            return None  # root and federated users cannot be simulated
        if not actions:
            return []
        try:
            decisions = self._simulate(principal, actions)
        except ClientError as exc:
            if _code(exc) == "NoSuchEntity" and ":role/" in principal:
                # An assumed-role ARN drops the role's path: ask IAM for the real ARN.
                try:
                    decisions = self._simulate(self._role_arn(principal), actions)
                except ClientError as again:
                    if _code(again) in _DENIED_CODES:
                        return None
                    raise self._error("SimulatePrincipalPolicy", again) from again
            elif _code(exc) in _DENIED_CODES:
                log.info("SimulatePrincipalPolicy is not allowed: permissions not checked")
                return None
            else:
                raise self._error("SimulatePrincipalPolicy", exc) from exc
        return [action for action in actions if decisions.get(action) != "allowed"]

    def _role_arn(self, principal: str) -> str:
        role = principal.rsplit("/", 1)[1]
        return str(self._raw("GetRole", lambda: self._iam.get_role(RoleName=role))["Role"]["Arn"])

    def _simulate(self, principal: str, actions: Sequence[str]) -> dict[str, str]:
        def pages() -> dict[str, str]:
            paginator = self._iam.get_paginator("simulate_principal_policy")
            return {
                str(result["EvalActionName"]): str(result["EvalDecision"])
                for page in paginator.paginate(PolicySourceArn=principal, ActionNames=list(actions))
                for result in page.get("EvaluationResults", [])
            }

        return self._raw("SimulatePrincipalPolicy", pages)


class AwsArtifacts(_Gateway):
    service = "s3"

    def __init__(self, client: Any, *, backoff: Backoff | None = None) -> None:  # S3 client
        super().__init__(backoff=backoff)
        self._client = client

    def bucket_region(self, bucket: str) -> str | None:
        try:
            found = self._raw(
                "GetBucketLocation", lambda: self._client.get_bucket_location(Bucket=bucket)
            )
        except ClientError as exc:
            if _code(exc) == "NoSuchBucket":
                return None
            if _code(exc) not in _DENIED_CODES and _status(exc) != 403:
                raise self._error("GetBucketLocation", exc) from exc
            return self._head_bucket_region(bucket)
        # us-east-1 answers None (or ""), and the oldest buckets in eu-west-1 answer "EU".
        location = found.get("LocationConstraint") or "us-east-1"
        return "eu-west-1" if location == "EU" else str(location)

    def _head_bucket_region(self, bucket: str) -> str | None:
        # HeadBucket names the region in a header even when it answers 403 or 301.
        try:
            found = self._raw("HeadBucket", lambda: self._client.head_bucket(Bucket=bucket))
        except ClientError as exc:
            if _status(exc) == 404:
                return None
            headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            if "x-amz-bucket-region" in headers:
                return str(headers["x-amz-bucket-region"])
            raise self._error("HeadBucket", exc) from exc
        headers = found.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        region = found.get("BucketRegion") or headers.get("x-amz-bucket-region")
        return str(region) if region else None

    def create_bucket(self, bucket: str, region: str, tags: Mapping[str, str]) -> None:
        # us-east-1 refuses an explicit LocationConstraint.
        extra: dict[str, Any] = (
            {}
            if region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        try:
            self._raw("CreateBucket", lambda: self._client.create_bucket(Bucket=bucket, **extra))
        except ClientError as exc:
            if _code(exc) != "BucketAlreadyOwnedByYou":
                raise self._error("CreateBucket", exc) from exc
        self._call(
            "PutPublicAccessBlock",
            lambda: self._client.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            ),
        )
        self._call(
            "PutBucketVersioning",
            lambda: self._client.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            ),
        )
        if tags:
            self._call(
                "PutBucketTagging",
                lambda: self._client.put_bucket_tagging(
                    Bucket=bucket, Tagging={"TagSet": _tag_list(tags)}
                ),
            )

    def head(self, bucket: str, key: str) -> str | None:
        try:
            found = self._raw(
                "HeadObject", lambda: self._client.head_object(Bucket=bucket, Key=key)
            )
        except ClientError as exc:
            if _status(exc) == 404 or _code(exc) in ("404", "NoSuchKey"):
                return None
            raise self._error("HeadObject", exc) from exc
        return str(found.get("VersionId") or "")

    def upload(self, bucket: str, key: str, body: bytes) -> str:
        stored = self._call(
            "PutObject", lambda: self._client.put_object(Bucket=bucket, Key=key, Body=body)
        )
        return str(stored.get("VersionId") or "")

    def acquire_lock(self, bucket: str, key: str, body: bytes) -> bool:
        try:
            self._raw(
                "PutObject",
                lambda: self._client.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*"),
            )
        except ClientError as exc:
            # 412: the object exists; 409: a concurrent conditional write won the race.
            if _code(exc) in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise self._error("PutObject", exc) from exc
        return True

    def read(self, bucket: str, key: str) -> bytes | None:
        try:
            found = self._raw("GetObject", lambda: self._client.get_object(Bucket=bucket, Key=key))
        except ClientError as exc:
            if _code(exc) == "NoSuchKey":
                return None
            raise self._error("GetObject", exc) from exc
        return bytes(found["Body"].read())

    def delete(self, bucket: str, key: str) -> None:
        self._call("DeleteObject", lambda: self._client.delete_object(Bucket=bucket, Key=key))


class AwsCache(_Gateway):
    service = "elasticache"

    def __init__(self, client: Any, *, backoff: Backoff | None = None) -> None:  # ElastiCache
        super().__init__(backoff=backoff)
        self._client = client

    def replication_group(self, group_id: str) -> ReplicationGroupInfo | None:
        try:
            found = self._raw(
                "DescribeReplicationGroups",
                lambda: self._client.describe_replication_groups(ReplicationGroupId=group_id),
            )
        except ClientError as exc:
            if _code(exc) == "ReplicationGroupNotFoundFault":
                return None
            raise self._error("DescribeReplicationGroups", exc) from exc
        group = found["ReplicationGroups"][0]
        node_groups = group.get("NodeGroups") or [{}]
        primary = node_groups[0].get("PrimaryEndpoint") or {}
        reader = node_groups[0].get("ReaderEndpoint") or {}
        return ReplicationGroupInfo(
            group_id=str(group["ReplicationGroupId"]),
            status=str(group.get("Status", "")),
            auth_token_enabled=bool(group.get("AuthTokenEnabled", False)),
            transit_encryption=bool(group.get("TransitEncryptionEnabled", False)),
            at_rest_encryption=bool(group.get("AtRestEncryptionEnabled", False)),
            multi_az=group.get("MultiAZ") == "enabled",
            automatic_failover=group.get("AutomaticFailover") == "enabled",
            primary_address=primary.get("Address"),
            primary_port=int(primary["Port"]) if "Port" in primary else None,
            reader_address=reader.get("Address"),
            owning_stack=self._tags(str(group["ARN"])).get(STACK_NAME_TAG)
            if "ARN" in group
            else None,
        )

    def _tags(self, arn: str) -> dict[str, str]:
        found = self._call(
            "ListTagsForResource", lambda: self._client.list_tags_for_resource(ResourceName=arn)
        )
        return _tags(found.get("TagList"))

    def modify_auth_token(
        self, group_id: str, token: SecretValue, strategy: Literal["ROTATE", "SET"]
    ) -> None:
        self._call(
            "ModifyReplicationGroup",
            lambda: self._client.modify_replication_group(
                ReplicationGroupId=group_id,
                AuthToken=token.reveal(),
                AuthTokenUpdateStrategy=strategy,
                ApplyImmediately=True,
            ),
            secrets=(token,),
        )


class AwsFunctions(_Gateway):
    service = "lambda"

    def __init__(self, client: Any, *, backoff: Backoff | None = None) -> None:  # Lambda client
        super().__init__(backoff=backoff)
        self._client = client

    def configuration(self, name: str) -> FunctionInfo | None:
        try:
            found = self._raw(
                "GetFunctionConfiguration",
                lambda: self._client.get_function_configuration(FunctionName=name),
            )
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise self._error("GetFunctionConfiguration", exc) from exc
        variables: Mapping[str, str] = (found.get("Environment") or {}).get("Variables") or {}
        vpc = found.get("VpcConfig") or {}
        return FunctionInfo(
            name=str(found["FunctionName"]),
            state=str(found.get("State", "")),
            last_update_status=str(found.get("LastUpdateStatus", "")),
            runtime=str(found.get("Runtime", "")),
            code_sha256=str(found.get("CodeSha256", "")),
            last_modified=str(found.get("LastModified", "")),
            # Only credentials join the output scrubber; endpoints stay printable (--show-values).
            environment={
                key: SecretValue(str(value), mask=key in SENSITIVE_ENV)
                for key, value in variables.items()
            },
            subnet_ids=tuple(str(s) for s in vpc.get("SubnetIds", ())),
            security_group_ids=tuple(str(s) for s in vpc.get("SecurityGroupIds", ())),
        )

    def invoke(self, name: str, event: Mapping[str, object]) -> dict[str, object]:
        answered = self._call(
            "Invoke",
            lambda: self._client.invoke(
                FunctionName=name,
                InvocationType="RequestResponse",
                Payload=json.dumps(event).encode("utf-8"),
            ),
        )
        raw = answered["Payload"].read()
        try:
            result = json.loads(raw) if raw else {}
        except ValueError:
            result = None
        if answered.get("FunctionError"):
            # Only the error type: the message and trace may quote configuration values.
            kind = result.get("errorType", "unknown") if isinstance(result, dict) else "unknown"
            raise DeploymentFailedError(f"Invoke {name}: the function raised {kind}")
        if not isinstance(result, dict):
            raise DeploymentFailedError(f"Invoke {name}: the response is not a JSON object")
        return result


class AwsLogs(_Gateway):
    service = "logs"

    def __init__(self, client: Any, *, backoff: Backoff | None = None) -> None:  # Logs client
        super().__init__(backoff=backoff)
        self._client = client

    def messages(self, group: str, start_ms: int) -> list[str]:
        def pages() -> list[str]:
            paginator = self._client.get_paginator("filter_log_events")
            return [
                str(event["message"])
                for page in paginator.paginate(logGroupName=group, startTime=start_ms)
                for event in page.get("events", [])
            ]

        try:
            return self._raw("FilterLogEvents", pages)
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return []  # the function has not logged yet
            raise self._error("FilterLogEvents", exc) from exc


class AwsNetwork(_Gateway):
    service = "ec2"

    def __init__(self, client: Any, *, backoff: Backoff | None = None) -> None:  # EC2 client
        super().__init__(backoff=backoff)
        self._client = client

    def ingress_sources(self, security_group_id: str, port: int) -> list[str]:
        try:
            found = self._raw(
                "DescribeSecurityGroups",
                lambda: self._client.describe_security_groups(GroupIds=[security_group_id]),
            )
        except ClientError as exc:
            if _code(exc) == "InvalidGroup.NotFound":
                return []
            raise self._error("DescribeSecurityGroups", exc) from exc
        sources: list[str] = []
        for group in found.get("SecurityGroups", []):
            for rule in group.get("IpPermissions", []):
                protocol = str(rule.get("IpProtocol", ""))
                everything = protocol == "-1"
                in_range = int(rule.get("FromPort", -1)) <= port <= int(rule.get("ToPort", -1))
                if everything or (protocol in ("tcp", "6") and in_range):
                    sources += [str(pair["GroupId"]) for pair in rule.get("UserIdGroupPairs", [])]
        return sorted(set(sources))


class AwsMonitoring(_Gateway):
    service = "cloudwatch"

    def __init__(
        self,
        cloudwatch: Any,  # CloudWatch client
        sns: Any,  # SNS client
        *,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(backoff=backoff)
        self._cloudwatch, self._sns = cloudwatch, sns

    def alarms(self, prefix: str) -> list[AlarmInfo]:
        def pages() -> list[AlarmInfo]:
            paginator = self._cloudwatch.get_paginator("describe_alarms")
            return [
                AlarmInfo(str(alarm["AlarmName"]), str(alarm.get("StateValue", "")))
                for page in paginator.paginate(AlarmNamePrefix=prefix)
                for alarm in page.get("MetricAlarms", [])
            ]

        return self._call("DescribeAlarms", pages)

    def subscriptions(self, topic_arn: str) -> list[SubscriptionInfo]:
        def pages() -> list[SubscriptionInfo]:
            paginator = self._sns.get_paginator("list_subscriptions_by_topic")
            return [
                SubscriptionInfo(
                    protocol=str(item.get("Protocol", "")),
                    endpoint=str(item.get("Endpoint", "")),
                    # "PendingConfirmation" (or "Deleted") until the link in the mail is used.
                    confirmed=str(item.get("SubscriptionArn", "")).startswith("arn:"),
                )
                for page in paginator.paginate(TopicArn=topic_arn)
                for item in page.get("Subscriptions", [])
            ]

        return self._call("ListSubscriptionsByTopic", pages)

    def subscribe_email(self, topic_arn: str, address: str) -> None:
        # Not a secret, but kept out of error messages all the same (no scrubber entry).
        self._call(
            "Subscribe",
            lambda: self._sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=address),
            secrets=(SecretValue(address, mask=False),),
        )


def connect(
    region: str,
    *,
    endpoint_url: str | None = None,
    profile: str | None = None,
    credentials: tuple[str, str] | None = None,
    poll_seconds: float = 5.0,
) -> Gateways:
    """The only place that makes a boto3 Session: every client gets the region and endpoint."""
    access_key, secret_key = credentials or (None, None)
    try:
        session = boto3.Session(
            profile_name=profile,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
        )
        found = session.get_credentials()
    except _CREDENTIAL_FAILURES as exc:
        raise CredentialsError(CREDENTIALS_HINT) from exc
    if found is None:
        raise CredentialsError(CREDENTIALS_HINT)
    config = Config(
        region_name=region,
        retries={"mode": "adaptive", "max_attempts": 8},
        connect_timeout=5,
        read_timeout=60,
        # Emulators serve buckets by path, not by virtual host.
        s3={"addressing_style": "path"} if endpoint_url else None,
    )

    def client(service: str) -> Any:  # a boto3 client
        return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config)

    return Gateways(
        cloudformation=AwsCloudFormation(client("cloudformation"), poll_seconds=poll_seconds),
        secrets=AwsSecrets(client("secretsmanager")),
        parameters=AwsParameters(client("ssm")),
        identity=AwsIdentity(client("sts"), client("iam")),
        artifacts=AwsArtifacts(client("s3")),
        cache=AwsCache(client("elasticache")),
        functions=AwsFunctions(client("lambda")),
        logs=AwsLogs(client("logs")),
        network=AwsNetwork(client("ec2")),
        monitoring=AwsMonitoring(client("cloudwatch"), client("sns")),
    )
