"""The deployment service's inputs as wired in template.yaml: the Tailor-bus rule's `$or` pattern
(moto's matcher, what the local stack runs) and the least-privilege statements of its role."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.infra


@pytest.mark.parametrize(
    ("source", "detail_type", "matches"),
    [
        ("tailor.status", "JobCompleted", True),
        ("tailor.user", "DeploymentRequested", True),
        # the two halves never mix: `$or` across whole patterns, not across fields
        ("tailor.status", "DeploymentRequested", False),
        ("tailor.user", "JobCompleted", False),
        ("tailor.status", "JobFailed", False),
        ("tailor.status", "JobStatusChanged", False),
        ("tailor.deployment", "ModelDeployed", False),  # its own output never loops back
        ("tailor.ingestion", "DatasetValidated", False),
    ],
)
def test_deploy_rule_pattern(
    transformed_template: dict[str, Any], source: str, detail_type: str, matches: bool
) -> None:
    from moto.events.models import EventPattern, EventPatternParser

    rule = transformed_template["Resources"]["DeployRule"]["Properties"]
    assert rule["EventBusName"] == {"Ref": "TailorBus"}
    raw = json.dumps(rule["EventPattern"])
    EventPatternParser(raw).parse()  # what moto's PutRule validates
    pattern = EventPattern.load(raw)
    event: Any = {"source": source, "detail-type": detail_type, "detail": {"metadata": {}, "data": {}}}
    assert pattern.matches_event(event) is matches


def _statements(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    policies = template["Resources"]["DeploymentFunctionRole"]["Properties"]["Policies"]
    return {
        s["Sid"]: s
        for policy in policies
        for s in policy["PolicyDocument"]["Statement"]
        if isinstance(s, dict) and "Sid" in s
    }


def _resources(stmt: dict[str, Any]) -> list[str]:
    resources = stmt["Resource"] if isinstance(stmt["Resource"], list) else [stmt["Resource"]]
    return [r["Fn::Sub"] if isinstance(r, dict) and "Fn::Sub" in r else json.dumps(r) for r in resources]


def test_deployment_role_is_scoped(transformed_template: dict[str, Any]) -> None:
    statements = _statements(transformed_template)
    by_action: dict[str, list[str]] = {}
    for stmt in statements.values():
        actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        for action in actions:
            by_action.setdefault(action, []).extend(_resources(stmt))
    deployments = "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:custom-model-deployment/*"
    models = "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:custom-model/*"
    assert sorted(by_action["bedrock:CreateCustomModelDeployment"]) == sorted([models, deployments])
    for action in (
        "bedrock:GetCustomModelDeployment",
        "bedrock:DeleteCustomModelDeployment",
        "bedrock:TagResource",
    ):
        assert by_action[action] == [deployments], action
    assert by_action["bedrock:GetCustomModel"] == [models]
    assert by_action["bedrock:ListCustomModelDeployments"] == ['"*"']
    assert "bedrock:InvokeModel" not in by_action  # invoking is the users' roles' business
    queue = json.dumps({"Fn::GetAtt": ["DeployQueue", "Arn"]})
    assert by_action["sqs:ChangeMessageVisibility"] == [queue]  # the hold, on its own queue only
