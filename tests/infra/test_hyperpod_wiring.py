"""The HyperPod backend as wired in template.yaml, for both values of HyperPodClusterName.

The transformed template holds every resource, each with its Condition; these tests resolve the
conditions and intrinsics the way CloudFormation would (tailor.local.intrinsics.Resolver, with
placeholder names for resources), then check: nothing HyperPod exists without a cluster; with one,
SubmitRule and HyperPodRule split DatasetValidated by technique (moto's EventBridge matcher, what
the local stack runs, on a real envelope); the function's environment; every IAM statement's
scope; the EKS access entry; and deploy/hyperpod/rbac.yaml.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tailor.local.intrinsics import Resolver

pytestmark = pytest.mark.infra

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, REGION = "123456789012", "us-east-1"
CLUSTER = "tailor-hp"
CPT = "continued-pre-training"
TECHNIQUES = ["fine-tuning", "distillation", CPT, "reinforcement-fine-tuning"]

HYPERPOD_ENV = {
    "POWERTOOLS_SERVICE_NAME",
    "HYPERPOD_CLUSTER_NAME",
    "HYPERPOD_NAMESPACE",
    "HYPERPOD_INSTANCE_TYPE",
    "HYPERPOD_REPLICAS",
    "HYPERPOD_MAX_CONCURRENT_JOBS",
    "HYPERPOD_INSTANCE_PRICE_USD",
    "HYPERPOD_QUEUE_URL",
    "HUB_NAME",
    "BEDROCK_IMPORT_ROLE_ARN",
    "BEDROCK_ROLE_ARN",
    "QUOTA_MAX_WAIT_HOURS",
    "RECONCILE_INTERVAL_MINUTES",
    "TRAINING_PRICES_JSON",
}
#: from Globals (docs/CONTRACTS.md "Environment variables")
GLOBAL_ENV = {
    "TAILOR_BUS_NAME",
    "DATA_BUCKET",
    "ARTIFACTS_BUCKET",
    "RUNS_TABLE",
    "IDEMPOTENCY_TABLE",
    "POWERTOOLS_METRICS_NAMESPACE",
    "LOG_LEVEL",
}


class _Placeholders:
    """Resource names as "<id>" and attributes as "<id>.<attr>": enough to see what refers to what."""

    def ref(self, logical_id: str) -> Any:
        return f"<{logical_id}>"

    def get_att(self, logical_id: str, attribute: str) -> Any:
        return f"<{logical_id}.{attribute}>"


class Deployed:
    """The transformed template for given parameter values: which resources/outputs exist, and
    their properties resolved."""

    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, Any] | None = None) -> None:
        self.template = template
        self.resolver = Resolver(
            template,
            _Placeholders(),
            stack_name="tailor",
            region=REGION,
            account_id=ACCOUNT,
            parameter_values=parameters or {},
        )

    def exists(self, logical_id: str) -> bool:
        body = self.template["Resources"][logical_id]
        condition = body.get("Condition")
        return condition is None or self.resolver.condition(condition)

    @property
    def resources(self) -> set[str]:
        return {lid for lid in self.template["Resources"] if self.exists(lid)}

    @property
    def outputs(self) -> set[str]:
        return {
            name
            for name, body in self.template["Outputs"].items()
            if body.get("Condition") is None or self.resolver.condition(body["Condition"])
        }

    def props(self, logical_id: str) -> dict[str, Any]:
        assert self.exists(logical_id), f"{logical_id} does not exist with these parameters"
        raw = self.template["Resources"][logical_id].get("Properties", {})
        resolved: dict[str, Any] = self.resolver.resolve(raw, logical_id)
        return resolved

    def statements(self, role: str) -> dict[str, dict[str, Any]]:
        """Sid -> statement of the role's inline policies (conditional statements resolved)."""
        out: dict[str, dict[str, Any]] = {}
        for policy in self.props(role).get("Policies", []):
            for stmt in policy["PolicyDocument"]["Statement"]:
                assert stmt["Sid"] not in out, f"{role}: duplicate Sid {stmt['Sid']}"
                out[stmt["Sid"]] = stmt
        return out


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def without(transformed_template: dict[str, Any]) -> Deployed:
    return Deployed(transformed_template)


