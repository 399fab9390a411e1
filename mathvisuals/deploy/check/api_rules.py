"""What AWS refuses or runs wrongly in the HTTP API and its alarms (MV170, MV174, MV175)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mathvisuals.deploy.check.findings import Finding
from mathvisuals.deploy.check.resolve import resolve
from mathvisuals.deploy.check.stacks import Stack
from mathvisuals.deploy.check.templates import key_line, line_of

MAX_CORS_AGE = 86400  # API Gateway v2 refuses a larger CorsConfiguration.MaxAge


def payload_format_two(stack: Stack) -> Iterator[Finding]:
    """MV170: format 1.0 events have httpMethod where Mangum reads 2.0's requestContext.http."""
    for integration in stack.resources("AWS::ApiGatewayV2::Integration"):
        props = integration.properties
        if resolve(props.get("IntegrationType"), stack.scope) != "AWS_PROXY":
            continue
        version = resolve(props.get("PayloadFormatVersion"), stack.scope)
        if version != "2.0":
            yield stack.finding(
                "MV170",
                integration.prop_line("PayloadFormatVersion"),
                f"{integration.logical_id} PayloadFormatVersion is {version or 'not set'}, not 2.0",
                "the handler reads 2.0 events; with 1.0 every request turns into a GET; "
                'set PayloadFormatVersion: "2.0"',
            )


def cors_max_age(stack: Stack) -> Iterator[Finding]:
    """MV174: API Gateway refuses CorsConfiguration.MaxAge above 86400 seconds."""
    for api in stack.resources("AWS::ApiGatewayV2::Api"):
        cors = api.properties.get("CorsConfiguration")
        if not isinstance(cors, dict) or "MaxAge" not in cors:
            continue
        value = resolve(cors["MaxAge"], stack.scope)
        try:
            age = int(value) if value is not None else None
        except ValueError:
            age = None
        if age is not None and age > MAX_CORS_AGE:
            yield stack.finding(
                "MV174",
                key_line(cors, "MaxAge", api.prop_line("CorsConfiguration")),
                f"{api.logical_id} CorsConfiguration.MaxAge is {age}",
                f"API Gateway accepts at most {MAX_CORS_AGE} (one day); the update fails",
            )


def _emitted(stack: Stack) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for item in stack.resources("AWS::Logs::MetricFilter"):
        transforms = item.properties.get("MetricTransformations")
        for transform in transforms if isinstance(transforms, list) else []:
            if isinstance(transform, dict):
                namespace = resolve(transform.get("MetricNamespace"), stack.scope)
                name = resolve(transform.get("MetricName"), stack.scope)
                if namespace is not None and name is not None:
                    found.add((namespace, name))
    return found


def _alarm_metrics(props: Mapping[str, Any], line: int) -> Iterator[tuple[object, object, int]]:
    if "MetricName" in props:
        yield props.get("Namespace"), props["MetricName"], key_line(props, "MetricName", line)
    metrics = props.get("Metrics")
    for query in metrics if isinstance(metrics, list) else []:
        stat = query.get("MetricStat") if isinstance(query, dict) else None
        metric = stat.get("Metric") if isinstance(stat, dict) else None
        if isinstance(metric, dict):
            where = key_line(metric, "MetricName", line_of(query, line))
            yield metric.get("Namespace"), metric.get("MetricName"), where


def alarm_metric_emitted(stack: Stack) -> Iterator[Finding]:
    """MV175: an alarm on a custom metric that no metric filter emits stays INSUFFICIENT_DATA."""
    emitted = _emitted(stack)
    for alarm in stack.resources("AWS::CloudWatch::Alarm"):
        for namespace_node, name_node, line in _alarm_metrics(alarm.properties, alarm.line):
            namespace = resolve(namespace_node, stack.scope)
            name = resolve(name_node, stack.scope)
            if namespace is None or name is None or namespace.startswith("AWS/"):
                continue
            if (namespace, name) not in emitted:
                shown = ", ".join(f"{ns}/{n}" for ns, n in sorted(emitted)) or "none"
                yield stack.finding(
                    "MV175",
                    line,
                    f"{alarm.logical_id} watches {namespace}/{name}, which no metric filter emits",
                    f"emitted here: {shown}",
                )
