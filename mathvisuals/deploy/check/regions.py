"""Regions, node types and engine versions, from the data cfn-lint ships (no AWS call)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from cfnlint.helpers import REGIONS

_ELASTICACHE = "cfnlint.data.schemas.extensions.aws_elasticache_cachecluster"


def known_region(region: str) -> bool:
    return region in REGIONS


@lru_cache(maxsize=4)
def _elasticache(name: str) -> Any:
    return json.loads(resources.files(_ELASTICACHE).joinpath(name).read_text(encoding="utf-8"))


def cache_node_types(region: str) -> frozenset[str] | None:
    """Node types ElastiCache offers in ``region``; None when cfn-lint has no list for it."""
    entry = _elasticache("cachenodetype_enum.json").get(region)
    return frozenset(entry["enum"]) if isinstance(entry, dict) else None


def engine_versions(engine: str) -> frozenset[str] | None:
    """The EngineVersion values CloudFormation accepts for ``engine`` (redis, valkey, …)."""
    for branch in _elasticache("engine_version.json").get("allOf", []):
        wanted = branch.get("if", {}).get("properties", {}).get("Engine", {}).get("const")
        if wanted == engine:
            return frozenset(branch["then"]["properties"]["EngineVersion"]["enum"])
    return None
