"""The deploy role's permissions: ONE table, read by the bootstrap policy and `plan`'s simulation.

``TOOL_ACTIONS`` is every IAM action the CLI itself calls (tests/deploy/test_permissions.py
walks the AWS gateways and fails on a call missing here). ``on_behalf_actions`` is what
CloudFormation calls with the caller's credentials for our resource types: the
create/read/update/delete handler permissions of their resource schemas (shipped with
cfn-lint), minus ``NOT_NEEDED``, plus the HTTP API's access-log delivery and the function's
ENIs. ``SCOPES`` says where each action may act: a row per named action set, and a default
row per service for the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from typing import Any

from mathvisuals.deploy.config import EnvironmentConfig

# The resource types of infra/{shared,data,api}/template.yaml (a test keeps this in step).
RESOURCE_TYPES = (
    "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Integration", "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Stage", "AWS::CloudWatch::Alarm", "AWS::EC2::SecurityGroup",
    "AWS::EC2::Subnet", "AWS::EC2::VPC", "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::SubnetGroup", "AWS::IAM::Role", "AWS::Lambda::Alias",
    "AWS::Lambda::Function", "AWS::Lambda::Permission", "AWS::Lambda::Version",
    "AWS::Logs::LogGroup", "AWS::Logs::MetricFilter", "AWS::SNS::Topic", "AWS::SSM::Parameter",
)  # fmt: skip
STACK_HANDLERS = ("create", "read", "update", "delete")  # "list" serves discovery, not stacks

TOOL_ACTIONS = (
    # up, plan, status, down: stacks, change sets, exports (ListStacks in every region for B-rules)
    "cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet",
    "cloudformation:ExecuteChangeSet", "cloudformation:DeleteChangeSet",
    "cloudformation:ListChangeSets", "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents", "cloudformation:GetTemplate",
    "cloudformation:UpdateStack", "cloudformation:DeleteStack",
    "cloudformation:ContinueUpdateRollback", "cloudformation:ListStackResources",
    "cloudformation:ListExports", "cloudformation:ListImports", "cloudformation:ListStacks",
    "cloudformation:UpdateTerminationProtection", "cloudformation:SetStackPolicy",
    # the auth secret and the parameters we write (allow-lists) or read (endpoint, port)
    "secretsmanager:CreateSecret", "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage", "secretsmanager:DeleteSecret",
    "ssm:GetParameters", "ssm:PutParameter",
    "ssm:AddTagsToResource", "ssm:ListTagsForResource", "ssm:DeleteParameter",
    # who deploys, and the permission simulation itself
    "sts:GetCallerIdentity", "iam:SimulatePrincipalPolicy", "iam:GetRole",
    # the artefact bucket: created when bootstrap did not, artefacts, the deploy lock
    "s3:CreateBucket", "s3:PutBucketPublicAccessBlock", "s3:PutBucketVersioning",
    "s3:PutBucketTagging", "s3:GetBucketLocation", "s3:ListBucket", "s3:GetObject",
    "s3:PutObject", "s3:DeleteObject",
    # verify, status and rotate-token
    "elasticache:DescribeReplicationGroups", "elasticache:ListTagsForResource",
    "elasticache:ModifyReplicationGroup", "elasticache:CreateSnapshot",
    "elasticache:DescribeSnapshots", "lambda:GetFunctionConfiguration", "lambda:InvokeFunction",
    "logs:FilterLogEvents", "ec2:DescribeSecurityGroups", "cloudwatch:DescribeAlarms",
    "sns:ListSubscriptionsByTopic", "sns:Subscribe",
    # verify V1 and status: drift detection (IAM counts DetectStackDrift as a write)
    "cloudformation:DetectStackDrift", "cloudformation:DescribeStackDriftDetectionStatus",
    "cloudformation:DescribeStackResourceDrifts",
    # data export/import: the backups/<env>/ lifecycle rule (pages are presigned GET/PUT)
    "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration",
)  # fmt: skip

# A boto3 operation authorised by an action of another name ("service:Operation" -> action).
OPERATION_ACTIONS: Mapping[str, str] = {
    "lambda:Invoke": "lambda:InvokeFunction",
    "s3:HeadObject": "s3:GetObject",
    "s3:HeadBucket": "s3:ListBucket",
    "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3:GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "s3:PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
}


def action_for(service: str, operation: str) -> str:
    """The IAM action a boto3 call of ``service`` needs (our services' prefixes are their names)."""
    call = f"{service}:{operation}"
    return OPERATION_ACTIONS.get(call, call)


# Schema permissions for features our templates leave off, each with the reason.
NOT_NEEDED: Mapping[str, str] = {
    "kms:*": "no customer-managed KMS key: SSE with AWS-owned keys",
    "firehose:*": "no log delivery to Kinesis Data Firehose",
    "elasticfilesystem:*": "no EFS mount on the function",
    "s3files:*": "no S3 file system on the function",
    "s3:REST.PUT.OBJECT": "not an IAM action (a schema typo)",
    "logs:CreateLogStream": "ElastiCache slow/engine log delivery is off",
    "logs:PutLogEvents": "ElastiCache slow/engine log delivery is off",
    "ec2:CreateVpcEncryptionControl": "no VPC encryption control",
    "ec2:DescribeVpcEncryptionControls": "no VPC encryption control",
    "lambda:PassCapacityProvider": "no Lambda capacity provider",
    "lambda:GetLayerVersion": "no layers",
    "codedeploy:*": "the SnapStart alias moves in one step: no CodeDeploy traffic shifting",
    "logs:PutBearerTokenAuthentication": "no bearer-token log ingestion",
    # Listed by the schemas but not IAM actions (cfn-lint's IAM action list refuses them):
    # API Gateway authorises tagging as POST/PUT/DELETE on /tags/*.
    "lambda:AssociateRuntimeAlias": "not an IAM action",
    "apigateway:TagResource": "not an IAM action: apigateway:POST on /tags/*",
    "apigateway:UntagResource": "not an IAM action: apigateway:DELETE on /tags/*",
}

# What API Gateway needs from the caller to set up a stage's access logs to CloudWatch Logs.
ACCESS_LOG_DELIVERY = (
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
)  # fmt: skip

# A VPC function's ENIs: Lambda manages them, and a stack delete waits on their cleanup.
LAMBDA_VPC_ENI = (
    "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces", "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)  # fmt: skip

NO_PERMISSION_NEEDED = frozenset({"sts:GetCallerIdentity"})  # never denied, cannot be simulated
SLR = "role/aws-service-role/elasticache.amazonaws.com/AWSServiceRoleForElastiCache"
VPC_ACCESS_POLICY = "arn:{p}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
REGION_ONLY = {"StringEquals": {"aws:RequestedRegion": "{r}"}}


@dataclass(frozen=True)
class Scope:
    """Where ``actions`` (or, when empty, every other action of ``service``) may act."""

    service: str
    resources: tuple[str, ...]
    actions: tuple[str, ...] = ()
    condition: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


# {p} partition, {r} region, {a} account, {env}, {bucket}, {fn} function, {api} api stack,
# {stacks} each of our stacks, {static} the static site's (in its region), {role} the deploy
# role, {topic} the alarm topic.
_OURS = "arn:{p}:cloudformation:{r}:{a}:stack/{stacks}/*"
SCOPES = (
    Scope(
        "cloudformation",
        (_OURS, "arn:{p}:cloudformation:{r}:{a}:stack/{static}/*"),
        ("cloudformation:DescribeStacks",),
    ),
    Scope("cloudformation", (_OURS,)),
    Scope(
        "cloudformation",
        ("*",),
        ("cloudformation:ListExports", "cloudformation:ListImports", "cloudformation:ListStacks"),
    ),
    Scope("secretsmanager", ("arn:{p}:secretsmanager:{r}:{a}:secret:math-visuals/{env}/*",)),
    Scope("ssm", ("arn:{p}:ssm:{r}:{a}:parameter/math-visuals/{env}/*",)),
    Scope("ssm", ("*",), ("ssm:DescribeParameters",), REGION_ONLY),
    Scope("sts", ("*",)),
    Scope("iam", ("arn:{p}:iam::{a}:role/{role}",), ("iam:SimulatePrincipalPolicy",)),
    Scope(
        "iam", ("arn:{p}:iam::{a}:role/{role}", "arn:{p}:iam::{a}:role/{api}-*"), ("iam:GetRole",)
    ),
    Scope(
        "iam",
        ("arn:{p}:iam::{a}:role/{api}-*",),
        ("iam:PassRole",),
        {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
    ),
    Scope(
        "iam",
        ("arn:{p}:iam::{a}:role/{api}-*",),
        ("iam:AttachRolePolicy", "iam:DetachRolePolicy"),
        {"ArnEquals": {"iam:PolicyARN": VPC_ACCESS_POLICY}},
    ),
    Scope(
        "iam",
        (f"arn:{{p}}:iam::{{a}}:{SLR}",),
        ("iam:CreateServiceLinkedRole",),
        {"StringEquals": {"iam:AWSServiceName": "elasticache.amazonaws.com"}},
    ),
    Scope("iam", ("arn:{p}:iam::{a}:role/{api}-*",)),
    Scope("s3", ("arn:{p}:s3:::{bucket}", "arn:{p}:s3:::{bucket}/*")),
    Scope("ec2", ("*",), condition=REGION_ONLY),
    Scope("elasticache", ("*",), condition=REGION_ONLY),
    Scope("lambda", (
        "arn:{p}:lambda:{r}:{a}:function:{fn}", "arn:{p}:lambda:{r}:{a}:function:{fn}:*",
    )),
    Scope("apigateway", (
        "arn:{p}:apigateway:{r}::/apis", "arn:{p}:apigateway:{r}::/apis/*",
        "arn:{p}:apigateway:{r}::/tags/*",
    )),
    Scope("logs", ("*",), ACCESS_LOG_DELIVERY, REGION_ONLY),
    Scope(
        "logs",
        (
            "arn:{p}:logs:{r}:{a}:log-group:/aws/lambda/{fn}",
            "arn:{p}:logs:{r}:{a}:log-group:/aws/lambda/{fn}:*",
            "arn:{p}:logs:{r}:{a}:log-group:/aws/apigateway/{fn}/*",
        ),
    ),
    Scope("cloudwatch", ("*",), ("cloudwatch:DescribeAlarms",), REGION_ONLY),
    Scope("cloudwatch", ("arn:{p}:cloudwatch:{r}:{a}:alarm:{api}-*",)),
    Scope("sns", ("arn:{p}:sns:{r}:{a}:{topic}",)),
)  # fmt: skip


@cache
def schema_permissions(region: str = "us-east-1") -> dict[str, tuple[str, ...]]:
    """Resource type -> its stack handlers' permissions, from cfn-lint's provider schemas."""
    schemas = resources.files("cfnlint").joinpath("data", "schemas")
    provider = schemas.joinpath("providers", f"{region}.json")
    if not provider.is_file():  # a region cfn-lint does not know: check reports it
        provider = schemas.joinpath("providers", "us-east-1.json")
    index = json.loads(provider.read_text("utf-8"))
    found: dict[str, tuple[str, ...]] = {}
    for kind in RESOURCE_TYPES:
        schema = json.loads(schemas.joinpath("resources", f"{index[kind]}.json").read_text("utf-8"))
        handlers = schema.get("handlers", {})
        found[kind] = tuple(
            sorted({p for h in STACK_HANDLERS for p in handlers.get(h, {}).get("permissions", [])})
        )
    return found


def _normal(action: str) -> str:
    service, _, name = action.partition(":")
    return f"{service.lower()}:{name[:1].upper()}{name[1:]}"


def _not_needed(action: str) -> bool:
    service = action.split(":", 1)[0]
    return action in NOT_NEEDED or f"{service}:*" in NOT_NEEDED


def on_behalf_actions(region: str = "us-east-1") -> tuple[str, ...]:
    """What CloudFormation calls with the caller's credentials for our resource types."""
    actions = {_normal(p) for perms in schema_permissions(region).values() for p in perms}
    return tuple(
        sorted(
            {a for a in actions if not _not_needed(a)}
            | set(ACCESS_LOG_DELIVERY)
            | set(LAMBDA_VPC_ENI)
        )
    )


def all_actions(region: str = "us-east-1") -> tuple[str, ...]:
    return tuple(sorted(set(TOOL_ACTIONS) | set(on_behalf_actions(region))))


@dataclass(frozen=True)
class Grant:
    """One policy statement: actions on resources, under a condition."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Mapping[str, Mapping[str, str]]

    def statement(self, sid: str) -> dict[str, object]:
        body: dict[str, object] = {
            "Sid": sid,
            "Effect": "Allow",
            "Action": list(self.actions),
            "Resource": list(self.resources) if len(self.resources) > 1 else self.resources[0],
        }
        if self.condition:
            body["Condition"] = {k: dict(v) for k, v in self.condition.items()}
        return body

    def simulation(self) -> tuple[str, dict[str, str]]:
        """A resource ARN in scope (``*`` read as a name) and the context keys the call carries."""
        resource = self.resources[0]
        sample = resource if resource == "*" else resource.replace("*", "example")
        context = {key: value for test in self.condition.values() for key, value in test.items()}
        return sample, context


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def deploy_role_name(config: EnvironmentConfig) -> str:
    return f"math-visuals-deploy-{config.name}"


def _values(config: EnvironmentConfig) -> dict[str, str]:
    region = config.env.region
    return {
        "p": partition(region),
        "r": region,
        "a": config.env.account_id,
        "env": config.name,
        "bucket": config.api.artifact_bucket,
        "fn": config.api.function_name,
        "api": config.stacks.api,
        "role": deploy_role_name(config),
        "topic": config.alarm_topic_name,
    }


def _render(text: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"{{{key}}}", value)
    return text


def _expand(pattern: str, config: EnvironmentConfig, values: Mapping[str, str]) -> Iterator[str]:
    if "{static}" in pattern:  # read only (its domain joins the allow-list), maybe elsewhere
        if config.stacks.static_site:
            region = config.stacks.static_site_region or config.env.region
            yield _render(
                pattern.replace("{static}", config.stacks.static_site), {**values, "r": region}
            )
        return
    if "{stacks}" not in pattern:
        yield _render(pattern, values)
        return
    for stack in (config.stacks.shared, config.stacks.data, config.stacks.api):
        yield _render(pattern.replace("{stacks}", stack), values)


def grants(config: EnvironmentConfig, actions: tuple[str, ...] | None = None) -> list[Grant]:
    """The table's actions (default: all), each placed in the first scope that names it or
    else in its service's default scope; raises ``KeyError`` for a service with no scope."""
    wanted = [
        a for a in (actions or all_actions(config.env.region)) if a not in NO_PERMISSION_NEEDED
    ]
    placed: dict[int, list[str]] = {}
    for action in wanted:
        service = action.split(":", 1)[0]
        named = [i for i, s in enumerate(SCOPES) if action in s.actions]
        default = [i for i, s in enumerate(SCOPES) if s.service == service and not s.actions]
        if not named and not default:
            raise KeyError(f"no scope for {action}")
        placed.setdefault((named or default)[0], []).append(action)
    values = _values(config)
    found = []
    for index in sorted(placed):
        scope = SCOPES[index]
        arns = tuple(arn for pattern in scope.resources for arn in _expand(pattern, config, values))
        condition = {
            test: {key: _render(value, values) for key, value in pairs.items()}
            for test, pairs in scope.condition.items()
        }
        found.append(Grant(tuple(sorted(placed[index])), arns, condition))
    return found


def policy_statements(config: EnvironmentConfig) -> list[dict[str, object]]:
    return [grant.statement(f"Deploy{i:02d}") for i, grant in enumerate(grants(config), 1)]


def allows(statements: Sequence[Mapping[str, Any]], action: str, resource: str) -> bool:
    """Whether an Allow statement matches ``action`` on ``resource`` (IAM wildcards; no Deny,
    conditions taken as met: the simulation supplies their context)."""
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatchcase(action.lower(), str(a).lower()) for a in actions) and any(
            fnmatchcase(resource, str(r)) for r in resources
        ):
            return True
    return False


def uncovered(config: EnvironmentConfig, statements: Sequence[Mapping[str, Any]]) -> list[str]:
    """Table actions the statements do not allow where the table scopes them."""
    missing = []
    for grant in grants(config):
        resource, _ = grant.simulation()
        missing += [a for a in grant.actions if not allows(statements, a, resource)]
    return missing


def too_broad(statements: Sequence[Mapping[str, Any]]) -> list[str]:
    """Allowed action patterns like ``*`` or ``iam:*``: never least privilege."""
    found = []
    for statement in statements:
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            if statement.get("Effect") == "Allow" and str(action).split(":")[-1] == "*":
                found.append(str(action))
    return found
