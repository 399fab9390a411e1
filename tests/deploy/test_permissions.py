"""The one permission table covers every AWS call of the gateways and every schema permission
of our resource types; the bootstrap policy and `plan`'s simulation both come from it."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
from pathlib import Path

import boto3
import pytest
import yaml

from mathvisuals.deploy import aws, bootstrap, permissions
from mathvisuals.deploy.check.bootstrap import bootstrap_findings
from mathvisuals.deploy.config import EnvironmentConfig, load_config

AWS_DIR = Path(aws.__file__).parent
PROD = Path("infra/environments/prod.toml")


@pytest.fixture(scope="module")
def prod() -> EnvironmentConfig:
    return load_config(PROD)


def _client_services() -> dict[str, dict[str, str]]:
    """Gateway class -> {``self._attr`` or the bare name ``client``: boto3 service}, from
    ``connect``'s ``AwsX(client("svc"), ...)`` calls and each ``__init__``'s assignments."""
    tree = ast.parse((AWS_DIR / "__init__.py").read_text())
    params: dict[str, dict[str, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            cls = getattr(aws, node.func.id, None)
            if not inspect.isclass(cls) or not node.func.id.startswith("Aws"):
                continue
            names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
            for name, arg in zip(names, node.args, strict=False):
                if (
                    isinstance(arg, ast.Call)
                    and isinstance(arg.func, ast.Name)
                    and arg.func.id == "client"
                ):
                    params.setdefault(node.func.id, {})[name] = arg.args[0].value  # type: ignore[attr-defined]
    _built_by_gateways(params)
    found: dict[str, dict[str, str]] = {}
    for path in AWS_DIR.glob("*.py"):
        for cls in ast.walk(ast.parse(path.read_text())):
            if isinstance(cls, ast.ClassDef) and cls.name in params:
                found[cls.name] = _assigned(cls, params[cls.name])
    return found


def _assigned(cls: ast.ClassDef, params: dict[str, str]) -> dict[str, str]:
    """``self._attr = param`` in a gateway class, mapped to the param's service."""
    attrs: dict[str, str] = {}
    for node in ast.walk(cls):
        if not isinstance(node, ast.Assign):
            continue
        targets = node.targets[0]
        pairs = (
            zip(targets.elts, node.value.elts, strict=True)  # type: ignore[attr-defined]
            if isinstance(targets, ast.Tuple)
            else [(targets, node.value)]
        )
        for target, value in pairs:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(value, ast.Name)
                and value.id in params
            ):
                attrs[target.attr] = params[value.id]
    if "_client" in attrs:
        attrs["client"] = attrs["_client"]  # stacks_elsewhere's per-region clients
    return attrs


def _built_by_gateways(params: dict[str, dict[str, str]]) -> None:
    """A gateway that builds another on its own client (AwsCloudFormation → AwsDrift)."""
    for path in AWS_DIR.glob("*.py"):
        for outer in ast.walk(ast.parse(path.read_text())):
            if not isinstance(outer, ast.ClassDef):
                continue
            services = set(params.get(outer.name, {}).values())
            if len(services) != 1:
                continue
            for node in ast.walk(outer):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                inner = _aws_class(node.func.id)
                if inner is None or not node.args:
                    continue
                first = next(iter(inspect.signature(inner).parameters))
                params.setdefault(node.func.id, {})[first] = next(iter(services))


def _aws_class(name: str) -> type | None:
    if not name.startswith("Aws"):
        return None
    for path in AWS_DIR.glob("*.py"):
        module = importlib.import_module(f"mathvisuals.deploy.aws.{path.stem}")
        found = getattr(module, name, None)
        if inspect.isclass(found):
            return found
    return None


