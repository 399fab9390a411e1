"""Secrets Manager (the auth secret) and SSM Parameter Store (endpoint and allow-lists)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import (
    ClientError,
)

from mathvisuals.deploy.aws.base import (
    STACK_NAME_TAG,
    Backoff,
    Gateway,
    error_code,
    tag_list,
    tag_map,
)
from mathvisuals.deploy.errors import (
    DeploymentFailedError,
)
from mathvisuals.deploy.gateway import (
    ParameterInfo,
    SecretInfo,
    SecretValue,
)


def _secret_string(value: SecretValue) -> str:
    return json.dumps({"authToken": value.reveal()}, separators=(",", ":"))


class AwsSecrets(Gateway):
    service = "secretsmanager"

    def __init__(self, client: Any, *, backoff: Backoff | None = None) -> None:  # Secrets Manager
        super().__init__(backoff=backoff)
        self._client = client

    def describe(self, name: str) -> SecretInfo | None:
        try:
            found = self._raw("DescribeSecret", lambda: self._client.describe_secret(SecretId=name))
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise self._error("DescribeSecret", exc) from exc
        stages: Mapping[str, Sequence[str]] = found.get("VersionIdsToStages", {})

        def holding(stage: str) -> str | None:
            return next((str(v) for v, names in stages.items() if stage in names), None)

        tags = tag_map(found.get("Tags"))
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
                Name=name, SecretString=_secret_string(value), Tags=tag_list(tags)
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
            if error_code(exc) != "ResourceNotFoundException":
                raise self._error("DeleteSecret", exc) from exc


class AwsParameters(Gateway):
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
        return tag_map(found.get("TagList"))

    def put(
        self, name: str, value: str, *, kind: str, tags: Mapping[str, str], overwrite: bool
    ) -> int:
        hidden = (SecretValue(value),) if kind == "SecureString" else ()
        # AWS refuses Tags together with Overwrite=true: tag separately then.
        extra: dict[str, Any] = {"Tags": tag_list(tags)} if tags and not overwrite else {}
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
                    ResourceType="Parameter", ResourceId=name, Tags=tag_list(tags)
                ),
            )
        return int(stored["Version"])

    def delete(self, name: str) -> None:
        try:
            self._raw("DeleteParameter", lambda: self._client.delete_parameter(Name=name))
        except ClientError as exc:
            if error_code(exc) != "ParameterNotFound":
                raise self._error("DeleteParameter", exc) from exc
