"""STS and IAM: who is deploying, and what that principal may do."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import (
    ClientError,
)

from mathvisuals.deploy.aws.base import (
    DENIED_CODES,
    Backoff,
    Gateway,
    error_code,
)

log = logging.getLogger(__name__)

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


class AwsIdentity(Gateway):
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

    def missing_permissions(
        self,
        actions: Sequence[str],
        resource: str = "*",
        context: Mapping[str, str] | None = None,
    ) -> list[str] | None:
        principal = principal_arn(str(self._identity()["Arn"]))
        if principal is None:
            return None  # root and federated users cannot be simulated
        if not actions:
            return []
        try:
            decisions = self._simulate(principal, actions, resource, context or {})
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity" and ":role/" in principal:
                # An assumed-role ARN drops the role's path: ask IAM for the real ARN.
                try:
                    decisions = self._simulate(
                        self._role_arn(principal), actions, resource, context or {}
                    )
                except ClientError as again:
                    if error_code(again) in DENIED_CODES:
                        return None
                    raise self._error("SimulatePrincipalPolicy", again) from again
            elif error_code(exc) in DENIED_CODES:
                log.info("SimulatePrincipalPolicy is not allowed: permissions not checked")
                return None
            else:
                raise self._error("SimulatePrincipalPolicy", exc) from exc
        return [action for action in actions if decisions.get(action) != "allowed"]

    def _role_arn(self, principal: str) -> str:
        role = principal.rsplit("/", 1)[1]
        return str(self._raw("GetRole", lambda: self._iam.get_role(RoleName=role))["Role"]["Arn"])

    def _simulate(
        self, principal: str, actions: Sequence[str], resource: str, context: Mapping[str, str]
    ) -> dict[str, str]:
        extra: dict[str, Any] = {}
        if resource != "*":
            extra["ResourceArns"] = [resource]
        if context:
            extra["ContextEntries"] = [
                {"ContextKeyName": key, "ContextKeyValues": [value], "ContextKeyType": "string"}
                for key, value in context.items()
            ]

        def pages() -> dict[str, str]:
            paginator = self._iam.get_paginator("simulate_principal_policy")
            return {
                str(result["EvalActionName"]): str(result["EvalDecision"])
                for page in paginator.paginate(
                    PolicySourceArn=principal, ActionNames=list(actions), **extra
                )
                for result in page.get("EvaluationResults", [])
            }

        return self._raw("SimulatePrincipalPolicy", pages)
