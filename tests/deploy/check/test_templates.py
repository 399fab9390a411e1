"""Decoding with line marks, dynamic-reference scanning and offline resolution."""

from __future__ import annotations

from pathlib import Path

from mathvisuals.deploy.check.resolve import Scope, resolve, truthy
from mathvisuals.deploy.check.rules import split_reference
from mathvisuals.deploy.check.templates import decode_template, dynamic_references

TEXT = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
Resources:
  Param:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub /math-visuals/${Env}/x
      Type: String
      Value: !Sub
        - "{{resolve:secretsmanager:${Name}:SecretString:authToken::${Version}}}"
        - Name: !Ref Env
      Description: "{{resolve:ssm:/a/b:3}} and {{resolve:ssm:/c}}"
"""


def test_lines_are_one_based_and_point_at_keys() -> None:
    template = decode_template(TEXT, Path("t.yaml"), "shared")
    (resource,) = template.resources()
    assert (resource.logical_id, resource.type, resource.line) == (
        "Param",
        "AWS::SSM::Parameter",
        6,
    )
    assert resource.prop_line("Name") == 9
    assert resource.prop_line("Missing") == 6
    assert template.parameter_line("Env") == 3


def test_dynamic_references_inside_sub_and_plain_strings() -> None:
    template = decode_template(TEXT, Path("t.yaml"), "shared")
    refs = list(dynamic_references(template.body))
    assert [(ref.service, ref.line, ref.in_sub) for ref in refs] == [
        ("secretsmanager", 12, True),
        ("ssm", 14, False),
        ("ssm", 14, False),
    ]
    assert refs[0].body == "secretsmanager:${Name}:SecretString:authToken::${Version}"
    assert refs[0].variables == {"Name"}


def test_split_reference_keeps_placeholders_and_arns_whole() -> None:
    assert split_reference("secretsmanager:${AWS::Region}-x:SecretString:authToken::${V}") == [
        "secretsmanager",
        "${AWS::Region}-x",
        "SecretString",
        "authToken",
        "",
        "${V}",
    ]
    arn = "arn:aws:secretsmanager:eu-north-1:123456789012:secret:name-AbCdEf"
    assert split_reference(f"secretsmanager:{arn}")[1:8] == arn.split(":")


def test_resolve() -> None:
    scope = Scope(
        {"Env": "prod", "AWS::StackName": "math-visuals-shared", "List": "a,b"},
        {"math-visuals-shared-Name": "/math-visuals/prod/redis/endpoint"},
    )
    assert resolve({"Fn::Sub": "/x/${Env}/${!Literal}"}, scope) == "/x/prod/${Literal}"
    assert resolve({"Fn::Sub": ["${A}-${Env}", {"A": {"Ref": "Env"}}]}, scope) == "prod-prod"
    assert resolve({"Fn::Join": ["-", ["a", {"Ref": "Env"}, 1]]}, scope) == "a-prod-1"
    assert resolve({"Fn::Join": [",", {"Ref": "List"}]}, scope) == "a,b"
    imported = {"Fn::ImportValue": {"Fn::Sub": "${AWS::StackName}-Name"}}
    assert resolve(imported, scope) == "/math-visuals/prod/redis/endpoint"
    assert resolve({"Fn::Sub": "${Res.Arn}"}, scope) is None
    assert resolve({"Fn::GetAtt": ["Res", "Arn"]}, scope) is None
    assert resolve({"Ref": "Nope"}, scope) is None
    assert resolve(True, scope) == "true"
    assert (truthy("True"), truthy("false"), truthy("maybe"), truthy(None)) == (
        True,
        False,
        None,
        None,
    )
