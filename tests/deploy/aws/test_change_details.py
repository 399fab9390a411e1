"""DescribeChangeSet Details as AWS sends them for a new RedisAuthSecretVersionId (Stubber).

The ElastiCache schema lists AuthToken as conditionally create-only, so the group's change is
``Replacement: Conditional``; its Details say which properties changed and why.
"""

from __future__ import annotations

from typing import Any

import pytest

from mathvisuals.deploy.aws import Backoff
from mathvisuals.deploy.plan import refused_replacements, token_only
from tests.deploy.aws.support import CHANGE_SET_ARN, cloudformation, spec, stub
from tests.deploy.aws.test_cloudformation import add_create_change_set, described, resource_change

GROUP = "AWS::ElastiCache::ReplicationGroup"


def detail(name: str, recreation: str, source: str, **extra: Any) -> dict[str, Any]:
    return {
        "Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": recreation},
        "Evaluation": extra.pop("Evaluation", "Static"),
        "ChangeSource": source,
        **extra,
    }


# What a new secret VersionId gives: the parameter change and the re-resolved reference.
TOKEN_DETAILS = [
    detail(
        "AuthToken",
        "Conditionally",
        "ParameterReference",
        CausingEntity="RedisAuthSecretVersionId",
    ),
    detail("AuthToken", "Conditionally", "DirectModification", Evaluation="Dynamic"),
]


def changes_for(backoff: Backoff, details: list[dict[str, Any]]) -> Any:
    client, stubber = stub("cloudformation")
    add_create_change_set(stubber)
    by_arn = {"ChangeSetName": CHANGE_SET_ARN}
    stubber.add_response("describe_change_set", described("CREATE_COMPLETE"), by_arn)
    group = resource_change(
        "RedisReplicationGroup",
        GROUP,
        "Modify",
        Replacement="Conditional",
        Scope=["Properties"],
        Details=details,
    )
    endpoint = resource_change(
        "RedisEndpointParameter", "AWS::SSM::Parameter", "Modify", Replacement="False"
    )
    stubber.add_response(
        "describe_change_set", described("CREATE_COMPLETE", Changes=[group, endpoint]), by_arn
    )
    with stubber:
        found = cloudformation(client, backoff).create_change_set(
            spec(EnvironmentName="test", Replicas="1"), "UPDATE"
        )
        stubber.assert_no_pending_responses()
    return found.changes


def test_a_new_token_is_one_conditionally_recreating_property(backoff: Backoff) -> None:
    group, _ = changes_for(backoff, TOKEN_DETAILS)
    assert [(d.name, d.requires_recreation) for d in group.details] == [
        ("AuthToken", "Conditionally")
    ]
    assert token_only(group)
    # up still refuses it (it is rotate-token's), but the refusal can say so.
    assert refused_replacements([group], allow_replace=False) == [group]


def test_the_strategy_may_change_with_the_token(backoff: Backoff) -> None:
    group, _ = changes_for(
        backoff, [*TOKEN_DETAILS, detail("AuthTokenUpdateStrategy", "Never", "DirectModification")]
    )
    assert token_only(group)


@pytest.mark.parametrize(
    "extra",
    [
        detail("CacheNodeType", "Never", "DirectModification"),
        detail("AtRestEncryptionEnabled", "Always", "ParameterReference"),
        detail("EngineVersion", "Conditionally", "DirectModification"),
    ],
)
def test_any_other_property_is_not_token_only(backoff: Backoff, extra: dict[str, Any]) -> None:
    group, _ = changes_for(backoff, [*TOKEN_DETAILS, extra])
    assert not token_only(group)


def test_a_token_that_requires_recreation_always_is_not_in_place(backoff: Backoff) -> None:
    group, _ = changes_for(backoff, [detail("AuthToken", "Always", "DirectModification")])
    assert not token_only(group)


def test_no_details_is_not_token_only(backoff: Backoff) -> None:
    group, _ = changes_for(backoff, [])
    assert not token_only(group)