def gateway_operations() -> set[tuple[str, str]]:
    """(service, Operation) for every boto3 client method or paginator the gateways call."""
    services = _client_services()
    snake: set[tuple[str, str]] = set()
    for path in AWS_DIR.glob("*.py"):
        for cls in ast.walk(ast.parse(path.read_text())):
            if not isinstance(cls, ast.ClassDef) or cls.name not in services:
                continue
            for node in ast.walk(cls):
                if not (isinstance(node, ast.Attribute)):
                    continue
                receiver = node.value
                key = (
                    receiver.attr
                    if isinstance(receiver, ast.Attribute)
                    and isinstance(receiver.value, ast.Name)
                    and receiver.value.id == "self"
                    else receiver.id
                    if isinstance(receiver, ast.Name)
                    else None
                )
                service = services[cls.name].get(key or "")
                if service is None:
                    continue
                snake.add((service, node.attr))
            for node in ast.walk(cls):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "get_paginator"
                ):
                    receiver = node.func.value
                    key = receiver.attr if isinstance(receiver, ast.Attribute) else receiver.id  # type: ignore[attr-defined]
                    snake.add((services[cls.name][key], node.args[0].value))  # type: ignore[attr-defined]
    operations: set[tuple[str, str]] = set()
    for service, method in snake:
        client = boto3.client(
            service, region_name="eu-north-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        mapping = client.meta.method_to_api_mapping
        if method in mapping:
            operations.add((service, mapping[method]))
        else:
            # generate_presigned_url signs locally; the signed call needs its own action.
            local = ("get_paginator", "meta", "generate_presigned_url")
            assert method in local, f"{service}.{method} is not an API call"
    return operations


def test_every_gateway_call_is_in_the_table() -> None:
    operations = gateway_operations()
    # The walk sees the calls the issue found missing, so it is not vacuous.
    assert {
        ("cloudformation", "ListChangeSets"),
        ("cloudformation", "ListStackResources"),
        ("cloudformation", "ListStacks"),
        ("s3", "PutBucketVersioning"),
        ("elasticache", "ListTagsForResource"),
        ("ec2", "DescribeSecurityGroups"),
        ("cloudwatch", "DescribeAlarms"),
        ("iam", "GetRole"),
        ("lambda", "Invoke"),
        ("cloudformation", "DetectStackDrift"),  # built by AwsCloudFormation, not connect
    } <= operations
    assert len(operations) > 40
    missing = sorted(
        permissions.action_for(service, op)
        for service, op in operations
        if permissions.action_for(service, op) not in permissions.TOOL_ACTIONS
    )
    assert missing == []


def test_the_table_names_no_call_the_gateways_do_not_make() -> None:
    made = {permissions.action_for(s, op) for s, op in gateway_operations()}
    assert sorted(set(permissions.TOOL_ACTIONS) - made) == []


def test_resource_types_are_those_of_our_templates() -> None:
    types = set()
    for role in ("shared", "data", "api"):
        text = Path(f"infra/{role}/template.yaml").read_text()
        types |= {
            line.split("Type:")[1].strip() for line in text.splitlines() if "Type: AWS::" in line
        }
    assert types == set(permissions.RESOURCE_TYPES)


def test_every_schema_permission_is_granted_or_explained(prod: EnvironmentConfig) -> None:
    schema = permissions.schema_permissions()
    assert "iam:CreateServiceLinkedRole" in schema["AWS::ElastiCache::ReplicationGroup"]
    granted = {a for g in permissions.grants(prod) for a in g.actions}
    for kind, perms in schema.items():
        for permission in perms:
            action = permissions._normal(permission)
            assert action in granted or permissions._not_needed(action), (kind, action)


def test_scopes_are_least_privilege(prod: EnvironmentConfig) -> None:
    by_action = {a: g for g in permissions.grants(prod) for a in g.actions}
    account, region = prod.env.account_id, prod.env.region
    assert by_action["iam:PassRole"].resources == (
        f"arn:aws:iam::{account}:role/math-visuals-api-*",
    )
    assert by_action["iam:PassRole"].condition == {
        "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}
    }
    assert by_action["iam:CreateServiceLinkedRole"].condition == {
        "StringEquals": {"iam:AWSServiceName": "elasticache.amazonaws.com"}
    }
    assert by_action["secretsmanager:GetSecretValue"].resources == (
        f"arn:aws:secretsmanager:{region}:{account}:secret:math-visuals/prod/*",
    )
    assert by_action["ssm:PutParameter"].resources == (
        f"arn:aws:ssm:{region}:{account}:parameter/math-visuals/prod/*",
    )
    assert set(by_action["s3:PutObject"].resources) == {
        "arn:aws:s3:::math-visuals-artifacts-eu-north-1",
        "arn:aws:s3:::math-visuals-artifacts-eu-north-1/*",
    }
    assert by_action["logs:CreateLogDelivery"].condition["StringEquals"] == {
        "aws:RequestedRegion": region
    }
    # The role can read itself, but never rewrite or delete itself.
    own = f"arn:aws:iam::{account}:role/math-visuals-deploy-prod"
    for action in ("iam:PutRolePolicy", "iam:DeleteRole", "iam:UpdateAssumeRolePolicy"):
        assert own not in by_action[action].resources
    assert "sts:GetCallerIdentity" not in by_action
    # The static site's stack is read in its own region.
    assert (
        f"arn:aws:cloudformation:eu-west-1:{account}:stack/math-visuals-static-site/*"
        in by_action["cloudformation:DescribeStacks"].resources
    )
    assert not any("static-site" in r for r in by_action["cloudformation:DeleteStack"].resources)


def rendered_statements(text: str) -> list[dict[str, object]]:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    body = yaml.load(text, Loader=Loader)
    return [
        statement
        for resource in body["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_rendered_bootstrap_policy_covers_the_table(prod: EnvironmentConfig) -> None:
    text = bootstrap.render(bootstrap.TEMPLATE.read_text(), prod)
    statements = rendered_statements(text)
    assert permissions.uncovered(prod, statements) == []
    assert permissions.too_broad(statements) == []
    for grant in permissions.grants(prod):
        resource, _ = grant.simulation()
        for action in grant.actions:
            assert permissions.allows(statements, action, resource)
    # Each managed policy stays under IAM's 6,144-character limit.
    for part in bootstrap.split_statements(permissions.policy_statements(prod)):
        assert (
            len(json.dumps({"Version": "2012-10-17", "Statement": part}, separators=(",", ":")))
            <= 6144
        )
    # A wrong resource is not covered: the scope matters, not just the action name.
    assert not permissions.allows(
        statements,
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:eu-north-1:1:secret:other/x",
    )


def test_the_trust_names_the_workflows_environment_subject(prod: EnvironmentConfig) -> None:
    params = bootstrap.parameters(prod, str(PROD), create_oidc=True)
    assert params["GitHubSubject"] == "repo:lyngner/math_visuals:environment:prod"
    assert params["DeployRoleName"] == "math-visuals-deploy-prod"
    workflow = yaml.safe_load(Path(".github/workflows/deploy.yml").read_text())
    assert "inputs.env || 'prod'" in workflow["jobs"]["deploy"]["environment"]


def mutated(tmp_path: Path, old: str, new: str) -> Path:
    text = bootstrap.TEMPLATE.read_text()
    assert old in text
    path = tmp_path / "template.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        (
            "        Status: Enabled\n      PublicAccess",
            "        Status: Suspended\n      PublicAccess",
            "MV300",
        ),
        ("        RestrictPublicBuckets: true", "        RestrictPublicBuckets: false", "MV300"),
        (
            '                aws:SecureTransport: "false"',
            '                aws:SecureTransport: "true"',
            "MV300",
        ),
        (
            "token.actions.githubusercontent.com:sub: !Ref",
            "token.actions.githubusercontent.com:subject: !Ref",
            "MV301",
        ),
        ("MaxSessionDuration: 10800", "MaxSessionDuration: 3600", "MV302"),
        ("Statement: [] # deploy-policy-2", "Statement: []", "MV303"),
    ],
)
def test_check_catches_a_weakened_bootstrap_template(
    prod: EnvironmentConfig, tmp_path: Path, old: str, new: str, rule: str
) -> None:
    clean = bootstrap_findings(prod, bootstrap.TEMPLATE, lint=False)
    assert clean == []
    findings = bootstrap_findings(prod, mutated(tmp_path, old, new), lint=False)
    assert rule in {f.rule for f in findings}, findings
    assert all(f.line >= 1 and f.file == str(tmp_path / "template.yaml") for f in findings)


def test_check_lints_the_rendered_bootstrap_template(prod: EnvironmentConfig) -> None:
    assert bootstrap_findings(prod, bootstrap.TEMPLATE) == []


def test_a_wildcard_grant_is_too_broad() -> None:
    statements = [{"Effect": "Allow", "Action": ["iam:*", "s3:GetObject"], "Resource": "*"}]
    assert permissions.too_broad(statements) == ["iam:*"]
    assert permissions.too_broad([{"Effect": "Deny", "Action": "*", "Resource": "*"}]) == []
