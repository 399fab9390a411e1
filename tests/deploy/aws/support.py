"""Constants and builders the adapter tests share: stubbed clients, stack answers, specs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.stub import Stubber

from mathvisuals.deploy.aws import (
    AwsCloudFormation,
    Backoff,
)
from mathvisuals.deploy.model import StackSpec

REGION = "eu-north-1"
ACCOUNT = "123456789012"
OURS = {"app": "math-visuals", "env": "test", "managed-by": "mathvisuals"}
TOKEN = "Tok3n-Abcdefghijklmnop-0123456789"
NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
CHANGE_SET_NAME = "mathvisuals-20260102T030405678901Z"
CHANGE_SET_ARN = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/{CHANGE_SET_NAME}/abc"
STACK_ARN = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/mv-data/abc"


def stub(service: str) -> tuple[Any, Stubber]:
    """A real client for ``service`` with a Stubber; the Stubber answers before any I/O."""
    client = boto3.client(service, region_name=REGION)
    return client, Stubber(client)


def cloudformation(client: Any, backoff: Backoff, **kwargs: Any) -> AwsCloudFormation:
    return AwsCloudFormation(client, poll_seconds=0, backoff=backoff, clock=lambda: NOW, **kwargs)


def spec(name: str = "mv-data", template: str = "{}", **parameters: str) -> StackSpec:
    return StackSpec(
        role="data",
        name=name,
        template_body=template,
        parameters=parameters,
        tags=OURS,
        capabilities=("CAPABILITY_IAM",),
    )


def stack(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": "mv-data",
                "StackId": STACK_ARN,
                "CreationTime": NOW,
                "StackStatus": status,
                "Tags": [{"Key": k, "Value": v} for k, v in OURS.items()],
                **extra,
            }
        ]
    }
