"""Rules for the API function, its log group and metric filters (MV108-MV111, B27, B30)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from mathvisuals.deploy.check.events import APP_EVENTS
from mathvisuals.deploy.check.findings import Finding
from mathvisuals.deploy.check.resolve import resolve
from mathvisuals.deploy.check.stacks import Stack

FUNCTIONS = frozenset({"AWS::Lambda::Function", "AWS::Serverless::Function"})
RUNTIME = "python3.12"
_EVENT = re.compile(r"\$\.event\s*!?=\s*\"?([^\"\s&|)}]+)\"?")


def runtime_python(stack: Stack) -> Iterator[Finding]:
    """MV108: the function runs python3.12; upstream ran deprecated nodejs18.x (B27)."""
    for function in stack.resources(*FUNCTIONS):
        runtime = resolve(function.properties.get("Runtime"), stack.scope)
        if runtime != RUNTIME:
            yield stack.finding(
                "MV108",
                function.prop_line("Runtime"),
                f"{function.logical_id} runtime is {runtime or 'not set'}, not {RUNTIME}",
                "the artefact is built for python3.12 (deploy.md §5.8, B27)",
            )


def _function_names(stack: Stack) -> dict[str, str | None]:
    return {
        item.logical_id: resolve(item.properties.get("FunctionName"), stack.scope)
        for item in stack.resources(*FUNCTIONS)
        if "FunctionName" in item.properties
    }


def explicit_function_name(stack: Stack) -> Iterator[Finding]:
    """MV109: an explicit FunctionName, the configured one, so its log group is known (B30)."""
    names = _function_names(stack)
    expected = stack.config.api.function_name
    for function in stack.resources(*FUNCTIONS):
        if function.logical_id not in names:
            yield stack.finding(
                "MV109",
                function.line,
                f"{function.logical_id} has no FunctionName, so AWS generates one",
                "a generated name makes /aws/lambda/<name> unknowable (B30, C25)",
            )
        elif names[function.logical_id] is None:
            yield stack.finding(
                "MV109",
                function.prop_line("FunctionName"),
                f"{function.logical_id}.FunctionName cannot be resolved offline",
                "use !Ref FunctionName",
                "warning",
            )
    resolved = [name for name in names.values() if name is not None]
    if stack.role == "api" and resolved and expected not in resolved:
        first = next(iter(stack.resources(*FUNCTIONS)))
        yield stack.finding(
            "MV109",
            first.prop_line("FunctionName"),
            f"FunctionName is {resolved[0]!r}, not {expected!r} (config api.function_name)",
            "verify and status read /aws/lambda/<api.function_name> (B30)",
        )


def _depends_on(node: Mapping[str, Any]) -> set[str]:
    value = node.get("DependsOn")
    items = value if isinstance(value, list) else [value]
    return {str(item) for item in items if isinstance(item, str)}


def explicit_log_group(stack: Stack) -> Iterator[Finding]:
    """MV110: each function has its own AWS::Logs::LogGroup /aws/lambda/<name> (B30, C25)."""
    groups = {
        resolve(item.properties.get("LogGroupName"), stack.scope): item
        for item in stack.resources("AWS::Logs::LogGroup")
    }
    for function in stack.resources(*FUNCTIONS):
        name = _function_names(stack).get(function.logical_id)
        if name is None:
            continue
        group = groups.get(f"/aws/lambda/{name}")
        if group is None:
            yield stack.finding(
                "MV110",
                function.line,
                f"no AWS::Logs::LogGroup named /aws/lambda/{name} for {function.logical_id}",
                "declare the log group with RetentionInDays; the function DependsOn it (§5.8)",
            )
        elif group.logical_id not in _depends_on(function.node):
            yield stack.finding(
                "MV110",
                function.line,
                f"{function.logical_id} does not DependsOn its log group {group.logical_id}",
                "without it the function may log into an implicit group that outlives the stack",
                "warning",
            )


def metric_filter_events(stack: Stack) -> Iterator[Finding]:
    """MV111: filters match JSON events the app emits; upstream's never matched (B27, B31)."""
    for item in stack.resources("AWS::Logs::MetricFilter"):
        line = item.prop_line("FilterPattern")
        pattern = resolve(item.properties.get("FilterPattern"), stack.scope)
        if pattern is None:
            yield stack.finding("MV111", line, "FilterPattern cannot be resolved", "", "warning")
            continue
        if not pattern.strip().startswith("{"):
            yield stack.finding(
                "MV111",
                line,
                f"{item.logical_id} matches free text {pattern!r}; the app logs JSON events",
                'use a JSON pattern such as { $.event = "redis.error" } (api.md §15, B27)',
            )
            continue
        named = _EVENT.findall(pattern)
        unknown = [e for e in named if not any(fnmatchcase(app, e) for app in APP_EVENTS)]
        if not named or unknown:
            shown = ", ".join(unknown) if unknown else "no $.event"
            yield stack.finding(
                "MV111",
                line,
                f"{item.logical_id} filters on {shown}, not an event the app emits",
                f"events: {', '.join(sorted(APP_EVENTS))} (api.md §15)",
                "error" if unknown else "warning",
            )
