"""Our template rules (MV101-MV115, MV160-MV175): what cfn-lint misses (deploy.md §5.9.4, §6.5)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from mathvisuals.deploy.check.api_rules import (
    alarm_metric_emitted,
    cors_max_age,
    payload_format_two,
)
from mathvisuals.deploy.check.data_rules import (
    multi_az_needs_failover,
    node_type_and_engine_exist,
    reader_endpoint_attribute,
    redis_ingress_from_lambda,
    subnets_in_two_zones,
)
from mathvisuals.deploy.check.findings import Finding, Severity
from mathvisuals.deploy.check.function_rules import (
    explicit_function_name,
    explicit_log_group,
    metric_filter_events,
    runtime_python,
)
from mathvisuals.deploy.check.lambda_rules import (
    architecture_matches_wheels,
    handler_in_artefact,
    redis_tls_set,
    role_has_vpc_access,
    tracing_has_permissions,
)
from mathvisuals.deploy.check.resolve import Scope, resolve, scalar, truthy
from mathvisuals.deploy.check.stacks import Stack
from mathvisuals.deploy.check.templates import (
    DynamicReference,
    Resource,
    contains_dynamic_reference,
    dynamic_references,
    intrinsic,
    key_line,
    walk,
)

Rule = Callable[[Stack], Iterator[Finding]]

REPLICATION_GROUP = "AWS::ElastiCache::ReplicationGroup"
MAX_DYNAMIC_REFERENCES = 60  # CloudFormation quota per template
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def _all_references(stack: Stack) -> list[DynamicReference]:
    return list(dynamic_references(stack.template.body))


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def auth_token_needs_tls(stack: Stack) -> Iterator[Finding]:
    """MV101: AUTH without TLS is rejected by ElastiCache, and cfn-lint misses it (§5.6, C2)."""
    for group in stack.resources(REPLICATION_GROUP):
        props = group.properties
        if "AuthToken" not in props:
            continue
        if truthy(resolve(props.get("TransitEncryptionEnabled"), stack.scope)) is True:
            continue
        key = "TransitEncryptionEnabled" if "TransitEncryptionEnabled" in props else "AuthToken"
        yield stack.finding(
            "MV101",
            group.prop_line(key),
            f"{group.logical_id} sets AuthToken but TransitEncryptionEnabled is not true",
            "AUTH needs in-transit encryption; set TransitEncryptionEnabled: true (C2, B18)",
        )


def auth_token_from_secret(stack: Stack) -> Iterator[Finding]:
    """MV115: the token is a secretsmanager reference built in the template, not a value (B12)."""
    for group in stack.resources(REPLICATION_GROUP):
        if "AuthToken" not in group.properties:
            continue
        refs = list(dynamic_references(group.properties["AuthToken"]))
        if not any(ref.service == "secretsmanager" for ref in refs):
            yield stack.finding(
                "MV115",
                group.prop_line("AuthToken"),
                f"{group.logical_id}.AuthToken is not a {{{{resolve:secretsmanager:…}}}} reference",
                "a token passed as a parameter value (or an ssm reference) is stored literally "
                "and never re-resolved (B12); build the reference with !Sub (deploy.md §5.5)",
            )


def _replica_problems(group: Resource, stack: Stack) -> Iterator[tuple[int, str, Severity]]:
    props = group.properties
    if "ReplicasPerNodeGroup" in props:
        key, primaries = "ReplicasPerNodeGroup", 0
    elif "NumCacheClusters" in props:
        key, primaries = "NumCacheClusters", 1
    else:
        yield (
            group.line,
            "sets neither ReplicasPerNodeGroup nor NumCacheClusters (0 replicas)",
            "error",
        )
        return
    line, node = group.prop_line(key), props[key]
    replicas = _number(resolve(node, stack.scope))
    if replicas is None:
        yield line, f"{key} cannot be resolved offline", "warning"
    elif replicas - primaries < 1:
        yield line, f"{key} gives {replicas - primaries:g} replicas", "error"
    call = intrinsic(node)
    parameter = str(call[1]) if call is not None and call[0] == "Ref" else ""
    declared = stack.template.parameters().get(parameter)
    if declared is not None:
        minimum = _number(scalar(declared.get("MinValue")))
        if minimum is None or minimum - primaries < 1:
            shown = "no MinValue" if minimum is None else f"MinValue {minimum:g}"
            yield line, f"parameter {parameter} allows 0 replicas ({shown})", "error"


def failover_needs_replicas(stack: Stack) -> Iterator[Finding]:
    """MV102: automatic failover or Multi-AZ with 0 replicas fails the create (B17)."""
    for group in stack.resources(REPLICATION_GROUP):
        props = group.properties
        flags = [
            key
            for key in ("AutomaticFailoverEnabled", "MultiAZEnabled")
            if key in props and truthy(resolve(props[key], stack.scope)) is not False
        ]
        if not flags:
            continue
        for line, problem, severity in _replica_problems(group, stack):
            yield stack.finding(
                "MV102",
                line,
                f"{group.logical_id} enables {' and '.join(flags)} but {problem}",
                "failover and Multi-AZ need at least one replica: ReplicasPerNodeGroup >= 1 "
                "and the parameter's MinValue: 1 (B17)",
                severity,
            )


def split_reference(body: str) -> list[str]:
    """Split on ':' outside ``${…}`` placeholders (``${AWS::Region}`` holds colons)."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"\0{len(kept) - 1}\0"

    masked = _PLACEHOLDER.sub(keep, body)
    return [
        re.sub(r"\0(\d+)\0", lambda m: kept[int(m.group(1))], part) for part in masked.split(":")
    ]


