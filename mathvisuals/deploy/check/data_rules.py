"""What AWS refuses in the data stack: Multi-AZ, AZs, node types, ingress, reader (MV160-MV164)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from mathvisuals.deploy.check.findings import Finding
from mathvisuals.deploy.check.regions import cache_node_types, engine_versions, known_region
from mathvisuals.deploy.check.resolve import resolve, scalar, truthy
from mathvisuals.deploy.check.stacks import Stack
from mathvisuals.deploy.check.templates import Resource, intrinsic, key_line, line_of, walk

REPLICATION_GROUP = "AWS::ElastiCache::ReplicationGroup"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
_SUB_GETATT = re.compile(r"\$\{([A-Za-z0-9]+)\.(ReadEndPoint\.[A-Za-z.]+)\}")
_CIDR_SOURCES = ("CidrIp", "CidrIpv6", "SourcePrefixListId")


def multi_az_needs_failover(stack: Stack) -> Iterator[Finding]:
    """MV160: ElastiCache refuses MultiAZEnabled without AutomaticFailoverEnabled."""
    for group in stack.resources(REPLICATION_GROUP):
        props = group.properties
        if truthy(resolve(props.get("MultiAZEnabled"), stack.scope)) is not True:
            continue
        failover = (
            resolve(props["AutomaticFailoverEnabled"], stack.scope)
            if ("AutomaticFailoverEnabled" in props)
            else "false"
        )
        if truthy(failover) is False:
            key = (
                "AutomaticFailoverEnabled"
                if "AutomaticFailoverEnabled" in props
                else "MultiAZEnabled"
            )
            yield stack.finding(
                "MV160",
                group.prop_line(key),
                f"{group.logical_id} enables MultiAZEnabled with AutomaticFailoverEnabled false",
                "ElastiCache refuses Multi-AZ without automatic failover; set both "
                "(redis.multi_az and redis.automatic_failover) or neither",
            )


def _zone(node: object, stack: Stack) -> str | None:
    """A comparable key for an AvailabilityZone value: a name or ``#<index of GetAZs>``."""
    call = intrinsic(node)
    if call is not None and call[0] == "Fn::Select" and isinstance(call[1], list):
        index, azs = (call[1] + [None, None])[:2]
        inner = intrinsic(azs)
        if inner is not None and inner[0] == "Fn::GetAZs" and scalar(index) is not None:
            return f"#{scalar(index)}"
        return None
    return resolve(node, stack.scope)


def subnets_in_two_zones(stack: Stack) -> Iterator[Finding]:
    """MV161: the two private subnets sit in different AZs, or Multi-AZ has nowhere to go."""
    seen: dict[str, Resource] = {}
    for subnet in stack.resources("AWS::EC2::Subnet"):
        if "AvailabilityZone" not in subnet.properties:
            yield stack.finding(
                "MV161",
                subnet.line,
                f"{subnet.logical_id} has no AvailabilityZone, so AWS may put both subnets in one",
                "AvailabilityZone: !Select [<n>, !GetAZs ''] with a different n per subnet",
            )
            continue
        zone = _zone(subnet.properties["AvailabilityZone"], stack)
        if zone is None:
            continue
        first = seen.setdefault(zone, subnet)
        if first is not subnet:
            shown = f"AZ index {zone[1:]} of GetAZs" if zone.startswith("#") else zone
            yield stack.finding(
                "MV161",
                subnet.prop_line("AvailabilityZone"),
                f"{subnet.logical_id} is in the same AZ as {first.logical_id} ({shown})",
                "the subnet group needs two AZs for Multi-AZ and failover; use another index",
            )


