"""What AWS replaces and what must be unique, per resource type, from the schemas cfn-lint ships.

``createOnlyProperties`` force a replacement when they change; ``conditionalCreateOnlyProperties``
may (the resource provider decides); a writable ``primaryIdentifier`` is a physical name that
another resource may already hold. A few identities are not names in the schema but are unique
all the same (a route key within an API, a stage name within an API): :data:`UNIQUE_WITHIN`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

# Types whose replacement or deletion loses data or the identity other systems point at.
STATEFUL_TYPES = frozenset(
    {
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::ElastiCache::SubnetGroup",
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::EC2::SecurityGroup",
        "AWS::SecretsManager::Secret",
        "AWS::SSM::Parameter",
        "AWS::Logs::LogGroup",
    }
)

# Identities that AWS keeps unique although the schema does not make them the primary identifier:
# a second resource with the same values fails on create (ConflictException and the like).
UNIQUE_WITHIN: dict[str, tuple[str, ...]] = {
    "AWS::ApiGatewayV2::Route": ("ApiId", "RouteKey"),
    "AWS::ApiGatewayV2::Stage": ("ApiId", "StageName"),
    "AWS::EC2::SecurityGroup": ("VpcId", "GroupName"),
    "AWS::Logs::MetricFilter": ("LogGroupName", "FilterName"),
}


@dataclass(frozen=True)
class TypeRules:
    type_name: str
    create_only: tuple[str, ...]
    conditional: tuple[str, ...]
    name_properties: tuple[str, ...]  # writable identifier properties: a physical name
    known: bool = True

    def forces_replacement(self, prop: str) -> bool:
        return any(path == prop or path.startswith(prop + "/") for path in self.create_only)

    def may_force_replacement(self, prop: str) -> bool:
        return any(path == prop or path.startswith(prop + "/") for path in self.conditional)


def _top_level(paths: object) -> tuple[str, ...]:
    if not isinstance(paths, list):
        return ()
    found = []
    for path in paths:
        parts = str(path).split("/")
        if len(parts) >= 3 and parts[1] == "properties":
            found.append("/".join(parts[2:]))
    return tuple(found)


@cache
def rules_for(region: str, type_name: str) -> TypeRules:
    """The replacement rules of ``type_name`` in ``region`` (unknown types: everything replaces)."""
    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, type_name).schema
    except (ResourceNotFoundError, KeyError):
        return TypeRules(type_name, (), (), (), known=False)
    read_only = set(_top_level(schema.get("readOnlyProperties")))
    identifier = _top_level(schema.get("primaryIdentifier"))
    create_only = _top_level(schema.get("createOnlyProperties"))
    # A single writable identifier is a name (Name, LogGroupName, ...); a compound one is not.
    # Where AWS assigns the identifier (an ARN, an id), a create-only ``Name`` or
    # ``<Type>Name`` property is the name (TopicName, a secret's Name).
    if type_name in UNIQUE_WITHIN:
        names: tuple[str, ...] = ()
    elif len(identifier) == 1 and identifier[0] in create_only and identifier[0] not in read_only:
        names = identifier
    else:
        suffix = type_name.rsplit("::", 1)[-1]
        names = tuple(p for p in create_only if p in ("Name", f"{suffix}Name"))
    return TypeRules(
        type_name,
        create_only=create_only,
        conditional=_top_level(schema.get("conditionalCreateOnlyProperties")),
        name_properties=names,
    )


def region_exists(region: str) -> bool:
    try:
        PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, "AWS::EC2::VPC")
    except (ResourceNotFoundError, KeyError):
        return False
    return True