def _secret_reference_problems(ref: DynamicReference, stack: Stack) -> Iterator[tuple[str, str]]:
    parts = split_reference(ref.body)
    if parts[1:2] == ["arn"]:  # an ARN id holds colons itself
        secret_id, rest = ":".join(parts[1:8]), parts[8:]
    else:
        secret_id, rest = (parts[1] if len(parts) > 1 else ""), parts[2:]
    if rest[:2] != ["SecretString", "authToken"]:
        yield (
            "does not select :SecretString:authToken",
            'without the JSON key the reference resolves to the whole {"authToken": …} '
            "document and ElastiCache rejects it (B11, C2)",
        )
    version = rest[3] if len(rest) > 3 else ""
    names = _PLACEHOLDER.findall(version) if ref.in_sub else []
    declared = stack.template.parameters()
    if not any(name in declared or name in ref.variables for name in names):
        yield (
            "has no version-id part built from a parameter (…::${RedisAuthSecretVersionId})",
            "without a pinned VersionId a new secret version never reaches the resource (B8, B12)",
        )
    if len(rest) > 3 and rest[2] and version:
        yield "names both a version stage and a version id", "leave the stage empty: '::'"
    if not ref.in_sub:
        resolved: str | None = secret_id
    elif set(_PLACEHOLDER.findall(secret_id)) & ref.variables:
        resolved = None  # a Fn::Sub variable: its node is not at hand here
    else:
        resolved = resolve({"Fn::Sub": secret_id}, stack.scope)
    expected = stack.config.redis.auth_secret_name
    if resolved is not None and not resolved.startswith("arn:") and resolved != expected:
        yield (
            f"names secret {resolved!r}, not {expected!r} (config redis.auth_secret_name)",
            "one token, one secret, one name (B2, deploy.md §5.6)",
        )


def secret_reference_form(stack: Stack) -> Iterator[Finding]:
    """MV103: secretsmanager references select authToken and pin a VersionId (B11, B12, B8)."""
    for ref in _all_references(stack):
        if ref.service == "secretsmanager":
            for problem, hint in _secret_reference_problems(ref, stack):
                yield stack.finding("MV103", ref.line, f"secretsmanager reference {problem}", hint)


def no_reference_in_parameters(stack: Stack) -> Iterator[Finding]:
    """MV104: a dynamic reference as a parameter default or value is stored literally (B12)."""
    hint = "build the reference inside the template with !Sub from plain parameters (B12)"
    for name, declared in stack.template.parameters().items():
        if "Default" in declared and contains_dynamic_reference(declared["Default"]):
            line = key_line(declared, "Default", stack.template.parameter_line(name))
            yield stack.finding(
                "MV104", line, f"parameter {name} defaults to a dynamic reference", hint
            )
    for name, value in stack.supplied.items():
        if contains_dynamic_reference(value):
            line = stack.template.parameter_line(name)
            yield stack.finding(
                "MV104", line, f"the value passed for {name} is a dynamic reference", hint
            )