@pytest.fixture(scope="module")
def with_hyperpod(transformed_template: dict[str, Any]) -> Deployed:
    return Deployed(transformed_template, {"HyperPodClusterName": CLUSTER})


@pytest.fixture(scope="module")
def with_vpc(transformed_template: dict[str, Any]) -> Deployed:
    return Deployed(
        transformed_template,
        {
            "HyperPodClusterName": CLUSTER,
            "HyperPodSubnetIds": "subnet-0a1b2c3d,subnet-4e5f6a7b",
            "HyperPodSecurityGroupIds": "sg-0123abcd",
        },
    )


def _hyperpod_ids(template: Mapping[str, Any]) -> set[str]:
    return {
        lid
        for lid, body in template["Resources"].items()
        if body.get("Condition") in ("HasHyperPod", "HasHyperPodVpc")
    }


# ------------------------------------------------------------------------------------------------
# events: one consumer per run
# ------------------------------------------------------------------------------------------------


def _envelope(technique: str, detail_type: str = "DatasetValidated") -> dict[str, Any]:
    event: dict[str, Any] = json.loads((REPO_ROOT / "events" / "DatasetValidated.json").read_text())
    event = copy.deepcopy(event)
    event["detail-type"] = detail_type
    event["detail"]["data"]["spec"]["technique"] = technique
    return event


def _matches(deployed: Deployed, rule: str, event: dict[str, Any]) -> bool:
    from moto.events.models import EventPattern, EventPatternParser

    raw = json.dumps(deployed.props(rule)["EventPattern"])
    EventPatternParser(raw).parse()  # what moto's PutRule validates
    return bool(EventPattern.load(raw).matches_event(event))


def test_the_technique_path_is_the_envelopes() -> None:
    """The rules filter on detail.data.spec.technique: where the catalog's DatasetValidated puts it."""
    from tailor.events.parse import parse_event

    event = parse_event(json.dumps(_envelope(CPT)))
    assert event.detail.data.spec.technique == CPT  # type: ignore[union-attr]


def test_without_a_cluster_no_hyperpod_resource_exists(without: Deployed) -> None:
    ids = _hyperpod_ids(without.template)
    assert {
        "HyperPodRule",
        "HyperPodQueue",
        "HyperPodDLQ",
        "HyperPodQueuePolicy",
        "HyperPodDLQAlarm",
        "HyperPodLogGroup",
        "HyperPodFunction",
        "HyperPodFunctionRole",
        "HyperPodFunctionReconcile",
        "HyperPodFunctionEventInvokeConfig",
        "HyperPodEventSource",
        "HyperPodReconcileRole",
        "HyperPodAccessEntry",
        "BedrockImportRole",
    } <= ids
    assert not ids & without.resources
    assert not [lid for lid in without.resources if "HyperPod" in lid or lid == "BedrockImportRole"]
    assert not [o for o in without.outputs if o.startswith("HyperPod")]
    # The shared DLQ's policy names no rule that does not exist.
    sources = without.props("EventsTargetDLQPolicy")["PolicyDocument"]["Statement"][0]["Condition"]
    assert "<HyperPodRule.Arn>" not in sources["ArnEquals"]["aws:SourceArn"]


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_without_a_cluster_submit_rule_takes_every_dataset(without: Deployed, technique: str) -> None:
    assert "detail" not in without.props("SubmitRule")["EventPattern"]
    assert _matches(without, "SubmitRule", _envelope(technique))  # CPT: refused honestly there
    assert not _matches(without, "SubmitRule", _envelope(technique, "DatasetRejected"))


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_with_a_cluster_the_rules_partition_by_technique(with_hyperpod: Deployed, technique: str) -> None:
    event = _envelope(technique)
    to_submit = _matches(with_hyperpod, "SubmitRule", event)
    to_hyperpod = _matches(with_hyperpod, "HyperPodRule", event)
    assert to_submit != to_hyperpod  # exactly one consumer
    assert to_hyperpod is (technique == CPT)