def node_type_and_engine_exist(stack: Stack) -> Iterator[Finding]:
    """MV162: the node type is offered in the region and the engine version exists."""
    region = stack.config.env.region
    for group in stack.resources(REPLICATION_GROUP):
        props = group.properties
        node_type = resolve(props.get("CacheNodeType"), stack.scope)
        offered = cache_node_types(region) if known_region(region) else None
        if node_type is not None and offered is not None and node_type not in offered:
            yield stack.finding(
                "MV162",
                group.prop_line("CacheNodeType"),
                f"node type {node_type!r} is not offered in {region} (redis.node_type)",
                "pick one ElastiCache offers there, e.g. cache.t4g.small",
            )
        engine = resolve(props.get("Engine"), stack.scope) or "redis"
        version = resolve(props.get("EngineVersion"), stack.scope)
        versions = engine_versions(engine)
        if version is not None and versions is not None and version not in versions:
            yield stack.finding(
                "MV162",
                group.prop_line("EngineVersion"),
                f"{engine} engine version {version!r} does not exist (redis.engine_version)",
                f"CloudFormation accepts {', '.join(sorted(versions))}",
            )


def _referenced(node: object) -> str | None:
    """The logical id behind ``!Ref X`` or ``!GetAtt X.<attribute>``."""
    call = intrinsic(node)
    if call is None:
        return None
    if call[0] == "Ref" and isinstance(call[1], str):
        return call[1]
    if call[0] == "Fn::GetAtt":
        args = call[1]
        target = args[0] if isinstance(args, list) and args else str(args).split(".", 1)[0]
        return str(target)
    return None


def _redis_groups(stack: Stack) -> set[str]:
    found: set[str] = set()
    for group in stack.resources(REPLICATION_GROUP, "AWS::ElastiCache::CacheCluster"):
        ids = group.properties.get("SecurityGroupIds")
        for item in ids if isinstance(ids, list) else []:
            target = _referenced(item)
            if target is not None:
                found.add(target)
    return found


def _cidr_rules(rule: Mapping[str, Any], line: int) -> Iterator[tuple[int, str]]:
    for key in _CIDR_SOURCES:
        if key in rule:
            yield key_line(rule, key, line), key


def redis_ingress_from_lambda(stack: Stack) -> Iterator[Finding]:
    """MV163: Redis admits the Lambda security group, never an address range."""
    groups = _redis_groups(stack)
    hint = (
        "SourceSecurityGroupId: !GetAtt LambdaSecurityGroup.GroupId (only the Lambda reaches Redis)"
    )
    for group in stack.resources(SECURITY_GROUP):
        if group.logical_id not in groups:
            continue
        rules = group.properties.get("SecurityGroupIngress")
        for rule in rules if isinstance(rules, list) else []:
            if isinstance(rule, dict):
                for line, key in _cidr_rules(rule, line_of(rule, group.line)):
                    message = f"{group.logical_id} admits Redis traffic by {key}"
                    yield stack.finding("MV163", line, message, hint)
    for ingress in stack.resources("AWS::EC2::SecurityGroupIngress"):
        if _referenced(ingress.properties.get("GroupId")) in groups:
            for line, key in _cidr_rules(ingress.properties, ingress.line):
                message = f"{ingress.logical_id} admits Redis traffic by {key}"
                yield stack.finding("MV163", line, message, hint)


def reader_endpoint_attribute(stack: Stack) -> Iterator[Finding]:
    """MV164: ReadEndPoint.Addresses lists nodes; the reader endpoint is ReaderEndPoint.Address."""
    groups = {item.logical_id for item in stack.resources(REPLICATION_GROUP)}
    hint = "use !GetAtt <group>.ReaderEndPoint.Address, the one reader endpoint (B16)"
    for node, line in walk(stack.template.body, 1):
        found: list[tuple[str, str]] = []
        call = intrinsic(node)
        if call is not None and call[0] == "Fn::GetAtt":
            args = call[1]
            parts = args if isinstance(args, list) else str(args).split(".", 1)
            if len(parts) == 2:
                found.append((str(parts[0]), str(parts[1])))
        elif isinstance(node, str):
            found += _SUB_GETATT.findall(node)
        for target, attribute in found:
            if target in groups and attribute.startswith("ReadEndPoint."):
                yield stack.finding("MV164", line, f"reads {target}.{attribute}", hint)
