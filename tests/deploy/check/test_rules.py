"""Edges of the template rules that the fixtures do not show (inline templates, no files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mathvisuals.deploy.check.findings import Finding
from mathvisuals.deploy.check.rules import template_findings
from mathvisuals.deploy.check.stacks import build_stacks
from mathvisuals.deploy.check.templates import decode_template
from mathvisuals.deploy.config import EnvironmentConfig, load_config

from .support import PROD

HEADER = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  RedisAuthSecretName:
    Type: String
  RedisAuthSecretVersionId:
    Type: String
  RedisAutomaticFailover:
    Type: String
Resources:
"""
GROUP = """\
  Group:
    Type: AWS::ElastiCache::ReplicationGroup
    DeletionPolicy: Snapshot
    UpdateReplacePolicy: Snapshot
    Properties:
      ReplicationGroupDescription: x
      TransitEncryptionEnabled: {tls}
      AuthToken: {token}
      AutomaticFailoverEnabled: {failover}
      {replicas}
"""
TOKEN = (
    '!Sub "{{resolve:secretsmanager:${RedisAuthSecretName}:SecretString:authToken::'
    '${RedisAuthSecretVersionId}}}"'
)


@pytest.fixture(scope="module")
def config() -> EnvironmentConfig:
    return load_config(PROD)


def _findings(config: EnvironmentConfig, resources: str) -> list[Finding]:
    template = decode_template(HEADER + resources, Path("data.yaml"), "data")
    assert template.body is not None, template.problems
    (stack,) = build_stacks(config, [template])
    return template_findings(stack)


def _group(**values: str) -> str:
    fields = {"tls": "true", "token": TOKEN, "failover": "true", "replicas": "NumCacheClusters: 2"}
    return GROUP.format(**{**fields, **values})


def _rules(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((item.rule, item.severity) for item in findings)


def test_a_sound_group_passes(config: EnvironmentConfig) -> None:
    assert _findings(config, _group()) == []


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"replicas": "NumCacheClusters: 1"}, [("MV102", "error")]),
        ({"replicas": "NumCacheClusters: 1", "failover": "false"}, []),
        # the prod config passes RedisAutomaticFailover = "true"
        (
            {"replicas": "NumCacheClusters: 1", "failover": "!Ref RedisAutomaticFailover"},
            [("MV102", "error")],
        ),
        ({"replicas": "Engine: redis"}, [("MV102", "error")]),
        ({"replicas": "NumCacheClusters: !GetAtt X.Y"}, [("MV102", "warning")]),
        ({"tls": '"true"'}, []),
        ({"tls": "false"}, [("MV101", "error")]),
        ({"tls": "!Ref NotDeclared"}, [("MV101", "error")]),
        ({"token": "!Sub '{{resolve:ssm:/math-visuals/prod/redis/token}}'"}, [("MV115", "error")]),
    ],
)
def test_replication_group_edges(
    config: EnvironmentConfig, values: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    assert _rules(_findings(config, _group(**values))) == expected


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        (TOKEN, None),
        (
            '!Sub "{{resolve:secretsmanager:arn:aws:secretsmanager:${AWS::Region}:'
            "${AWS::AccountId}:secret:math-visuals/prod/redis/auth:SecretString:authToken::"
            '${RedisAuthSecretVersionId}}}"',
            None,
        ),
        (
            '!Sub ["{{resolve:secretsmanager:${N}:SecretString:authToken::${V}}}", '
            "{N: !Ref RedisAuthSecretName, V: !Ref RedisAuthSecretVersionId}]",
            None,
        ),
        (
            '!Sub "{{resolve:secretsmanager:${RedisAuthSecretName}:SecretString:authToken:'
            'AWSCURRENT:${RedisAuthSecretVersionId}}}"',
            "version stage and a version id",
        ),
        (
            '"{{resolve:secretsmanager:math-visuals/prod/redis/auth:SecretString:authToken}}"',
            "version-id",
        ),
        (
            '!Sub "{{resolve:secretsmanager:math-visuals/prod/redis/password:SecretString:'
            'authToken::${RedisAuthSecretVersionId}}}"',
            "not 'math-visuals/prod/redis/auth'",
        ),
        (
            '!Sub "{{resolve:secretsmanager:${RedisAuthSecretName}:SecretString:password::'
            '${RedisAuthSecretVersionId}}}"',
            ":SecretString:authToken",
        ),
    ],
)
def test_secret_reference_forms(config: EnvironmentConfig, token: str, problem: str | None) -> None:
    found = [item for item in _findings(config, _group(token=token)) if item.rule == "MV103"]
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0].message, found
        assert found[0].line == 17  # the AuthToken line


def test_select_over_split_over_reference_is_one_finding(config: EnvironmentConfig) -> None:
    resources = """\
  P:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: !Select [0, !Split [",", "{{resolve:ssm:/math-visuals/prod/x}}"]]
"""
    found = _findings(config, resources)
    assert [(item.rule, item.line) for item in found] == [("MV105", 14)]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.event = "redis.*" }', []),
        ('{ $.event != "http.access" }', []),
        ('{ $.level = "error" }', [("MV111", "warning")]),
        ("{ $.event = redis.pong }", [("MV111", "error")]),
        ("WRONGPASS", [("MV111", "error")]),
    ],
)
def test_metric_filter_patterns(
    config: EnvironmentConfig, pattern: str, expected: list[tuple[str, str]]
) -> None:
    resources = f"""\
  Filter:
    Type: AWS::Logs::MetricFilter
    Properties:
      LogGroupName: /aws/lambda/math-visuals-api
      FilterPattern: '{pattern}'
      MetricTransformations:
        - {{MetricNamespace: MathVisuals/Api, MetricName: M, MetricValue: "1"}}
"""
    assert _rules(_findings(config, resources)) == expected


def test_retain_except_on_create_is_allowed(config: EnvironmentConfig) -> None:
    resources = """\
  P:
    Type: AWS::SSM::Parameter
    DeletionPolicy: RetainExceptOnCreate
    Properties: {Type: String, Value: x}
"""
    assert _findings(config, resources) == []
