"""The real template with every optional submission parameter set: the local stack resolves the
Bedrock role's conditional KMS/VPC statements and hands the function what CloudFormation would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tailor.local import LocalStack

pytestmark = pytest.mark.integration

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
PARAMETERS: dict[str, Any] = {
    "SubmissionMaxConcurrency": 3,
    "CustomizationJobQuota": 5,
    "QuotaMaxWaitHours": 12,
    "BedrockKmsKeyArn": KEY,
    "BedrockSubnetIds": "subnet-0a1b,subnet-2c3d",
    "BedrockSecurityGroupIds": "sg-0a1b",
    "TrainingPricesJson": '{"nova-lite": 0.002}',
    "UsePriceList": "true",
}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        TEMPLATE, stack_name="tailor-params", parameter_values=PARAMETERS, time_scale=0.01
    ) as running:
        yield running


def test_the_function_gets_the_parameters(stack: LocalStack) -> None:
    env = stack.function_env("SubmissionFunction")
    assert env["CUSTOMIZATION_JOB_QUOTA"] == "5"
    assert env["QUOTA_MAX_WAIT_HOURS"] == "12"
    assert env["BEDROCK_KMS_KEY_ARN"] == KEY
    assert env["BEDROCK_SUBNET_IDS"] == "subnet-0a1b,subnet-2c3d"
    assert env["BEDROCK_SECURITY_GROUP_IDS"] == "sg-0a1b"
    assert env["TRAINING_PRICES_JSON"] == '{"nova-lite": 0.002}'
    assert env["USE_PRICE_LIST"] == "true"
    (source,) = [s for s in stack.provisioner.event_sources.values() if s.function_id == "SubmissionFunction"]
    assert source.maximum_concurrency == 3


def test_the_conditional_statements_resolve(stack: LocalStack) -> None:
    resolver = stack.provisioner.resolver
    assert resolver.condition("HasBedrockKmsKey") and resolver.condition("HasBedrockVpc")
    assert resolver.condition("UsesPriceList")
    role = stack.provisioner.template["Resources"]["BedrockCustomizationRole"]
    policies = resolver.resolve(
        role["Properties"]["Policies"], "BedrockCustomizationRole.Properties.Policies"
    )
    assert [p["PolicyName"] for p in policies] == ["customization-data", "customization-vpc"]
    sids = {s["Sid"]: s for p in policies for s in p["PolicyDocument"]["Statement"]}
    assert sids["UseCustomModelKey"]["Resource"] == KEY
    assert sids["CreateInterfacesInSubnets"]["Resource"] == [
        "arn:aws:ec2:us-east-1:123456789012:subnet/*",
        "arn:aws:ec2:us-east-1:123456789012:security-group/*",
    ]
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert resolver.resolve(trust, "trust") == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/*"},
    }
