"""ssm dynamic references: versioned, and to a parameter something creates (MV166, MV167)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mathvisuals.deploy.check.findings import Finding
from mathvisuals.deploy.check.names import Claim
from mathvisuals.deploy.check.resolve import resolve
from mathvisuals.deploy.check.rules import split_reference
from mathvisuals.deploy.check.stacks import Stack
from mathvisuals.deploy.check.templates import DynamicReference, dynamic_references

_PLAIN_VERSION = "0123456789"


def _ssm(stack: Stack) -> Iterable[tuple[DynamicReference, list[str]]]:
    for ref in dynamic_references(stack.template.body):
        if ref.service == "ssm":
            yield ref, split_reference(ref.body)


def _name(ref: DynamicReference, raw: str, stack: Stack) -> str | None:
    if not ref.in_sub:
        return raw
    if any(f"${{{variable}}}" in raw for variable in ref.variables):
        return None  # a Fn::Sub variable: its node is not at hand here
    return resolve({"Fn::Sub": raw}, stack.scope)


def reference_findings(stacks: Sequence[Stack], claims: Sequence[Claim]) -> list[Finding]:
    """MV166 a reference to a parameter nothing creates; MV167 a reference without a version."""
    known = {claim.name for claim in claims if claim.kind == "SSM parameter"}
    found: list[Finding] = []
    for stack in stacks:
        for ref, parts in _ssm(stack):
            name = _name(ref, parts[1] if len(parts) > 1 else "", stack)
            if name is not None and name not in known:
                found.append(
                    stack.finding(
                        "MV166",
                        ref.line,
                        f"ssm reference to {name!r}, which no stack creates and the "
                        "orchestrator does not write",
                        "the create fails 'Unable to fetch parameters'; reference a parameter "
                        "a stack owns (deploy.md §5.3)",
                    )
                )
            version = parts[2] if len(parts) > 2 else ""
            if not version or (version.strip(_PLAIN_VERSION) and "${" not in version):
                found.append(
                    stack.finding(
                        "MV167",
                        ref.line,
                        f"ssm reference {ref.body!r} pins no version",
                        "an unversioned reference is resolved once and never again (B8); "
                        "append :${<Name>ParameterVersion}",
                    )
                )
    return found
