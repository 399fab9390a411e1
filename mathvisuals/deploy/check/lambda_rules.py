"""What AWS refuses or runs wrongly in the function: handler, wheels, role, env (MV168-MV173)."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import mathvisuals
from mathvisuals.deploy.artifact import lambda_architecture, package_files
from mathvisuals.deploy.check.findings import Finding
from mathvisuals.deploy.check.function_rules import FUNCTIONS
from mathvisuals.deploy.check.resolve import resolve, truthy
from mathvisuals.deploy.check.stacks import Stack
from mathvisuals.deploy.check.templates import Resource, intrinsic, key_line

PACKAGE = Path(mathvisuals.__file__).resolve().parent
VPC_ACCESS_POLICY = "service-role/AWSLambdaVPCAccessExecutionRole"
XRAY_POLICIES = ("AWSXRayDaemonWriteAccess", "AWSXrayWriteOnlyAccess")
XRAY_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
ENI_ACTIONS = frozenset(
    {"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface"}
)


@lru_cache(maxsize=4)
def _artefact_modules(package: Path) -> Mapping[str, Path]:
    """Module name → file for every Python file the artefact builder packs."""
    modules: dict[str, Path] = {}
    for name, path in package_files(package).items():
        if name.endswith(".py"):
            dotted = name.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
            modules[dotted] = path
    return modules


def _defines(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                return True
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        elif isinstance(node, ast.ImportFrom | ast.Import) and any(
            (alias.asname or alias.name) == name for alias in node.names
        ):
            return True
    return False


def handler_in_artefact(stack: Stack, package: Path = PACKAGE) -> Iterator[Finding]:
    """MV168: Handler names a module the artefact packs and a function that module defines."""
    modules = _artefact_modules(package)
    for function in stack.resources(*FUNCTIONS):
        handler = resolve(function.properties.get("Handler"), stack.scope)
        if handler is None:
            continue
        module, _, attribute = handler.rpartition(".")
        path = modules.get(module)
        if path is None or not attribute:
            problem = f"module {module or handler!r} is not in the artefact"
        elif not _defines(path, attribute):
            problem = f"{module} defines no {attribute!r}"
        else:
            continue
        yield stack.finding(
            "MV168",
            function.prop_line("Handler"),
            f"{function.logical_id}.Handler {handler!r}: {problem}",
            "the artefact packs mathvisuals/ without deploy, cli and sandbox; "
            "use mathvisuals.api.lambda_handler.handler",
        )


def architecture_matches_wheels(stack: Stack) -> Iterator[Finding]:
    """MV169: Architectures matches the platform the artefact's wheels were built for."""
    wanted = lambda_architecture()
    for function in stack.resources(*FUNCTIONS):
        node = function.properties.get("Architectures", ["x86_64"])
        items = node if isinstance(node, list) else [node]
        values = [resolve(item, stack.scope) for item in items]
        if None in values or values == [wanted]:
            continue
        yield stack.finding(
            "MV169",
            function.prop_line("Architectures"),
            f"{function.logical_id} runs on {', '.join(v or '' for v in values)} but the "
            f"artefact's wheels are {wanted}",
            f"Architectures: [{wanted}]; compiled wheels (orjson, hiredis) do not load elsewhere",
        )


def _role(function: Resource, stack: Stack) -> Resource | None:
    call = intrinsic(function.properties.get("Role"))
    if call is None or call[0] != "Fn::GetAtt":
        return None
    args = call[1]
    target = args[0] if isinstance(args, list) and args else str(args).split(".", 1)[0]
    return next((r for r in stack.resources("AWS::IAM::Role") if r.logical_id == target), None)


def _managed(role: Resource, stack: Stack) -> list[str]:
    arns = role.properties.get("ManagedPolicyArns")
    return [resolve(arn, stack.scope) or "" for arn in arns] if isinstance(arns, list) else []


def _inline_actions(role: Resource) -> set[str]:
    actions: set[str] = set()
    policies = role.properties.get("Policies")
    for policy in policies if isinstance(policies, list) else []:
        document = policy.get("PolicyDocument") if isinstance(policy, dict) else None
        statements = document.get("Statement") if isinstance(document, dict) else None
        for statement in statements if isinstance(statements, list) else []:
            if isinstance(statement, dict) and statement.get("Effect") == "Allow":
                action = statement.get("Action")
                actions.update(str(a) for a in (action if isinstance(action, list) else [action]))
    return actions


def _allows(actions: set[str], wanted: frozenset[str]) -> bool:
    service = next(iter(wanted)).split(":", 1)[0]
    return wanted <= actions or f"{service}:*" in actions or "*" in actions


def tracing_has_permissions(stack: Stack) -> Iterator[Finding]:
    """MV171: Tracing Active needs xray:PutTraceSegments on the role, or Lambda fails the update."""
    for function in stack.resources(*FUNCTIONS):
        tracing = function.properties.get("TracingConfig")
        mode = resolve(tracing.get("Mode"), stack.scope) if isinstance(tracing, dict) else None
        role = _role(function, stack)
        if mode != "Active" or role is None:
            continue
        managed = any(
            arn.endswith(f"/{name}") for arn in _managed(role, stack) for name in XRAY_POLICIES
        )
        if not managed and not _allows(_inline_actions(role), XRAY_ACTIONS):
            yield stack.finding(
                "MV171",
                key_line(tracing, "Mode", function.prop_line("TracingConfig")),
                f"{function.logical_id} traces Active but {role.logical_id} has no X-Ray "
                "permissions",
                "use Mode: PassThrough (the private subnets cannot reach X-Ray, B21) or grant "
                "AWSXRayDaemonWriteAccess",
            )


def _variables(function: Resource) -> Mapping[str, Any] | None:
    environment = function.properties.get("Environment")
    variables = environment.get("Variables") if isinstance(environment, dict) else None
    return variables if isinstance(variables, dict) else None


def redis_tls_set(stack: Stack) -> Iterator[Finding]:
    """MV172: ElastiCache speaks TLS only (AUTH needs it); the client must be told (REDIS_TLS)."""
    for function in stack.resources(*FUNCTIONS):
        variables = _variables(function)
        if variables is None or not any(str(key).startswith("REDIS_") for key in variables):
            continue
        value = resolve(variables.get("REDIS_TLS"), stack.scope)
        if truthy(value) is True:
            continue
        environment = function.properties["Environment"]
        line = key_line(variables, "REDIS_TLS", key_line(environment, "Variables", function.line))
        yield stack.finding(
            "MV172",
            line,
            f"{function.logical_id} sets REDIS_* but REDIS_TLS is {value or 'not set'}, not true",
            'add REDIS_TLS: "true"; without it the client speaks plain text to a TLS-only port',
        )


def role_has_vpc_access(stack: Stack) -> Iterator[Finding]:
    """MV173: a function in a VPC needs the ENI permissions of AWSLambdaVPCAccessExecutionRole."""
    for function in stack.resources(*FUNCTIONS):
        role = _role(function, stack)
        if "VpcConfig" not in function.properties or role is None:
            continue
        managed = any(arn.endswith(f"/{VPC_ACCESS_POLICY}") for arn in _managed(role, stack))
        if not managed and not _allows(_inline_actions(role), ENI_ACTIONS):
            yield stack.finding(
                "MV173",
                role.prop_line("ManagedPolicyArns"),
                f"{role.logical_id} lacks AWSLambdaVPCAccessExecutionRole but "
                f"{function.logical_id} runs in a VPC",
                "CloudFormation fails the create: the role cannot create the function's ENIs",
            )
