"""The status service's inputs as wired in template.yaml: the Bedrock rule's pattern (moto's matcher,
what the local stack runs) and the reconcile schedule as the local stack resolves it."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.infra


@pytest.mark.parametrize(
    ("source", "detail_type", "matches"),
    [
        ("aws.bedrock", "Model Customization Job State Change", True),
        ("aws.bedrock", "Model Invocation Job State Change", False),
        ("tailor.status", "Model Customization Job State Change", False),
    ],
)
def test_status_rule_pattern(
    transformed_template: dict[str, Any], source: str, detail_type: str, matches: bool
) -> None:
    from moto.events.models import EventPattern

    rule = transformed_template["Resources"]["StatusRule"]["Properties"]
    assert "EventBusName" not in rule  # Bedrock publishes on the default bus only
    pattern = EventPattern.load(json.dumps(rule["EventPattern"]))
    event: Any = {"source": source, "detail-type": detail_type, "detail": {"jobStatus": "Completed"}}
    assert pattern.matches_event(event) is matches


@pytest.mark.parametrize(
    ("minutes", "expression"), [(None, "rate(5 minutes)"), (1, "rate(1 minute)"), (2, "rate(2 minutes)")]
)
def test_reconcile_schedule_resolves_locally(minutes: int | None, expression: str) -> None:
    from tailor.local import LocalStack

    params = None if minutes is None else {"ReconcileIntervalMinutes": minutes}
    with LocalStack(time_scale=0.001, parameter_values=params, functions=[]) as stack:
        (info,) = [s for s in stack.scheduler.schedules.values() if s.kind == "scheduler"]
        assert info.logical_id == "StatusFunctionReconcile"
        assert info.expression == expression
        assert info.enabled
        (target,) = info.targets
        assert target.function_id == "StatusFunction"  # invoked directly, with the schedule's Input
        assert json.loads(target.input or "") == {"reconcile": True}
        env = stack.function_env("StatusFunction")
        assert env["RECONCILE_INTERVAL_MINUTES"] == str(minutes or 5)
        assert env["POWERTOOLS_SERVICE_NAME"] == "status"


def test_a_failed_reconcile_is_dead_lettered(transformed_template: dict[str, Any]) -> None:
    """The schedule invokes asynchronously: a reconcile that fails its retry lands in StatusDLQ
    (alarmed), and the function's role may send there."""
    resources = transformed_template["Resources"]
    (config,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig"
        and r["Properties"]["FunctionName"] == {"Ref": "StatusFunction"}
    ]  # HyperPodFunction has its own (tests/infra/test_hyperpod_wiring.py)
    assert config["FunctionName"] == {"Ref": "StatusFunction"}
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["StatusDLQ", "Arn"]}
    assert config["MaximumRetryAttempts"] <= 1  # the next cycle is the retry
    statements = [
        s
        for policy in resources["StatusFunctionRole"]["Properties"]["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
    ]
    assert any(
        s.get("Action") == "sqs:SendMessage" and s.get("Resource") == {"Fn::GetAtt": ["StatusDLQ", "Arn"]}
        for s in statements
    )
