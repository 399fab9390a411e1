"""The three stacks as the orchestrator will create them: template, parameters, scope, exports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mathvisuals.deploy.check.findings import Finding, Severity
from mathvisuals.deploy.check.resolve import Scope, resolve, scalar
from mathvisuals.deploy.check.templates import Resource, Template, key_line, line_of
from mathvisuals.deploy.config import EnvironmentConfig
from mathvisuals.deploy.parameters import STACK_ROLES, stack_parameters

# Resource type → (what kind of name, the property that sets it). Names of one kind share a
# namespace in the account and region, so two owners of one name collide (B1, B22).
NAMED_TYPES: Mapping[str, tuple[str, str]] = {
    "AWS::SSM::Parameter": ("SSM parameter", "Name"),
    "AWS::SecretsManager::Secret": ("secret", "Name"),
    "AWS::ElastiCache::ReplicationGroup": ("replication group", "ReplicationGroupId"),
    "AWS::ElastiCache::SubnetGroup": ("cache subnet group", "CacheSubnetGroupName"),
    "AWS::SNS::Topic": ("SNS topic", "TopicName"),
    "AWS::Lambda::Function": ("Lambda function", "FunctionName"),
    "AWS::Logs::LogGroup": ("log group", "LogGroupName"),
    "AWS::CloudWatch::Alarm": ("alarm", "AlarmName"),
    "AWS::IAM::Role": ("IAM role", "RoleName"),
    "AWS::S3::Bucket": ("S3 bucket", "BucketName"),
}
# Types whose ``Ref`` returns the name above (a secret's or topic's ``Ref`` is an ARN, B3).
REF_IS_NAME = frozenset(
    {
        "AWS::SSM::Parameter",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::ElastiCache::SubnetGroup",
        "AWS::Lambda::Function",
        "AWS::Logs::LogGroup",
        "AWS::IAM::Role",
        "AWS::S3::Bucket",
    }
)


@dataclass(frozen=True)
class Export:
    name: str
    value: str | None
    role: str
    file: str
    line: int


@dataclass(frozen=True)
class Stack:
    role: str
    name: str
    template: Template
    supplied: Mapping[str, str]
    scope: Scope
    exports: tuple[Export, ...]
    config: EnvironmentConfig

    @property
    def file(self) -> str:
        return self.template.file

    def resources(self, *types: str) -> list[Resource]:
        return [item for item in self.template.resources() if item.type in types]

    def finding(
        self, rule: str, line: int, message: str, hint: str, severity: Severity = "error"
    ) -> Finding:
        return Finding(rule, self.file, line, message, hint, severity)


def stack_name(config: EnvironmentConfig, role: str) -> str:
    return {"shared": config.stacks.shared, "data": config.stacks.data}.get(role, config.stacks.api)


def pseudo_parameters(config: EnvironmentConfig, name: str) -> dict[str, str]:
    return {
        "AWS::StackName": name,
        "AWS::Region": config.env.region,
        "AWS::AccountId": config.env.account_id,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }


def parameter_value(declared: Mapping[str, Any], supplied: str | None) -> str | None:
    if supplied is not None:
        return supplied
    default = declared.get("Default")
    if isinstance(default, list):
        items = [scalar(item) for item in default]
        return None if None in items else ",".join(item or "" for item in items)
    return scalar(default)


def _values(
    template: Template, supplied: Mapping[str, str], pseudo: Mapping[str, str]
) -> dict[str, str]:
    values = dict(pseudo)
    for name, declared in template.parameters().items():
        value = parameter_value(declared, supplied.get(name))
        if value is not None:
            values[name] = value
    return values


def _resource_names(template: Template, scope: Scope) -> dict[str, str]:
    names: dict[str, str] = {}
    for resource in template.resources():
        if resource.type in REF_IS_NAME:
            value = resolve(resource.properties.get(NAMED_TYPES[resource.type][1]), scope)
            if value is not None:
                names[resource.logical_id] = value
    return names


def _exports(template: Template, scope: Scope) -> list[Export]:
    found: list[Export] = []
    outputs = template.section("Outputs")
    for key, output in outputs.items():
        export = output.get("Export") if isinstance(output, dict) else None
        if not isinstance(export, dict) or "Name" not in export:
            continue
        name = resolve(export["Name"], scope)
        line = key_line(export, "Name", line_of(key, template.section_line("Outputs")))
        if name is not None:
            value = resolve(output.get("Value"), scope)
            found.append(Export(name, value, template.role, template.file, line))
    return found


def build_stacks(config: EnvironmentConfig, templates: Sequence[Template]) -> list[Stack]:
    """Scopes in deploy order, so each stack sees the exports of the stacks before it."""
    by_role = {template.role: template for template in templates}
    exports: dict[str, str | None] = {}
    stacks: list[Stack] = []
    for role in STACK_ROLES:
        template = by_role.get(role)
        if template is None:
            continue
        name = stack_name(config, role)
        supplied = stack_parameters(config, role)
        values = _values(template, supplied, pseudo_parameters(config, name))
        earlier = dict(exports)
        conditions = template.section("Conditions")
        values.update(_resource_names(template, Scope(values, earlier, conditions)))
        scope = Scope(values, earlier, conditions)
        own = _exports(template, scope)
        for export in own:
            exports.setdefault(export.name, export.value)
        stacks.append(Stack(role, name, template, supplied, scope, tuple(own), config))
    return stacks
