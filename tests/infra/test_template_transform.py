"""tailor.local.sam_transform: the YAML loader and the offline SAM transform."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from tailor.local.sam_transform import (
    LOCAL_CODE_BUCKET,
    SamTransformError,
    load_template,
    local_code_path,
    transform_template,
)

pytestmark = pytest.mark.infra

SHORT_FORMS = """
AWSTemplateFormatVersion: "2010-09-09"
Conditions:
  C1: !Equals [!Ref P, ""]
  C2: !Not [!Condition C1]
  C3: !And [!Condition C1, !Or [!Condition C2, !Condition C1]]
Resources:
  R:
    Type: AWS::SQS::Queue
    Properties:
      A: !Ref Q
      B: !GetAtt Q.Arn
      B2: !GetAtt [Q, Arn]
      B3: !GetAtt Api.RootResourceId.Nested
      C: !Sub "${Q.Arn}/x"
      C2: !Sub ["${X}", {X: !Ref Q}]
      D: !If [C1, !Ref AWS::NoValue, 1]
      E: !Select [0, !GetAZs ""]
      F: !Split [",", "a,b"]
      G: !Join ["", [a, b]]
      H: !FindInMap [M, K, V]
      I: !ImportValue other-stack-Name
      J: !Base64 hello
      K: !Cidr [10.0.0.0/16, 4, 8]
      L: !GetAZs us-east-1
      Version: 2012-10-17
"""


def test_short_form_tags_become_long_form(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(SHORT_FORMS, encoding="utf-8")
    t = load_template(path)
    assert t["Conditions"] == {
        "C1": {"Fn::Equals": [{"Ref": "P"}, ""]},
        "C2": {"Fn::Not": [{"Condition": "C1"}]},
        "C3": {"Fn::And": [{"Condition": "C1"}, {"Fn::Or": [{"Condition": "C2"}, {"Condition": "C1"}]}]},
    }
    assert t["Resources"]["R"]["Properties"] == {
        "A": {"Ref": "Q"},
        "B": {"Fn::GetAtt": ["Q", "Arn"]},
        "B2": {"Fn::GetAtt": ["Q", "Arn"]},
        "B3": {"Fn::GetAtt": ["Api", "RootResourceId.Nested"]},
        "C": {"Fn::Sub": "${Q.Arn}/x"},
        "C2": {"Fn::Sub": ["${X}", {"X": {"Ref": "Q"}}]},
        "D": {"Fn::If": ["C1", {"Ref": "AWS::NoValue"}, 1]},
        "E": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        "F": {"Fn::Split": [",", "a,b"]},
        "G": {"Fn::Join": ["", ["a", "b"]]},
        "H": {"Fn::FindInMap": ["M", "K", "V"]},
        "I": {"Fn::ImportValue": "other-stack-Name"},
        "J": {"Fn::Base64": "hello"},
        "K": {"Fn::Cidr": ["10.0.0.0/16", 4, 8]},
        "L": {"Fn::GetAZs": "us-east-1"},
        "Version": "2012-10-17",  # CloudFormation keeps it a string; plain PyYAML makes a date
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A: 1\nA: 2\n", "duplicate key"),
        ("A: !Bogus x\n", "unknown CloudFormation tag"),
        ("A: !GetAtt NoDot\n", "Resource.Attribute"),
        ("- a\n", "must be a mapping"),
    ],
)
def test_loader_rejects_what_cloudformation_rejects(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_template(path)


def test_transform_is_offline_and_leaves_no_state(
    raw_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from samtranslator.translator.arn_generator import ArnGenerator

    def no_network(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the offline transform opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    before_attr = ArnGenerator.BOTO_SESSION_REGION_NAME
    snapshot = json.dumps(raw_template, sort_keys=True)

    out = transform_template(raw_template)

    assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert before_attr == ArnGenerator.BOTO_SESSION_REGION_NAME
    assert json.dumps(raw_template, sort_keys=True) == snapshot, "input was mutated"
    assert "Transform" not in out and "Globals" not in out
    assert not [r for r in out["Resources"].values() if r["Type"].startswith("AWS::Serverless::")]
    json.dumps(out)  # plain JSON-able CloudFormation


def test_transform_accepts_a_path(repo_root: Path, transformed_template: dict[str, Any]) -> None:
    assert transform_template(repo_root / "template.yaml") == transformed_template
    assert transform_template(str(repo_root / "template.yaml")) == transformed_template


def test_managed_policy_arns_follow_the_partition(raw_template: dict[str, Any]) -> None:
    role = transform_template(raw_template, region="cn-north-1")["Resources"]["IngestionFunctionRole"]
    arns = role["Properties"]["ManagedPolicyArns"]
    assert "arn:aws-cn:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" in arns
    default = transform_template(raw_template)["Resources"]["IngestionFunctionRole"]
    assert default["Properties"]["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ]


def test_unknown_managed_policy_names_resolve_offline() -> None:
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "F": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "src/",
                    "Handler": "app.handler",
                    "Runtime": "python3.12",
                    "Policies": ["SomeFuturePolicyNotBundled", "AWSLambdaVPCAccessExecutionRole"],
                },
            }
        },
    }
    arns = transform_template(template)["Resources"]["FRole"]["Properties"]["ManagedPolicyArns"]
    assert "arn:aws:iam::aws:policy/SomeFuturePolicyNotBundled" in arns
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole" in arns


def test_local_code_locations_survive_the_transform(transformed_template: dict[str, Any]) -> None:
    fn = transformed_template["Resources"]["IngestionFunction"]["Properties"]
    assert fn["Code"] == {"S3Bucket": LOCAL_CODE_BUCKET, "S3Key": "services/ingestion/"}
    assert local_code_path(fn["Code"]) == "services/ingestion/"
    assert local_code_path({"S3Bucket": "real-bucket", "S3Key": "x.zip"}) is None
    assert local_code_path("s3://x/y") is None


def test_invalid_sam_template_lists_its_errors() -> None:
    bad = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "app.handler"}}},
    }
    with pytest.raises(SamTransformError) as info:
        transform_template(bad)
    assert info.value.errors
    assert "F" in str(info.value)


def test_plain_cloudformation_passes_through() -> None:
    plain = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}
    assert transform_template(plain) == plain
