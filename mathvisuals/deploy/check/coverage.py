"""Parameter coverage (B13) and the capabilities each stack needs (deploy.md §5.9.7, §5.9.8)."""

from __future__ import annotations

import operator
import re
from collections.abc import Iterator, Mapping
from typing import Any

from mathvisuals.deploy.check.findings import Finding
from mathvisuals.deploy.check.resolve import scalar
from mathvisuals.deploy.check.stacks import Stack
from mathvisuals.deploy.check.templates import Template, intrinsic, walk

# IAM resource type → the property that names it (naming it needs CAPABILITY_NAMED_IAM).
IAM_TYPES: Mapping[str, str | None] = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::Policy": None,
    "AWS::IAM::RolePolicy": None,
    "AWS::IAM::UserPolicy": None,
    "AWS::IAM::GroupPolicy": None,
    "AWS::IAM::AccessKey": None,
    "AWS::IAM::UserToGroupAddition": None,
}
_SHOWN = 80


def capabilities(template: Template) -> tuple[str, ...]:
    """What CreateChangeSet must be given; a missing one fails "Requires capabilities" (B9)."""
    found: set[str] = set()
    for resource in template.resources():
        if resource.type in IAM_TYPES:
            name = IAM_TYPES[resource.type]
            named = name is not None and name in resource.properties
            found.add("CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM")
    body = template.body or {}
    macro = any(
        (call := intrinsic(node)) is not None and call[0] == "Fn::Transform"
        for node, _ in walk(body, 1)
    )
    if "Transform" in body or macro:
        found.add("CAPABILITY_AUTO_EXPAND")
    if "CAPABILITY_NAMED_IAM" in found:
        found.discard("CAPABILITY_IAM")  # the named capability covers unnamed IAM resources
    return tuple(sorted(found))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def constraint_problems(declared: Mapping[str, Any], value: str) -> Iterator[str]:
    """Why CloudFormation would refuse ``value`` for this parameter declaration."""
    kind = str(declared.get("Type", "String"))
    listed = kind == "CommaDelimitedList" or kind.startswith("List<")
    items = ([item.strip() for item in value.split(",")] if value else []) if listed else [value]
    allowed = declared.get("AllowedValues")
    pattern = scalar(declared.get("AllowedPattern"))
    for item in items:
        if isinstance(allowed, list) and item not in [scalar(entry) for entry in allowed]:
            yield f"{item[:_SHOWN]!r} is not one of AllowedValues"
        if pattern is not None:
            try:
                matched = re.fullmatch(pattern, item) is not None
            except re.error:
                matched = True  # a Java-only pattern; cfn-lint judges the pattern itself
            if not matched:
                yield f"{item[:_SHOWN]!r} does not match AllowedPattern {pattern}"
        for key, too in (("MinLength", operator.lt), ("MaxLength", operator.gt)):
            bound = _number(scalar(declared.get(key)) or "")
            if bound is not None and too(len(item), bound):
                yield f"length {len(item)} violates {key} {bound:g}"
        if kind in ("Number", "List<Number>"):
            number = _number(item)
            if number is None:
                yield f"{item[:_SHOWN]!r} is not a number"
                continue
            for key, too in (("MinValue", operator.lt), ("MaxValue", operator.gt)):
                bound = _number(scalar(declared.get(key)) or "")
                if bound is not None and too(number, bound):
                    yield f"{number:g} violates {key} {bound:g}"


def coverage_findings(stack: Stack) -> list[Finding]:
    """MV140 required but not passed, MV141 passed but undeclared, MV142 value refused (B13)."""
    template = stack.template
    if template.body is None:
        return []
    declared = template.parameters()
    found: list[Finding] = []
    for name, spec in declared.items():
        line = template.parameter_line(name)
        if name not in stack.supplied:
            if "Default" not in spec:
                found.append(
                    Finding(
                        "MV140",
                        template.file,
                        line,
                        f"parameter {name} has no Default and the orchestrator does not pass it",
                        "every parameter is passed explicitly, never UsePreviousValue (B13, C8); "
                        "add it to mathvisuals/deploy/parameters.py or give it a Default",
                    )
                )
            continue
        for problem in constraint_problems(spec, stack.supplied[name]):
            message = f"the value passed for {name} is refused: {problem}"
            found.append(Finding("MV142", template.file, line, message, "check the config"))
    for name in sorted(set(stack.supplied) - set(declared)):
        found.append(
            Finding(
                "MV141",
                template.file,
                template.section_line("Parameters"),
                f"the orchestrator passes {name}, which the template does not declare",
                "CreateChangeSet refuses unknown parameters; upstream's `deploy` silently "
                "ignored them (B13, ApiGatewayOriginPath)",
            )
        )
    return found
