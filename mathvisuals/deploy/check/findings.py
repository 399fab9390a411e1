"""What ``mathvisuals check`` reports: findings with rule id, file and line (deploy.md §5.9)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem; ``line`` is 1-based (1 for problems of a whole file)."""

    rule: str
    file: str
    line: int
    message: str
    hint: str = ""
    severity: Severity = "error"


def sort_key(finding: Finding) -> tuple[str, int, str, str]:
    return finding.file, finding.line, finding.rule, finding.message


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    capabilities: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(item for item in self.findings if item.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(item for item in self.findings if item.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> str:
        document = {
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "capabilities": {role: list(caps) for role, caps in self.capabilities.items()},
            "findings": [asdict(item) for item in self.findings],
        }
        return json.dumps(document, indent=2)


def build_report(
    findings: Sequence[Finding], capabilities: Mapping[str, tuple[str, ...]]
) -> Report:
    return Report(tuple(sorted(set(findings), key=sort_key)), dict(capabilities))