@pytest.mark.parametrize(
    ("source", "detail_type"),
    [
        ("tailor.ingestion", "DatasetRejected"),
        ("tailor.user", "DatasetValidated"),
        ("tailor.status", "JobCompleted"),
    ],
)
def test_hyperpod_rule_takes_nothing_else(with_hyperpod: Deployed, source: str, detail_type: str) -> None:
    event = _envelope(CPT, detail_type)
    event["source"] = source
    assert not _matches(with_hyperpod, "HyperPodRule", event)


def test_hyperpod_rule_delivers_to_its_queue_with_a_dead_letter(with_hyperpod: Deployed) -> None:
    rule = with_hyperpod.props("HyperPodRule")
    assert rule["EventBusName"] == "<TailorBus>"
    (target,) = rule["Targets"]
    assert target["Arn"] == "<HyperPodQueue.Arn>"
    assert target["DeadLetterConfig"] == {"Arn": "<EventsTargetDLQ.Arn>"}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    (stmt,) = with_hyperpod.props("HyperPodQueuePolicy")["PolicyDocument"]["Statement"]
    assert stmt["Principal"] == {"Service": "events.amazonaws.com"}
    assert stmt["Action"] == "sqs:SendMessage"
    assert stmt["Condition"] == {"ArnEquals": {"aws:SourceArn": "<HyperPodRule.Arn>"}}
    dlq = with_hyperpod.props("EventsTargetDLQPolicy")["PolicyDocument"]["Statement"][0]["Condition"]
    assert "<HyperPodRule.Arn>" in dlq["ArnEquals"]["aws:SourceArn"]


# ------------------------------------------------------------------------------------------------
# queue, DLQ, alarm, schedule
# ------------------------------------------------------------------------------------------------


def test_queue_dlq_and_alarm(with_hyperpod: Deployed) -> None:
    from infra_rules import fallback_receives_needed

    queue = with_hyperpod.props("HyperPodQueue")
    function = with_hyperpod.props("HyperPodFunction")
    assert function["Timeout"] == 120 and function["MemorySize"] == 1024
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == "<HyperPodDLQ.Arn>"
    longest = int(with_hyperpod.template["Parameters"]["QuotaMaxWaitHours"]["MaxValue"]) * 3600
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= fallback_receives_needed(longest) + 5
    assert queue["MessageRetentionPeriod"] >= longest + 3600 + 24 * 3600
    dlq = with_hyperpod.props("HyperPodDLQ")
    assert dlq["MessageRetentionPeriod"] == 1209600 and dlq["SqsManagedSseEnabled"] is True
    alarm = with_hyperpod.props("HyperPodDLQAlarm")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "<HyperPodDLQ.QueueName>"}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    esm = with_hyperpod.props("HyperPodEventSource")
    assert esm["EventSourceArn"] == "<HyperPodQueue.Arn>" and esm["FunctionName"] == "<HyperPodFunction>"
    assert esm["BatchSize"] == 5
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert esm["ScalingConfig"] == {"MaximumConcurrency": 2}


