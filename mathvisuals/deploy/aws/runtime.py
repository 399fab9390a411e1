"""What verify reads of the running system: ElastiCache, Lambda, CloudWatch Logs, EC2."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from botocore.exceptions import (
    ClientError,
)

from mathvisuals.deploy.aws.base import (
    SENSITIVE_ENV,
    STACK_NAME_TAG,
    Backoff,
    Gateway,
    error_code,
    tag_map,
)
from mathvisuals.deploy.errors import (
    DeploymentFailedError,
)
from mathvisuals.deploy.gateway import (
    FunctionInfo,
    LogEvent,
    ReplicationGroupInfo,
    SecretValue,
)


class AwsCache(Gateway):
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
            if error_code(exc) == "ReplicationGroupNotFoundFault":
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
        return tag_map(found.get("TagList"))

    def create_snapshot(self, group_id: str, name: str) -> None:
        self._call(
            "CreateSnapshot",
            lambda: self._client.create_snapshot(ReplicationGroupId=group_id, SnapshotName=name),
        )

    def snapshot_status(self, name: str) -> str | None:
        try:
            found = self._raw(
                "DescribeSnapshots", lambda: self._client.describe_snapshots(SnapshotName=name)
            )
        except ClientError as exc:
            if error_code(exc) == "SnapshotNotFoundFault":
                return None
            raise self._error("DescribeSnapshots", exc) from exc
        snapshots = found.get("Snapshots") or []
        return str(snapshots[0].get("SnapshotStatus", "")) if snapshots else None

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


class AwsFunctions(Gateway):
    service = "lambda"

    def __init__(self, client: Any, *, backoff: Backoff | None = None) -> None:  # Lambda client
        super().__init__(backoff=backoff)
        self._client = client

    def configuration(self, name: str, qualifier: str | None = None) -> FunctionInfo | None:
        """``$LATEST``, or the version ``qualifier`` (an alias or a number) names."""
        request = {"FunctionName": name} | ({"Qualifier": qualifier} if qualifier else {})
        try:
            found = self._raw(
                "GetFunctionConfiguration",
                lambda: self._client.get_function_configuration(**request),
            )
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
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
            version=str(found.get("Version", "$LATEST")),
            snapstart=str((found.get("SnapStart") or {}).get("OptimizationStatus", "")),
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


class AwsLogs(Gateway):
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
            if error_code(exc) == "ResourceNotFoundException":
                return []  # the function has not logged yet
            raise self._error("FilterLogEvents", exc) from exc

    def filter_events(
        self, group: str, start_ms: int, *, pattern: str | None = None, limit: int = 10_000
    ) -> list[LogEvent]:
        def pages() -> list[LogEvent]:
            paginator = self._client.get_paginator("filter_log_events")
            query: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
            if pattern:
                query["filterPattern"] = pattern
            found: list[LogEvent] = []
            for page in paginator.paginate(**query):
                for event in page.get("events", []):
                    found.append(
                        LogEvent(
                            int(event.get("timestamp", 0)),
                            str(event.get("message", "")).rstrip("\n"),
                            str(event.get("eventId", "")),
                        )
                    )
                if len(found) >= limit:
                    break
            found.sort(key=lambda e: e.timestamp_ms)
            return found[:limit]

        try:
            return self._raw("FilterLogEvents", pages)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return []
            raise self._error("FilterLogEvents", exc) from exc


class AwsNetwork(Gateway):
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
            if error_code(exc) == "InvalidGroup.NotFound":
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
