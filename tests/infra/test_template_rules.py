"""House rules (docs/architecture.md, aws-facts §7), on the transformed template.

Every rule runs on the real template (must hold) and on a mutated copy (must report the mutation),
so a checker that silently passes everything cannot hide here.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from infra_rules import (
    check_bedrock_trust,
    check_buckets,
    check_code,
    check_contract_functions,
    check_deploy_queue_sizing,
    check_dlq_alarms,
    check_dlq_retention,
    check_function_env,
    check_functions,
    check_iam_statements,
    check_ingestion_sizing,
    check_log_groups,
    check_outputs,
    check_pass_role,
    check_queue_encryption,
    check_queues_have_dlq,
    check_resource_policies,
    check_rule_queue_policies,
    check_rule_targets,
    check_schedule_expressions,
    check_scheduler_schedules,
    check_snapshots,
    check_sqs_mappings,
    check_submit_queue_sizing,
    check_tables,
    check_visibility_timeouts,
    dead_letter_queue_ids,
    deployment_hold,
    fallback_receives_needed,
    parse_contract_env,
    parse_contract_function_env,
    parse_contract_functions,
    quota_backoff,
    resources_of,
    with_pending_contract,
)

pytestmark = pytest.mark.infra

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_TEXT = (REPO_ROOT / "docs" / "CONTRACTS.md").read_text(encoding="utf-8")
# Plus the HyperPod backend's rows while CONTRACTS.md does not carry them (infra_rules.PENDING_*).
CONTRACT_ENV, CONTRACT_FUNCTION_ENV = with_pending_contract(
    parse_contract_env(CONTRACTS_TEXT), parse_contract_function_env(CONTRACTS_TEXT)
)

Checker = Callable[[dict[str, Any]], list[str]]

RULES: dict[str, Checker] = {
    "queues_have_dlq": check_queues_have_dlq,
    "dlq_alarms": check_dlq_alarms,
    "dlq_retention": check_dlq_retention,
    "queue_encryption": check_queue_encryption,
    "rule_targets": check_rule_targets,
    "rule_queue_policies": check_rule_queue_policies,
    "visibility_timeouts": check_visibility_timeouts,
    "sqs_mappings": check_sqs_mappings,
    "iam_statements": check_iam_statements,
    "resource_policies": check_resource_policies,
    "buckets": check_buckets,
    "functions": lambda t: check_functions(t, CONTRACT_ENV),
    "log_groups": check_log_groups,
    "code": lambda t: check_code(t, REPO_ROOT),
    "outputs": check_outputs,
    "tables": check_tables,
    "snapshots": check_snapshots,
    "ingestion_sizing": check_ingestion_sizing,
    "function_env": lambda t: check_function_env(t, CONTRACT_FUNCTION_ENV),
    "bedrock_trust": check_bedrock_trust,
    "pass_role": check_pass_role,
    "submit_queue_sizing": check_submit_queue_sizing,
    "deploy_queue_sizing": check_deploy_queue_sizing,
    "scheduler_schedules": check_scheduler_schedules,
    "schedule_expressions": check_schedule_expressions,
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_holds(rule: str, transformed_template: dict[str, Any]) -> None:
    assert RULES[rule](transformed_template) == []


# ------------------------------------------------------------------------------------------------
# mutations: (rule, description, mutate(template), text expected in a violation)
# ------------------------------------------------------------------------------------------------


def _timeout(template: dict[str, Any]) -> int:
    """IngestionFunction's Timeout after the transform (Globals merged)."""
    return int(template["Resources"]["IngestionFunction"]["Properties"]["Timeout"])


def _res(t: dict[str, Any], lid: str) -> dict[str, Any]:
    props: dict[str, Any] = t["Resources"][lid]["Properties"]
    return props