def test_reconcile_schedule(with_hyperpod: Deployed) -> None:
    target = with_hyperpod.props("HyperPodFunctionReconcile")["Target"]
    assert target["Arn"] == "<HyperPodFunction.Arn>"
    assert json.loads(target["Input"]) == {"reconcile": True}
    assert target["RoleArn"] == "<HyperPodReconcileRole.Arn>"
    assert target["DeadLetterConfig"] == {"Arn": "<HyperPodDLQ.Arn>"}
    assert with_hyperpod.props("HyperPodFunctionReconcile")["ScheduleExpression"] == "rate(5 minutes)"
    statements = with_hyperpod.statements("HyperPodReconcileRole")
    assert {(s["Action"], s["Resource"]) for s in statements.values()} == {
        ("lambda:InvokeFunction", "<HyperPodFunction.Arn>"),
        ("sqs:SendMessage", "<HyperPodDLQ.Arn>"),
    }
    (trust,) = with_hyperpod.props("HyperPodReconcileRole")["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    config = with_hyperpod.props("HyperPodFunctionEventInvokeConfig")
    assert config["FunctionName"] == "<HyperPodFunction>"
    assert config["MaximumRetryAttempts"] <= 1
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == "<HyperPodDLQ.Arn>"


# ------------------------------------------------------------------------------------------------
# the function
# ------------------------------------------------------------------------------------------------


def test_function_environment(with_hyperpod: Deployed, raw_template: dict[str, Any]) -> None:
    raw = raw_template["Resources"]["HyperPodFunction"]["Properties"]
    assert raw["CodeUri"] == "services/hyperpod/" and raw["Handler"] == "app.handler"
    env = with_hyperpod.props("HyperPodFunction")["Environment"]["Variables"]
    assert set(env) == HYPERPOD_ENV | GLOBAL_ENV
    assert env["POWERTOOLS_SERVICE_NAME"] == "hyperpod"
    assert env["HYPERPOD_CLUSTER_NAME"] == CLUSTER
    assert env["HYPERPOD_NAMESPACE"] == "kubeflow"
    assert env["HYPERPOD_INSTANCE_TYPE"] == "ml.p5.48xlarge"
    assert env["HYPERPOD_REPLICAS"] == "0"
    assert env["HYPERPOD_MAX_CONCURRENT_JOBS"] == "1"
    assert env["HYPERPOD_INSTANCE_PRICE_USD"] == ""
    assert env["HYPERPOD_QUEUE_URL"] == "<HyperPodQueue>"
    assert env["HUB_NAME"] == "SageMakerPublicHub"
    assert env["BEDROCK_IMPORT_ROLE_ARN"] == env["BEDROCK_ROLE_ARN"] == "<BedrockImportRole.Arn>"
    assert env["QUOTA_MAX_WAIT_HOURS"] == "24"
    assert env["RECONCILE_INTERVAL_MINUTES"] == "5"
    assert env["TRAINING_PRICES_JSON"] == ""
    assert env["ARTIFACTS_BUCKET"] == "<ArtifactsBucket>"


def test_function_environment_is_what_the_code_reads(with_hyperpod: Deployed) -> None:
    """tailor.hyperpod.settings and the shared submission settings accept the environment."""
    settings = pytest.importorskip("tailor.hyperpod.settings")
    env = {
        k: str(v).replace("<", "").replace(">", "")
        for k, v in with_hyperpod.props("HyperPodFunction")["Environment"]["Variables"].items()
    }
    env["BEDROCK_IMPORT_ROLE_ARN"] = env["BEDROCK_ROLE_ARN"] = f"arn:aws:iam::{ACCOUNT}:role/import"
    parsed = settings.HyperPodSettings.from_env(env)
    assert parsed is not None and parsed.cluster_name == CLUSTER and parsed.namespace == "kubeflow"
    assert parsed.replicas == 0 and parsed.max_concurrent_jobs == 1 and parsed.instance_price_usd is None
    assert parsed.import_role_arn == env["BEDROCK_IMPORT_ROLE_ARN"]
    assert settings.HyperPodSettings.from_env({**env, "HYPERPOD_CLUSTER_NAME": ""}) is None
    from tailor.submission.request import SubmissionSettings

    assert SubmissionSettings.from_env(env).max_wait_seconds == 24 * 3600


def test_vpc_only_with_subnets(with_hyperpod: Deployed, with_vpc: Deployed) -> None:
    assert "VpcConfig" not in with_hyperpod.props("HyperPodFunction")
    assert with_vpc.props("HyperPodFunction")["VpcConfig"] == {
        "SubnetIds": ["subnet-0a1b2c3d", "subnet-4e5f6a7b"],
        "SecurityGroupIds": ["sg-0123abcd"],
    }
    assert not {"DescribeNetwork", "ManageFunctionInterfaces"} & set(
        with_hyperpod.statements("HyperPodFunctionRole")
    )
    vpc = with_vpc.statements("HyperPodFunctionRole")
    assert vpc["DescribeNetwork"]["Resource"] == "*"
    assert set(vpc["DescribeNetwork"]["Action"]) == {"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"}
    assert all(f":{REGION}:{ACCOUNT}:" in r for r in vpc["ManageFunctionInterfaces"]["Resource"])
    # No AWS managed policy: SAM would attach AWSLambdaVPCAccessExecutionRole even without a VPC.
    assert "ManagedPolicyArns" not in with_vpc.props("HyperPodFunctionRole")
    assert with_vpc.props("HyperPodFunction")["Role"] == "<HyperPodFunctionRole.Arn>"


def _by_action(statements: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for stmt in statements.values():
        assert stmt["Effect"] == "Allow" and "NotAction" not in stmt and "NotResource" not in stmt
        for action in _list(stmt["Action"]):
            out.setdefault(action, []).extend(_list(stmt["Resource"]))
    return out


def test_function_role_is_least_privilege(with_vpc: Deployed) -> None:
    statements = with_vpc.statements("HyperPodFunctionRole")
    by_action = _by_action(statements)
    assert not [a for a in by_action if a == "*" or a.endswith(":*") or "*" in a]
    star = sorted(a for a, resources in by_action.items() if "*" in resources)
    assert star == ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]  # no resource types in IAM
    models = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/*"
    assert by_action == {
        "logs:CreateLogStream": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:<HyperPodLogGroup>:*"],
        "logs:PutLogEvents": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:<HyperPodLogGroup>:*"],
        "sqs:ReceiveMessage": ["<HyperPodQueue.Arn>"],
        "sqs:DeleteMessage": ["<HyperPodQueue.Arn>"],
        "sqs:GetQueueAttributes": ["<HyperPodQueue.Arn>"],
        "sqs:ChangeMessageVisibility": ["<HyperPodQueue.Arn>"],
        "sqs:SendMessage": ["<HyperPodDLQ.Arn>"],
        "eks:DescribeCluster": [f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"],
        "sagemaker:DescribeHubContent": [f"arn:aws:sagemaker:{REGION}:aws:hub-content/SageMakerPublicHub/*"],
        "s3:GetObject": ["arn:aws:s3:::*model-customization-recipes*/*", "<ArtifactsBucket.Arn>/jobs/*"],
        "s3:ListBucket": ["<ArtifactsBucket.Arn>"],
        "bedrock:CreateCustomModel": [models],
        "bedrock:GetCustomModel": [models],
        "bedrock:TagResource": [models],
        "bedrock:ListTagsForResource": [models],
        "iam:PassRole": ["<BedrockImportRole.Arn>"],
        "dynamodb:GetItem": ["<RunsTable.Arn>", "<RunsTable.Arn>/index/ActiveRunsIndex"],
        "dynamodb:PutItem": ["<RunsTable.Arn>", "<RunsTable.Arn>/index/ActiveRunsIndex"],
        "dynamodb:UpdateItem": ["<RunsTable.Arn>", "<RunsTable.Arn>/index/ActiveRunsIndex"],
        "dynamodb:Query": ["<RunsTable.Arn>", "<RunsTable.Arn>/index/ActiveRunsIndex"],
        "events:PutEvents": ["<TailorBus.Arn>"],
        "ec2:DescribeNetworkInterfaces": ["*"],
        "ec2:DescribeSubnets": ["*"],
        "ec2:CreateNetworkInterface": by_action["ec2:CreateNetworkInterface"],
        "ec2:DeleteNetworkInterface": by_action["ec2:DeleteNetworkInterface"],
        "ec2:AssignPrivateIpAddresses": by_action["ec2:AssignPrivateIpAddresses"],
        "ec2:UnassignPrivateIpAddresses": by_action["ec2:UnassignPrivateIpAddresses"],
    }
    assert statements["ListJobOutput"]["Condition"] == {"StringLike": {"s3:prefix": ["jobs/", "jobs/*"]}}
    assert statements["PassImportRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}
    }
    (trust,) = with_vpc.props("HyperPodFunctionRole")["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_import_role_trusts_bedrock_for_this_accounts_models_only(with_hyperpod: Deployed) -> None:
    role = with_hyperpod.props("BedrockImportRole")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/*"},
    }
    by_action = _by_action(with_hyperpod.statements("BedrockImportRole"))
    assert by_action == {
        "s3:GetObject": [f"arn:aws:s3:::customer-escrow-{ACCOUNT}-*/*", "<ArtifactsBucket.Arn>/jobs/*"],
        "s3:ListBucket": [f"arn:aws:s3:::customer-escrow-{ACCOUNT}-*", "<ArtifactsBucket.Arn>"],
    }


def test_access_entry_maps_the_role_to_the_group_only(with_hyperpod: Deployed) -> None:
    entry = with_hyperpod.props("HyperPodAccessEntry")
    assert entry == {
        "ClusterName": CLUSTER,
        "PrincipalArn": "<HyperPodFunctionRole.Arn>",
        "Type": "STANDARD",
        "KubernetesGroups": ["tailor-hyperpod"],
    }  # no AccessPolicies: EKS's are too broad; deploy/hyperpod/rbac.yaml grants what is needed
    assert with_hyperpod.exists("HyperPodFunctionRole")  # the role the function really runs with
    assert with_hyperpod.props("HyperPodFunction")["Role"] == entry["PrincipalArn"]


def test_outputs(with_hyperpod: Deployed) -> None:
    assert {"HyperPodQueueUrl", "HyperPodDLQUrl", "HyperPodFunctionRoleArn"} <= with_hyperpod.outputs
    value = with_hyperpod.resolver.resolve(
        with_hyperpod.template["Outputs"]["HyperPodFunctionRoleArn"]["Value"], "Outputs"
    )
    assert value == "<HyperPodFunctionRole.Arn>"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HyperPodClusterName", "-bad"),
        ("HyperPodNamespace", "Kubeflow"),
        ("HyperPodInstanceType", "p5.48xlarge"),
        ("HyperPodInstancePriceUsd", "$55"),
        ("HyperPodSubnetIds", "subnet-1, subnet-2"),
        ("HyperPodSecurityGroupIds", "sg_1"),
    ],
)
def test_parameters_reject_malformed_values(raw_template: dict[str, Any], name: str, value: str) -> None:
    import re

    parameter = raw_template["Parameters"][name]
    assert parameter["Description"]
    assert re.fullmatch(parameter["AllowedPattern"], str(parameter["Default"]))
    assert not re.fullmatch(parameter["AllowedPattern"], value)


def test_number_parameters(raw_template: dict[str, Any]) -> None:
    params = raw_template["Parameters"]
    assert (params["HyperPodReplicas"]["Default"], params["HyperPodReplicas"]["MinValue"]) == (0, 0)
    assert (
        params["HyperPodMaxConcurrentJobs"]["Default"],
        params["HyperPodMaxConcurrentJobs"]["MinValue"],
    ) == (1, 1)


# ------------------------------------------------------------------------------------------------
# deploy/hyperpod/rbac.yaml
# ------------------------------------------------------------------------------------------------

RBAC = REPO_ROOT / "deploy" / "hyperpod" / "rbac.yaml"
EXPECTED_RULES = {
    ("kubeflow.org", "pytorchjobs"): {"create", "get", "list", "delete"},
    ("", "configmaps"): {"create", "get", "delete"},
    ("", "pods"): {"get", "list"},
    ("", "pods/log"): {"get"},
}


def test_rbac_is_namespaced_and_exact(raw_template: dict[str, Any]) -> None:
    documents = [d for d in yaml.safe_load_all(RBAC.read_text(encoding="utf-8")) if d]
    assert sorted(d["kind"] for d in documents) == ["Role", "RoleBinding"]  # nothing cluster-wide
    namespace = raw_template["Parameters"]["HyperPodNamespace"]["Default"]
    assert all(d["metadata"]["namespace"] == namespace for d in documents)
    (role,) = [d for d in documents if d["kind"] == "Role"]
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}  # no resourceNames/nonResourceURLs
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    assert granted == EXPECTED_RULES
    (binding,) = [d for d in documents if d["kind"] == "RoleBinding"]
    assert binding["roleRef"] == {
        "kind": "Role",
        "apiGroup": "rbac.authorization.k8s.io",
        "name": role["metadata"]["name"],
    }
    groups = raw_template["Resources"]["HyperPodAccessEntry"]["Properties"]["KubernetesGroups"]
    assert binding["subjects"] == [
        {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": groups[0]}
    ]
    assert "kubectl apply -f deploy/hyperpod/rbac.yaml" in RBAC.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------
# the local stack (default parameters: no HyperPod)
# ------------------------------------------------------------------------------------------------


def test_the_local_stack_leaves_hyperpod_absent_by_default(transformed_template: dict[str, Any]) -> None:
    from tailor.local import LocalStack

    with LocalStack(time_scale=0.001, functions=[]) as stack:
        statuses = {lid: r.status for lid, r in stack.provisioner.resources.items()}
        assert {statuses[lid] for lid in _hyperpod_ids(transformed_template)} == {"absent"}
        assert "HyperPodFunction" not in stack.provisioner.functions
        assert not [s for s in stack.scheduler.schedules.values() if "HyperPod" in s.logical_id]
        assert "HyperPodQueueUrl" not in stack.outputs


def test_the_local_stack_routes_by_technique_with_a_cluster() -> None:
    """The two rules as moto's EventBridge runs them: a CPT run reaches HyperPodQueue only, any
    other run SubmitQueue only (no function consumes here: the queues keep the messages)."""
    from tailor.local import LocalStack

    with LocalStack(
        time_scale=0.001, functions=[], parameter_values={"HyperPodClusterName": CLUSTER}
    ) as stack:
        assert stack.provisioner.resources["HyperPodFunction"].status == "played"
        events, sqs = stack.client("events"), stack.client("sqs")
        bus = stack.physical_id("TailorBus")
        for technique in ("fine-tuning", CPT):
            envelope = _envelope(technique)
            envelope["detail"]["data"]["runId"] = f"route-{technique}"
            entry = {
                "Source": envelope["source"],
                "DetailType": envelope["detail-type"],
                "Detail": json.dumps(envelope["detail"]),
                "EventBusName": bus,
            }
            assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0

        def run_ids(queue: str) -> set[str]:
            url = stack.physical_id(queue)
            found: set[str] = set()
            for _ in range(3):
                messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                found |= {json.loads(m["Body"])["detail"]["data"]["runId"] for m in messages}
            return found

        assert run_ids("HyperPodQueue") == {f"route-{CPT}"}
        assert run_ids("SubmitQueue") == {"route-fine-tuning"}


# ------------------------------------------------------------------------------------------------
# the generic rules that learned about HyperPod still fail where they should
# ------------------------------------------------------------------------------------------------


def test_rules_catch_hyperpod_mistakes(transformed: dict[str, Any]) -> None:
    from infra_rules import (
        check_bedrock_trust,
        check_iam_statements,
        check_rule_queue_policies,
        check_submit_queue_sizing,
    )

    resources = transformed["Resources"]
    # The shared DLQ's source for HyperPodRule guarded by a condition other than the rule's own.
    sources = resources["EventsTargetDLQPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Condition"]
    arns = sources["ArnEquals"]["aws:SourceArn"]
    (guarded,) = [a for a in arns if isinstance(a, dict) and "Fn::If" in a]
    guarded["Fn::If"][0] = "HasBedrockVpc"
    assert any("aws:SourceArn = HyperPodRule" in v for v in check_rule_queue_policies(transformed))
    guarded["Fn::If"][0] = "HasHyperPod"
    assert check_rule_queue_policies(transformed) == []
    # A HyperPod queue too short for the longest cluster-busy wait.
    resources["HyperPodQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] = 10
    assert any("HyperPodQueue: maxReceiveCount 10" in v for v in check_submit_queue_sizing(transformed))
    # An import role trusting Bedrock for a mix of kinds, or for another account.
    trust = resources["BedrockImportRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    trust["Condition"]["ArnLike"]["aws:SourceArn"] = [
        {"Fn::Sub": "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:custom-model/*"},
        {"Fn::Sub": "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:model-import-job/*"},
    ]
    assert any(v.startswith("BedrockImportRole: trust lacks") for v in check_bedrock_trust(transformed))
    trust["Condition"]["ArnLike"]["aws:SourceArn"] = "arn:aws:bedrock:us-east-1:999999999999:custom-model/*"
    assert any(v.startswith("BedrockImportRole: trust lacks") for v in check_bedrock_trust(transformed))
    # A wildcard action on the function's role.
    statements = resources["HyperPodFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    next(s for s in statements if s.get("Sid") == "DescribeHyperPodCluster")["Action"] = "eks:*"
    assert any(
        "HyperPodFunctionRole/DescribeHyperPodCluster: wildcard" in v
        for v in check_iam_statements(transformed)
    )


def test_pending_contract_never_overrides_contracts_md() -> None:
    from infra_rules import with_pending_contract

    env, function_env = with_pending_contract(
        {"POWERTOOLS_SERVICE_NAME": ["ingestion"]},
        {
            "BEDROCK_ROLE_ARN": {"functions": {"SubmissionFunction"}, "source": "BedrockCustomizationRole"},
            "HYPERPOD_QUEUE_URL": {"functions": {"HyperPodFunction"}, "source": "SomethingElse"},
        },
    )
    assert env["POWERTOOLS_SERVICE_NAME"] == ["ingestion", "hyperpod"]
    assert function_env["BEDROCK_ROLE_ARN"] == {
        "functions": {"SubmissionFunction", "HyperPodFunction"},
        "source": "BedrockCustomizationRole",
        "sources": {"HyperPodFunction": "BedrockImportRole"},
    }
    assert function_env["HYPERPOD_QUEUE_URL"] == {
        "functions": {"HyperPodFunction"},
        "source": "SomethingElse",
    }
    assert function_env["HYPERPOD_CLUSTER_NAME"] == {
        "functions": {"HyperPodFunction"},
        "source": "HyperPodClusterName",
    }


@pytest.mark.parametrize(
    ("parameters", "failing"),
    [
        ({}, set()),
        ({"HyperPodClusterName": CLUSTER}, set()),
        (
            {
                "HyperPodClusterName": CLUSTER,
                "HyperPodSubnetIds": "subnet-0a1b",
                "HyperPodSecurityGroupIds": "sg-01",
            },
            set(),
        ),
        (
            {"HyperPodClusterName": CLUSTER, "HyperPodSubnetIds": "subnet-0a1b"},
            {"HyperPodVpcNeedsSecurityGroups"},
        ),
        (
            {"HyperPodSubnetIds": "subnet-0a1b", "HyperPodSecurityGroupIds": "sg-01"},
            {"HyperPodVpcNeedsACluster"},
        ),
    ],
)
def test_template_rules_refuse_half_a_vpc(
    transformed_template: dict[str, Any], parameters: dict[str, str], failing: set[str]
) -> None:
    """The template's Rules (CloudFormation checks them before creating anything)."""
    deployed = Deployed(transformed_template, parameters)
    failed = set()
    for name, rule in transformed_template["Rules"].items():
        if deployed.resolver.resolve(rule["RuleCondition"], name) and not all(
            deployed.resolver.resolve(a["Assert"], name) for a in rule["Assertions"]
        ):
            failed.add(name)
    assert failed == failing