def no_split_over_reference(stack: Stack) -> Iterator[Finding]:
    """MV105: Fn::Split/Fn::Select run before resolution, so they see one string (B10)."""
    flagged: set[int] = set()
    for node, line in walk(stack.template.body, 1):
        call = intrinsic(node)
        if call is None or call[0] not in ("Fn::Split", "Fn::Select") or line in flagged:
            continue
        args = call[1]
        if isinstance(args, list) and len(args) == 2 and contains_dynamic_reference(args[1]):
            flagged.add(line)
            yield stack.finding(
                "MV105",
                line,
                f"{call[0]} over a dynamic reference yields a single element",
                "pass a CommaDelimitedList parameter instead, e.g. AllowOrigins: !Ref "
                "AllowedOrigins (B10)",
            )


def reference_quota(stack: Stack) -> Iterator[Finding]:
    """MV106: CloudFormation refuses a template with more than 60 dynamic references."""
    refs = _all_references(stack)
    if len(refs) > MAX_DYNAMIC_REFERENCES:
        yield stack.finding(
            "MV106",
            refs[MAX_DYNAMIC_REFERENCES].line,
            f"{len(refs)} dynamic references; CloudFormation allows {MAX_DYNAMIC_REFERENCES}",
            "join values into fewer parameters or references",
        )


def no_transform(stack: Stack) -> Iterator[Finding]:
    """MV107: a Transform needs CAPABILITY_AUTO_EXPAND, which upstream's redeploy lacked (B9)."""
    body = stack.template.body or {}
    hint = "write plain CloudFormation (deploy.md §5.8); no SAM or macros (B9)"
    if "Transform" in body:
        yield stack.finding(
            "MV107", stack.template.section_line("Transform"), "Transform used", hint
        )
    for node, line in walk(body.get("Resources"), stack.template.section_line("Resources")):
        call = intrinsic(node)
        if call is not None and call[0] == "Fn::Transform":
            yield stack.finding("MV107", line, "Fn::Transform used", hint)


def no_ssm_secure(stack: Stack) -> Iterator[Finding]:
    """MV112: ssm-secure works only in a few properties and cfn-lint does not say so (§6.5)."""
    for ref in _all_references(stack):
        if ref.service == "ssm-secure":
            yield stack.finding(
                "MV112",
                ref.line,
                "ssm-secure dynamic reference",
                "secrets come from the one Secrets Manager secret (deploy.md §5.6)",
            )


def _policy(node: Mapping[str, Any], key: str, scope: Scope) -> str | None:
    return resolve(node.get(key), scope) if key in node else None


def no_retain_on_create(stack: Stack) -> Iterator[Finding]:
    """MV113: Retain leaves orphans after a failed first create; the retry fails (B28)."""
    for resource in stack.template.resources():
        if _policy(resource.node, "DeletionPolicy", stack.scope) == "Retain":
            yield stack.finding(
                "MV113",
                resource.attribute_line("DeletionPolicy"),
                f"{resource.logical_id} has DeletionPolicy: Retain",
                "a failed create leaves it behind and the next create says 'already exists'; "
                "use Delete, Snapshot or RetainExceptOnCreate (B28)",
            )


def replication_group_snapshot(stack: Stack) -> Iterator[Finding]:
    """MV114: deleting or replacing the replication group keeps a final snapshot (B29)."""
    for group in stack.resources(REPLICATION_GROUP):
        for key in ("DeletionPolicy", "UpdateReplacePolicy"):
            policy = _policy(group.node, key, stack.scope)
            if policy != "Snapshot":
                yield stack.finding(
                    "MV114",
                    group.attribute_line(key),
                    f"{group.logical_id} {key} is {policy or 'not set'}, not Snapshot",
                    "the data would be lost with the stack or on replacement (B29)",
                )


RULES: tuple[Rule, ...] = (
    auth_token_needs_tls,
    failover_needs_replicas,
    secret_reference_form,
    no_reference_in_parameters,
    no_split_over_reference,
    reference_quota,
    no_transform,
    runtime_python,
    explicit_function_name,
    explicit_log_group,
    metric_filter_events,
    no_ssm_secure,
    no_retain_on_create,
    replication_group_snapshot,
    auth_token_from_secret,
    # What AWS refuses or runs wrongly (MV160-MV175; MV165-MV167 run over all stacks).
    multi_az_needs_failover,
    subnets_in_two_zones,
    node_type_and_engine_exist,
    redis_ingress_from_lambda,
    reader_endpoint_attribute,
    handler_in_artefact,
    architecture_matches_wheels,
    payload_format_two,
    tracing_has_permissions,
    redis_tls_set,
    role_has_vpc_access,
    cors_max_age,
    alarm_metric_emitted,
)


def template_findings(stack: Stack) -> list[Finding]:
    if stack.template.body is None:
        return []
    return [finding for rule in RULES for finding in rule(stack)]
