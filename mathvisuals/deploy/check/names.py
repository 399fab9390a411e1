"""Physical-name collision scan over all stacks and the orchestrator's own names (B1, B22)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from mathvisuals.deploy.check.findings import Finding
from mathvisuals.deploy.check.resolve import resolve
from mathvisuals.deploy.check.stacks import NAMED_TYPES, Stack
from mathvisuals.deploy.config import EnvironmentConfig

CASE_INSENSITIVE = frozenset({"replication group", "cache subnet group"})


@dataclass(frozen=True)
class ConfigFile:
    """The environment file as text, to point findings at the line of a key."""

    file: str
    text: str

    def line(self, section: str, key: str, default: int = 1) -> int:
        current = ""
        for number, raw in enumerate(self.text.splitlines(), 1):
            stripped = raw.strip()
            if stripped.startswith("["):
                current = stripped.strip("[] ")
            elif current == section and re.match(rf"{re.escape(key)}\s*=", stripped):
                return number
        return default

    def derived_line(self, section: str, key: str) -> int:
        """The key's line, or ``[env] name`` when the value is derived from the env name."""
        return self.line(section, key, self.line("env", "name"))


@dataclass(frozen=True)
class Claim:
    kind: str
    name: str
    owner: str
    file: str
    line: int

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.name.lower() if self.kind in CASE_INSENSITIVE else self.name


def orchestrator_claims(config: EnvironmentConfig, source: ConfigFile) -> list[Claim]:
    """Names the orchestrator creates itself, and the stack names (deploy.md §5.3)."""
    claims = [
        Claim(
            "secret",
            config.redis.auth_secret_name,
            "the orchestrator (redis.auth_secret_name)",
            source.file,
            source.derived_line("redis", "auth_secret_name"),
        )
    ]
    for key in ("examples-origins", "svg-origins"):
        line = source.derived_line("cors", "allowed_origins")
        owner = "the orchestrator (allow-list parameter)"
        claims.append(Claim("SSM parameter", config.ssm_name(key), owner, source.file, line))
    region = config.env.region
    stacks = {"shared": config.stacks.shared, "data": config.stacks.data, "api": config.stacks.api}
    if config.stacks.static_site is not None:
        stacks["static_site"] = config.stacks.static_site
    for role, name in stacks.items():
        where = config.stacks.static_site_region if role == "static_site" else None
        kind = f"stack in {where or region}"
        line = source.derived_line("stacks", role)
        claims.append(Claim(kind, name, f"config stacks.{role}", source.file, line))
    return claims


def stack_claims(stack: Stack) -> tuple[list[Claim], list[Finding]]:
    claims: list[Claim] = []
    unknown: list[Finding] = []
    for resource in stack.template.resources():
        if resource.type not in NAMED_TYPES:
            continue
        kind, prop = NAMED_TYPES[resource.type]
        if prop not in resource.properties:
            continue
        line = resource.prop_line(prop)
        name = resolve(resource.properties[prop], stack.scope)
        if name is None:
            unknown.append(
                Finding(
                    "MV122",
                    stack.file,
                    line,
                    f"{resource.logical_id}.{prop} cannot be resolved offline",
                    "build names with !Sub/!Ref/!ImportValue so check can prove them unique",
                    "warning",
                )
            )
            continue
        owner = f"{stack.role} stack resource {resource.logical_id}"
        claims.append(Claim(kind, name, owner, stack.file, line))
    return claims, unknown


def collisions(claims: Sequence[Claim]) -> list[Finding]:
    """MV120: one physical name, two owners; the second create fails "already exists" (B1)."""
    groups: dict[tuple[str, str], list[Claim]] = defaultdict(list)
    for claim in claims:
        groups[claim.key].append(claim)
    found: list[Finding] = []
    for group in groups.values():
        if len(group) < 2:
            continue
        for claim in group:
            others = "; ".join(
                f"{other.owner} at {other.file}:{other.line}" for other in group if other != claim
            )
            found.append(
                Finding(
                    "MV120",
                    claim.file,
                    claim.line,
                    f"{claim.kind} {claim.name!r} has two owners: {claim.owner} and {others}",
                    "every physical name has exactly one owner (deploy.md §5.3; B1, B22)",
                )
            )
    return found


def auth_secret_export(
    stacks: Sequence[Stack], config: EnvironmentConfig, source: ConfigFile
) -> list[Finding]:
    """MV121: the configured secret is the one the shared stack names (B2, deploy.md §5.5)."""
    shared = next((s for s in stacks if s.role == "shared" and s.template.body is not None), None)
    if shared is None:
        return []
    wanted = config.export("shared", "RedisAuthSecretName")
    export = next((item for item in shared.exports if item.name == wanted), None)
    if export is None:
        line = shared.template.section_line("Outputs")
        message = f"the shared stack does not export {wanted}"
        return [Finding("MV121", shared.file, line, message, "deploy.md §5.4")]
    line = source.derived_line("redis", "auth_secret_name")
    if export.value is None:
        message = f"the value of export {wanted} cannot be resolved offline"
        return [Finding("MV121", export.file, export.line, message, "", "warning")]
    if export.value != config.redis.auth_secret_name:
        message = (
            f"redis.auth_secret_name is {config.redis.auth_secret_name!r} but the shared export "
            f"{wanted} at {export.file}:{export.line} is {export.value!r}"
        )
        hint = "three names for one secret broke upstream (B2); make them equal"
        return [Finding("MV121", source.file, line, message, hint)]
    return []
