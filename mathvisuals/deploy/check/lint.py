"""cfn-lint over one template: errors fail the check, warnings are reported (deploy.md §5.9.3)."""

from __future__ import annotations

from functools import lru_cache

from cfnlint.api import ManualArgs, lint

from mathvisuals.deploy.check.findings import Finding, Severity
from mathvisuals.deploy.check.templates import Template

_Raw = tuple[str, int, str, str, Severity]


@lru_cache(maxsize=64)
def _lint(text: str, region: str) -> tuple[_Raw, ...]:
    """Pure in (text, region), so repeated checks of an unchanged template cost nothing."""
    found: list[_Raw] = []
    for match in lint(text, config=ManualArgs(regions=[region])):
        rule_id = str(match.rule.id)
        severity: Severity = "error" if rule_id.startswith("E") else "warning"
        hint = str(getattr(match.rule, "shortdesc", "") or "")
        found.append((f"CFN-{rule_id}", int(match.linenumber), str(match.message), hint, severity))
    return tuple(found)


def lint_template(template: Template, region: str) -> list[Finding]:
    if template.body is None:
        return []  # the decode problems are already findings of the template itself
    return [
        Finding(rule, template.file, line, message, hint, severity)
        for rule, line, message, hint, severity in _lint(template.text, region)
    ]
