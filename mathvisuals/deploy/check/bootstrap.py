"""``check`` on infra/bootstrap/template.yaml, rendered for the environment as `bootstrap` does.

cfn-lint runs on the rendered text (its IAM rules see the real statements); our rules hold the
bucket, the trust and the session to what deploy.md and the workflow need (MV300-MV304).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mathvisuals.deploy import bootstrap, permissions
from mathvisuals.deploy.check.findings import Finding
from mathvisuals.deploy.check.lint import lint_template
from mathvisuals.deploy.check.templates import Resource, Template, decode_template
from mathvisuals.deploy.config import EnvironmentConfig

MIN_SESSION_SECONDS = 7200  # a data-stack create: ElastiCache alone takes 15-25 minutes
OIDC = "token.actions.githubusercontent.com"


def bootstrap_findings(
    config: EnvironmentConfig, path: Path, *, lint: bool = True
) -> list[Finding]:
    try:
        text = path.read_text(encoding="utf-8")
        rendered = bootstrap.render(text, config)
    except OSError as exc:
        return [Finding("MV100", str(path), 1, f"the bootstrap template cannot be read: {exc}")]
    except ValueError as exc:
        return [Finding("MV303", str(path), 1, str(exc), "restore the policy placeholders")]
    template = decode_template(rendered, path, "bootstrap")
    findings = list(template.problems)
    if template.body is None:
        return findings
    if lint:
        findings += lint_template(template, config.env.region)
    by_type: dict[str, list[Resource]] = {}
    for resource in template.resources():
        by_type.setdefault(resource.type, []).append(resource)
    findings += _bucket(template, by_type)
    findings += _role(template, by_type)
    findings += _policy(config, template, by_type)
    return findings


def _bucket(template: Template, by_type: Mapping[str, list[Resource]]) -> list[Finding]:
    found: list[Finding] = []
    buckets = by_type.get("AWS::S3::Bucket", [])
    if len(buckets) != 1:
        return [Finding("MV300", template.file, 1, "the bootstrap stack needs one artefact bucket")]
    bucket = buckets[0]
    props = bucket.properties
    block = props.get("PublicAccessBlockConfiguration") or {}
    wanted = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    problems = {
        "BucketEncryption": "not encrypted" if not props.get("BucketEncryption") else "",
        "VersioningConfiguration": "not versioned"
        if (props.get("VersioningConfiguration") or {}).get("Status") != "Enabled"
        else "",
        "PublicAccessBlockConfiguration": "public access not fully blocked"
        if not all(block.get(key) is True for key in wanted)
        else "",
        "LifecycleConfiguration": "no lifecycle rule for old artefacts"
        if not (props.get("LifecycleConfiguration") or {}).get("Rules")
        else "",
    }
    for key, problem in problems.items():
        if problem:
            line = bucket.prop_line(key) if key in props else bucket.line
            found.append(Finding("MV300", template.file, line, f"{bucket.logical_id}: {problem}"))
    policies = by_type.get("AWS::S3::BucketPolicy", [])
    if not any(_denies_plain_http(p.properties.get("PolicyDocument")) for p in policies):
        found.append(
            Finding(
                "MV300",
                template.file,
                bucket.line,
                f"{bucket.logical_id}: no bucket policy denies requests without TLS",
                "Deny s3:* when aws:SecureTransport is false",
            )
        )
    return found


def _denies_plain_http(document: Any) -> bool:
    statements = (document or {}).get("Statement", []) if isinstance(document, dict) else []
    return any(
        s.get("Effect") == "Deny"
        and str((s.get("Condition") or {}).get("Bool", {}).get("aws:SecureTransport")).lower()
        == "false"
        for s in statements
        if isinstance(s, dict)
    )


def _role(template: Template, by_type: Mapping[str, list[Resource]]) -> list[Finding]:
    found: list[Finding] = []
    for role in by_type.get("AWS::IAM::Role", []):
        props = role.properties
        session = props.get("MaxSessionDuration", 3600)
        if not isinstance(session, int) or session < MIN_SESSION_SECONDS:
            found.append(
                Finding(
                    "MV302",
                    template.file,
                    role.prop_line("MaxSessionDuration")
                    if "MaxSessionDuration" in props
                    else role.line,
                    f"{role.logical_id}: MaxSessionDuration {session} s ends before a data-stack "
                    "create can finish",
                    f"at least {MIN_SESSION_SECONDS}",
                )
            )
        trust = props.get("AssumeRolePolicyDocument") or {}
        for statement in trust.get("Statement", []) if isinstance(trust, dict) else []:
            if statement.get("Action") != "sts:AssumeRoleWithWebIdentity":
                continue
            equals = (statement.get("Condition") or {}).get("StringEquals") or {}
            if equals.get(f"{OIDC}:aud") != "sts.amazonaws.com" or f"{OIDC}:sub" not in equals:
                found.append(
                    Finding(
                        "MV301",
                        template.file,
                        role.prop_line("AssumeRolePolicyDocument"),
                        f"{role.logical_id}: the OIDC trust must pin aud sts.amazonaws.com and "
                        "the exact sub with StringEquals",
                        "sub: repo:<owner>/<repo>:environment:<environment>",
                    )
                )
    return found


def _policy(
    config: EnvironmentConfig, template: Template, by_type: Mapping[str, list[Resource]]
) -> list[Finding]:
    statements: list[Mapping[str, Any]] = []
    for kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy", "AWS::IAM::Policy"):
        for resource in by_type.get(kind, []):
            document = resource.properties.get("PolicyDocument") or {}
            statements += document.get("Statement", []) if isinstance(document, dict) else []
    found: list[Finding] = []
    missing = permissions.uncovered(config, statements)
    if missing:
        found.append(
            Finding(
                "MV303",
                template.file,
                1,
                f"the deploy role lacks {len(missing)} action(s) of the permission table: "
                + ", ".join(missing[:5]),
                "keep the policy placeholders; mathvisuals/deploy/permissions.py fills them",
            )
        )
    broad = permissions.too_broad(statements)
    if broad:
        found.append(
            Finding(
                "MV304",
                template.file,
                1,
                f"the deploy role allows {', '.join(sorted(set(broad)))}: not least privilege",
                "name the actions in mathvisuals/deploy/permissions.py",
            )
        )
    return found