def _role_statements(t: dict[str, Any]) -> list[dict[str, Any]]:
    policy = _res(t, "IngestionFunctionRole")["Policies"][0]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def _vars(t: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = _res(t, "IngestionFunction")["Environment"]["Variables"]
    return variables


def _dlq_policy_sources(t: dict[str, Any]) -> dict[str, Any]:
    cond: dict[str, Any] = _res(t, "EventsTargetDLQPolicy")["PolicyDocument"]["Statement"][0]["Condition"]
    return cond


def _delete(items: list[Any], index: int) -> None:
    del items[index]


def _drop_dlq_source(t: dict[str, Any], rule: str) -> None:
    _dlq_policy_sources(t)["ArnEquals"]["aws:SourceArn"].remove({"Fn::GetAtt": [rule, "Arn"]})


def _esm(t: dict[str, Any], function: str = "IngestionFunction") -> dict[str, Any]:
    (esm,) = [
        e
        for e in resources_of(t, "AWS::Lambda::EventSourceMapping").values()
        if e["Properties"]["FunctionName"] == {"Ref": function}
    ]
    props: dict[str, Any] = esm["Properties"]
    return props


def _submission_statement(t: dict[str, Any], sid: str) -> dict[str, Any]:
    statements = _res(t, "SubmissionFunctionRole")["Policies"][0]["PolicyDocument"]["Statement"]
    return next(s for s in statements if isinstance(s, dict) and s.get("Sid") == sid)


def _deployment_statement(t: dict[str, Any], sid: str) -> dict[str, Any]:
    statements = _res(t, "DeploymentFunctionRole")["Policies"][0]["PolicyDocument"]["Statement"]
    return next(s for s in statements if isinstance(s, dict) and s.get("Sid") == sid)


def _bedrock_trust(t: dict[str, Any]) -> dict[str, Any]:
    cond: dict[str, Any] = _res(t, "BedrockCustomizationRole")["AssumeRolePolicyDocument"]["Statement"][0][
        "Condition"
    ]
    return cond


def _submission_vars(t: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = _res(t, "SubmissionFunction")["Environment"]["Variables"]
    return variables


def _redrive_of(t: dict[str, Any], queue: str) -> dict[str, Any]:
    redrive: dict[str, Any] = _res(t, queue)["RedrivePolicy"]
    return redrive


def _add_stray_queue(t: dict[str, Any]) -> None:
    t["Resources"]["StrayQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {"SqsManagedSseEnabled": True}}


def _tls_condition_true(t: dict[str, Any]) -> None:
    stmt = _res(t, "DataBucketPolicy")["PolicyDocument"]["Statement"][0]
    stmt["Condition"]["Bool"]["aws:SecureTransport"] = "true"


def _second_queue_policy(t: dict[str, Any]) -> None:
    t["Resources"]["IngestQueuePolicy2"] = copy.deepcopy(t["Resources"]["IngestQueuePolicy"])


def _reconcile_target(t: dict[str, Any]) -> dict[str, Any]:
    target: dict[str, Any] = _res(t, "StatusFunctionReconcile")["Target"]
    return target


def _reconcile_role_statements(t: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = _res(t, "StatusReconcileRole")["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    return statements


def _reconcile_trust(t: dict[str, Any]) -> dict[str, Any]:
    stmt: dict[str, Any] = _res(t, "StatusReconcileRole")["AssumeRolePolicyDocument"]["Statement"][0]
    return stmt


def _status_statement(t: dict[str, Any], sid: str) -> dict[str, Any]:
    statements = [
        s
        for policy in _res(t, "StatusFunctionRole")["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
    ]
    return next(s for s in statements if isinstance(s, dict) and s.get("Sid") == sid)


def _plural_only(t: dict[str, Any]) -> None:
    _res(t, "StatusFunctionReconcile")["ScheduleExpression"] = {
        "Fn::Sub": "rate(${ReconcileIntervalMinutes} minutes)"
    }


MUTATIONS: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    (
        "deploy_queue_sizing",
        "maxReceiveCount too small for a 2 h hold",
        lambda t: _redrive_of(t, "DeployQueue").update(maxReceiveCount=20),
        "maxReceiveCount 20",
    ),
    (
        "deploy_queue_sizing",
        "retention of one hour",
        lambda t: _res(t, "DeployQueue").update(MessageRetentionPeriod=3600),
        "MessageRetentionPeriod 3600",
    ),
    (
        "deploy_queue_sizing",
        "no event source",
        lambda t: t["Resources"].pop("DeploymentEventSource"),
        "DeploymentFunction has no SQS event source",
    ),
    (
        "visibility_timeouts",
        "deploy visibility below 6 x 60 s",
        lambda t: _res(t, "DeployQueue").update(VisibilityTimeout=359),
        "< 6 x DeploymentFunction",
    ),
    (
        "dlq_alarms",
        "deploy alarm deleted",
        lambda t: t["Resources"].pop("DeployDLQAlarm"),
        "DeployDLQ",
    ),
    (
        "rule_queue_policies",
        "deploy rule missing from the DLQ policy",
        lambda t: _drop_dlq_source(t, "DeployRule"),
        "aws:SourceArn = DeployRule",
    ),
    (
        "rule_queue_policies",
        "deploy queue policy scoped to another rule",
        lambda t: _res(t, "DeployQueuePolicy")["PolicyDocument"]["Statement"][0]["Condition"].update(
            ArnEquals={"aws:SourceArn": {"Fn::GetAtt": ["SubmitRule", "Arn"]}}
        ),
        "DeployQueue",
    ),
    (
        "iam_statements",
        "CreateCustomModelDeployment on *",
        lambda t: _deployment_statement(t, "CreateDeployments").update(Resource="*"),
        "bedrock:CreateCustomModelDeployment",
    ),
    (
        "iam_statements",
        "DeleteCustomModelDeployment on *",
        lambda t: _deployment_statement(t, "ManageDeployments").update(Resource="*"),
        "bedrock:DeleteCustomModelDeployment",
    ),
    (
        "function_env",
        "deployment variable missing",
        lambda t: _res(t, "DeploymentFunction")["Environment"]["Variables"].pop("DEPLOY_QUEUE_URL"),
        "DEPLOY_QUEUE_URL missing",
    ),
    (
        "function_env",
        "deployment variable from another queue",
        lambda t: _res(t, "DeploymentFunction")["Environment"]["Variables"].update(
            DEPLOY_QUEUE_URL={"Ref": "SubmitQueue"}
        ),
        "expected it from DeployQueue",
    ),
    ("outputs", "deploy output removed", lambda t: t["Outputs"].pop("DeployDLQUrl"), "DeployDLQUrl"),
    (
        "scheduler_schedules",
        "no retry policy",
        lambda t: _reconcile_target(t).pop("RetryPolicy"),
        "RetryPolicy",
    ),
    (
        "scheduler_schedules",
        "no dead-letter queue",
        lambda t: _reconcile_target(t).pop("DeadLetterConfig"),
        "DeadLetterConfig",
    ),
    (
        "scheduler_schedules",
        "role may not send to the DLQ",
        lambda t: _delete(_reconcile_role_statements(t), 1),
        "may not sqs:SendMessage",
    ),
    (
        "scheduler_schedules",
        "role may not invoke the target",
        lambda t: _delete(_reconcile_role_statements(t), 0),
        "may not lambda:InvokeFunction",
    ),
    (
        "scheduler_schedules",
        "scheduler trusted from any account",
        lambda t: _reconcile_trust(t).pop("Condition"),
        "aws:SourceAccount",
    ),
    (
        "scheduler_schedules",
        "a role of another stack",
        lambda t: _reconcile_target(t).update(RoleArn="arn:aws:iam::123456789012:role/x"),
        "not a role of this template",
    ),
    (
        "schedule_expressions",
        "rate(1 minutes) at the minimum",
        _plural_only,
        "'rate(1 minutes)'",
    ),
    (
        "schedule_expressions",
        "rate(2 minute) above it",
        lambda t: _res(t, "StatusFunctionReconcile").update(
            ScheduleExpression={"Fn::Sub": "rate(${ReconcileIntervalMinutes} minute)"}
        ),
        "'rate(2 minute)'",
    ),
    (
        "function_env",
        "status variable missing",
        lambda t: _res(t, "StatusFunction")["Environment"]["Variables"].pop("RECONCILE_INTERVAL_MINUTES"),
        "RECONCILE_INTERVAL_MINUTES missing",
    ),
    (
        "iam_statements",
        "GetModelCustomizationJob on *",
        lambda t: _status_statement(t, "ReadCustomizationJobs").update(Resource="*"),
        "bedrock:GetModelCustomizationJob",
    ),
    (
        "dlq_alarms",
        "status alarm deleted",
        lambda t: t["Resources"].pop("StatusDLQAlarm"),
        "StatusDLQ",
    ),
    (
        "rule_queue_policies",
        "status rule missing from the DLQ policy",
        lambda t: _drop_dlq_source(t, "StatusRule"),
        "aws:SourceArn = StatusRule",
    ),
    (
        "visibility_timeouts",
        "status visibility below 6 x 120 s",
        lambda t: _res(t, "StatusQueue").update(VisibilityTimeout=719),
        "< 6 x StatusFunction",
    ),
    ("outputs", "status output removed", lambda t: t["Outputs"].pop("StatusDLQUrl"), "StatusDLQUrl"),
    (
        "function_env",
        "submission variable missing",
        lambda t: _submission_vars(t).pop("BEDROCK_ROLE_ARN"),
        "BEDROCK_ROLE_ARN missing",
    ),
    (
        "function_env",
        "submission variable from the wrong resource",
        lambda t: _submission_vars(t).update(SUBMIT_QUEUE_URL={"Ref": "IngestQueue"}),
        "expected it from SubmitQueue",
    ),
    (
        "function_env",
        "submission variable on another function",
        lambda t: _vars(t).update(CUSTOMIZATION_JOB_QUOTA={"Ref": "CustomizationJobQuota"}),
        "IngestionFunction: sets CUSTOMIZATION_JOB_QUOTA",
    ),
    (
        "bedrock_trust",
        "no aws:SourceAccount",
        lambda t: _bedrock_trust(t).pop("StringEquals"),
        "aws:SourceAccount",
    ),
    ("bedrock_trust", "no aws:SourceArn", lambda t: _bedrock_trust(t).pop("ArnLike"), "aws:SourceArn"),
    (
        "bedrock_trust",
        "SourceArn on every Bedrock resource",
        lambda t: _bedrock_trust(t)["ArnLike"].update(
            {"aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:*"}}
        ),
        "model-customization-job",
    ),
    (
        "pass_role",
        "PassRole on every role",
        lambda t: _submission_statement(t, "PassCustomizationRole").update(Resource="*"),
        "not a role of this template",
    ),
    (
        "pass_role",
        "PassRole without iam:PassedToService",
        lambda t: _submission_statement(t, "PassCustomizationRole").pop("Condition"),
        "iam:PassedToService",
    ),
    (
        "pass_role",
        "passes a role Bedrock does not trust",
        lambda t: _submission_statement(t, "PassCustomizationRole").update(
            Resource={"Fn::GetAtt": ["IngestionFunctionRole", "Arn"]}
        ),
        "does not trust",
    ),
    (
        "submit_queue_sizing",
        "maxReceiveCount too small for a day's wait",
        lambda t: _redrive_of(t, "SubmitQueue").update(maxReceiveCount=20),
        "maxReceiveCount 20",
    ),
    (
        "submit_queue_sizing",
        "retention of one day",
        lambda t: _res(t, "SubmitQueue").update(MessageRetentionPeriod=86400),
        "MessageRetentionPeriod 86400",
    ),
    (
        "submit_queue_sizing",
        "longer waits allowed than the queue holds",
        lambda t: t["Parameters"]["QuotaMaxWaitHours"].update(MaxValue=96),
        "96 h quota wait",
    ),
    (
        "sqs_mappings",
        "concurrency parameter allows 1",
        lambda t: t["Parameters"]["SubmissionMaxConcurrency"].update(MinValue=1),
        "MaximumConcurrency",
    ),
    (
        "iam_statements",
        "CreateModelCustomizationJob on *",
        lambda t: _submission_statement(t, "CreateCustomizationJobs").update(Resource="*"),
        "bedrock:CreateModelCustomizationJob",
    ),
    ("queues_have_dlq", "queue without redrive", _add_stray_queue, "StrayQueue"),
    (
        "queues_have_dlq",
        "redrive removed",
        lambda t: _res(t, "IngestQueue").pop("RedrivePolicy"),
        "IngestQueue",
    ),
    ("dlq_alarms", "alarm deleted", lambda t: t["Resources"].pop("IngestDLQAlarm"), "IngestDLQ"),
    (
        "dlq_alarms",
        "alarm threshold too high",
        lambda t: _res(t, "EventsTargetDLQAlarm").update(Threshold=5),
        "EventsTargetDLQ",
    ),
    (
        "dlq_retention",
        "DLQ with default retention",
        lambda t: _res(t, "IngestDLQ").pop("MessageRetentionPeriod"),
        "IngestDLQ",
    ),
    (
        "queue_encryption",
        "unencrypted queue",
        lambda t: _res(t, "IngestQueue").pop("SqsManagedSseEnabled"),
        "IngestQueue",
    ),
    (
        "rule_targets",
        "no RetryPolicy",
        lambda t: _res(t, "IngestRule")["Targets"][0].pop("RetryPolicy"),
        "RetryPolicy",
    ),
    (
        "rule_targets",
        "no DeadLetterConfig",
        lambda t: _res(t, "IngestRule")["Targets"][0].pop("DeadLetterConfig"),
        "DeadLetterConfig",
    ),
    (
        "rule_queue_policies",
        "no SourceArn condition",
        lambda t: _res(t, "IngestQueuePolicy")["PolicyDocument"]["Statement"][0].pop("Condition"),
        "IngestQueue",
    ),
    (
        "rule_queue_policies",
        "rule missing from the DLQ policy",
        lambda t: _dlq_policy_sources(t).update(
            ArnEquals={"aws:SourceArn": [{"Fn::GetAtt": ["SomeOtherRule", "Arn"]}]}
        ),
        "EventsTargetDLQ",
    ),
    ("rule_queue_policies", "two policies on one queue", _second_queue_policy, "only one takes effect"),
    (
        "visibility_timeouts",
        "visibility too short",
        lambda t: _res(t, "IngestQueue").update(VisibilityTimeout=_timeout(t) * 6 - 1),
        "< 6 x IngestionFunction",
    ),
    (
        "visibility_timeouts",
        "function timeout raised",
        lambda t: _res(t, "IngestionFunction").update(Timeout=_timeout(t) * 2),
        "< 6 x IngestionFunction",
    ),
    (
        "sqs_mappings",
        "MaximumConcurrency 1",
        lambda t: _esm(t).update(ScalingConfig={"MaximumConcurrency": 1}),
        "MaximumConcurrency",
    ),
    (
        "sqs_mappings",
        "no partial batch response",
        lambda t: _esm(t).pop("FunctionResponseTypes"),
        "ReportBatchItemFailures",
    ),
    (
        "iam_statements",
        "service-wide action",
        lambda t: _role_statements(t)[0].update(Action="s3:*"),
        "wildcard action 's3:*'",
    ),
    (
        "iam_statements",
        "Action *",
        lambda t: _role_statements(t).append({"Effect": "Allow", "Action": "*", "Resource": "arn:x"}),
        "wildcard action '*'",
    ),
    (
        "iam_statements",
        "Resource * for a resource-level action",
        lambda t: _role_statements(t).append(
            {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}
        ),
        "dynamodb:GetItem",
    ),
    (
        "iam_statements",
        "NotAction",
        lambda t: _role_statements(t).append({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:x"}),
        "NotAction",
    ),
    (
        "iam_statements",
        "admin managed policy",
        lambda t: _res(t, "IngestionFunctionRole")["ManagedPolicyArns"].append(
            "arn:aws:iam::aws:policy/AdministratorAccess"
        ),
        "AdministratorAccess",
    ),
    (
        "resource_policies",
        "queue open to everyone",
        lambda t: _res(t, "IngestQueuePolicy")["PolicyDocument"]["Statement"].append(
            {"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": "*"}
        ),
        "Principal '*'",
    ),
    ("buckets", "no encryption", lambda t: _res(t, "DataBucket").pop("BucketEncryption"), "encryption"),
    (
        "buckets",
        "public policy allowed",
        lambda t: _res(t, "ArtifactsBucket")["PublicAccessBlockConfiguration"].update(
            BlockPublicPolicy=False
        ),
        "BlockPublicPolicy",
    ),
    (
        "buckets",
        "bucket policy deleted",
        lambda t: t["Resources"].pop("ArtifactsBucketPolicy"),
        "SecureTransport",
    ),
    ("buckets", "TLS condition inverted", _tls_condition_true, "SecureTransport"),
    (
        "buckets",
        "versioning suspended",
        lambda t: _res(t, "DataBucket").update(VersioningConfiguration={"Status": "Suspended"}),
        "versioning",
    ),
    ("functions", "layer removed", lambda t: _res(t, "IngestionFunction").pop("Layers"), "layer"),
    (
        "functions",
        "contract env var missing",
        lambda t: _vars(t).pop("DATA_BUCKET"),
        "DATA_BUCKET missing",
    ),
    (
        "functions",
        "env var wired to the wrong resource",
        lambda t: _vars(t).update(DATA_BUCKET={"Ref": "ArtifactsBucket"}),
        "expected Ref DataBucket",
    ),
    (
        "functions",
        "service name outside the contract",
        lambda t: _vars(t).update(POWERTOOLS_SERVICE_NAME="ingest"),
        "POWERTOOLS_SERVICE_NAME",
    ),
    (
        "functions",
        "x86",
        lambda t: _res(t, "IngestionFunction").update(Architectures=["x86_64"]),
        "Architectures",
    ),
    (
        "log_groups",
        "no log group",
        lambda t: _res(t, "IngestionFunction").pop("LoggingConfig"),
        "LoggingConfig",
    ),
    (
        "log_groups",
        "no retention",
        lambda t: _res(t, "IngestionLogGroup").pop("RetentionInDays"),
        "RetentionInDays",
    ),
    (
        "code",
        "handler module missing",
        lambda t: _res(t, "IngestionFunction").update(Handler="missing.handler"),
        "missing.py",
    ),
    (
        "code",
        "handler function missing",
        lambda t: _res(t, "IngestionFunction").update(Handler="app.no_such_handler"),
        "no_such_handler",
    ),
    (
        "code",
        "code dir missing",
        lambda t: _res(t, "IngestionFunction")["Code"].update(S3Key="services/nope/"),
        "services/nope/",
    ),
    ("outputs", "output removed", lambda t: t["Outputs"].pop("IngestDLQUrl"), "IngestDLQUrl"),
    (
        "tables",
        "PITR off",
        lambda t: _res(t, "RunsTable").pop("PointInTimeRecoverySpecification"),
        "point-in-time",
    ),
    ("tables", "TTL off", lambda t: _res(t, "IdempotencyTable").pop("TimeToLiveSpecification"), "TTL"),
    (
        "ingestion_sizing",
        "timeout too short for the largest dataset",
        lambda t: _res(t, "IngestionFunction").update(Timeout=300),
        "needed for the largest dataset",
    ),
    (
        "ingestion_sizing",
        "batch of ten",
        lambda t: _esm(t).update(BatchSize=10),
        "one dataset per invocation",
    ),
    (
        "snapshots",
        "untagged snapshots expire",
        lambda t: _snapshot_rule(t).pop("TagFilters"),
        "not tagged released",
    ),
    (
        "snapshots",
        "snapshot rule removed",
        lambda t: _res(t, "DataBucket")["LifecycleConfiguration"]["Rules"].remove(_snapshot_rule(t)),
        "no lifecycle rule",
    ),
    (
        "snapshots",
        "ingestion may overwrite datasets",
        lambda t: _statement(t, "WriteDatasetSnapshots").update(Resource={"Fn::Sub": "${DataBucket.Arn}/*"}),
        "only snapshots/*",
    ),
]


def _snapshot_rule(t: dict[str, Any]) -> dict[str, Any]:
    rules: list[dict[str, Any]] = _res(t, "DataBucket")["LifecycleConfiguration"]["Rules"]
    return next(r for r in rules if r["Id"] == "ExpireReleasedSnapshots")


def _statement(t: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in _role_statements(t) if s.get("Sid") == sid)


def test_every_rule_has_a_mutation() -> None:
    assert {m[0] for m in MUTATIONS} == set(RULES)


@pytest.mark.parametrize(
    ("rule", "mutate", "expected"),
    [pytest.param(rule, mutate, expected, id=f"{rule}-{desc}") for rule, desc, mutate, expected in MUTATIONS],
)
def test_rule_reports_mutation(
    rule: str, mutate: Callable[[dict[str, Any]], None], expected: str, transformed: dict[str, Any]
) -> None:
    mutate(transformed)
    violations = RULES[rule](transformed)
    assert any(expected in v for v in violations), violations


# ------------------------------------------------------------------------------------------------
# rules on the SAM template as written, against docs/CONTRACTS.md
# ------------------------------------------------------------------------------------------------


def test_contract_tables_parse(contracts_md: str) -> None:
    env = parse_contract_env(contracts_md)
    assert {"TAILOR_BUS_NAME", "DATA_BUCKET", "RUNS_TABLE", "POWERTOOLS_SERVICE_NAME"} <= set(env)
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == ["Tailor"]
    assert "ingestion" in env["POWERTOOLS_SERVICE_NAME"]
    assert {r["function"] for r in parse_contract_functions(contracts_md)} >= {
        "IngestionFunction",
        "SubmissionFunction",
        "StatusFunction",
        "DeploymentFunction",
    }
    function_env = parse_contract_function_env(contracts_md)
    assert function_env["BEDROCK_ROLE_ARN"] == {
        "functions": {"SubmissionFunction"},
        "source": "BedrockCustomizationRole",
    }
    assert not set(function_env) & set(env)  # a variable is global or per function, never both


def test_quota_backoff_arithmetic() -> None:
    # The comment above SubmitQueue in template.yaml: 60 s doubling to 1 h.
    assert fallback_receives_needed(86400) == 30  # 6 receives for the first 3780 s, then 23 of 1 h
    assert fallback_receives_needed(36 * 3600) == 42
    assert fallback_receives_needed(3780) == 7
    assert fallback_receives_needed(3779) == 7
    assert fallback_receives_needed(3600) == 7
    assert fallback_receives_needed(60) == 2
    base, cap, receives_needed, _ = quota_backoff()  # the lead's module once it exists
    assert (base, cap) == (60, 3600)
    assert 25 <= int(receives_needed(86400)) <= 31


def test_deployment_hold_arithmetic() -> None:
    # The comment above DeployQueue in template.yaml: 30 s doubling to 300 s, for 2 h.
    assert fallback_receives_needed(7200, 30, 300) == 28  # 4 receives for the first 450 s, then 23 of 300 s
    assert fallback_receives_needed(450, 30, 300) == 5
    assert fallback_receives_needed(451, 30, 300) == 6
    base, cap, wait, needed, _ = deployment_hold()  # the lead's module once it exists
    assert (base, cap, wait) == (30, 300, 7200)
    assert 25 <= needed <= 29


def test_contract_functions_match_template(raw_template: dict[str, Any], contracts_md: str) -> None:
    assert check_contract_functions(raw_template, parse_contract_functions(contracts_md)) == []


def test_contract_functions_report_drift(raw_template: dict[str, Any], contracts_md: str) -> None:
    raw = copy.deepcopy(raw_template)
    raw["Resources"]["IngestionFunction"]["Properties"]["Handler"] = "main.handler"
    raw["Resources"]["IngestQueue"]["Properties"].pop("RedrivePolicy")
    violations = check_contract_functions(raw, parse_contract_functions(contracts_md))
    assert any("Handler" in v for v in violations), violations
    assert any("IngestDLQ" in v for v in violations), violations


def test_every_dlq_is_found(transformed_template: dict[str, Any]) -> None:
    # Sanity for the DLQ-based rules: they must be looking at something.
    assert dead_letter_queue_ids(transformed_template) >= {"IngestDLQ", "EventsTargetDLQ", "StatusDLQ"}


# ------------------------------------------------------------------------------------------------
# the ingest rule's pattern, evaluated by moto's EventBridge matcher (what the local stack runs)
# ------------------------------------------------------------------------------------------------


def _resolve_refs(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in names:
            return names[node["Ref"]]
        return {k: _resolve_refs(v, names) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_refs(v, names) for v in node]
    return node


@pytest.mark.parametrize(
    ("key", "detail_type", "bucket", "matches"),
    [
        ("datasets/support-bot/job.json", "Object Created", "data", True),
        ("inbox/fine-tuning/nova-lite/support.jsonl", "Object Created", "data", True),
        ("datasets/support-bot/train.jsonl", "Object Created", "data", False),
        ("datasets/job.json", "Object Created", "data", False),
        ("inbox/support.jsonl", "Object Created", "data", False),
        ("inbox/fine-tuning/nova-lite/notes.txt", "Object Created", "data", False),
        ("reports/x/job.json", "Object Created", "data", False),
        ("datasets/support-bot/job.json", "Object Tags Added", "data", False),
        ("datasets/support-bot/job.json", "Object Deleted", "data", False),
        ("datasets/support-bot/job.json", "Object Created", "artifacts", False),
    ],
)
def test_ingest_rule_pattern(
    transformed_template: dict[str, Any], key: str, detail_type: str, bucket: str, matches: bool
) -> None:
    from moto.events.models import EventPattern

    raw = _res(transformed_template, "IngestRule")["EventPattern"]
    resolved = _resolve_refs(raw, {"DataBucket": "data", "ArtifactsBucket": "artifacts"})
    pattern = EventPattern.load(json.dumps(resolved))
    event: Any = {
        "source": "aws.s3",
        "detail-type": detail_type,
        "detail": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1}},
    }
    assert pattern.matches_event(event) is matches
